-- Small dense linear algebra for the least-squares solver (linregr.sql), in PL/pgSQL.
--
-- Matrices are float8[] in row-major order, element (i, j) of an n-column matrix at (i - 1) * n + j.
-- They are d x d with d = features + 1: the work is O(d³) statements, milliseconds for tens of
-- features, while the aggregate that produced the matrix read every row (moments.sql).
-- PostgreSQL raises on float8 underflow and overflow, so tiny off-diagonal values are set to zero
-- before they are squared.

-- Eigenvalues of a symmetric d x d matrix by cyclic Jacobi rotations (ascending). Accurate to
-- about eps * ||A|| in absolute terms, as LAPACK's dsyevd is.
CREATE OR REPLACE FUNCTION db4ai_internal._symmetric_eigenvalues(p_a float8[], p_d int4) RETURNS float8[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a       float8[] := p_a;
    d       int4 := p_d;
    v_apq   float8;
    v_app   float8;
    v_aqq   float8;
    v_theta float8;
    v_t     float8;
    v_c     float8;
    v_s     float8;
    v_rp    float8;
    v_rq    float8;
    v_rot   boolean;
BEGIN
    FOR sweep IN 1 .. 100 LOOP
        v_rot := false;
        FOR p IN 1 .. d - 1 LOOP
            FOR q IN p + 1 .. d LOOP
                v_apq := a[(p - 1) * d + q];
                CONTINUE WHEN v_apq = 0;
                v_app := a[(p - 1) * d + p];
                v_aqq := a[(q - 1) * d + q];
                -- negligible against both diagonal entries (Demmel-Veselic): drop it
                IF abs(v_apq) <= 1e-17 * sqrt(abs(v_app)) * sqrt(abs(v_aqq)) OR abs(v_apq) < 1e-290 THEN
                    a[(p - 1) * d + q] := 0;
                    a[(q - 1) * d + p] := 0;
                    CONTINUE;
                END IF;
                v_rot := true;
                v_theta := (v_aqq - v_app) / (2 * v_apq);
                IF abs(v_theta) > 1e150 THEN
                    v_t := 1 / (2 * v_theta);
                ELSE
                    v_t := sign(v_theta) / (abs(v_theta) + sqrt(v_theta * v_theta + 1));
                    IF v_theta = 0 THEN v_t := 1; END IF;
                END IF;
                v_c := 1 / sqrt(v_t * v_t + 1);
                v_s := v_t * v_c;
                IF abs(v_s) < 1e-150 THEN  -- a rotation by less than 1e-150: the entry is negligible
                    a[(p - 1) * d + q] := 0;
                    a[(q - 1) * d + p] := 0;
                    CONTINUE;
                END IF;
                a[(p - 1) * d + p] := v_app - v_t * v_apq;
                a[(q - 1) * d + q] := v_aqq + v_t * v_apq;
                a[(p - 1) * d + q] := 0;
                a[(q - 1) * d + p] := 0;
                FOR r IN 1 .. d LOOP
                    CONTINUE WHEN r = p OR r = q;
                    v_rp := a[(r - 1) * d + p];
                    v_rq := a[(r - 1) * d + q];
                    IF abs(v_rp) < 1e-150 THEN v_rp := 0; END IF;  -- products would underflow
                    IF abs(v_rq) < 1e-150 THEN v_rq := 0; END IF;
                    a[(r - 1) * d + p] := v_c * v_rp - v_s * v_rq;
                    a[(p - 1) * d + r] := a[(r - 1) * d + p];
                    a[(r - 1) * d + q] := v_s * v_rp + v_c * v_rq;
                    a[(q - 1) * d + r] := a[(r - 1) * d + q];
                END LOOP;
            END LOOP;
        END LOOP;
        EXIT WHEN NOT v_rot;
    END LOOP;
    RETURN ARRAY(SELECT a[(i - 1) * d + i] FROM generate_series(1, d) AS i ORDER BY 1);
END
$$;

-- Cholesky factorisation with diagonal pivoting of a positive semi-definite k x k matrix with unit
-- diagonal (a correlation matrix): at each step the column with the largest remaining variance is
-- eliminated; it stops when no remaining column has more than p_tol of its variance left
-- unexplained by the chosen ones. Returns the permutation (perm[a] = original index of the a-th
-- pivot), the rank r and L (k x k, in pivoted order; its first r columns are the factor:
-- P' A P = L L' on the leading r x r block, and row c > r of L holds column c's coefficients on
-- the pivots).
CREATE OR REPLACE FUNCTION db4ai_internal._pivoted_cholesky(p_a float8[], p_k int4, p_tol float8,
                                                            OUT perm int4[], OUT rank int4, OUT l float8[])
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k     int4 := p_k;
    v_d   float8[];  -- remaining (unexplained) variance of each column, pivoted order
    v_p   int4;
    v_acc float8;
    v_tmp float8;
    v_i   int4;
BEGIN
    perm := ARRAY(SELECT generate_series(1, k));
    v_d := ARRAY(SELECT p_a[(i - 1) * k + i] FROM generate_series(1, k) AS i);
    l := array_fill(0::float8, ARRAY[k * k]);
    rank := 0;
    FOR j IN 1 .. k LOOP
        v_p := j;
        FOR i IN j + 1 .. k LOOP
            IF v_d[i] > v_d[v_p] THEN v_p := i; END IF;
        END LOOP;
        EXIT WHEN NOT v_d[v_p] > p_tol;  -- NOT >: also stops on NaN
        IF v_p <> j THEN
            v_tmp := v_d[j]; v_d[j] := v_d[v_p]; v_d[v_p] := v_tmp;
            v_i := perm[j]; perm[j] := perm[v_p]; perm[v_p] := v_i;
            FOR t IN 1 .. j - 1 LOOP
                v_tmp := l[(j - 1) * k + t]; l[(j - 1) * k + t] := l[(v_p - 1) * k + t]; l[(v_p - 1) * k + t] := v_tmp;
            END LOOP;
        END IF;
        l[(j - 1) * k + j] := sqrt(v_d[j]);
        FOR i IN j + 1 .. k LOOP
            v_acc := p_a[(perm[i] - 1) * k + perm[j]];
            FOR t IN 1 .. j - 1 LOOP
                v_acc := v_acc - l[(i - 1) * k + t] * l[(j - 1) * k + t];
            END LOOP;
            v_acc := v_acc / l[(j - 1) * k + j];
            IF abs(v_acc) < 1e-150 THEN v_acc := 0; END IF;  -- squaring it would underflow
            l[(i - 1) * k + j] := v_acc;
            v_d[i] := v_d[i] - v_acc * v_acc;
        END LOOP;
        rank := j;
    END LOOP;
END
$$;

-- The inverse of the leading r x r block of a lower-triangular k x k matrix (r x r, lower).
CREATE OR REPLACE FUNCTION db4ai_internal._lower_inverse(p_l float8[], p_k int4, p_r int4) RETURNS float8[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v   float8[] := array_fill(0::float8, ARRAY[greatest(p_r * p_r, 1)]);
    v_acc float8;
BEGIN
    FOR j IN 1 .. p_r LOOP
        v[(j - 1) * p_r + j] := 1 / p_l[(j - 1) * p_k + j];
        FOR i IN j + 1 .. p_r LOOP
            v_acc := 0;
            FOR t IN j .. i - 1 LOOP
                v_acc := v_acc + p_l[(i - 1) * p_k + t] * v[(t - 1) * p_r + j];
            END LOOP;
            v[(i - 1) * p_r + j] := -v_acc / p_l[(i - 1) * p_k + i];
        END LOOP;
    END LOOP;
    RETURN v;
END
$$;
