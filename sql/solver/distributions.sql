-- Student's t distribution for the p-values of the least-squares solver (linregr.sql).
--
-- PostgreSQL before 18 has no gamma or beta functions, so the two-sided tail P(|T| > |t|) of a t
-- distribution with df degrees of freedom is computed here as the regularized incomplete beta
-- function I_x(df/2, 1/2), x = df / (df + t²), by its continued fraction (modified Lentz, as in
-- Numerical Recipes' betacf), which converges in O(sqrt(df)) terms and keeps its relative accuracy
-- in the far tail (p-values of 1e-300 are exact to ~1e-13).
--
-- The regression's df = n - rank is an integer, so a = df/2 is a multiple of 1/2 and
-- B(a, 1/2) = sqrt(pi) * Gamma(a) / Gamma(a + 1/2) needs only the ratio r(a) = Gamma(a + 1/2) / Gamma(a):
-- for a < 25 by its recurrence r(a + 1) = r(a) (a + 1/2) / a from r(1/2) = 1/sqrt(pi), r(1) = sqrt(pi)/2
-- (exact to a few ulps); beyond, by its asymptotic series (relative error below 1e-16 there).
-- PostgreSQL raises on float8 underflow and overflow instead of returning 0 or infinity, so every
-- exp() and product that could leave the range is guarded.

-- ln(Gamma(a + 1/2) / Gamma(a)) for a > 0 with 2a an integer.
CREATE OR REPLACE FUNCTION db4ai_internal._ln_gamma_half_ratio(p_a float8) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_a float8;
    v_r float8;
BEGIN
    IF p_a >= 25 THEN
        RETURN ln(p_a) / 2 - 1 / (8 * p_a) + 1 / (192 * p_a ^ 3) - 1 / (640 * p_a ^ 5) + 17 / (14336 * p_a ^ 7);
    END IF;
    IF p_a <= 0 OR (2 * p_a) <> round(2 * p_a) THEN
        RAISE EXCEPTION 'degrees of freedom must be a positive integer, not %', 2 * p_a
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF round(2 * p_a)::int8 % 2 = 1 THEN
        v_a := 0.5; v_r := 1 / sqrt(pi());
    ELSE
        v_a := 1; v_r := sqrt(pi()) / 2;
    END IF;
    WHILE v_a < p_a LOOP
        v_r := v_r * (v_a + 0.5) / v_a;
        v_a := v_a + 1;
    END LOOP;
    RETURN ln(v_r);
END
$$;

-- The continued fraction of I_x(a, b) (Numerical Recipes betacf, modified Lentz).
CREATE OR REPLACE FUNCTION db4ai_internal._betacf(p_a float8, p_b float8, p_x float8) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_tiny CONSTANT float8 := 1e-300;
    c_eps  CONSTANT float8 := 1e-16;
    v_qab float8 := p_a + p_b;
    v_c   float8 := 1;
    v_d   float8 := 1 - v_qab * p_x / (p_a + 1);
    v_h   float8;
    v_aa  float8;
    v_del float8;
    v_m2  float8;
BEGIN
    IF abs(v_d) < c_tiny THEN v_d := c_tiny; END IF;
    v_d := 1 / v_d;
    v_h := v_d;
    FOR m IN 1 .. 100000 LOOP
        v_m2 := 2 * m;
        v_aa := m * (p_b - m) * p_x / ((p_a - 1 + v_m2) * (p_a + v_m2));
        v_d := 1 + v_aa * v_d;
        IF abs(v_d) < c_tiny THEN v_d := c_tiny; END IF;
        v_c := 1 + v_aa / v_c;
        IF abs(v_c) < c_tiny THEN v_c := c_tiny; END IF;
        v_d := 1 / v_d;
        v_h := v_h * v_d * v_c;
        v_aa := -(p_a + m) * (v_qab + m) * p_x / ((p_a + v_m2) * (p_a + 1 + v_m2));
        v_d := 1 + v_aa * v_d;
        IF abs(v_d) < c_tiny THEN v_d := c_tiny; END IF;
        v_c := 1 + v_aa / v_c;
        IF abs(v_c) < c_tiny THEN v_c := c_tiny; END IF;
        v_d := 1 / v_d;
        v_del := v_d * v_c;
        v_h := v_h * v_del;
        IF abs(v_del - 1) < c_eps THEN
            RETURN v_h;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'incomplete beta function did not converge (a = %, b = %, x = %)', p_a, p_b, p_x
        USING ERRCODE = 'internal_error';
END
$$;

-- Two-sided p-value of a t statistic: P(|T| >= |t|), T ~ Student's t with p_df degrees of freedom
-- (scipy: 2 * stats.t.sf(abs(t), df)). NULL or NaN in, NaN out; df must be a positive integer.
CREATE OR REPLACE FUNCTION db4ai_internal._t_pvalue(p_t float8, p_df float8) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_t      float8 := abs(p_t);
    v_a      float8 := p_df / 2;
    v_lnx    float8;  -- ln x,     x = df / (df + t²)
    v_ln1mx  float8;  -- ln(1-x),  1 - x = t² / (df + t²)
    v_z      float8;
    v_u      float8;
    v_front  float8;
    v_x      float8;
BEGIN
    IF p_t IS NULL OR p_df IS NULL OR p_t = 'NaN'::float8 OR p_df = 'NaN'::float8 OR p_df <= 0 THEN
        RETURN 'NaN'::float8;
    ELSIF v_t < 1e-150 THEN
        RETURN 1;  -- 1 - O(t) rounds to 1; t² would underflow
    ELSIF v_t > 1e150 OR v_t = 'Infinity'::float8 THEN
        RETURN 0;  -- below 1e-150 for every df; t² would overflow
    END IF;
    v_z := v_t * v_t / p_df;
    v_u := 1 + v_z;
    -- ln x = -log1p(z), z = t²/df, with Goldberg's log1p (ln(df + t²) - ln(df) would cancel for large df)
    v_lnx := -(CASE WHEN v_u = 1 THEN v_z ELSE ln(v_u) * v_z / (v_u - 1) END);
    v_ln1mx := ln(v_z) + v_lnx;
    -- ln of x^a (1-x)^(1/2) / B(a, 1/2), B(a, 1/2) = sqrt(pi) / r(a)
    v_front := v_a * v_lnx + v_ln1mx / 2 - ln(sqrt(pi())) + db4ai_internal._ln_gamma_half_ratio(v_a);
    v_x := exp(v_lnx);
    IF v_x < (v_a + 1) / (v_a + 2.5) THEN
        IF v_front < -700 THEN
            RETURN 0;  -- below 1e-300: exp() and the products after it would underflow
        END IF;
        RETURN exp(v_front) * db4ai_internal._betacf(v_a, 0.5, v_x) / v_a;
    END IF;
    IF v_front < -700 THEN
        RETURN 1;
    END IF;
    RETURN 1 - exp(v_front) * db4ai_internal._betacf(0.5, v_a, exp(v_ln1mx)) / 0.5;
END
$$;
COMMENT ON FUNCTION db4ai_internal._t_pvalue(float8, float8) IS 'db4ai: two-sided p-value of a t statistic with df degrees of freedom';
