-- The statistics of a stored least-squares model, readable from SQL.
--
-- CREATE MODEL ... WITH optimizer = 'normal_equations' stores its statistics in modeldata (the
-- warehouse's versioned binary format, src/db4ai/warehouse.py): arrays std_errors, t_stats,
-- p_values (one per coefficient, the bias last) and fit (r2, adj_r2, condition_number, mse), and
-- the settings solver and rank in the JSON header. These functions read that format in SQL.

-- The JSON header of a modeldata value: magic "DB4AIMDL", a version byte, the header's length
-- (4 bytes, little-endian), the header.
CREATE OR REPLACE FUNCTION db4ai_internal._model_header(p_data bytea) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_length int8;
BEGIN
    IF octet_length(p_data) < 13 OR substring(p_data FROM 1 FOR 8) <> '\x44423441494d444c'::bytea
       OR get_byte(p_data, 8) <> 2 THEN
        RAISE EXCEPTION 'model data corrupted: not a db4ai model of format version 2' USING ERRCODE = 'data_corrupted';
    END IF;
    -- (PostgreSQL's | and << share one precedence: every shift is parenthesised)
    v_length := get_byte(p_data, 9)::int8 | (get_byte(p_data, 10)::int8 << 8)
                | (get_byte(p_data, 11)::int8 << 16) | (get_byte(p_data, 12)::int8 << 24);
    RETURN convert_from(substring(p_data FROM 14 FOR v_length::int4), 'UTF8')::jsonb;
END
$$;

-- A little-endian float8 array of a modeldata value by name (NULL when it has none). The bits are
-- turned into the float8 exactly: (-1)^sign * (2^52 + fraction) * 2^(exponent - 1075).
CREATE OR REPLACE FUNCTION db4ai_internal._model_array(p_data bytea, p_name text) RETURNS float8[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_header jsonb := db4ai_internal._model_header(p_data);
    v_item   jsonb;
    v_start  int4;
    v_bits   int8;
    v_exp    int4;
    v_frac   int8;
    v_value  float8;
    v_out    float8[] := '{}';
BEGIN
    SELECT a INTO v_item FROM jsonb_array_elements(v_header -> 'arrays') AS a WHERE a ->> 'name' = p_name;
    IF v_item IS NULL THEN
        RETURN NULL;
    ELSIF v_item ->> 'dtype' <> '<f8' THEN
        RAISE EXCEPTION 'model array % is not float8', p_name USING ERRCODE = 'data_corrupted';
    END IF;
    -- offsets count from the end of the header: 13 bytes of prefix plus the header's length
    v_start := 13 + (get_byte(p_data, 9) | (get_byte(p_data, 10) << 8) | (get_byte(p_data, 11) << 16) | (get_byte(p_data, 12) << 24))
               + (v_item ->> 'offset')::int4;
    FOR i IN 0 .. (v_item ->> 'nbytes')::int4 / 8 - 1 LOOP
        v_bits := 0;
        FOR b IN 0 .. 7 LOOP
            v_bits := v_bits | (get_byte(p_data, v_start + 8 * i + b)::int8 << (8 * b));
        END LOOP;
        v_exp := ((v_bits >> 52) & 2047)::int4;
        v_frac := v_bits & 4503599627370495;  -- 2^52 - 1
        v_value := CASE
            WHEN v_exp = 2047 AND v_frac <> 0 THEN 'NaN'::float8
            WHEN v_exp = 2047 THEN 'Infinity'::float8
            WHEN v_exp = 0 AND v_frac = 0 THEN 0::float8
            WHEN v_exp = 0 THEN v_frac::float8 * 2::float8 ^ -1074
            ELSE (v_frac + 4503599627370496)::float8 * 2::float8 ^ (v_exp - 1075) END;
        v_out := v_out || CASE WHEN v_bits < 0 THEN -v_value ELSE v_value END;
    END LOOP;
    RETURN v_out;
END
$$;

-- The fit and statistics of a model stored by CREATE MODEL ... WITH optimizer = 'normal_equations',
-- in db4ai.linregr's shape (features are the model's FEATURES labels).
CREATE OR REPLACE FUNCTION db4ai.linregr_summary(p_model text) RETURNS db4ai.linregr_result
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m      db4ai.gs_model_warehouse%ROWTYPE;
    v_res  db4ai.linregr_result;
    v_fit  float8[];
    v_set  jsonb;
BEGIN
    PERFORM db4ai_internal._check_model_name(p_model);
    SELECT * INTO m FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no model called "%".', p_model
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_fit := db4ai_internal._model_array(m.modeldata, 'fit');
    IF m.modeltype <> 'linear_regression' OR v_fit IS NULL THEN
        RAISE EXCEPTION 'model "%" has no inference statistics', p_model
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'only linear_regression models trained WITH optimizer = ''normal_equations'' have them';
    END IF;
    v_set := db4ai_internal._model_header(m.modeldata) -> 'settings';
    v_res.features := m.feature_names;
    v_res.coefficients := m.coefficients;
    v_res.std_errors := db4ai_internal._model_array(m.modeldata, 'std_errors');
    v_res.t_stats := db4ai_internal._model_array(m.modeldata, 't_stats');
    v_res.p_values := db4ai_internal._model_array(m.modeldata, 'p_values');
    v_res.r2 := v_fit[1];
    v_res.adj_r2 := v_fit[2];
    v_res.condition_number := v_fit[3];
    v_res.mse := v_fit[4];
    v_res.rank := (v_set ->> 'rank')::int4;
    v_res.solver := v_set ->> 'solver';
    v_res.processed := m.processedtuples;
    v_res.discarded := m.discardedtuples;
    RETURN v_res;
END
$$;
COMMENT ON FUNCTION db4ai.linregr_summary(text) IS
    'db4ai: coefficients and inference statistics of a linear_regression model trained with optimizer = ''normal_equations''';
