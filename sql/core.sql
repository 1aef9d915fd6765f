-- db4ai core: the schema's privileges and the installed version.
-- Every db4ai object lives in schema db4ai (made by install.sql, or by CREATE EXTENSION from the
-- control file); PUBLIC may look things up in it, while what each role may do with snapshots and
-- models is decided by the privileges of the objects themselves.

COMMENT ON SCHEMA db4ai IS 'db4ai: versioned training-data snapshots and in-database models';
GRANT USAGE ON SCHEMA db4ai TO PUBLIC;

-- The version of the SQL layer; the Python package refuses a database whose major.minor differs.
-- Re-running install.sql (or ALTER EXTENSION db4ai UPDATE) replaces it: an upgrade records itself.
CREATE OR REPLACE FUNCTION db4ai.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '0.2.0'::text $$;
COMMENT ON FUNCTION db4ai.version() IS 'installed db4ai version';
