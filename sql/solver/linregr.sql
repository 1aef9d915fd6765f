-- Ordinary least squares from the moments aggregate (moments.sql): coefficients and the inference
-- statistics MADlib's linregr_train reports, for CREATE MODEL ... WITH optimizer = 'normal_equations'
-- and for db4ai.linregr() from any SQL client.
--
-- The model is y = x·beta + bias. From the centred moments of [x, y] (n, means, scatter matrix C):
--   1. each feature is scaled to unit variance, giving the correlation matrix R of the features; a
--      feature whose standard deviation is below 1e-12 of its mean's magnitude counts as constant;
--   2. R is factorised by Cholesky with diagonal pivoting; a feature that the chosen ones explain
--      to within a fraction 1e-10 of its variance (variance inflation above 1e10) is not pivoted:
--      then X is rank-deficient and the solution is the pseudo-inverse's, i.e. numpy's lstsq's,
--      the one of minimum norm over [beta, bias];
--   3. the covariance of [beta, bias] is sigma² (X'X)⁺ with X = [features, 1] and
--      sigma² = RSS / (n - rank): standard errors, t statistics and two-sided p-values
--      (distributions.sql) are statsmodels' OLS ones;
--   4. r² = 1 - RSS / TSS, adjusted r² = 1 - (n - 1) / (n - rank) (1 - r²), and the condition number
--      is statsmodels' (sqrt of the ratio of the extreme eigenvalues of X'X, with the constant
--      column; MADlib's condition_no is its square).
-- Coefficients, like gs_model_warehouse.coefficients, list the features' weights, then the bias.

DO $db4ai$
BEGIN
    IF to_regtype('db4ai.linregr_result') IS NULL THEN
        CREATE TYPE db4ai.linregr_result AS (
            features         text[],    -- the features, in the order of the arrays (the bias comes last)
            coefficients     float8[],  -- weights of the features, then the bias (intercept)
            std_errors       float8[],
            t_stats          float8[],
            p_values         float8[],  -- two-sided, Student's t with n - rank degrees of freedom
            r2               float8,
            adj_r2           float8,
            condition_number float8,    -- of the design matrix [features, 1]
            mse              float8,    -- residual sum of squares / processed rows
            rank             int4,      -- of [features, 1]; below features + 1: rank-deficient
            solver           text,      -- 'cholesky', or 'pseudo-inverse' when rank-deficient
            processed        int8,      -- rows used
            discarded        int8       -- rows left out for a NULL target or feature
        );
    END IF;
END
$db4ai$;
COMMENT ON TYPE db4ai.linregr_result IS 'db4ai: a least-squares fit with its inference statistics (db4ai.linregr, db4ai.linregr_summary)';

-- Solve from the moments of the complete rows: p_means (m = features + 1 values, the target last)
-- and p_scatter (the m x m centred sums of cross products, row-major).
CREATE OR REPLACE FUNCTION db4ai_internal._linregr_solve(p_features text[], p_n int8, p_discarded int8,
                                                         p_means float8[], p_scatter float8[])
    RETURNS db4ai.linregr_result
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_constant CONSTANT float8 := 1e-12;  -- std / |mean| below this: a constant feature
    c_rank     CONSTANT float8 := 1e-10;  -- unexplained variance fraction below this: collinear
    m      int4 := cardinality(p_means);
    k      int4 := m - 1;
    d      int4 := m;                      -- unknowns: k weights and the bias
    n      float8 := p_n;
    v_res  db4ai.linregr_result;
    v_sd   float8[] := array_fill(1::float8, ARRAY[k]);  -- feature scales (1 for constant ones)
    v_flat boolean[] := array_fill(false, ARRAY[k]);     -- constant features
    v_r    float8[] := array_fill(0::float8, ARRAY[k * k]);
    v_chol record;
    r      int4;
    v_linv float8[];
    v_sg   float8[] := array_fill(0::float8, ARRAY[k * k]);  -- a generalised inverse of the scatter of x
    v_mg   float8[] := array_fill(0::float8, ARRAY[d * d]);  -- a generalised inverse of X'X
    v_w    float8[] := array_fill(0::float8, ARRAY[d]);
    v_q    float8[] := '{}';                                 -- orthonormal basis of X's null space, d x (k - r)
    v_nq   int4;
    v_u    float8[];
    v_tmp  float8[];
    v_acc  float8;
    v_dot  float8;
    v_g    float8[];
    v_eig  float8[];
    v_rss  float8;
    v_tss  float8;
    v_df   float8;
    v_s2   float8;
    v_se   float8;
    v_t    float8;
BEGIN
    IF m < 2 OR cardinality(p_scatter) <> m * m THEN
        RAISE EXCEPTION 'least squares needs the means of % columns and their % cross products, got % and %',
            m, m * m, cardinality(p_means), cardinality(p_scatter) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_n IS NULL OR p_n < 1 THEN
        RAISE EXCEPTION 'Input data is empty' USING ERRCODE = 'data_exception';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_means || p_scatter) AS v
               WHERE v IS NULL OR v IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)) THEN
        RAISE EXCEPTION 'the training data holds NaN or infinite values (or values too large to square)'
            USING ERRCODE = 'data_exception',
                  HINT = 'filter them out, e.g. WHERE x <> ''NaN'' AND abs(x) < ''Infinity''';
    END IF;

    -- 1. the features' correlation matrix
    FOR i IN 1 .. k LOOP
        IF p_scatter[(i - 1) * m + i] <= 0
           OR sqrt(p_scatter[(i - 1) * m + i]) <= c_constant * abs(p_means[i]) * sqrt(n) THEN
            v_flat[i] := true;
        ELSE
            v_sd[i] := sqrt(p_scatter[(i - 1) * m + i]);
        END IF;
    END LOOP;
    FOR i IN 1 .. k LOOP
        CONTINUE WHEN v_flat[i];
        FOR j IN 1 .. k LOOP
            CONTINUE WHEN v_flat[j];
            v_r[(i - 1) * k + j] := CASE WHEN i = j THEN 1 ELSE p_scatter[(i - 1) * m + j] / v_sd[i] / v_sd[j] END;
        END LOOP;
    END LOOP;

    -- 2. pivoted Cholesky: R's leading block on the pivots B is L11 L11'
    v_chol := db4ai_internal._pivoted_cholesky(v_r, k, c_rank);
    r := v_chol.rank;
    v_linv := db4ai_internal._lower_inverse(v_chol.l, k, r);
    -- generalised inverse of the scatter of x: (R_BB)⁻¹ = Linv' Linv on the pivots, 0 elsewhere, unscaled
    FOR a IN 1 .. r LOOP
        FOR b IN a .. r LOOP
            v_acc := 0;
            FOR t IN b .. r LOOP
                v_acc := v_acc + v_linv[(t - 1) * r + a] * v_linv[(t - 1) * r + b];
            END LOOP;
            v_acc := v_acc / v_sd[v_chol.perm[a]] / v_sd[v_chol.perm[b]];
            v_sg[(v_chol.perm[a] - 1) * k + v_chol.perm[b]] := v_acc;
            v_sg[(v_chol.perm[b] - 1) * k + v_chol.perm[a]] := v_acc;
        END LOOP;
    END LOOP;
    -- (X'X)⁻ = [[Sg, -Sg mean], [-mean' Sg, mean' Sg mean + 1/n]] and the solution Mg X'y = [Sg Sxy, ybar - mean' Sg Sxy]
    v_tmp := array_fill(0::float8, ARRAY[k]);  -- Sg mean
    FOR i IN 1 .. k LOOP
        v_acc := 0;
        v_dot := 0;
        FOR j IN 1 .. k LOOP
            v_acc := v_acc + v_sg[(i - 1) * k + j] * p_means[j];
            v_dot := v_dot + v_sg[(i - 1) * k + j] * p_scatter[(j - 1) * m + m];
        END LOOP;
        v_tmp[i] := v_acc;
        v_w[i] := v_dot;
    END LOOP;
    v_acc := 0;
    v_dot := 0;
    FOR i IN 1 .. k LOOP
        v_acc := v_acc + p_means[i] * v_tmp[i];
        v_dot := v_dot + p_means[i] * v_w[i];
        FOR j IN 1 .. k LOOP
            v_mg[(i - 1) * d + j] := v_sg[(i - 1) * k + j];
        END LOOP;
        v_mg[(i - 1) * d + d] := -v_tmp[i];
        v_mg[(d - 1) * d + i] := -v_tmp[i];
    END LOOP;
    v_mg[d * d] := v_acc + 1 / n;
    v_w[d] := p_means[m] - v_dot;

    -- Rank-deficient: the null space of X = [features, 1] is spanned by [u; -mean'u] for each
    -- non-pivot column c, u = its unit vector minus its coefficients on the pivots (scaled back).
    -- Projecting the solution and (X'X)⁻ onto the complement of that space gives the minimum-norm
    -- solution and (X'X)⁺ (for any generalised inverse G⁻ of X'X, P G⁻ P = (X'X)⁺).
    v_nq := 0;
    FOR c IN r + 1 .. k LOOP
        v_u := array_fill(0::float8, ARRAY[d]);
        v_u[v_chol.perm[c]] := 1 / v_sd[v_chol.perm[c]];
        FOR a IN 1 .. r LOOP  -- z = Linv' L[c, 1..r]'
            v_acc := 0;
            FOR t IN a .. r LOOP
                v_acc := v_acc + v_linv[(t - 1) * r + a] * v_chol.l[(c - 1) * k + t];
            END LOOP;
            v_u[v_chol.perm[a]] := -v_acc / v_sd[v_chol.perm[a]];
        END LOOP;
        v_acc := 0;
        FOR i IN 1 .. k LOOP
            v_acc := v_acc + p_means[i] * v_u[i];
        END LOOP;
        v_u[d] := -v_acc;
        -- modified Gram-Schmidt against the basis so far, twice (Kahan: twice is enough)
        FOR it IN 1 .. 2 LOOP
            FOR b IN 1 .. v_nq LOOP
                v_dot := 0;
                FOR i IN 1 .. d LOOP
                    v_dot := v_dot + v_q[(b - 1) * d + i] * v_u[i];
                END LOOP;
                FOR i IN 1 .. d LOOP
                    v_u[i] := v_u[i] - v_dot * v_q[(b - 1) * d + i];
                END LOOP;
            END LOOP;
        END LOOP;
        v_acc := sqrt((SELECT sum(x * x) FROM unnest(v_u) AS x WHERE abs(x) > 1e-150));
        v_q := v_q || ARRAY(SELECT x / v_acc FROM unnest(v_u) AS x);
        v_nq := v_nq + 1;
    END LOOP;
    IF v_nq > 0 THEN
        -- w := w - Q Q'w
        FOR b IN 1 .. v_nq LOOP
            v_dot := 0;
            FOR i IN 1 .. d LOOP
                v_dot := v_dot + v_q[(b - 1) * d + i] * v_w[i];
            END LOOP;
            FOR i IN 1 .. d LOOP
                v_w[i] := v_w[i] - v_dot * v_q[(b - 1) * d + i];
            END LOOP;
        END LOOP;
        -- Mg := P Mg P, P = I - Q Q': first Mg P (rows), then P (Mg P) (columns), one basis vector at a time
        FOR b IN 1 .. v_nq LOOP
            FOR i IN 1 .. d LOOP  -- row i: Mg[i,:] -= (Mg[i,:]·q) q'
                v_dot := 0;
                FOR j IN 1 .. d LOOP
                    v_dot := v_dot + v_mg[(i - 1) * d + j] * v_q[(b - 1) * d + j];
                END LOOP;
                CONTINUE WHEN abs(v_dot) < 1e-150;
                FOR j IN 1 .. d LOOP
                    v_mg[(i - 1) * d + j] := v_mg[(i - 1) * d + j] - v_dot * v_q[(b - 1) * d + j];
                END LOOP;
            END LOOP;
            FOR j IN 1 .. d LOOP  -- column j: Mg[:,j] -= q (q·Mg[:,j])
                v_dot := 0;
                FOR i IN 1 .. d LOOP
                    v_dot := v_dot + v_q[(b - 1) * d + i] * v_mg[(i - 1) * d + j];
                END LOOP;
                CONTINUE WHEN abs(v_dot) < 1e-150;
                FOR i IN 1 .. d LOOP
                    v_mg[(i - 1) * d + j] := v_mg[(i - 1) * d + j] - v_dot * v_q[(b - 1) * d + i];
                END LOOP;
            END LOOP;
        END LOOP;
    END IF;

    -- 3. residuals: RSS = v'Cv with v = [beta, -1] over [x, y] (the bias fits the means exactly)
    v_rss := 0;
    FOR i IN 1 .. m LOOP
        FOR j IN 1 .. m LOOP
            v_rss := v_rss + (CASE WHEN i = m THEN -1 ELSE v_w[i] END) * p_scatter[(i - 1) * m + j]
                             * (CASE WHEN j = m THEN -1 ELSE v_w[j] END);
        END LOOP;
    END LOOP;
    v_rss := greatest(v_rss, 0);
    v_tss := p_scatter[m * m];
    v_df := n - (r + 1);
    v_s2 := CASE WHEN v_df > 0 THEN v_rss / v_df ELSE 'NaN'::float8 END;

    v_res.features := p_features;
    v_res.coefficients := v_w;
    v_res.std_errors := '{}';
    v_res.t_stats := '{}';
    v_res.p_values := '{}';
    FOR i IN 1 .. d LOOP
        v_se := CASE WHEN v_s2 = 'NaN'::float8 THEN 'NaN'::float8 ELSE sqrt(greatest(v_s2 * v_mg[(i - 1) * d + i], 0)) END;
        v_t := CASE WHEN v_se = 'NaN'::float8 THEN 'NaN'::float8
                    WHEN v_se > 0 THEN v_w[i] / v_se
                    WHEN v_w[i] > 0 THEN 'Infinity'::float8
                    WHEN v_w[i] < 0 THEN '-Infinity'::float8
                    ELSE 'NaN'::float8 END;
        v_res.std_errors := v_res.std_errors || v_se;
        v_res.t_stats := v_res.t_stats || v_t;
        v_res.p_values := v_res.p_values || db4ai_internal._t_pvalue(v_t, CASE WHEN v_df > 0 THEN v_df END);
    END LOOP;
    v_res.r2 := CASE WHEN v_tss > 0 THEN 1 - v_rss / v_tss ELSE 'NaN'::float8 END;
    v_res.adj_r2 := CASE WHEN v_df > 0 AND v_res.r2 <> 'NaN'::float8 THEN 1 - (n - 1) / v_df * (1 - v_res.r2)
                         ELSE 'NaN'::float8 END;

    -- 4. condition number of X = [features, 1]: X'X = [[C + n mean mean', n mean], [n mean', n]]
    v_g := array_fill(0::float8, ARRAY[d * d]);
    FOR i IN 1 .. k LOOP
        FOR j IN 1 .. k LOOP
            v_g[(i - 1) * d + j] := p_scatter[(i - 1) * m + j] + n * p_means[i] * p_means[j];
        END LOOP;
        v_g[(i - 1) * d + d] := n * p_means[i];
        v_g[(d - 1) * d + i] := n * p_means[i];
    END LOOP;
    v_g[d * d] := n;
    v_eig := db4ai_internal._symmetric_eigenvalues(v_g, d);
    v_res.condition_number := CASE WHEN v_eig[1] > 0 THEN sqrt(v_eig[d] / v_eig[1]) ELSE 'Infinity'::float8 END;

    v_res.mse := v_rss / n;
    v_res.rank := r + 1;
    v_res.solver := CASE WHEN r = k THEN 'cholesky' ELSE 'pseudo-inverse' END;
    v_res.processed := p_n;
    v_res.discarded := p_discarded;
    RETURN v_res;
END
$$;

-- Run a moments query (db4ai_internal._linregr_moments_sql) and solve. EXECUTE ... INTO runs the query to
-- completion, so PostgreSQL may plan it in parallel (a FOR loop over a query would not). The query
-- holds the caller's SQL: it runs with the caller's search_path (p_search_path).
CREATE OR REPLACE FUNCTION db4ai_internal._linregr_fit(p_statement text, p_features text[], p_search_path text)
    RETURNS db4ai.linregr_result
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n         int8;
    v_discarded int8;
    v_bad       int8;
    v_means     float8[];
    v_upper     float8[];
    v_scatter   float8[];
    m           int4;
BEGIN
    PERFORM set_config('search_path', p_search_path, true);
    EXECUTE format('SELECT coalesce(sum(g.rows) FILTER (WHERE g.complete), 0)::int8,'
                   ' coalesce(sum(g.rows) FILTER (WHERE NOT g.complete), 0)::int8,'
                   ' coalesce(sum(g.bad_arrays), 0)::int8,'
                   ' max(g.means) FILTER (WHERE g.complete), max(g.scatter) FILTER (WHERE g.complete)'
                   ' FROM (%s' || chr(10) || ') AS g', p_statement)
        INTO v_n, v_discarded, v_bad, v_means, v_upper;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_bad > 0 THEN
        RAISE EXCEPTION 'Input array must be 1-dimensional and must not contain nulls'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('%s rows hold an array that is not 1-dimensional or differs in length from the others', v_bad),
                  HINT = 'all arrays of a feature column must have the same length';
    END IF;
    IF v_n = 0 THEN
        RAISE EXCEPTION 'Input data is empty' USING ERRCODE = 'data_exception';
    END IF;
    -- the query gives the upper triangle row by row: the solver takes the whole symmetric matrix
    m := cardinality(v_means);
    v_scatter := array_fill(0::float8, ARRAY[m * m]);
    FOR i IN 1 .. m LOOP
        FOR j IN i .. m LOOP
            v_scatter[(i - 1) * m + j] := v_upper[(i - 1) * m - (i - 1) * (i - 2) / 2 + j - i + 1];
            v_scatter[(j - 1) * m + i] := v_scatter[(i - 1) * m + j];
        END LOOP;
    END LOOP;
    RETURN db4ai_internal._linregr_solve(p_features, v_n, v_discarded, v_means, v_scatter);
END
$$;

-- Least squares of p_target on p_features over the rows of p_source, from any SQL client.
--   p_source: a table, view, materialized view, foreign or partitioned table, written as in SQL
--             ('houses', 'public.houses', '"Mixed Case"'); a db4ai snapshot also by its shorthand
--             ('houses@1.0.0'). It is read with the caller's privileges.
--   p_target, p_features: column names (not expressions), as stored: each is quoted as an
--             identifier. Numeric or boolean columns, or exactly one float4[]/float8[] feature.
-- Returns the same coefficients as CREATE MODEL ... WITH optimizer = 'normal_equations' on these
-- columns, with the statistics above. Rows with a NULL are discarded and counted.
CREATE OR REPLACE FUNCTION db4ai_internal._linregr(p_source text, p_target text, p_features text[], p_search_path text)
    RETURNS db4ai.linregr_result
    LANGUAGE plpgsql VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_numeric CONSTANT regtype[] := ARRAY['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'bool']::regtype[];
    v_rel     regclass;
    v_columns text[];
    v_types   regtype[] := '{}';
    v_type    regtype;
    v_head    text;
    v_version text;
BEGIN
    -- a snapshot's shorthand [schema.]name@version is not regclass syntax: quote it as the view's name
    PERFORM set_config('search_path', p_search_path, true);  -- the source is named as the caller sees it
    IF strpos(p_source, '@') > 0 AND strpos(p_source, '"') = 0 THEN
        v_head := lower(split_part(p_source, '@', 1));
        v_version := substr(p_source, length(v_head) + 1);
        v_rel := to_regclass(CASE WHEN strpos(v_head, '.') > 0
                                  THEN format('%I.%I', split_part(v_head, '.', 1), split_part(v_head, '.', 2) || v_version)
                                  ELSE quote_ident(v_head || v_version) END);
    END IF;
    IF v_rel IS NULL THEN
        v_rel := p_source::regclass;  -- PostgreSQL's own error when it does not exist
    END IF;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);  -- v_rel::text is now schema-qualified
    IF cardinality(p_features) = 0 THEN
        RAISE EXCEPTION 'At least one feature is required' USING ERRCODE = 'feature_not_supported';
    END IF;
    v_columns := p_target || p_features;
    FOR i IN 1 .. cardinality(v_columns) LOOP
        SELECT a.atttypid::regtype INTO v_type FROM pg_attribute AS a
         WHERE a.attrelid = v_rel AND a.attname = v_columns[i] AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" does not exist in %', v_columns[i], v_rel
                USING ERRCODE = 'undefined_column';
        END IF;
        IF NOT (v_type = ANY (c_numeric) OR (i > 1 AND db4ai_internal._linregr_is_array(v_type))) THEN
            RAISE EXCEPTION 'Oid type % not yet supported', v_type::oid
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = format('column "%s" is of type %s', v_columns[i], v_type),
                      HINT = 'the target must be numeric or boolean; features numeric or boolean, or one float4[]/float8[] column';
        END IF;
        IF i > 1 AND cardinality(p_features) > 1 AND db4ai_internal._linregr_is_array(v_type) THEN
            RAISE EXCEPTION 'Input array cannot be combined with other features' USING ERRCODE = 'feature_not_supported';
        END IF;
        v_types := v_types || v_type;
    END LOOP;
    RETURN db4ai_internal._linregr_fit(
        db4ai_internal._linregr_moments_sql(
            format('SELECT %s FROM %s',
                   (SELECT string_agg(format('%I', c), ', ') FROM (SELECT DISTINCT c FROM unnest(v_columns) AS c) AS u), v_rel),
            v_columns, v_types, p_search_path),
        p_features, p_search_path);
END
$$;

-- The public function: a thin SQL wrapper that hands the caller's search_path to the worker (as the
-- snapshot functions do, sql/snapshot/storage.sql).
CREATE OR REPLACE FUNCTION db4ai.linregr(p_source text, p_target text, p_features text[])
    RETURNS db4ai.linregr_result
    LANGUAGE sql VOLATILE STRICT
AS $$
    SELECT db4ai_internal._linregr(p_source, p_target, p_features, pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION db4ai.linregr(text, text, text[]) IS
    'db4ai: ordinary least squares of target on features over a relation, in one parallel aggregate scan, with inference statistics';
