-- Snapshot catalog: the result type, the id sequence, the public catalog db4ai.snapshot (openGauss
-- columns) and the internal storage map db4ai.snapshot_storage.
--
-- Who may write what (DESIGN §3.2, §4): there is no SECURITY DEFINER code in the snapshot module.
-- Callers write the catalog rows of their own snapshots directly, and row level security decides:
--   * everybody may read both tables (lineage is not secret; a snapshot's rows are protected by
--     the privileges of its view and its backing table, not by hiding the catalog);
--   * a row may be inserted only for oneself, with the id just drawn from the sequence by this
--     session (so nobody can squat future ids), in a schema one may CREATE in, and with a parent
--     one may read (so nobody can fake a dependency on somebody else's snapshot);
--   * a row may be changed or deleted only by its owner or a member of the owning role, and only
--     the lineage/state columns are updatable at all.

DO $$
BEGIN
    CREATE TYPE db4ai.snapshot_name AS ("schema" name, "name" name);
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- installed before: keep it, views and callers depend on it
END;
$$;
COMMENT ON TYPE db4ai.snapshot_name IS 'schema and name (with version) of a snapshot, returned by every snapshot function';

-- Snapshot ids. An id also forms the upper 32 bits of the ids of the rows its snapshot stores
-- (row id = id << 32 | n), so ids stay below 2^31.
CREATE SEQUENCE IF NOT EXISTS db4ai.snapshot_sequence AS bigint MAXVALUE 2147483647;
REVOKE ALL ON SEQUENCE db4ai.snapshot_sequence FROM PUBLIC;
GRANT USAGE ON SEQUENCE db4ai.snapshot_sequence TO PUBLIC;  -- nextval/currval, never setval

CREATE TABLE IF NOT EXISTS db4ai.snapshot (
    id          bigint NOT NULL UNIQUE,     -- from db4ai.snapshot_sequence
    parent_id   bigint,                     -- snapshot it was derived from; NULL for roots
    matrix_id   bigint,                     -- CSS: snapshot whose backing table holds the shared rows
    root_id     bigint,                     -- first snapshot of the lineage
    "schema"    name NOT NULL,              -- schema of the view "<name>@<version>"
    "name"      name NOT NULL,              -- full name including the version
    owner       name NOT NULL,              -- creating role
    commands    text[] NOT NULL,            -- how it was made from its parent (or from operational data)
    comment     text,
    published   boolean NOT NULL DEFAULT false,
    archived    boolean NOT NULL DEFAULT false,
    created     timestamp DEFAULT CURRENT_TIMESTAMP,
    row_count   bigint NOT NULL,
    PRIMARY KEY ("schema", "name")
);
COMMENT ON TABLE db4ai.snapshot IS 'db4ai snapshot catalog (openGauss layout); rows are written by the db4ai.*_snapshot functions';
CREATE INDEX IF NOT EXISTS snapshot_parent_id_idx ON db4ai.snapshot (parent_id);

-- Where a snapshot's rows live (see README.md "Storage"): the backing table ("store"), which of its
-- columns ("fields") hold the snapshot's columns, and which of its rows belong to the snapshot
-- ("members": a set of row-id ranges). Internal: the public contract is db4ai.snapshot.
CREATE TABLE IF NOT EXISTS db4ai.snapshot_storage (
    id          bigint PRIMARY KEY REFERENCES db4ai.snapshot (id) ON DELETE CASCADE,
    owner       name NOT NULL,
    store       regclass NOT NULL,          -- backing table, in the snapshot's schema
    columns     name[] NOT NULL,            -- the snapshot's column names, in order
    fields      name[] NOT NULL,            -- the backing-table column holding each of them
    members     int8multirange,             -- row ids (_db4ai_rid) of its rows; NULL: an MSS table without row ids
    filtered    boolean NOT NULL            -- does the view filter by members? (false: it shows the whole table)
);
COMMENT ON TABLE db4ai.snapshot_storage IS 'db4ai internal: backing table, column map and row membership of each snapshot';
CREATE INDEX IF NOT EXISTS snapshot_storage_store_idx ON db4ai.snapshot_storage (store);

-- Helpers used by the policies. They only read, and run with the caller's rights.
CREATE OR REPLACE FUNCTION db4ai_internal._is_owner(i_owner name) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The owner itself, or a role that may use the owner's privileges (members with INHERIT,
    -- superusers): they can drop and alter the owner's objects anyway.
    SELECT i_owner = current_user
        OR EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = i_owner AND pg_has_role(current_user, r.oid, 'USAGE'))
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._snapshot_readable(i_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- May the current role read the rows of snapshot i_id (SELECT on its view)?
    SELECT coalesce((SELECT has_table_privilege(to_regclass(format('%I.%I', s."schema", s."name")), 'SELECT')
                     FROM db4ai.snapshot s WHERE s.id = i_id), false)
$$;

-- Policies are re-created on every install (an upgrade may change them); dropped here without the
-- NOTICEs that DROP POLICY IF EXISTS would print on a first install.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT policyname, tablename FROM pg_policies
             WHERE schemaname = 'db4ai' AND tablename IN ('snapshot', 'snapshot_storage') LOOP
        EXECUTE format('DROP POLICY %I ON db4ai.%I', p.policyname, p.tablename);
    END LOOP;
END;
$$;

ALTER TABLE db4ai.snapshot ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON db4ai.snapshot FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.snapshot TO PUBLIC;
GRANT UPDATE (parent_id, matrix_id, commands, comment, published, archived) ON db4ai.snapshot TO PUBLIC;

CREATE POLICY snapshot_read ON db4ai.snapshot FOR SELECT USING (true);
CREATE POLICY snapshot_insert ON db4ai.snapshot FOR INSERT WITH CHECK (
    owner = current_user
    AND id = currval('db4ai.snapshot_sequence')
    AND has_schema_privilege("schema", 'CREATE')
    AND (parent_id IS NULL OR db4ai_internal._snapshot_readable(parent_id)));
CREATE POLICY snapshot_update ON db4ai.snapshot FOR UPDATE
    USING (db4ai_internal._is_owner(owner))
    WITH CHECK (db4ai_internal._is_owner(owner) AND (parent_id IS NULL OR db4ai_internal._snapshot_readable(parent_id)));
CREATE POLICY snapshot_delete ON db4ai.snapshot FOR DELETE USING (db4ai_internal._is_owner(owner));

ALTER TABLE db4ai.snapshot_storage ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON db4ai.snapshot_storage FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.snapshot_storage TO PUBLIC;
GRANT UPDATE (filtered) ON db4ai.snapshot_storage TO PUBLIC;

CREATE POLICY snapshot_storage_read ON db4ai.snapshot_storage FOR SELECT USING (true);
CREATE POLICY snapshot_storage_insert ON db4ai.snapshot_storage FOR INSERT WITH CHECK (
    owner = current_user
    AND EXISTS (SELECT 1 FROM db4ai.snapshot s WHERE s.id = snapshot_storage.id AND s.owner = current_user)
    -- one can only register a table whose owner's privileges one has
    AND pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = store), 'USAGE'));
CREATE POLICY snapshot_storage_update ON db4ai.snapshot_storage FOR UPDATE
    USING (db4ai_internal._is_owner(owner)) WITH CHECK (db4ai_internal._is_owner(owner));
CREATE POLICY snapshot_storage_delete ON db4ai.snapshot_storage FOR DELETE USING (db4ai_internal._is_owner(owner));
