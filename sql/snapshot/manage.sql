-- db4ai.publish_snapshot / db4ai.archive_snapshot (PUBLISH / ARCHIVE SNAPSHOT): lifecycle flags.
-- Any state may go to any other (openGauss); only the owner or a member of the owning role may.

CREATE OR REPLACE FUNCTION db4ai_internal._manage_snapshot(i_schema name, i_name name, i_publish boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    s db4ai.snapshot;
BEGIN
    s := db4ai_internal._owned_snapshot(v_schema, i_name, CASE WHEN i_publish THEN 'publish' ELSE 'archive' END, false);
    UPDATE db4ai.snapshot SET published = i_publish, archived = NOT i_publish WHERE id = s.id;
    RETURN ROW(v_schema, s."name")::db4ai.snapshot_name;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.publish_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai_internal._manage_snapshot(i_schema, i_name, true) $$;
COMMENT ON FUNCTION db4ai.publish_snapshot(name, name) IS 'Mark snapshot i_name (name@version) as published';

CREATE OR REPLACE FUNCTION db4ai.archive_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai_internal._manage_snapshot(i_schema, i_name, false) $$;
COMMENT ON FUNCTION db4ai.archive_snapshot(name, name) IS 'Mark snapshot i_name (name@version) as archived';
