-- db4ai core: the schema and the installed version.
-- Every db4ai object lives in schema db4ai; PUBLIC may look things up in it, while what each role may
-- do with snapshots and models is decided by the privileges of the objects themselves.

CREATE SCHEMA IF NOT EXISTS db4ai;
COMMENT ON SCHEMA db4ai IS 'db4ai: versioned training-data snapshots and in-database models';
GRANT USAGE ON SCHEMA db4ai TO PUBLIC;

-- The version of the SQL layer; the Python package refuses a database whose major.minor differs.
-- Re-running install.sql replaces it, which is how an upgrade records itself.
CREATE OR REPLACE FUNCTION db4ai.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '0.1.0'::text $$;
COMMENT ON FUNCTION db4ai.version() IS 'installed db4ai version';
