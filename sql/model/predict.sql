-- Prediction with stored models, for every client.
--
-- A linear model predicts x·w + bias converted to the type of its TARGET (openGauss's
-- float8_get_datum): integer targets truncate toward zero, bool is "<> 0". The expression is
-- built in exactly one place, db4ai._prediction_sql, and used twice:
--   * db4ai.predict_model_sql(model, feature expressions): what PREDICT BY becomes through the
--     Python shim, plain SQL arithmetic with the weights as constants;
--   * a function db4ai."<model>_pred"(features...) generated when the model is stored, whose
--     body is that expression over its arguments: LANGUAGE sql IMMUTABLE, so PostgreSQL inlines it
--     and a plain SQL client predicts as fast as a hand-written expression (DESIGN §5).
-- NULL features give a NULL prediction (openGauss uses 0.0; db4ai never substitutes values).

-- Raised from inside prediction expressions when a float array feature has the wrong shape.
-- IMMUTABLE so that the generated functions stay inlinable.
CREATE OR REPLACE FUNCTION db4ai._input_array_error(p_expected int4, p_input float8[]) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'Input array must be 1-dimensional of % elements, must not contain nulls, and must be of type float8 or float.', p_expected
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = format('The array given has %s elements in %s dimensions.', cardinality(p_input), array_ndims(p_input)),
              HINT = 'Pass one float8[] with as many elements as the model was trained on.';
END
$$;

-- The SQL return type of a model's predictions (openGauss picks db4ai_predict_by_<type> the same way;
-- int2 targets predict int4, as openGauss's _int32 function does). NULL: not predictable.
CREATE OR REPLACE FUNCTION db4ai._prediction_type(p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_outputtype
        WHEN 16 THEN 'boolean' WHEN 21 THEN 'int4' WHEN 23 THEN 'int4' WHEN 20 THEN 'int8'
        WHEN 700 THEN 'float4' WHEN 701 THEN 'float8' WHEN 1700 THEN 'numeric'
    END
$$;

-- The prediction expression of a linear model over the given argument expressions. Weights
-- become float8 literals printed with all digits; argument texts are used verbatim (they are
-- either $n placeholders or the caller's own PREDICT BY expressions, returned to that caller).
CREATE OR REPLACE FUNCTION db4ai._prediction_sql(
    p_modeltype text, p_coefficients float8[], p_feature_oids oid[], p_outputtype oid, p_args text[]
) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    SET extra_float_digits = 3  -- float8 -> text keeps every digit (shortest exact form)
AS $$
DECLARE
    v_inputs int4 := cardinality(p_coefficients) - 1;
    v_array  boolean := p_feature_oids = ARRAY[1022]::oid[] OR p_feature_oids = ARRAY[1021]::oid[];
    v_terms  text[] := ARRAY[]::text[];
    v_arg    text;
    v_sum    text;
    v_type   text := db4ai._prediction_type(p_outputtype);
BEGIN
    IF p_modeltype IS DISTINCT FROM 'linear_regression' THEN
        RAISE EXCEPTION 'Cannot trigger prediction for model of type %', p_modeltype
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF v_type IS NULL THEN
        RAISE EXCEPTION 'Cannot trigger prediction for model with oid %', p_outputtype
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF v_inputs < 1 OR array_ndims(p_coefficients) <> 1 OR array_position(p_coefficients, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'corrupted model: invalid coefficients %', p_coefficients USING ERRCODE = 'data_corrupted';
    END IF;
    IF v_array THEN
        v_arg := format('CAST((%s) AS float8[])', p_args[1]);
        FOR i IN 1 .. v_inputs LOOP
            v_terms := v_terms || format('(%s)[%s] * %L::float8', v_arg, i, p_coefficients[i]::text);
        END LOOP;
    ELSE
        IF cardinality(p_feature_oids) <> v_inputs THEN
            RAISE EXCEPTION 'corrupted model: % coefficients for % features', v_inputs + 1, cardinality(p_feature_oids)
                USING ERRCODE = 'data_corrupted';
        END IF;
        FOR i IN 1 .. v_inputs LOOP
            IF p_feature_oids[i] = 16 THEN  -- bool features count as 0/1
                v_arg := format('CAST(CAST((%s) AS boolean) AS int4)', p_args[i]);
            ELSE
                v_arg := format('CAST((%s) AS float8)', p_args[i]);
            END IF;
            v_terms := v_terms || format('%s * %L::float8', v_arg, p_coefficients[i]::text);
        END LOOP;
    END IF;
    v_sum := array_to_string(v_terms || format('%L::float8', p_coefficients[v_inputs + 1]::text), ' + ');
    IF v_array THEN
        v_sum := format('CASE WHEN %1$s IS NULL THEN NULL::float8 '
                        'WHEN array_ndims(%1$s) = 1 AND array_lower(%1$s, 1) = 1 AND cardinality(%1$s) = %2$s THEN %3$s '
                        'ELSE db4ai._input_array_error(%2$s, %1$s) END', v_arg, v_inputs, v_sum);
    END IF;
    RETURN CASE v_type
        WHEN 'float8'  THEN format('(%s)', v_sum)
        WHEN 'float4'  THEN format('CAST((%s) AS float4)', v_sum)
        WHEN 'numeric' THEN format('CAST((%s) AS numeric)', v_sum)
        WHEN 'boolean' THEN format('((%s) <> 0)', v_sum)
        ELSE format('CAST(trunc(%s) AS %s)', v_sum, v_type)  -- C's cast truncates toward zero
    END;
END
$$;

-- What PREDICT BY <model> (FEATURES <exprs>) becomes through the Python shim.
CREATE OR REPLACE FUNCTION db4ai.predict_model_sql(p_model text, p_features text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m        record;
    v_inputs int4;
BEGIN
    SELECT modeltype, coefficients, feature_oids, outputtype INTO m
      FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_inputs := CASE WHEN m.feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]) THEN 1
                     ELSE cardinality(m.coefficients) - 1 END;
    IF coalesce(cardinality(p_features), 0) <> v_inputs THEN
        RAISE EXCEPTION 'Invalid number of features for prediction, provided %, expected %',
            coalesce(cardinality(p_features), 0), v_inputs
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN db4ai._prediction_sql(m.modeltype, m.coefficients, m.feature_oids, m.outputtype, p_features);
END
$$;
COMMENT ON FUNCTION db4ai.predict_model_sql(text, text[]) IS
    'db4ai: the SQL expression predicting with a stored model from the given feature expressions';

-- Generic entry point: the model's linear value for plain float8 features. It looks the model up
-- on every call; for speed call the model's own function (gs_model_warehouse.predict_function).
CREATE OR REPLACE FUNCTION db4ai.predict_by_float8(p_model text, VARIADIC p_features float8[]) RETURNS float8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_coef   float8[];
    v_inputs int4;
    v_sum    float8 := 0;
BEGIN
    SELECT coefficients INTO v_coef FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model USING ERRCODE = 'undefined_object';
    END IF;
    v_inputs := cardinality(v_coef) - 1;
    IF cardinality(p_features) <> v_inputs THEN
        RAISE EXCEPTION 'Invalid number of features for prediction, provided %, expected %',
            cardinality(p_features), v_inputs USING ERRCODE = 'feature_not_supported';
    END IF;
    FOR i IN 1 .. v_inputs LOOP
        v_sum := v_sum + p_features[i] * v_coef[i];
    END LOOP;
    RETURN v_sum + v_coef[v_inputs + 1];
END
$$;

-- Keeps each model's prediction function in step with its warehouse row. SECURITY DEFINER because
-- ordinary roles store models but may not create functions in schema db4ai; it is narrow: the
-- function's name is derived from the model name (quoted with %I), its body only from the row's
-- numbers (weights, type OIDs) through db4ai._prediction_sql with $n placeholders.
-- BEFORE INSERT names the function; AFTER INSERT (past the unique check on modelname) creates it;
-- AFTER DELETE drops it.
CREATE OR REPLACE FUNCTION db4ai._model_function_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_base   text;
    v_args   text[] := ARRAY[]::text[];
    v_types  text;
    v_inputs int4;
    v_array  boolean;
    v_ddl    text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.predict_function IS NOT NULL THEN
            EXECUTE format('DROP FUNCTION IF EXISTS db4ai.%I', OLD.predict_function);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_WHEN = 'BEFORE' THEN
        NEW.predict_function := NULL;
        IF NEW.modeltype IS DISTINCT FROM 'linear_regression' OR db4ai._prediction_type(NEW.outputtype) IS NULL
           OR NEW.coefficients IS NULL OR NEW.feature_oids IS NULL THEN
            RETURN NEW;  -- nothing a SQL function can predict with
        END IF;
        -- "<model>_pred", like PREDICT BY's default column name; long names keep a hash to stay unique
        v_base := NEW.modelname || '_pred';
        IF octet_length(v_base) > 63 THEN
            v_base := NEW.modelname;
            WHILE octet_length(v_base) > 49 LOOP
                v_base := left(v_base, -1);
            END LOOP;
            v_base := v_base || '_' || left(md5(NEW.modelname), 8) || '_pred';
        END IF;
        NEW.predict_function := v_base;
        RETURN NEW;
    END IF;
    IF NEW.predict_function IS NULL THEN
        RETURN NULL;
    END IF;
    v_array := NEW.feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]);
    v_inputs := CASE WHEN v_array THEN 1 ELSE cardinality(NEW.feature_oids) END;
    SELECT string_agg(CASE WHEN v_array THEN 'float8[]' WHEN NEW.feature_oids[i] = 16 THEN 'boolean' ELSE 'float8' END,
                      ', ' ORDER BY i),
           array_agg('$' || i ORDER BY i)
      INTO v_types, v_args
      FROM generate_series(1, v_inputs) AS i;
    EXECUTE format('CREATE FUNCTION db4ai.%I(%s) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
                   NEW.predict_function, v_types, db4ai._prediction_type(NEW.outputtype),
                   'SELECT ' || db4ai._prediction_sql(NEW.modeltype, NEW.coefficients, NEW.feature_oids,
                                                      NEW.outputtype, v_args));
    EXECUTE format('COMMENT ON FUNCTION db4ai.%I(%s) IS %L', NEW.predict_function, v_types,
                   format('db4ai: predicts with model %s', NEW.modelname));
    -- Citus (13.2) propagates this GRANT with the function name unquoted, which fails for mixed-case
    -- names; the workers' copy keeps the default EXECUTE for PUBLIC anyway (citus.sql).
    v_ddl := db4ai._set_citus_ddl('off');
    EXECUTE format('GRANT EXECUTE ON FUNCTION db4ai.%I(%s) TO PUBLIC', NEW.predict_function, v_types);
    PERFORM db4ai._set_citus_ddl(v_ddl);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION db4ai._model_function_sync() FROM PUBLIC;

CREATE OR REPLACE TRIGGER model_function_name
    BEFORE INSERT ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai._model_function_sync();
CREATE OR REPLACE TRIGGER model_function_sync
    AFTER INSERT OR DELETE ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai._model_function_sync();
