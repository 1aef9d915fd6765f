-- db4ai installer.
--   psql "$DSN" -v ON_ERROR_STOP=1 -f sql/install.sql      (from any working directory)
--   db4ai install -d "$DSN"                                   (same objects, from the installed package)
-- Idempotent: running it over an installed database upgrades it in place and keeps all user data.
-- Only \ir (include relative to this file) is used, so the Python installer can expand it too.
BEGIN;
-- Re-running is an upgrade: CREATE ... IF NOT EXISTS notices are noise there.
SET LOCAL client_min_messages = warning;
-- Two installers racing on one database (e.g. parallel test sessions) would collide on CREATE ... IF NOT EXISTS.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(hashtext('db4ai install')); END $$;
-- On a Citus coordinator, objects are created on the coordinator only; citus.sql then hands the
-- workers what they need. (Elsewhere this only sets an unused placeholder setting.)
SET LOCAL citus.create_object_propagation = deferred;
\ir core.sql
\ir snapshot/_all.sql
\ir model/_all.sql
\ir citus.sql
COMMIT;
