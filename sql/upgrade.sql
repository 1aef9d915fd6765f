-- What re-creating every object cannot do when upgrading from an earlier release: remove objects
-- that no longer exist (DROP ... IF EXISTS, with the old signature) and migrate data (guarded by
-- checks of the catalogs, so running it twice or on a fresh database does nothing).
-- Runs right after core.sql in sql/objects.sql (before any other object is re-created), so it
-- serves install.sql and ALTER EXTENSION db4ai UPDATE alike.
-- tests/core/test_extension.py upgrades every release in sql/releases/ and compares the result with
-- a fresh install: an object left behind there fails that test until it is dropped here.

-- Up to 0.2.0 the internal helpers (db4ai._*) lived in schema db4ai itself; they live in
-- db4ai_internal now (core.sql). They are moved, not dropped and re-created: moving keeps their
-- identity, so whatever points at them by oid goes on working (the immutability triggers on users'
-- snapshot views and tables, row level security policies, the catalogs' triggers, extension
-- membership, privileges); the files that follow then replace each body in its new place. Only
-- text that names them is stale: the generated prediction functions, re-created by
-- model/predict.sql. A helper of the new schema's name already there (never, short of a failed
-- hand edit) would make the move fail: loudly, and the whole transaction with it.
DO $db4ai$
DECLARE
    v_fn regprocedure;
    v_rel regclass;
    v_type regtype;
BEGIN
    FOR v_fn IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                 WHERE p.pronamespace = 'db4ai'::regnamespace AND p.proname LIKE '\_%' ORDER BY p.oid LOOP
        EXECUTE format('ALTER ROUTINE %s SET SCHEMA db4ai_internal', v_fn);
    END LOOP;
    -- no release had internal tables, sequences or types; moved all the same should one appear
    -- (a table's indexes, row type and owned sequences move with it)
    FOR v_rel IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = 'db4ai'::regnamespace AND c.relname LIKE '\_%'
                    AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY c.oid LOOP
        EXECUTE format('ALTER TABLE %s SET SCHEMA db4ai_internal', v_rel);
    END LOOP;
    FOR v_type IN SELECT t.oid::regtype FROM pg_catalog.pg_type t
                    LEFT JOIN pg_catalog.pg_class r ON r.oid = t.typrelid
                   WHERE t.typnamespace = 'db4ai'::regnamespace AND t.typname LIKE '\_%'
                     AND t.typtype IN ('c', 'd', 'e', 'r') AND (t.typrelid = 0 OR r.relkind = 'c')
                   ORDER BY t.oid LOOP
        EXECUTE format('ALTER TYPE %s SET SCHEMA db4ai_internal', v_type);
    END LOOP;
END
$db4ai$;
