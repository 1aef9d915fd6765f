-- gs_explain_model: openGauss's EXPLAIN MODEL text layout (spec §3.7), one "Label: value" line each:
-- Name, Algorithm, Query, Return type, Pre-processing time (%.6f), Execution time (%.6f),
-- Processed tuples, Discarded tuples, every hyperparameter in definition order (int as integer,
-- float8 as %.10f, enum and bool as text), every score (%.10f), then "weights: {w1,...,bias}" for
-- models with linear coefficients, then the algorithm's own lines (gs_model_warehouse.details, e.g.
-- "categories: {...}", centroids, components, trees).
-- Unlike openGauss the argument is not lower-cased, so quoted mixed-case model names work, and
-- int2 targets (predicted as int4) report Int32 instead of failing.

CREATE OR REPLACE FUNCTION db4ai_internal._return_type_label(p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_outputtype
        WHEN 16 THEN 'Boolean' WHEN 17 THEN 'Binary' WHEN 21 THEN 'Int32' WHEN 23 THEN 'Int32'
        WHEN 20 THEN 'Int64' WHEN 700 THEN 'Float32' WHEN 701 THEN 'Float64' WHEN 1022 THEN 'Float64[]'
        WHEN 1700 THEN 'Numeric' WHEN 25 THEN 'Text' WHEN 1043 THEN 'Varchar'
    END
$$;

-- C's "%.<n>f" of a float: fixed notation, n decimals.
CREATE OR REPLACE FUNCTION db4ai_internal._fixed(p_value float8, p_decimals int4) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_value = 'NaN'::float8 THEN 'nan'
        WHEN p_value = 'Infinity'::float8 THEN 'inf'
        WHEN p_value = '-Infinity'::float8 THEN '-inf'
        ELSE round(p_value::numeric, p_decimals)::text
    END
$$;

CREATE OR REPLACE FUNCTION db4ai.gs_explain_model(p_model text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m      db4ai.gs_model_warehouse%ROWTYPE;
    v_type text;
    v_out  text;
BEGIN
    PERFORM db4ai_internal._check_model_name(p_model);
    SELECT * INTO m FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE WARNING 'There is no model called "%".', p_model;
        RAISE EXCEPTION 'empty model obtained for EXPLAIN MODEL'
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_type := db4ai_internal._return_type_label(m.outputtype);
    IF v_type IS NULL THEN
        RAISE EXCEPTION 'invalid return type (%) for model of name "%"', m.outputtype, m.modelname
            USING ERRCODE = 'feature_not_supported';
    END IF;
    v_out := format(E'Name: %s\nAlgorithm: %s\nQuery: %s\nReturn type: %s\n' ||
                    E'Pre-processing time: %s\nExecution time: %s\nProcessed tuples: %s\nDiscarded tuples: %s\n',
                    m.modelname, m.modeltype, m.query, v_type,
                    db4ai_internal._fixed(coalesce(m.preprocesstime, 0), 6), db4ai_internal._fixed(coalesce(m.exectime, 0), 6),
                    m.processedtuples, m.discardedtuples);
    FOR i IN 1 .. coalesce(cardinality(m.hyperparametersnames), 0) LOOP
        v_out := v_out || format(E'%s: %s\n', m.hyperparametersnames[i],
            CASE WHEN m.hyperparametersoids[i] = 701
                 THEN db4ai_internal._fixed(m.hyperparametersvalues[i]::float8, 10)
                 ELSE m.hyperparametersvalues[i] END);
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(m.trainingscoresname), 0) LOOP
        v_out := v_out || format(E'%s: %s\n', m.trainingscoresname[i], db4ai_internal._fixed(m.trainingscoresvalue[i], 10));
    END LOOP;
    IF m.coefficients IS NOT NULL THEN
        v_out := v_out || format(E'weights: %s\n', m.coefficients::text);
    END IF;
    FOR i IN 1 .. coalesce(cardinality(m.details), 0) LOOP
        v_out := v_out || m.details[i] || E'\n';
    END LOOP;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION db4ai.gs_explain_model(text) IS 'db4ai: describe a stored model in openGauss''s EXPLAIN MODEL layout';
