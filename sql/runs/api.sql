-- The run registry's SQL API, for any client (the Python module db4ai.runs calls the same functions):
--   db4ai.start_run(name, params, source, snapshot_ids, kind) -> run id
--   db4ai.log_metrics(run, step, names[], values[])
--   db4ai.end_run(run, state, error, model, rows_read) -> true, or false when it had already ended
--   db4ai.close_interrupted_runs() -> how many of the caller's runs were marked interrupted
-- They run with the caller's rights (row level security decides); none is SECURITY DEFINER.
-- Call start_run on a connection of its own in autocommit mode, so others see the run while it goes.

-- Is the session that started a run still there? The pid alone could have been reused since; the
-- start time tells (pg_stat_activity hides it for other roles' sessions: then the pid decides).
CREATE OR REPLACE FUNCTION db4ai_internal._run_backend_alive(i_pid int4, i_start timestamptz) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_stat_activity a
                    WHERE a.pid = i_pid AND (a.backend_start IS NULL OR i_start IS NULL OR a.backend_start = i_start))
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._check_run(i_run bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Row level security hides other roles' runs: "not yours" and "no such run" look alike on purpose.
    IF NOT EXISTS (SELECT 1 FROM db4ai.training_run r WHERE r.id = i_run AND db4ai_internal._is_model_owner(r.owner)) THEN
        RAISE EXCEPTION 'training run % does not exist', coalesce(i_run::text, 'NULL')
            USING ERRCODE = 'undefined_object', HINT = 'db4ai.training_runs lists your runs';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION db4ai.close_interrupted_runs() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    -- Makes permanent what db4ai.training_runs shows: the caller's runs whose session is gone.
    UPDATE db4ai.training_run r
       SET state = 'interrupted', finished = clock_timestamp(),
           error = coalesce(r.error, 'the session running it ended before the run did')
     WHERE r.state = 'running' AND db4ai_internal._is_model_owner(r.owner)
       AND NOT db4ai_internal._run_backend_alive(r.backend_pid, r.backend_start);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION db4ai.close_interrupted_runs() IS
    'db4ai: mark the caller''s running runs whose session is gone as interrupted; returns how many';

CREATE OR REPLACE FUNCTION db4ai.start_run(
    i_name text, i_params jsonb DEFAULT '{}', i_source text DEFAULT NULL, i_snapshot_ids bigint[] DEFAULT NULL,
    i_kind text DEFAULT 'external') RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
    v_missing bigint;
BEGIN
    IF i_name IS NULL OR i_name = '' THEN
        RAISE EXCEPTION 'a training run needs a name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF i_kind IS NULL OR i_kind NOT IN ('create_model', 'external') THEN
        RAISE EXCEPTION 'invalid training run kind: %', coalesce(quote_literal(i_kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'kind is ''external'' or ''create_model''';
    END IF;
    IF i_params IS NOT NULL AND jsonb_typeof(i_params) <> 'object' THEN
        RAISE EXCEPTION 'training run params must be a JSON object, not %', jsonb_typeof(i_params)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass {"name": value, ...}';
    END IF;
    SELECT sid INTO v_missing FROM unnest(i_snapshot_ids) AS sid WHERE NOT db4ai_internal._snapshot_readable(sid) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'snapshot id % does not exist or is not readable', coalesce(v_missing::text, 'NULL')
            USING ERRCODE = 'undefined_object', HINT = 'lineage may only name snapshots whose rows you can read';
    END IF;
    PERFORM db4ai.close_interrupted_runs();  -- a later call is where an earlier crash becomes visible
    INSERT INTO db4ai.training_run (name, kind, params, source, snapshot_ids)
    VALUES (i_name, i_kind, coalesce(i_params, '{}'), i_source, i_snapshot_ids)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION db4ai.start_run(text, jsonb, text, bigint[], text) IS
    'db4ai: start a training run (state running) owned by the current role; returns its id';

CREATE OR REPLACE FUNCTION db4ai.log_metrics(i_run bigint, i_step bigint, i_names text[], i_values float8[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM db4ai_internal._check_run(i_run);
    IF i_step IS NULL THEN
        RAISE EXCEPTION 'a metric needs a step' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'pass the epoch, pass or global step the values belong to';
    END IF;
    IF cardinality(i_names) IS DISTINCT FROM cardinality(i_values)
       OR array_position(i_names, NULL) IS NOT NULL OR array_position(i_values, NULL) IS NOT NULL
       OR array_position(i_names, '') IS NOT NULL THEN
        RAISE EXCEPTION 'metric names and values must be non-NULL, with one value per name'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO db4ai.training_run_metric (run_id, step, name, value)
    SELECT i_run, i_step, m.name, m.value FROM unnest(i_names, i_values) AS m(name, value)
    ON CONFLICT (run_id, name, step) DO UPDATE SET value = EXCLUDED.value, logged = EXCLUDED.logged;
END
$$;
COMMENT ON FUNCTION db4ai.log_metrics(bigint, bigint, text[], float8[]) IS
    'db4ai: record metric values of a run at one step (again at the same step: replaced)';

CREATE OR REPLACE FUNCTION db4ai.end_run(
    i_run bigint, i_state text DEFAULT 'succeeded', i_error text DEFAULT NULL, i_model name DEFAULT NULL,
    i_rows_read bigint DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_state IS NULL OR i_state NOT IN ('succeeded', 'failed', 'interrupted') THEN
        RAISE EXCEPTION 'a run ends as succeeded, failed or interrupted, not %', coalesce(quote_literal(i_state), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM db4ai_internal._check_run(i_run);
    -- Only a running run ends; ending it again changes nothing (a failure reported after the
    -- success committed must not overwrite it).
    UPDATE db4ai.training_run r
       SET state = i_state, finished = clock_timestamp(), error = i_error,
           model = coalesce(i_model, r.model), rows_read = coalesce(i_rows_read, r.rows_read)
     WHERE r.id = i_run AND r.state = 'running';
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION db4ai.end_run(bigint, text, text, name, bigint) IS
    'db4ai: end a running run (succeeded / failed / interrupted); false when it had already ended';
