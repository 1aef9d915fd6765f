-- db4ai.purge_snapshot (PURGE SNAPSHOT): drop a snapshot and reclaim its storage.
--
-- As openGauss: a root with children is refused; the children of a purged non-root snapshot are
-- handed to its parent, inheriting its commands (parent's first) and comment ("a | b"). CSS
-- children keep working because memberships are absolute, not deltas.
-- Ours: only the owner (or a member of the owning role) may purge; a snapshot that a stored model
-- was trained on (db4ai.gs_model_warehouse.snapshot_ids) is refused, and so is one with a child of
-- another owner (its lineage row is that owner's to change).

CREATE OR REPLACE FUNCTION db4ai_internal._purge_snapshot(i_schema name, i_name name)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    s db4ai.snapshot;
    sst db4ai.snapshot_storage;
    v_model text;
    v_child db4ai.snapshot;
    v_others int8multirange;
    v_orphans int8multirange;
    v_unused text;
    v_store regclass;
BEGIN
    s := db4ai_internal._owned_snapshot(v_schema, i_name, 'purge', true);  -- waits for derivations from it

    IF to_regclass('db4ai.gs_model_warehouse') IS NOT NULL THEN
        EXECUTE 'SELECT modelname::text FROM db4ai.gs_model_warehouse WHERE $1 = ANY (snapshot_ids) ORDER BY 1 LIMIT 1'
            INTO v_model USING s.id;
        IF v_model IS NOT NULL THEN
            RAISE EXCEPTION 'cannot purge snapshot %.%: model "%" was trained on it', quote_ident(s."schema"), quote_ident(s."name"), v_model
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'drop the model first';
        END IF;
    END IF;
    IF s.parent_id IS NULL AND EXISTS (SELECT 1 FROM db4ai.snapshot c WHERE c.parent_id = s.id) THEN
        RAISE EXCEPTION 'cannot purge root snapshot ''%.%'' having dependent snapshots', quote_ident(s."schema"), quote_ident(s."name")
            USING ERRCODE = 'dependent_objects_still_exist', HINT = 'purge all dependent snapshots first';
    END IF;
    SELECT * INTO v_child FROM db4ai.snapshot c WHERE c.parent_id = s.id AND NOT db4ai_internal._is_owner(c.owner) ORDER BY c.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot purge snapshot %.%: snapshot %.% of role % depends on it', quote_ident(s."schema"), quote_ident(s."name"),
            quote_ident(v_child."schema"), quote_ident(v_child."name"), quote_ident(v_child.owner)
            USING ERRCODE = 'dependent_objects_still_exist', HINT = 'the owner of the dependent snapshot must purge it first';
    END IF;

    -- One purge (or CSS derivation) at a time per backing table: two purges of the last two
    -- snapshots sharing it would each see the other's storage row and both keep the table. Waiting
    -- here, before any catalog row is touched (a purge changes its children's rows: taking this
    -- lock later could deadlock with a child's purge), the second one sees the first one's
    -- deletion (a new statement, a new snapshot of the catalog) and drops the table.
    v_store := (SELECT st.store FROM db4ai.snapshot_storage st WHERE st.id = s.id);
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = v_store) THEN
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_store);
    END IF;

    -- hand the children down to the parent (merge of lineage, as openGauss)
    UPDATE db4ai.snapshot c SET
        parent_id = s.parent_id,
        commands = s.commands || c.commands,
        comment = CASE WHEN s.comment IS NULL THEN c.comment
                       WHEN c.comment IS NULL THEN s.comment
                       ELSE s.comment || ' | ' || c.comment END
    WHERE c.parent_id = s.id;

    EXECUTE format('DROP VIEW IF EXISTS %I.%I', s."schema", s."name");
    SELECT * INTO sst FROM db4ai.snapshot_storage WHERE id = s.id;
    IF FOUND THEN
        DELETE FROM db4ai.snapshot_storage WHERE id = s.id;
        IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = sst.store) THEN
            NULL;  -- the backing table was dropped by hand (regclass shows a bare OID then: no to_regclass)
        ELSIF NOT EXISTS (SELECT 1 FROM db4ai.snapshot_storage o WHERE o.store = sst.store) THEN
            EXECUTE format('DROP TABLE %s', sst.store);
        ELSE
            -- shared: drop the rows and fields nobody else uses
            SELECT coalesce(range_agg(r), '{}') INTO v_others
            FROM db4ai.snapshot_storage o, unnest(o.members) r WHERE o.store = sst.store;
            v_orphans := sst.members - v_others;
            IF NOT isempty(v_orphans) THEN
                PERFORM db4ai_internal._write_store(sst.store, format('DELETE FROM %s t WHERE t._db4ai_rid OPERATOR(pg_catalog.<@) $1', sst.store),
                                                    v_orphans);
            END IF;
            SELECT string_agg(format('DROP COLUMN %I', f), ', ') INTO v_unused
            FROM unnest(sst.fields) f
            WHERE NOT EXISTS (SELECT 1 FROM db4ai.snapshot_storage o WHERE o.store = sst.store AND f = ANY (o.fields));
            IF v_unused IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %s %s', sst.store, v_unused);
            END IF;
        END IF;
    END IF;
    DELETE FROM db4ai.snapshot WHERE id = s.id;
    RETURN ROW(v_schema, s."name")::db4ai.snapshot_name;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.purge_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai_internal._purge_snapshot(i_schema, i_name) $$;
COMMENT ON FUNCTION db4ai.purge_snapshot(name, name) IS 'Drop snapshot i_name (name@version) and reclaim its storage';
