-- db4ai installer.
--   psql "$DSN" -v ON_ERROR_STOP=1 -f sql/install.sql      (from any working directory)
--   db4ai install -d "$DSN"                                   (same objects, from the installed package)
-- Idempotent: running it over an installed database upgrades it in place and keeps all user data.
-- The objects themselves are in objects.sql, which CREATE EXTENSION db4ai runs as well.
-- Only \ir (include relative to this file) and \set are used, so the Python installer can expand it.
-- Quiet: psql would print a command tag for each of the hundred-odd statements.
\set db4ai_quiet :QUIET
\set QUIET on
BEGIN;
-- Re-running is an upgrade: CREATE ... IF NOT EXISTS notices are noise there.
SET LOCAL client_min_messages = warning;
-- Two installers racing on one database (e.g. parallel test sessions) would collide on CREATE ... IF NOT EXISTS.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('db4ai install')); END $$;
-- An extension's objects belong to it: objects made here would not, and pg_dump would miss them.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'db4ai') THEN
        RAISE EXCEPTION 'db4ai is installed as an extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'upgrade it with ALTER EXTENSION db4ai UPDATE (or db4ai install --extension)';
    END IF;
END
$$;
-- Citus: the schema too is the coordinator's own (objects.sql says why); a schema made in Citus's
-- immediate mode would be propagated, and every function made in it afterwards with it.
SET LOCAL citus.create_object_propagation = deferred;
CREATE SCHEMA IF NOT EXISTS db4ai;
\ir objects.sql
COMMIT;
\set QUIET :db4ai_quiet
