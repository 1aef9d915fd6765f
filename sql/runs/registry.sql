-- The training-run registry: one row per run, one row per (run, metric, step).
--
-- Who may do what (runs are private by default, like pg_stat_activity's query texts):
--   * the owner (a member of the owning role, a superuser) sees, changes and deletes its runs;
--   * members of pg_read_all_stats (monitoring roles) see every run, and change none;
--   * everybody else sees nothing: a run's params, source query and error text may quote data.
--     To share runs with a team, train as the team role (SET ROLE team): members then see them.
--   * anybody may start runs of its own; the lineage it records must name snapshots it can read.
-- A run is committed on a connection of its own as soon as it starts, so other sessions watch it
-- live; backend_pid/backend_start identify that session, so a run whose client died (its session
-- is gone while the row still says running) shows as interrupted in db4ai.training_runs.

CREATE OR REPLACE FUNCTION db4ai_internal._current_role_oid() RETURNS oid
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT oid FROM pg_roles WHERE rolname = current_user $$;

-- When this session started: with the pid it tells a live session from a later one reusing the pid.
CREATE OR REPLACE FUNCTION db4ai_internal._backend_start() RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid() $$;

CREATE TABLE IF NOT EXISTS db4ai.training_run (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL CHECK (name <> ''),
    kind           text        NOT NULL DEFAULT 'external' CHECK (kind IN ('create_model', 'external')),
    owner          oid         NOT NULL DEFAULT db4ai_internal._current_role_oid(),
    state          text        NOT NULL DEFAULT 'running'
                               CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    started        timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished       timestamptz,
    error          text,                  -- the failure's text (failed, interrupted)
    params         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    source         text,                  -- what it read: a snapshot (name@version), a query, a URI
    snapshot_ids   bigint[],              -- db4ai.snapshot ids of the snapshots it read (lineage)
    rows_read      bigint      CHECK (rows_read >= 0),
    model          name,                  -- the model it stored (gs_model_warehouse.modelname)
    backend_pid    int4        NOT NULL DEFAULT pg_backend_pid(),
    backend_start  timestamptz DEFAULT db4ai_internal._backend_start(),
    CONSTRAINT training_run_finished_when_ended CHECK ((state = 'running') = (finished IS NULL))
);
COMMENT ON TABLE db4ai.training_run IS
    'db4ai training runs (MLflow-style: params, metrics per step, artifacts, state); see db4ai.training_runs';
CREATE INDEX IF NOT EXISTS training_run_name_idx ON db4ai.training_run (name);
CREATE INDEX IF NOT EXISTS training_run_running_idx ON db4ai.training_run (backend_pid) WHERE state = 'running';

CREATE TABLE IF NOT EXISTS db4ai.training_run_metric (
    run_id  bigint      NOT NULL REFERENCES db4ai.training_run (id) ON DELETE CASCADE,
    step    bigint      NOT NULL,         -- epoch, pass or global step, as the loop counts
    name    text        NOT NULL CHECK (name <> ''),
    value   float8      NOT NULL,         -- NaN and Infinity are kept as logged
    logged  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, name, step)      -- logging a metric again at the same step replaces it
);
COMMENT ON TABLE db4ai.training_run_metric IS 'db4ai: metric values of each training run, per step';

ALTER TABLE db4ai.training_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE db4ai.training_run_metric ENABLE ROW LEVEL SECURITY;

DO $db4ai$
BEGIN
    -- Policies have no IF NOT EXISTS: create each one when missing, then ALTER it to the current
    -- definition so that re-running install.sql upgrades it.
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run'
                   AND policyname = 'runs_visible') THEN
        CREATE POLICY runs_visible ON db4ai.training_run FOR SELECT USING (false);
    END IF;
    ALTER POLICY runs_visible ON db4ai.training_run
        USING (db4ai_internal._is_model_owner(owner) OR pg_has_role('pg_read_all_stats', 'MEMBER'));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run'
                   AND policyname = 'runs_started_by_owner') THEN
        CREATE POLICY runs_started_by_owner ON db4ai.training_run FOR INSERT WITH CHECK (false);
    END IF;
    -- Lineage names only snapshots the role can read (as for models), so nobody records reading
    -- somebody else's data.
    ALTER POLICY runs_started_by_owner ON db4ai.training_run
        WITH CHECK (db4ai_internal._is_model_owner(owner)
                    AND NOT EXISTS (SELECT 1 FROM unnest(snapshot_ids) AS sid WHERE NOT db4ai_internal._snapshot_readable(sid)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run'
                   AND policyname = 'runs_changed_by_owner') THEN
        CREATE POLICY runs_changed_by_owner ON db4ai.training_run FOR UPDATE USING (false);
    END IF;
    ALTER POLICY runs_changed_by_owner ON db4ai.training_run
        USING (db4ai_internal._is_model_owner(owner))
        WITH CHECK (db4ai_internal._is_model_owner(owner)
                    AND NOT EXISTS (SELECT 1 FROM unnest(snapshot_ids) AS sid WHERE NOT db4ai_internal._snapshot_readable(sid)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run'
                   AND policyname = 'runs_deleted_by_owner') THEN
        CREATE POLICY runs_deleted_by_owner ON db4ai.training_run FOR DELETE USING (false);
    END IF;
    ALTER POLICY runs_deleted_by_owner ON db4ai.training_run USING (db4ai_internal._is_model_owner(owner));

    -- Metrics follow their run: visible with it (the subquery sees only the runs the role sees),
    -- written by its owner.
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run_metric'
                   AND policyname = 'metrics_visible') THEN
        CREATE POLICY metrics_visible ON db4ai.training_run_metric FOR SELECT USING (false);
    END IF;
    ALTER POLICY metrics_visible ON db4ai.training_run_metric
        USING (EXISTS (SELECT 1 FROM db4ai.training_run r WHERE r.id = run_id));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'training_run_metric'
                   AND policyname = 'metrics_logged_by_owner') THEN
        CREATE POLICY metrics_logged_by_owner ON db4ai.training_run_metric FOR ALL USING (false);
    END IF;
    ALTER POLICY metrics_logged_by_owner ON db4ai.training_run_metric
        USING (EXISTS (SELECT 1 FROM db4ai.training_run r WHERE r.id = run_id AND db4ai_internal._is_model_owner(r.owner)))
        WITH CHECK (EXISTS (SELECT 1 FROM db4ai.training_run r WHERE r.id = run_id AND db4ai_internal._is_model_owner(r.owner)));
END
$db4ai$;

REVOKE ALL ON db4ai.training_run, db4ai.training_run_metric FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.training_run TO PUBLIC;
-- Who ran what, when and where is fixed once started; the outcome and what it read are not.
GRANT UPDATE (state, finished, error, params, source, snapshot_ids, rows_read, model) ON db4ai.training_run TO PUBLIC;
GRANT SELECT, INSERT, DELETE, UPDATE (value, logged) ON db4ai.training_run_metric TO PUBLIC;
