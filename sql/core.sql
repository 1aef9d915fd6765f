-- db4ai core: the schemas, their privileges and the installed version.
-- The public API lives in schema db4ai (made by install.sql, or by CREATE EXTENSION from the
-- control file): the snapshot and model functions, the catalogs, each model's generated
-- prediction function. The helpers behind them live in schema db4ai_internal, so that psql's
-- \df db4ai.* lists only what users call. PUBLIC may look things up in both (a prediction
-- function runs as its caller and calls a few helpers; the Python package calls others), while
-- what each role may do with snapshots and models is decided by the privileges of the objects.

COMMENT ON SCHEMA db4ai IS 'db4ai: versioned training-data snapshots and in-database models';
GRANT USAGE ON SCHEMA db4ai TO PUBLIC;
-- Made here, not by install.sql, so that CREATE EXTENSION db4ai (and ALTER EXTENSION db4ai UPDATE
-- from a release without it) makes it a member of the extension too.
CREATE SCHEMA IF NOT EXISTS db4ai_internal;
COMMENT ON SCHEMA db4ai_internal IS 'db4ai: internal helpers of schema db4ai (not an API; may change in any release)';
GRANT USAGE ON SCHEMA db4ai_internal TO PUBLIC;

-- The version of the SQL layer; the Python package refuses a database whose major.minor differs.
-- Re-running install.sql (or ALTER EXTENSION db4ai UPDATE) replaces it: an upgrade records itself.
CREATE OR REPLACE FUNCTION db4ai.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '0.2.0'::text $$;
COMMENT ON FUNCTION db4ai.version() IS 'installed db4ai version';
