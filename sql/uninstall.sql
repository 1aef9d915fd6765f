-- Removes every db4ai object: snapshots' backing storage, the model warehouse, training runs and
-- artifacts (all in schema db4ai), functions, types, settings, and the helpers in schema db4ai_internal.
--   psql "$DSN" -v ON_ERROR_STOP=1 -f sql/uninstall.sql
-- Uninstalling deletes all snapshots (views and backing tables in user schemas), all models, runs and artifacts.
-- It removes db4ai however it was installed (install.sql or CREATE EXTENSION db4ai).
\set db4ai_quiet :QUIET
\set QUIET on
BEGIN;
SET LOCAL client_min_messages = warning;  -- DROP ... CASCADE lists every dependent object
DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('db4ai install')); END $$;
-- Snapshot views and backing tables live in user schemas: remove them first.
\ir snapshot/uninstall.sql
DROP EXTENSION IF EXISTS db4ai CASCADE;
DROP SCHEMA IF EXISTS db4ai CASCADE;
DROP SCHEMA IF EXISTS db4ai_internal CASCADE;
COMMIT;
\set QUIET :db4ai_quiet
