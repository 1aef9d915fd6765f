-- The moments of least squares as one aggregate query that runs where the data lives.
--
-- Ordinary least squares needs only n, the means of [x, y] and their centred sums of cross
-- products (the centred Gram matrix). PostgreSQL's regr_* aggregates compute exactly these for a
-- pair of columns with the Youngs-Cramer update (centred, so no cancellation of large sums) and
-- have combine functions: a query with one regr_sxy per pair of columns runs as Partial Aggregate
-- in parallel workers, and on Citus's workers, and only the partial states (six float8 per pair)
-- travel. regr_sxx, regr_syy, regr_avgx, regr_avgy and regr_count of the same pair share that
-- pair's state (PostgreSQL computes it once), so m columns cost m(m-1)/2 transition states per row.
-- A hand-written aggregate with a float8[] state in PL/pgSQL (or SQL) needs no state per pair, but its
-- per-row function call costs more than all the built-in transitions: 6-16x slower on the same rows
-- (benchmarks/solver.py).
--
-- Rows with a NULL target or feature are left out and counted, as the gradient-descent path does:
-- the query groups by "complete" (every value present), so one scan yields both the moments of the
-- complete rows and the number of the others. An array feature (float4[]/float8[]) contributes its
-- elements; an array that is NULL or holds a NULL leaves its row out, and one that is not
-- one-dimensional or whose length differs from the others is counted in bad_arrays (an error).

CREATE OR REPLACE FUNCTION db4ai_internal._linregr_is_array(p_type regtype) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT p_type IN ('float4[]'::regtype, 'float8[]'::regtype) $$;

-- Elements of an array feature: its length in the first row where it is a 1-D array without NULLs.
-- p_query is the caller's SQL: it runs with the caller's search_path (p_search_path).
CREATE OR REPLACE FUNCTION db4ai_internal._linregr_array_width(p_query text, p_column text, p_search_path text) RETURNS int4
    LANGUAGE plpgsql VOLATILE STRICT  -- it runs the caller's query
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_width int4;
BEGIN
    PERFORM set_config('search_path', p_search_path, true);
    EXECUTE format('SELECT cardinality(q.%1$I) FROM (%2$s) AS q'
                   ' WHERE CASE WHEN array_ndims(q.%1$I) = 1 THEN array_position(q.%1$I, NULL) IS NULL ELSE false END'
                   ' LIMIT 1', p_column, p_query)
        INTO v_width;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
    RETURN v_width;
END
$$;

-- The moments query over p_query's columns p_columns (the target first, then the features) of
-- types p_types. It returns up to two rows, grouped by "complete":
--   complete boolean, rows int8, bad_arrays int8,
--   means float8[] (m values: the features' values, then the target's),
--   scatter float8[] (the centred sums of cross products: the upper triangle of the m x m matrix,
--                     row by row, m(m+1)/2 values; Citus ships each value as a partial state).
-- p_query is run as a subquery with the caller's privileges; the columns are quoted identifiers.
-- An array feature's length is read from p_query's rows, under the caller's p_search_path.
CREATE OR REPLACE FUNCTION db4ai_internal._linregr_moments_sql(p_query text, p_columns text[], p_types regtype[],
                                                               p_search_path text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT  -- it may run the caller's query (array length)
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_values   text[] := '{}';  -- one float8 expression per value: features' values, then the target
    v_complete text[] := '{}';
    v_bad      text := '0::int8';
    v_col      text;
    v_width    int4;
    v_means    text[] := '{}';
    v_scatter  text[] := '{}';
    m          int4;
BEGIN
    IF cardinality(p_columns) < 2 OR cardinality(p_columns) <> cardinality(p_types) THEN
        RAISE EXCEPTION 'least squares needs a target and at least one feature, each with its type'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 2 .. cardinality(p_columns) + 1 LOOP
        -- features first, the target (column 1) last
        v_col := p_columns[CASE WHEN i > cardinality(p_columns) THEN 1 ELSE i END];
        IF i <= cardinality(p_columns) AND db4ai_internal._linregr_is_array(p_types[i]) THEN
            v_width := coalesce(db4ai_internal._linregr_array_width(p_query, v_col, p_search_path), 1);
            FOR e IN 1 .. v_width LOOP
                v_values := v_values || format('CAST((q.%1$I)[array_lower(q.%1$I, 1) + %2$s] AS float8)', v_col, e - 1);
            END LOOP;
            v_complete := v_complete || format(
                'CASE WHEN array_ndims(q.%1$I) = 1 THEN array_position(q.%1$I, NULL) IS NULL ELSE false END', v_col);
            v_bad := format('count(*) FILTER (WHERE CASE WHEN q.%1$I IS NULL THEN false'
                            ' WHEN array_ndims(q.%1$I) IS DISTINCT FROM 1 THEN true'
                            ' WHEN array_position(q.%1$I, NULL) IS NOT NULL THEN false'
                            ' ELSE cardinality(q.%1$I) <> %2$s END)', v_col, v_width);
        ELSIF p_types[CASE WHEN i > cardinality(p_columns) THEN 1 ELSE i END] = 'boolean'::regtype THEN
            v_values := v_values || format('CAST(CAST(q.%I AS int4) AS float8)', v_col);
            v_complete := v_complete || format('q.%I IS NOT NULL', v_col);
        ELSE
            v_values := v_values || format('CAST(q.%I AS float8)', v_col);
            v_complete := v_complete || format('q.%I IS NOT NULL', v_col);
        END IF;
    END LOOP;
    m := cardinality(v_values);
    -- pair (i, j), i < j, is regr_*(v_j, v_i): its state gives both variances, both means and the cross product
    FOR i IN 1 .. m LOOP
        v_means := v_means || CASE WHEN i < m THEN format('regr_avgx(%s, %s)', v_values[i + 1], v_values[i])
                                   ELSE format('regr_avgy(%s, %s)', v_values[m], v_values[m - 1]) END;
        FOR j IN i .. m LOOP
            v_scatter := v_scatter || CASE
                WHEN i = j AND i < m THEN format('regr_sxx(%s, %s)', v_values[i + 1], v_values[i])
                WHEN i = j THEN format('regr_syy(%s, %s)', v_values[m], v_values[m - 1])
                ELSE format('regr_sxy(%s, %s)', v_values[j], v_values[i]) END;
        END LOOP;
    END LOOP;
    RETURN format(E'SELECT %s AS complete, count(*) AS rows, %s AS bad_arrays,\n' ||
                  E'       ARRAY[%s] AS means,\n' ||
                  E'       ARRAY[%s] AS scatter\n' ||
                  E'  FROM (%s\n) AS q\n GROUP BY 1',
                  array_to_string(v_complete, ' AND '), v_bad,
                  array_to_string(v_means, ', '), array_to_string(v_scatter, ', '), p_query);
END
$$;
