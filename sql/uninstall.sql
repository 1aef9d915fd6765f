-- Removes every db4ai object: snapshots' backing storage, the model warehouse, functions, types, settings.
--   psql "$DSN" -v ON_ERROR_STOP=1 -f sql/uninstall.sql
-- The user-facing snapshot views ("name@version") live in user schemas and depend on db4ai storage,
-- so CASCADE removes them too: uninstalling deletes all snapshots and models.
BEGIN;
-- Re-running is an upgrade: CREATE ... IF NOT EXISTS notices are noise there.
SET LOCAL client_min_messages = warning;
DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('db4ai install')); END $$;
DROP SCHEMA IF EXISTS db4ai CASCADE;
COMMIT;
