-- db4ai on a Citus coordinator: which objects the worker nodes get. Included last by install.sql;
-- on a database without the citus extension it does nothing.
--
-- Placement (README "Citus"):
--   * coordinator only: everything install.sql creates: the schema's catalogs (db4ai.snapshot,
--     snapshot_storage, gs_model_warehouse, gs_model_training_log) stay plain local tables, because
--     they hold node-local identities (regclass, role oids) and their row level security policies
--     call currval() of a coordinator sequence; the snapshot and model functions run only where
--     they are called, on the coordinator. install.sql sets citus.create_object_propagation =
--     deferred so that Citus creates them locally without trying (and warning about) propagation.
--   * no reference tables: no worker ever needs the catalogs (predictions are constants, below).
--   * propagated to the workers: what a query pushed down to a worker may call, i.e. each model's
--     generated prediction function db4ai."<model>_pred" (created by the warehouse trigger, which
--     Citus propagates in immediate mode with its dependency, the schema) and the helpers such a
--     body calls (db4ai_internal._input_array_error, _ova_argmax, the _float8_array overloads;
--     Citus propagates their schema db4ai_internal with them).
--   * snapshot storage of distributed sources is distributed (create.sql, storage.sql); views
--     over it are propagated by Citus like any view over distributed tables.
DO $$
DECLARE
    v_fn regprocedure;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- create_distributed_function is idempotent for a function already distributed
    FOR v_fn IN
        -- the helpers a printed prediction may call (sql/model/predict.sql)
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'db4ai_internal'::regnamespace AND p.proname IN ('_input_array_error', '_float8_array', '_ova_argmax')
        UNION ALL
        SELECT p.oid::regprocedure FROM db4ai.gs_model_warehouse m
          JOIN pg_catalog.pg_proc p ON p.proname = m.predict_function
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'db4ai'
    LOOP
        PERFORM pg_catalog.create_distributed_function(v_fn);
    END LOOP;
END;
$$;
