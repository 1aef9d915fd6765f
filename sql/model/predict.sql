-- Prediction with stored models, for every client.
--
-- A model's prediction is stored as an expression tree (gs_model_warehouse.prediction, jsonb; the
-- node kinds are documented in src/db4ai/expr.py): each algorithm assembles its tree in Python,
-- and exactly one printer, db4ai_internal._expr_sql, turns a tree into SQL. It is used twice:
--   * db4ai.predict_model_sql(model, feature expressions): the expression over the caller's own
--     feature expressions (what PREDICT BY means, as SQL text);
--   * a function db4ai."<model>_pred"(features...) generated when the model is stored, whose body
--     is the tree printed over $1..$n: LANGUAGE sql IMMUTABLE, so PostgreSQL inlines it and a plain
--     SQL client (and PREDICT BY through the shim, which calls it) predicts as fast as a
--     hand-written expression (DESIGN §5).
-- The printer accepts only numbers, argument references, whitelisted operators, functions and
-- types, and literals it quotes itself: a stored row can never smuggle SQL text into the
-- generated function, which a SECURITY DEFINER trigger creates.

-- db4ai 0.1's printer (one per model kind) is replaced by the expression-tree printer below.
DROP FUNCTION IF EXISTS db4ai_internal._prediction_sql(text, float8[], oid[], oid, text[]);

-- Raised from inside prediction expressions when a float array feature has the wrong shape.
-- IMMUTABLE so that the generated functions stay inlinable.
CREATE OR REPLACE FUNCTION db4ai_internal._input_array_error(p_expected int4, p_input float8[]) RETURNS float8
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

-- One-vs-all's class (1-based) from its binary models' margins x·w, exactly as openGauss's
-- multiclass_predict picks it: each margin's score is logistic regression's sigmoid rounded to a C
-- float (openGauss always predicts with logistic regression there), and the first class whose
-- score beats every score before it, starting from 0, wins (so classes whose float scores tie
-- leave the first one). Computed without PostgreSQL's range errors: exp only sees |m| <= 700
-- (the result is the same there), a NaN margin never wins, and a score below 2^-150 is 0 as C's
-- float conversion makes it. No SET clause: it runs once per predicted row, and it is
-- SECURITY INVOKER over built-in arithmetic only.
CREATE OR REPLACE FUNCTION db4ai_internal._ova_argmax(p_margins float8[]) RETURNS int4
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    v_best int4 := 1;
    v_top  float8 := 0;
    v_m    float8;
    v_r    float8;
BEGIN
    FOR c IN 1 .. pg_catalog.cardinality(p_margins) LOOP
        v_m := p_margins[c];
        IF v_m IS NULL THEN
            RETURN NULL;
        END IF;
        CONTINUE WHEN v_m = 'NaN'::float8;
        v_r := 1.0::float8 / (1.0::float8 + pg_catalog.exp(-LEAST(GREATEST(v_m, -700::float8), 700::float8)));
        IF v_r <= 7.006492321624085e-46::float8 THEN  -- 2^-150: rounds to 0 as a float
            v_r := 0;
        ELSE
            v_r := v_r::float4::float8;
        END IF;
        IF v_r > v_top THEN
            v_top := v_r;
            v_best := c;
        END IF;
    END LOOP;
    RETURN v_best;
END
$$;

-- The SQL type a linear model predicts for its TARGET type (openGauss picks db4ai_predict_by_<type>
-- the same way; int2 targets predict int4, as openGauss's _int32 function does). NULL: none.
-- Kept for models stored before prediction trees existed (see the upgrade at the end of this file).
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_type(p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_outputtype
        WHEN 16 THEN 'boolean' WHEN 21 THEN 'int4' WHEN 23 THEN 'int4' WHEN 20 THEN 'int8'
        WHEN 700 THEN 'float4' WHEN 701 THEN 'float8' WHEN 1700 THEN 'numeric'
    END
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._corrupt_prediction(p_node jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'corrupted model: invalid prediction node %', left(p_node::text, 200)
        USING ERRCODE = 'data_corrupted', HINT = 'Drop the model and train it again.';
END
$$;

-- Argument number of a node's reference (1-based), checked against the arguments given.
CREATE OR REPLACE FUNCTION db4ai_internal._expr_arg(p_ref jsonb, p_args text[]) RETURNS int4
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v int4;
BEGIN
    IF jsonb_typeof(p_ref) IS DISTINCT FROM 'number' THEN
        PERFORM db4ai_internal._corrupt_prediction(p_ref);
    END IF;
    v := (p_ref::text)::int4;
    IF v < 1 OR v > coalesce(cardinality(p_args), 0) THEN
        PERFORM db4ai_internal._corrupt_prediction(p_ref);
    END IF;
    RETURN v;
END
$$;

-- The one printer: SQL text of an expression tree over argument texts p_args (either $n
-- placeholders or the caller's own expressions, returned to that caller). p_oids are the feature
-- types (bool features count 0/1), p_output the model's output type (for {"out": ...} constants).
-- Every operator is parenthesised, so no precedence question arises.
CREATE OR REPLACE FUNCTION db4ai_internal._expr_sql(p_node jsonb, p_args text[], p_oids oid[], p_output oid) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    SET extra_float_digits = 3  -- float8 -> text keeps every digit (shortest exact form)
AS $$
DECLARE
    v_key  text;
    v_args jsonb;
    v_sub  text[];
    v_i    int4;
    v_type text;
BEGIN
    IF jsonb_typeof(p_node) = 'number' THEN
        RETURN format('%L::float8', ((p_node::text)::float8)::text);
    END IF;
    IF jsonb_typeof(p_node) IS DISTINCT FROM 'object' THEN
        RETURN db4ai_internal._corrupt_prediction(p_node);
    END IF;
    SELECT k INTO v_key FROM jsonb_object_keys(p_node) AS k
     WHERE k NOT IN ('a', 'else') ORDER BY k LIMIT 1;
    v_args := p_node -> v_key;
    -- children of list-valued nodes (and of f/call/cast through "a"), printed in order
    IF v_key IN ('f', 'call') THEN
        v_args := p_node -> 'a';
    END IF;
    IF v_key IN ('+', '*', '-', '/', '<', '<=', '>', '>=', '=', '<>', 'and', 'or', 'f', 'call', 'arr', 'argmin') THEN
        IF jsonb_typeof(v_args) IS DISTINCT FROM 'array' THEN
            RETURN db4ai_internal._corrupt_prediction(p_node);
        END IF;
        SELECT coalesce(array_agg(db4ai_internal._expr_sql(e, p_args, p_oids, p_output) ORDER BY o), ARRAY[]::text[])
          INTO v_sub FROM jsonb_array_elements(v_args) WITH ORDINALITY AS t(e, o);
    END IF;
    CASE v_key
    WHEN 'c' THEN
        RETURN format('%L::float8', ((v_args #>> '{}')::float8)::text);
    WHEN 'i' THEN
        RETURN ((v_args::text)::int4)::text;
    WHEN 'x' THEN
        v_i := db4ai_internal._expr_arg(v_args, p_args);
        IF p_oids[v_i] = 16 THEN  -- bool features count as 0/1
            RETURN format('CAST(CAST((%s) AS boolean) AS int4)', p_args[v_i]);
        END IF;
        RETURN format('CAST((%s) AS float8)', p_args[v_i]);
    WHEN 'xa' THEN
        RETURN format('CAST((%s) AS float8[])', p_args[db4ai_internal._expr_arg(v_args, p_args)]);
    WHEN 'xe' THEN
        RETURN format('(CAST((%s) AS float8[]))[%s]', p_args[db4ai_internal._expr_arg(v_args -> 0, p_args)],
                      ((v_args ->> 1)::int4)::text);
    WHEN 'array_ok' THEN
        RETURN format('(array_ndims(%1$s) = 1 AND array_lower(%1$s, 1) = 1 AND cardinality(%1$s) = %2$s)',
                      format('CAST((%s) AS float8[])', p_args[db4ai_internal._expr_arg(v_args -> 0, p_args)]),
                      ((v_args ->> 1)::int4)::text);
    WHEN '+' THEN
        RETURN '(' || array_to_string(v_sub, ' + ') || ')';
    WHEN '*' THEN
        RETURN '(' || array_to_string(v_sub, ' * ') || ')';
    WHEN '-' THEN
        IF cardinality(v_sub) = 1 THEN
            RETURN '(-' || v_sub[1] || ')';
        ELSIF cardinality(v_sub) = 2 THEN
            RETURN '(' || v_sub[1] || ' - ' || v_sub[2] || ')';
        END IF;
    WHEN '/' THEN
        IF cardinality(v_sub) = 2 THEN
            RETURN '(' || v_sub[1] || ' / ' || v_sub[2] || ')';
        END IF;
    WHEN '<', '<=', '>', '>=', '=', '<>' THEN
        IF cardinality(v_sub) = 2 THEN
            RETURN '(' || v_sub[1] || ' ' || v_key || ' ' || v_sub[2] || ')';
        END IF;
    WHEN 'and' THEN
        RETURN '(' || array_to_string(v_sub, ' AND ') || ')';
    WHEN 'or' THEN
        RETURN '(' || array_to_string(v_sub, ' OR ') || ')';
    WHEN 'not' THEN
        RETURN '(NOT ' || db4ai_internal._expr_sql(v_args, p_args, p_oids, p_output) || ')';
    WHEN 'isnull' THEN
        RETURN '(' || db4ai_internal._expr_sql(v_args, p_args, p_oids, p_output) || ' IS NULL)';
    WHEN 'f' THEN
        IF (p_node ->> 'f') IN ('exp', 'ln', 'sqrt', 'cos', 'sin', 'tanh', 'abs', 'trunc', 'floor', 'ceil', 'sign',
                                'power', 'greatest', 'least', 'array_position') THEN
            RETURN format('%s(%s)', p_node ->> 'f', array_to_string(v_sub, ', '));
        END IF;
    WHEN 'call' THEN
        IF (p_node ->> 'call') IN ('_input_array_error', '_ova_argmax') THEN
            RETURN format('db4ai_internal.%I(%s)', p_node ->> 'call', array_to_string(v_sub, ', '));
        END IF;
    WHEN 'case' THEN
        IF jsonb_typeof(v_args) = 'array' AND p_node ? 'else' THEN
            SELECT string_agg(format('WHEN %s THEN %s', db4ai_internal._expr_sql(b -> 0, p_args, p_oids, p_output),
                                     db4ai_internal._expr_sql(b -> 1, p_args, p_oids, p_output)), ' ' ORDER BY o)
              INTO v_type FROM jsonb_array_elements(v_args) WITH ORDINALITY AS t(b, o);
            RETURN format('(CASE %s ELSE %s END)', v_type, db4ai_internal._expr_sql(p_node -> 'else', p_args, p_oids, p_output));
        END IF;
    WHEN 'pick' THEN  -- a class: (CAST(ARRAY['c1', ...] AS type[]))[i]
        v_type := coalesce(p_node ->> 't', format_type(p_output, NULL));
        IF jsonb_typeof(p_node -> 'a') = 'array' AND jsonb_typeof(p_node -> 'pick') IS DISTINCT FROM 'array'
           AND v_type IN (format_type(p_output, NULL), 'float4', 'float8', 'numeric', 'int2', 'int4', 'int8', 'boolean', 'text')
           AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_node -> 'a') AS e WHERE jsonb_typeof(e) <> 'string') THEN
            RETURN format('(CAST(ARRAY[%s]::text[] AS %s[]))[%s]',
                          (SELECT coalesce(string_agg(quote_literal(e), ', ' ORDER BY o), '')
                             FROM jsonb_array_elements_text(p_node -> 'a') WITH ORDINALITY AS t(e, o)),
                          v_type, db4ai_internal._expr_sql(v_args, p_args, p_oids, p_output));
        END IF;
    WHEN 'out' THEN
        IF jsonb_typeof(v_args) = 'string' THEN
            RETURN format('CAST(%L AS %s)', v_args #>> '{}', format_type(p_output, NULL));
        END IF;
    WHEN 'cast', 'null' THEN
        v_type := v_args #>> '{}';
        IF v_type IN ('float4', 'float8', 'numeric', 'int2', 'int4', 'int8', 'boolean', 'text', 'float8[]') THEN
            IF v_key = 'null' THEN
                RETURN format('NULL::%s', v_type);
            END IF;
            RETURN format('CAST(%s AS %s)', db4ai_internal._expr_sql(p_node -> 'a', p_args, p_oids, p_output), v_type);
        END IF;
    WHEN 'arr' THEN
        IF cardinality(v_sub) = 0 THEN
            RETURN '''{}''::float8[]';
        END IF;
        RETURN format('ARRAY[%s]::float8[]', array_to_string(v_sub, ', '));
    WHEN 'argmin' THEN
        -- a simple CASE evaluates least() once, then the WHEN values in order up to the first match
        IF cardinality(v_sub) >= 1 AND jsonb_typeof(p_node -> 'a') = 'array'
           AND jsonb_array_length(p_node -> 'a') = cardinality(v_sub) AND p_node ? 'else' THEN
            SELECT string_agg(format('WHEN %s THEN %s', v_sub[o], db4ai_internal._expr_sql(r, p_args, p_oids, p_output)),
                              ' ' ORDER BY o)
              INTO v_type FROM jsonb_array_elements(p_node -> 'a') WITH ORDINALITY AS t(r, o);
            RETURN format('(CASE least(%s) %s ELSE %s END)', array_to_string(v_sub, ', '), v_type,
                          db4ai_internal._expr_sql(p_node -> 'else', p_args, p_oids, p_output));
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN db4ai_internal._corrupt_prediction(p_node);
END
$$;

-- A stored prediction printed as one SQL expression of its declared type: the entry point of the
-- printer (malformed numbers in a tree count as corruption too).
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_sql(p_prediction jsonb, p_args text[], p_oids oid[], p_output oid)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_expr text;
BEGIN
    BEGIN
        v_expr := db4ai_internal._expr_sql(p_prediction -> 'expr', p_args, p_oids, p_output);
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_parameter_value THEN
        RETURN db4ai_internal._corrupt_prediction(p_prediction -> 'expr');
    END;
    IF v_expr IS NULL OR db4ai_internal._prediction_returns(p_prediction, p_output) IS NULL THEN
        RETURN db4ai_internal._corrupt_prediction(p_prediction);
    END IF;
    RETURN format('CAST(%s AS %s)', v_expr, db4ai_internal._prediction_returns(p_prediction, p_output));
END
$$;

-- The SQL type a stored prediction returns ("output": the target's own type).
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_returns(p_prediction jsonb, p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_prediction ->> 'returns' = 'output' THEN format_type(p_outputtype, NULL)
        WHEN p_prediction ->> 'returns' IN ('float4', 'float8', 'numeric', 'int2', 'int4', 'int8', 'boolean', 'text',
                                            'float8[]') THEN p_prediction ->> 'returns'
    END
$$;

-- Number and SQL types of a model's arguments: one float8[] for an array feature, else one per feature.
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_arg_types(p_feature_oids oid[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]) THEN ARRAY['float8[]']
        ELSE ARRAY(SELECT CASE WHEN o = 16 THEN 'boolean' ELSE 'float8' END
                     FROM unnest(p_feature_oids) WITH ORDINALITY AS t(o, i) ORDER BY i)
    END
$$;

-- A stored model for prediction (the missing-model error is openGauss's text).
CREATE OR REPLACE FUNCTION db4ai_internal._predictable_model(p_model text, p_features text[]) RETURNS db4ai.gs_model_warehouse
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m        db4ai.gs_model_warehouse%ROWTYPE;
    v_inputs int4;
BEGIN
    PERFORM db4ai_internal._check_model_name(p_model);
    SELECT * INTO m FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    IF m.prediction IS NULL OR db4ai_internal._prediction_returns(m.prediction, m.outputtype) IS NULL THEN
        RAISE EXCEPTION 'Cannot trigger prediction for model with oid %', m.outputtype
            USING ERRCODE = 'feature_not_supported';
    END IF;
    v_inputs := cardinality(db4ai_internal._prediction_arg_types(m.feature_oids));
    IF coalesce(cardinality(p_features), 0) <> v_inputs THEN
        IF m.prediction #>> '{messages,arguments}' IS NOT NULL THEN  -- the algorithm's own text (k-means)
            RAISE EXCEPTION '%', m.prediction #>> '{messages,arguments}' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RAISE EXCEPTION 'Invalid number of features for prediction, provided %, expected %',
            coalesce(cardinality(p_features), 0), v_inputs
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN m;
END
$$;

-- A model whose prediction names its own error for an argument that is not a float8[] (k-means:
-- "only double precision array of coordinates is accepted") has its array argument passed through
-- db4ai_internal._float8_array: a float8[] resolves to the SQL identity, which PostgreSQL inlines away (so it
-- must not have a SET clause); any other type to an overload that raises the model's text. Besides
-- anyelement, the other number arrays and text (an untyped literal) get their own overload, since
-- they could otherwise also be coerced to float8[] and the call would be ambiguous.
CREATE OR REPLACE FUNCTION db4ai_internal._float8_array(p_value float8[], p_message text) RETURNS float8[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS 'SELECT $1';
DO $db4ai$
DECLARE
    v_type text;
BEGIN
    FOREACH v_type IN ARRAY ARRAY['anyelement', 'text', 'real[]', 'numeric[]', 'smallint[]', 'integer[]', 'bigint[]'] LOOP
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION db4ai_internal._float8_array(p_value %s, p_message text) RETURNS float8[]
                LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
                SET search_path = pg_catalog, pg_temp
            AS $b$
            BEGIN
                RAISE EXCEPTION '%%', p_message USING ERRCODE = 'invalid_parameter_value',
                    DETAIL = format('The argument has type %%s.', pg_typeof(p_value));
            END
            $b$ $f$, v_type);
    END LOOP;
END
$db4ai$;

-- The argument texts of a prediction: the caller's feature expressions, cast to the argument types
-- (through db4ai_internal._float8_array where the model names its own type error).
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_args(m db4ai.gs_model_warehouse, p_features text[]) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(CASE WHEN t.ty = 'float8[]' AND m.prediction #>> '{messages,type}' IS NOT NULL
                          THEN format('db4ai_internal._float8_array((%s), %L::text)', f, m.prediction #>> '{messages,type}')
                          ELSE format('CAST((%s) AS %s)', f, t.ty) END ORDER BY i)
      FROM unnest(p_features, db4ai_internal._prediction_arg_types(m.feature_oids)) WITH ORDINALITY AS t(f, ty, i)
$$;

-- The SQL expression predicting with a stored model from the given feature expressions.
CREATE OR REPLACE FUNCTION db4ai.predict_model_sql(p_model text, p_features text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m db4ai.gs_model_warehouse%ROWTYPE := db4ai_internal._predictable_model(p_model, p_features);
BEGIN
    RETURN db4ai_internal._prediction_sql(m.prediction, db4ai_internal._prediction_args(m, p_features), m.feature_oids, m.outputtype);
END
$$;
COMMENT ON FUNCTION db4ai.predict_model_sql(text, text[]) IS
    'db4ai: the SQL expression predicting with a stored model from the given feature expressions';

-- What PREDICT BY <model> (FEATURES <exprs>) becomes through the Python shim: a call of the model's
-- generated function (PostgreSQL inlines it), each feature cast to the argument's type as the
-- expression would cast it. Printing happens once, when the model is stored.
CREATE OR REPLACE FUNCTION db4ai_internal._predict_by_sql(p_model text, p_features text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m db4ai.gs_model_warehouse%ROWTYPE := db4ai_internal._predictable_model(p_model, p_features);
BEGIN
    IF m.predict_function IS NULL THEN  -- its function was dropped by hand: print the expression instead
        RETURN db4ai.predict_model_sql(p_model, p_features);
    END IF;
    RETURN format('db4ai.%I(%s)', m.predict_function, array_to_string(db4ai_internal._prediction_args(m, p_features), ', '));
END
$$;

-- Generic entry point: the linear value of a linear-family model for plain float8 features. It
-- looks the model up on every call; for speed call the model's own function (predict_function).
CREATE OR REPLACE FUNCTION db4ai.predict_by_float8(p_model text, VARIADIC p_features float8[]) RETURNS float8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_coef   float8[];
    v_type   text;
    v_inputs int4;
    v_sum    float8 := 0;
BEGIN
    SELECT coefficients, modeltype INTO v_coef, v_type FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model USING ERRCODE = 'undefined_object';
    END IF;
    IF v_coef IS NULL THEN
        RAISE EXCEPTION 'model % (%) has no linear coefficients', p_model, v_type
            USING ERRCODE = 'feature_not_supported', HINT = format('Use db4ai.%I(...) or PREDICT BY.', p_model || '_pred');
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

-- The generated function's name for a model: "<model>_pred", like PREDICT BY's default column name;
-- names too long for that keep a hash of the model name to stay distinct.
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_function_name(p_model name) RETURNS name
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_base text := p_model || '_pred';
BEGIN
    IF octet_length(v_base) > 63 THEN
        v_base := p_model;
        WHILE octet_length(v_base) > 49 LOOP
            v_base := left(v_base, -1);
        END LOOP;
        v_base := v_base || '_' || left(md5(p_model), 8) || '_pred';
    END IF;
    RETURN v_base;
END
$$;

-- Argument names of a generated function: the feature names when they make distinct identifiers
-- (what \df shows and what named notation uses), else x1..xn.
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_arg_names(p_feature_names text[], p_types text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN cardinality(p_types) = cardinality(p_feature_names)
                     AND (SELECT count(DISTINCT x) FROM unnest(p_feature_names) x
                           WHERE x IS NOT NULL AND x <> '' AND octet_length(x) <= 63) = cardinality(p_types)
                THEN p_feature_names
                ELSE ARRAY(SELECT 'x' || i FROM generate_subscripts(p_types, 1) AS i) END
$$;

-- The argument list of a generated function: "name type, ...".
CREATE OR REPLACE FUNCTION db4ai_internal._prediction_signature(p_feature_names text[], p_types text[], p_named boolean)
    RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(CASE WHEN p_named THEN format('%I %s', n, t) ELSE t END, ', ' ORDER BY i)
      FROM unnest(db4ai_internal._prediction_arg_names(p_feature_names, p_types), p_types) WITH ORDINALITY AS a(n, t, i)
$$;

-- Create the prediction function of a stored model row (its name already chosen). Runs as the
-- installer inside the trigger (and in the upgrade below); not callable by PUBLIC.
CREATE OR REPLACE FUNCTION db4ai_internal._create_prediction_function(m db4ai.gs_model_warehouse) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_types  text[] := db4ai_internal._prediction_arg_types(m.feature_oids);
    v_names  text[] := db4ai_internal._prediction_arg_names(m.feature_names, v_types);
    v_return text := db4ai_internal._prediction_returns(m.prediction, m.outputtype);
    v_body   text;
    v_old    record;
    v_ddl    text;
BEGIN
    v_body := 'SELECT ' || db4ai_internal._prediction_sql(m.prediction,
                                                           ARRAY(SELECT '$' || i FROM generate_subscripts(v_types, 1) AS i),
                                                  m.feature_oids, m.outputtype);
    -- A function of this name that no other model claims is ours to replace: restoring a dump
    -- re-inserts the rows while the dumped functions (and views on them) already exist. Versions
    -- with other argument types or names would overload or block it: drop those.
    FOR v_old IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
                  WHERE p.pronamespace = 'db4ai'::regnamespace AND p.proname = m.predict_function
                    AND (ARRAY(SELECT unnest(p.proargtypes::oid[])) IS DISTINCT FROM ARRAY(SELECT t::regtype::oid FROM unnest(v_types) AS t)
                         OR p.proargnames IS DISTINCT FROM v_names) LOOP
        EXECUTE format('DROP FUNCTION %s', v_old.fn);
    END LOOP;
    EXECUTE format('CREATE OR REPLACE FUNCTION db4ai.%I(%s) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
                   m.predict_function, db4ai_internal._prediction_signature(m.feature_names, v_types, true),
                   v_return, v_body);
    EXECUTE format('COMMENT ON FUNCTION db4ai.%I(%s) IS %L', m.predict_function, array_to_string(v_types, ', '),
                   format('db4ai: predicts with model %s', m.modelname));
    -- Citus (13.2) propagates this GRANT with the function name unquoted, which fails for mixed-case
    -- names; the workers' copy keeps the default EXECUTE for PUBLIC anyway (citus.sql).
    v_ddl := db4ai_internal._set_citus_ddl('off');
    EXECUTE format('GRANT EXECUTE ON FUNCTION db4ai.%I(%s) TO PUBLIC', m.predict_function, array_to_string(v_types, ', '));
    PERFORM db4ai_internal._set_citus_ddl(v_ddl);
    -- Made while an extension script runs (ALTER EXTENSION db4ai UPDATE regenerating an old model's
    -- function), it would become a member of the extension: it is the model's, dumped with it.
    IF EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                  AND d.objid = format('db4ai.%I(%s)', m.predict_function, array_to_string(v_types, ', '))::regprocedure) THEN
        EXECUTE format('ALTER EXTENSION db4ai DROP FUNCTION db4ai.%I(%s)', m.predict_function, array_to_string(v_types, ', '));
    END IF;
END
$$;
REVOKE ALL ON FUNCTION db4ai_internal._create_prediction_function(db4ai.gs_model_warehouse) FROM PUBLIC;

-- Keeps each model's prediction function in step with its warehouse row. SECURITY DEFINER because
-- ordinary roles store models but may not create functions in schema db4ai; it is narrow: the
-- function's name is derived from the model name (quoted with %I), its body only from the row's
-- prediction tree through the whitelisting printer db4ai_internal._expr_sql, over $n placeholders.
-- BEFORE INSERT names the function and refuses a name another model's function has (a function of
-- that name with other arguments would overload it and make DROP ambiguous); AFTER INSERT (past the
-- unique check on modelname) creates it; AFTER DELETE drops it by its full signature.
CREATE OR REPLACE FUNCTION db4ai_internal._model_function_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.predict_function IS NOT NULL THEN
            EXECUTE format('DROP FUNCTION IF EXISTS db4ai.%I(%s)', OLD.predict_function,
                           array_to_string(db4ai_internal._prediction_arg_types(OLD.feature_oids), ', '));
        END IF;
        RETURN OLD;
    END IF;
    IF TG_WHEN = 'BEFORE' THEN
        NEW.predict_function := NULL;
        IF NEW.prediction IS NULL OR NEW.feature_oids IS NULL
           OR db4ai_internal._prediction_returns(NEW.prediction, NEW.outputtype) IS NULL THEN
            RETURN NEW;  -- nothing a SQL function can predict with
        END IF;
        IF EXISTS (SELECT 1 FROM db4ai.gs_model_warehouse WHERE modelname = NEW.modelname) THEN
            RETURN NEW;  -- the unique key refuses it with openGauss's "already exists"
        END IF;
        NEW.predict_function := db4ai_internal._prediction_function_name(NEW.modelname);
        IF EXISTS (SELECT 1 FROM db4ai.gs_model_warehouse
                    WHERE predict_function = NEW.predict_function AND modelname <> NEW.modelname) THEN
            RAISE EXCEPTION 'cannot store model "%": its prediction function db4ai.% already exists',
                NEW.modelname, quote_ident(NEW.predict_function)
                USING ERRCODE = 'duplicate_function', HINT = 'Choose another model name.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.predict_function IS NOT NULL THEN
        PERFORM db4ai_internal._create_prediction_function(NEW);
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION db4ai_internal._model_function_sync() FROM PUBLIC;

CREATE OR REPLACE TRIGGER model_function_name
    BEFORE INSERT ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai_internal._model_function_sync();
CREATE OR REPLACE TRIGGER model_function_sync
    AFTER INSERT OR DELETE ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai_internal._model_function_sync();

-- Upgrade from 0.1: linear models stored before prediction trees existed get theirs (the same
-- arithmetic the 0.1 code generated: x·w + bias, converted to the target's type), so that
-- PREDICT BY, predict_model_sql and their functions keep working.
CREATE OR REPLACE FUNCTION db4ai_internal._linear_prediction_tree(p_coefficients float8[], p_feature_oids oid[], p_outputtype oid)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH t AS (
        SELECT cardinality(p_coefficients) - 1 AS n,
               p_feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]) AS arr,
               db4ai_internal._prediction_type(p_outputtype) AS ty
    ), s AS (
        SELECT t.*, jsonb_build_object('+', (
                   SELECT jsonb_agg(jsonb_build_object('*', jsonb_build_array(
                              CASE WHEN t.arr THEN jsonb_build_object('xe', jsonb_build_array(1, i))
                                   ELSE jsonb_build_object('x', i) END,
                              to_jsonb(p_coefficients[i]))) ORDER BY i)
                     FROM generate_series(1, t.n) AS i) || jsonb_build_array(to_jsonb(p_coefficients[t.n + 1]))) AS v
          FROM t
    ), g AS (
        SELECT s.*, CASE WHEN s.arr THEN jsonb_build_object(
                   'case', jsonb_build_array(
                       jsonb_build_array(jsonb_build_object('isnull', jsonb_build_object('xa', 1)), jsonb_build_object('null', 'float8')),
                       jsonb_build_array(jsonb_build_object('array_ok', jsonb_build_array(1, s.n)), s.v)),
                   'else', jsonb_build_object('call', '_input_array_error',
                                              'a', jsonb_build_array(jsonb_build_object('i', s.n), jsonb_build_object('xa', 1))))
               ELSE s.v END AS e
          FROM s
    )
    SELECT CASE WHEN g.ty IS NULL THEN NULL ELSE jsonb_build_object('returns', g.ty, 'expr',
        CASE g.ty
            WHEN 'float8' THEN g.e
            WHEN 'boolean' THEN jsonb_build_object('<>', jsonb_build_array(g.e, 0))
            WHEN 'float4' THEN jsonb_build_object('cast', 'float4', 'a', g.e)
            WHEN 'numeric' THEN jsonb_build_object('cast', 'numeric', 'a', g.e)
            ELSE jsonb_build_object('cast', g.ty, 'a', jsonb_build_object('f', 'trunc', 'a', jsonb_build_array(g.e)))
        END) END
      FROM g
$$;

DO $db4ai$
DECLARE
    m db4ai.gs_model_warehouse;
BEGIN
    FOR m IN SELECT * FROM db4ai.gs_model_warehouse
              WHERE prediction IS NULL AND modeltype = 'linear_regression' AND coefficients IS NOT NULL LOOP
        IF m.predict_function IS NOT NULL THEN  -- 0.1's function: unnamed arguments, its own printer
            EXECUTE format('DROP FUNCTION IF EXISTS db4ai.%I(%s)', m.predict_function,
                           array_to_string(db4ai_internal._prediction_arg_types(m.feature_oids), ', '));
        END IF;
        m.prediction := db4ai_internal._linear_prediction_tree(m.coefficients, m.feature_oids, m.outputtype);
        UPDATE db4ai.gs_model_warehouse SET prediction = m.prediction WHERE modelname = m.modelname;
        IF m.predict_function IS NOT NULL AND m.prediction IS NOT NULL THEN
            PERFORM db4ai_internal._create_prediction_function(m);
        END IF;
    END LOOP;
    -- Upgrade from 0.2.0 and earlier: generated functions call the helpers by their old names
    -- (db4ai._input_array_error, ...), moved to db4ai_internal by upgrade.sql. Printing them again
    -- re-points them (CREATE OR REPLACE: the same function, so views on it stay).
    FOR m IN SELECT w.* FROM db4ai.gs_model_warehouse w
              WHERE w.predict_function IS NOT NULL AND w.prediction IS NOT NULL
                AND EXISTS (SELECT 1 FROM pg_proc p
                             WHERE p.pronamespace = 'db4ai'::regnamespace AND p.proname = w.predict_function
                               AND p.prosrc LIKE '%db4ai.\_%') LOOP
        PERFORM db4ai_internal._create_prediction_function(m);
    END LOOP;
END
$db4ai$;
COMMENT ON FUNCTION db4ai.predict_by_float8(text, float8[]) IS
    'db4ai: a stored model''s linear value for float8 features, looked up per call (for speed call the model''s own function)';
