-- Held-out evaluation of a stored model (what BigQuery ML's ML.EVALUATE gives; openGauss has none):
--   SELECT * FROM db4ai.evaluate_model('m', 'houses_test@1.0.0');     -- EVALUATE MODEL m FROM houses_test@1.0.0
-- The relation (a table, view or snapshot, schema-qualified or not; name@version is the snapshot's
-- view) must have the columns the model was trained on, by name: each FEATURES and the TARGET
-- item's name (its alias, else the column it references, else its expression text), as stored in
-- gs_model_warehouse.prediction -> 'target'. Columns are read by name, never as stored SQL, so a
-- model cannot make its evaluator run code. Everything is computed in PostgreSQL from the model's
-- prediction expression (the one PREDICT BY uses); rows whose prediction or target is NULL are left
-- out (metric "rows" counts the others).
--
-- Result rows (metric, value, actual, predicted):
--   regression (continuous targets): rows, mse, rmse, mae, r2 (scikit-learn's r2_score: 1 - SSres/SStot;
--     constant targets give 1 when predicted exactly, else 0);
--   classification: rows, accuracy, precision, recall, f1 (binary: of the positive class, the model's
--     second category; multiclass: macro averages over the classes seen as actual or predicted), a
--     precision or recall without any row to divide by is NULL (binary) or left out of the average
--     (multiclass), as scikit-learn's zero_division=nan; then the confusion table, one row per
--     (actual, predicted) pair of those classes: metric 'confusion', value the count.
-- SECURITY INVOKER and no SET clause: the relation is read with the caller's rights and found on the
-- caller's search_path; every function called here is schema-qualified.

-- The relation named by p_relation: a regclass text, or the name@version shorthand of a snapshot.
CREATE OR REPLACE FUNCTION db4ai_internal._evaluation_relation(p_relation text) RETURNS regclass
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_rel   regclass;
    v_parts text[];
BEGIN
    IF p_relation IS NULL OR pg_catalog.btrim(p_relation) = '' THEN
        RAISE EXCEPTION 'relation to evaluate on must be given' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.strpos(p_relation, '"') = 0 AND pg_catalog.strpos(p_relation, '@') > 0 THEN
        -- [schema.]name@version, unquoted: the view "name@version"
        v_parts := pg_catalog.regexp_match(p_relation, '^\s*(?:([^.@\s]+)\.)?([^@]+?)\s*@\s*(\S+)\s*$');
        IF v_parts IS NOT NULL THEN
            v_rel := pg_catalog.to_regclass(CASE WHEN v_parts[1] IS NULL THEN '' ELSE pg_catalog.quote_ident(v_parts[1]) || '.' END
                                            || pg_catalog.quote_ident(v_parts[2] || '@' || v_parts[3]));
        END IF;
    ELSE
        BEGIN
            v_rel := pg_catalog.to_regclass(p_relation);
        EXCEPTION WHEN invalid_name OR syntax_error OR invalid_parameter_value THEN
            v_rel := NULL;
        END;
    END IF;
    IF v_rel IS NULL THEN
        RAISE EXCEPTION 'relation % does not exist',
            CASE WHEN pg_catalog.strpos(p_relation, '"') > 0 THEN p_relation ELSE '"' || p_relation || '"' END
            USING ERRCODE = 'undefined_table',
                  HINT = 'Name a table, view or snapshot (name@version) that has the model''s feature and target columns.';
    END IF;
    RETURN v_rel;
END
$$;

-- Metrics from a confusion table (actual, predicted, n): accuracy, precision, recall, f1.
CREATE OR REPLACE FUNCTION db4ai_internal._classification_metrics(p_confusion jsonb, p_positive text, p_binary boolean,
    OUT o_accuracy float8, OUT o_precision float8, OUT o_recall float8, OUT o_f1 float8)
    LANGUAGE sql IMMUTABLE
AS $$
    WITH c AS (
        SELECT e ->> 'actual' AS a, e ->> 'predicted' AS p, (e ->> 'n')::float8 AS n
          FROM pg_catalog.jsonb_array_elements(p_confusion) AS e
    ), labels AS (
        SELECT l FROM (SELECT a AS l FROM c UNION SELECT p FROM c) AS u
         WHERE NOT p_binary OR l = p_positive
    ), per AS (
        SELECT l,
               coalesce((SELECT sum(n) FROM c WHERE a = l AND p = l), 0) AS tp,
               coalesce((SELECT sum(n) FROM c WHERE p = l), 0) AS predicted,
               coalesce((SELECT sum(n) FROM c WHERE a = l), 0) AS actual
          FROM labels
    )
    SELECT (SELECT coalesce(sum(n) FILTER (WHERE a = p), 0) / sum(n) FROM c),
           (SELECT avg(tp / predicted) FILTER (WHERE predicted > 0) FROM per),
           (SELECT avg(tp / actual) FILTER (WHERE actual > 0) FROM per),
           (SELECT avg(2 * tp / (predicted + actual)) FILTER (WHERE predicted + actual > 0) FROM per)
$$;

CREATE OR REPLACE FUNCTION db4ai.evaluate_model(p_model text, p_relation text)
    RETURNS TABLE (metric text, value float8, actual text, predicted text)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m          db4ai.gs_model_warehouse%ROWTYPE;
    v_about    jsonb;
    v_rel      regclass;
    v_columns  text[];
    v_missing  text;
    v_pred     text;
    v_type     text;
    v_target   text;
    v_rows     float8;
    v_conf     jsonb;
    v_metrics  record;
    v_mse      float8;
    v_mae      float8;
    v_ss_tot   float8;
    v_actual   text;
BEGIN
    PERFORM db4ai_internal._check_model_name(p_model);
    SELECT * INTO m FROM db4ai.gs_model_warehouse AS w WHERE w.modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_about := m.prediction -> 'target';
    IF v_about IS NULL OR pg_catalog.jsonb_typeof(v_about -> 'features') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'model "%" cannot be evaluated: it has no target or no prediction expression', p_model
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Unsupervised models have nothing to compare with; models stored by db4ai before 0.2 need training again.';
    END IF;
    v_rel := db4ai_internal._evaluation_relation(p_relation);
    v_columns := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(v_about -> 'features'));
    v_target := v_about ->> 'column';
    SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', c), ', ') INTO v_missing
      FROM pg_catalog.unnest(v_columns || v_target) AS c
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = v_rel AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'relation % has no column %', v_rel, v_missing
            USING ERRCODE = 'undefined_column',
                  HINT = format('Model %s reads the columns %s (FEATURES) and %s (TARGET) by name: give expressions '
                                'an alias when training, or evaluate on a view that computes them.',
                                p_model, (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(v_columns) AS c),
                                pg_catalog.quote_ident(v_target));
    END IF;
    v_pred := db4ai.predict_model_sql(p_model, ARRAY(SELECT 'q.' || pg_catalog.quote_ident(c) FROM pg_catalog.unnest(v_columns) AS c));
    v_type := db4ai_internal._prediction_returns(m.prediction, m.outputtype);

    IF v_about ->> 'kind' = 'continuous' THEN
        -- a bool target (a regression on it, or xgboost's logistic objectives) counts as 0/1, as in training
        v_actual := pg_catalog.format('q.%I', v_target);
        IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = v_rel AND a.attname = v_target)
           = 'boolean'::regtype THEN
            v_actual := 'CAST(' || v_actual || ' AS int4)';
        END IF;
        EXECUTE pg_catalog.format(
            'SELECT count(*)::float8, avg((p - y) * (p - y)), avg(abs(p - y)), var_pop(y) * count(*)
               FROM (SELECT CAST(%s AS float8) AS p, CAST(%s AS float8) AS y FROM %s AS q) AS e
              WHERE p IS NOT NULL AND y IS NOT NULL', v_pred, v_actual, v_rel)
           INTO v_rows, v_mse, v_mae, v_ss_tot;
        RETURN QUERY VALUES ('rows', v_rows, NULL::text, NULL::text), ('mse', v_mse, NULL, NULL),
                            ('rmse', pg_catalog.sqrt(v_mse), NULL, NULL), ('mae', v_mae, NULL, NULL),
                            ('r2', CASE WHEN v_rows = 0 THEN NULL
                                        WHEN v_ss_tot > 0 THEN 1 - v_mse * v_rows / v_ss_tot
                                        WHEN v_mse = 0 THEN 1 ELSE 0 END, NULL, NULL);
        RETURN;
    END IF;

    -- classification: the confusion table of (actual, predicted) in the prediction's own type
    EXECUTE pg_catalog.format(
        'SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''actual'', a::text, ''predicted'', p::text, ''n'', n)
                         ORDER BY a, p), ''[]'')
           FROM (SELECT y AS a, p, count(*) AS n
                   FROM (SELECT %s AS p, CAST(q.%I AS %s) AS y FROM %s AS q) AS e
                  WHERE p IS NOT NULL AND y IS NOT NULL GROUP BY y, p) AS c', v_pred, v_target, v_type, v_rel)
       INTO v_conf;
    v_rows := (SELECT coalesce(sum((e ->> 'n')::float8), 0) FROM pg_catalog.jsonb_array_elements(v_conf) AS e);
    -- the positive class as the prediction's type prints it (a bool category 'true' reads back as 'true')
    v_metrics := db4ai_internal._classification_metrics(
        v_conf, CASE WHEN v_about ? 'positive' THEN db4ai_internal._as_text_of(v_about ->> 'positive', v_type) END,
        v_about ->> 'kind' = 'binary');
    RETURN QUERY VALUES ('rows', v_rows, NULL::text, NULL::text), ('accuracy', v_metrics.o_accuracy, NULL, NULL),
                        ('precision', v_metrics.o_precision, NULL, NULL), ('recall', v_metrics.o_recall, NULL, NULL),
                        ('f1', v_metrics.o_f1, NULL, NULL);
    RETURN QUERY
        WITH c AS (SELECT e ->> 'actual' AS a, e ->> 'predicted' AS p, (e ->> 'n')::float8 AS n
                     FROM pg_catalog.jsonb_array_elements(v_conf) WITH ORDINALITY AS t(e, o)),
             labels AS (SELECT l, min(o) AS o FROM (SELECT e ->> 'actual' AS l, o FROM pg_catalog.jsonb_array_elements(v_conf) WITH ORDINALITY AS t(e, o)
                                                    UNION ALL
                                                    SELECT e ->> 'predicted', o FROM pg_catalog.jsonb_array_elements(v_conf) WITH ORDINALITY AS t(e, o)) AS u
                         GROUP BY l)
        SELECT 'confusion', coalesce((SELECT c.n FROM c WHERE c.a = la.l AND c.p = lp.l), 0), la.l, lp.l
          FROM labels AS la CROSS JOIN labels AS lp
         ORDER BY la.o, la.l, lp.o, lp.l;
END
$$;
COMMENT ON FUNCTION db4ai.evaluate_model(text, text) IS
    'db4ai: metrics of a stored model on a relation with its feature and target columns (EVALUATE MODEL)';

-- The text a value of type p_type prints, given its text (e.g. bool 'true' -> 'true', numeric '1.50' -> '1.50').
CREATE OR REPLACE FUNCTION db4ai_internal._as_text_of(p_text text, p_type text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT
AS $$
DECLARE
    v text;
BEGIN
    EXECUTE pg_catalog.format('SELECT CAST(CAST($1 AS %s) AS text)', p_type) INTO v USING p_text;
    RETURN v;
END
$$;
