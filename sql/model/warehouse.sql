-- The model warehouse: one row per trained model, in openGauss's gs_model_warehouse layout
-- (spec §3.1) plus db4ai's additions, and a per-pass training log.
--
-- Who may do what (openGauss lets only sysadmins drop; db4ai enforces ownership instead):
--   * everyone may read every model (openGauss grants SELECT to PUBLIC), explain and predict;
--   * any role may store models it owns (row level security checks modelowner on INSERT);
--   * only the owner, a member of the owning role, or a superuser may delete (drop) a model;
--   * nobody updates rows: a model is immutable once stored.
-- Model rows are data only: modeldata is a self-describing binary format that never holds code.

CREATE TABLE IF NOT EXISTS db4ai.gs_model_warehouse (
    modelname             name        NOT NULL,
    modelowner            oid         NOT NULL,
    createtime            timestamp   NOT NULL DEFAULT localtimestamp,
    processedtuples       int4,
    discardedtuples       int4,
    preprocesstime        float4,
    exectime              float4,
    iterations            int4,
    outputtype            oid,
    modeltype             text,
    query                 text,
    modeldata             bytea,
    weight                float4[],       -- deprecated in openGauss, always NULL
    hyperparametersnames  text[],
    hyperparametersvalues text[],
    hyperparametersoids   oid[],
    coefnames             text[],         -- deprecated in openGauss, always NULL
    coefvalues            text[],         -- deprecated
    coefoids              oid[],          -- deprecated
    trainingscoresname    text[],
    trainingscoresvalue   float4[],
    modeldescribe         text[],         -- deprecated
    -- db4ai additions
    feature_names         text[],         -- FEATURES labels (alias, else the expression text)
    feature_oids          oid[],          -- type of each FEATURES column (one float array: its type)
    coefficients          float8[],       -- weights, bias last: the same numbers as in modeldata
    snapshot_ids          bigint[],       -- db4ai.snapshot ids of the snapshots trained on
    predict_function      name,           -- db4ai.<this>(features...) predicts with this model
    prediction            jsonb,          -- the prediction as an expression tree (sql/model/predict.sql)
    details               text[],         -- the algorithm's own gs_explain_model lines ("label: value")
    CONSTRAINT gs_model_warehouse_pkey PRIMARY KEY (modelname)
);
-- Columns added after 0.1 (install.sql over an older install is an upgrade).
ALTER TABLE db4ai.gs_model_warehouse ADD COLUMN IF NOT EXISTS prediction jsonb;
ALTER TABLE db4ai.gs_model_warehouse ADD COLUMN IF NOT EXISTS details text[];
COMMENT ON TABLE db4ai.gs_model_warehouse IS
    'db4ai model warehouse: openGauss gs_model_warehouse columns plus feature_names, feature_oids, coefficients, snapshot_ids, predict_function, prediction, details';

-- BigQuery's ML.TRAINING_INFO shows why: one row per training pass.
CREATE TABLE IF NOT EXISTS db4ai.gs_model_training_log (
    modelname     name   NOT NULL REFERENCES db4ai.gs_model_warehouse (modelname) ON DELETE CASCADE,
    pass          int4   NOT NULL,
    loss          float8,            -- total test loss of the weights frozen at the start of the pass (NULL in pass 0)
    delta_loss    float8,            -- |previous loss - loss| (NULL in passes 0 and 1)
    learning_rate float8,            -- the rate used in this pass (NULL for algorithms without one)
    elapsed       float8 NOT NULL,   -- seconds since training started, at the end of the pass
    PRIMARY KEY (modelname, pass)
);
COMMENT ON TABLE db4ai.gs_model_training_log IS 'db4ai: per-pass training log of each stored model';
ALTER TABLE db4ai.gs_model_training_log ALTER COLUMN learning_rate DROP NOT NULL;

-- Model names are PostgreSQL names: refuse what would be silently truncated to 63 bytes (two long
-- names would otherwise address the same model) or could not be printed on one line.
CREATE OR REPLACE FUNCTION db4ai_internal._check_model_name(p_model text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF octet_length(p_model) > 63 THEN
        RAISE EXCEPTION 'model name too long: "%"', p_model
            USING ERRCODE = 'name_too_long', HINT = 'Model names have at most 63 bytes.';
    END IF;
    IF p_model ~ '[\x01-\x1f]' THEN
        RAISE EXCEPTION 'model name must not contain control characters: %', quote_literal(p_model)
            USING ERRCODE = 'invalid_name';
    END IF;
END
$$;

-- True when the current role may manage a model owned by p_owner. The owner's role may have
-- been dropped since (modelowner is a plain oid), then only superusers may.
CREATE OR REPLACE FUNCTION db4ai_internal._is_model_owner(p_owner oid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM pg_roles WHERE oid = p_owner) THEN pg_has_role(p_owner, 'MEMBER')
        ELSE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    END
$$;

-- Any role may INSERT its own rows, and storing a row generates its prediction function (as the
-- installer, from a tree that the printer checks node by node): bound what a hand-written row can
-- ask for. The constraint is re-created on every install so that upgrades get its current form.
DO $db4ai$
BEGIN
    ALTER TABLE db4ai.gs_model_warehouse DROP CONSTRAINT IF EXISTS gs_model_warehouse_model_shape;
    ALTER TABLE db4ai.gs_model_warehouse ADD CONSTRAINT gs_model_warehouse_model_shape CHECK (
        modeldata IS NOT NULL
        AND octet_length(modelname::text) > 0 AND modelname::text !~ '[\x01-\x1f]'
        AND (coefficients IS NULL OR (array_ndims(coefficients) = 1 AND cardinality(coefficients) BETWEEN 1 AND 100001))
        AND (feature_oids IS NULL OR cardinality(feature_oids) <= 100000)
        AND (prediction IS NULL OR (jsonb_typeof(prediction) = 'object' AND octet_length(prediction::text) <= 67108864)));
END
$db4ai$;

ALTER TABLE db4ai.gs_model_warehouse ENABLE ROW LEVEL SECURITY;
ALTER TABLE db4ai.gs_model_training_log ENABLE ROW LEVEL SECURITY;

DO $db4ai$
BEGIN
    -- Policies have no IF NOT EXISTS: create each one only when missing (install.sql is re-runnable).
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_readable') THEN
        CREATE POLICY models_readable ON db4ai.gs_model_warehouse FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_stored_by_owner') THEN
        CREATE POLICY models_stored_by_owner ON db4ai.gs_model_warehouse FOR INSERT
            WITH CHECK (db4ai_internal._is_model_owner(modelowner));
    END IF;
    -- A stored model blocks PURGE of the snapshots it names, so a role may only name snapshots it can
    -- read (else anyone could pin anyone's snapshot). ALTER keeps upgrades in step with the definition.
    ALTER POLICY models_stored_by_owner ON db4ai.gs_model_warehouse
        WITH CHECK (db4ai_internal._is_model_owner(modelowner)
                    AND NOT EXISTS (SELECT 1 FROM unnest(snapshot_ids) AS sid WHERE NOT db4ai_internal._snapshot_readable(sid)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_dropped_by_owner') THEN
        CREATE POLICY models_dropped_by_owner ON db4ai.gs_model_warehouse FOR DELETE
            USING (db4ai_internal._is_model_owner(modelowner));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_training_log'
                   AND policyname = 'training_log_readable') THEN
        CREATE POLICY training_log_readable ON db4ai.gs_model_training_log FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_training_log'
                   AND policyname = 'training_log_written_by_owner') THEN
        CREATE POLICY training_log_written_by_owner ON db4ai.gs_model_training_log FOR INSERT
            WITH CHECK (EXISTS (SELECT 1 FROM db4ai.gs_model_warehouse m
                                WHERE m.modelname = gs_model_training_log.modelname
                                  AND db4ai_internal._is_model_owner(m.modelowner)));
    END IF;
END
$db4ai$;

REVOKE ALL ON db4ai.gs_model_warehouse, db4ai.gs_model_training_log FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.gs_model_warehouse TO PUBLIC;
GRANT SELECT, INSERT ON db4ai.gs_model_training_log TO PUBLIC;

-- Verbose training reports each pass to the client as a NOTICE (psql and db4ai sql print them).
CREATE OR REPLACE FUNCTION db4ai.notice(p_message text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE NOTICE '%', p_message;
END
$$;
COMMENT ON FUNCTION db4ai.notice(text) IS 'db4ai: send a NOTICE to the client (training progress)';
