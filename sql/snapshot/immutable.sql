-- Snapshots are immutable, for every role, superusers included.
--
-- Privileges alone cannot promise that: a superuser skips every privilege check, and the owner of a
-- backing table may write it (or grant itself back the rights on its view). So every snapshot view and
-- every backing table carries a trigger that refuses each INSERT, UPDATE, DELETE and TRUNCATE (COPY
-- FROM and MERGE fire the same triggers) with an error that says how to make a new version instead:
--   view           _db4ai_immutable      BEFORE INSERT OR UPDATE OR DELETE FOR EACH STATEMENT
--                  _db4ai_immutable_row  INSTEAD OF INSERT OR UPDATE OR DELETE FOR EACH ROW (without
--                                        it PostgreSQL would rewrite the write into one on the backing
--                                        table and skip the view's statement trigger)
--   backing table  _db4ai_immutable      BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE FOR EACH STATEMENT
-- Statement triggers refuse a write that touches no row as well.
--
-- db4ai's own maintenance writes backing tables in two places: a CSS child appends its new rows to its
-- parent's table, and PURGE deletes the rows nobody uses any more (a new table is filled by CREATE
-- TABLE AS before it gets its trigger). Both go through db4ai_internal._write_store, which sets the permit
-- db4ai.store_write = '<table oid>:<transaction id>' for the one statement it runs; the permit ends
-- with that function (its SET clause restores the setting), it names one table and one transaction,
-- and the triggers of views never accept it.
-- Why this bypass cannot be abused: it lifts the trigger, never a privilege. A write under the permit
-- still needs INSERT/DELETE on the backing table, which only its owner (and members of the owning
-- role, and superusers) hold, and those roles can drop the trigger or the table anyway: ownership is
-- the limit of what a database can protect against. What the triggers prevent is a write by
-- accident, by the people who can write: through a view in a script, by the default superuser of an
-- embedded server, or on the wrong table.

-- The trigger function of views and backing tables (one function: the triggers differ only in when
-- they fire). Never returns normally, except for db4ai's own writes on a backing table.
CREATE OR REPLACE FUNCTION db4ai_internal._refuse_write() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_permit text := current_setting('db4ai.store_write', true);
    v_is_view boolean;
    v_names text[];
    v_name text;
    v_delimiter text := coalesce(nullif(current_setting('db4ai.version_delimiter', true), ''), '@');
    v_verb text := CASE TG_OP WHEN 'INSERT' THEN 'insert into' WHEN 'DELETE' THEN 'delete from' ELSE lower(TG_OP) END;
    v_example text := CASE TG_OP WHEN 'INSERT' THEN 'INSERT VALUES ...' WHEN 'UPDATE' THEN 'UPDATE SET ... WHERE ...'
                                 ELSE 'DELETE WHERE ...' END;
BEGIN
    SELECT c.relkind = 'v' INTO v_is_view FROM pg_class c WHERE c.oid = TG_RELID;
    IF NOT v_is_view AND TG_LEVEL = 'STATEMENT' AND coalesce(v_permit, '') <> '' THEN
        IF v_permit = format('%s:%s', TG_RELID, txid_current()) THEN
            RETURN NULL;  -- db4ai_internal._write_store: one of db4ai's own writes
        END IF;
    END IF;
    -- the snapshots concerned: the view's own, or every snapshot stored in the backing table (the
    -- hint names the newest of them)
    SELECT array_agg(format('%I.%I', s."schema", s."name") ORDER BY s.id), (array_agg(s."name" ORDER BY s.id DESC))[1]
      INTO v_names, v_name
      FROM db4ai.snapshot s
     WHERE CASE WHEN v_is_view THEN s."schema" = TG_TABLE_SCHEMA AND s."name" = TG_TABLE_NAME
                ELSE s.id IN (SELECT st.id FROM db4ai.snapshot_storage st WHERE st.store = TG_RELID) END;
    IF v_is_view THEN
        RAISE EXCEPTION 'cannot % snapshot %.%', v_verb, quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'snapshots are immutable',
                  HINT = db4ai_internal._derive_hint(TG_TABLE_NAME, v_delimiter, v_example);
    END IF;
    RAISE EXCEPTION 'cannot % table %.%: it stores %', v_verb, quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME),
        CASE WHEN v_names IS NULL THEN 'db4ai snapshot data'
             WHEN cardinality(v_names) = 1 THEN 'snapshot ' || v_names[1]
             WHEN cardinality(v_names) <= 3 THEN 'snapshots ' || array_to_string(v_names, ', ')
             ELSE format('snapshots %s and %s more', array_to_string(v_names[1:3], ', '), cardinality(v_names) - 3) END
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'snapshots are immutable, and so are the tables that hold their rows',
              HINT = CASE WHEN v_name IS NULL THEN 'derive a new snapshot version instead: CREATE SNAPSHOT ... FROM @version USING (...)'
                          ELSE db4ai_internal._derive_hint(v_name, v_delimiter, v_example) END;
END;
$$;

-- "derive a new version instead: CREATE SNAPSHOT <name> FROM @<version> USING (<example>)".
CREATE OR REPLACE FUNCTION db4ai_internal._derive_hint(i_name text, i_delimiter text, i_example text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'derive a new version instead: CREATE SNAPSHOT '
           || CASE WHEN strpos(i_name, i_delimiter) > 0
                   THEN quote_ident(split_part(i_name, i_delimiter, 1)) || ' FROM ' || i_delimiter
                        || substr(i_name, strpos(i_name, i_delimiter) + 1)
                   ELSE '... FROM @version' END
           || ' USING (' || i_example || ')'
$$;

-- Give a snapshot view or backing table its triggers (idempotent).
CREATE OR REPLACE FUNCTION db4ai_internal._make_immutable(i_rel regclass, i_is_view boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_is_view THEN
        EXECUTE format('CREATE OR REPLACE TRIGGER _db4ai_immutable BEFORE INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION db4ai_internal._refuse_write()', i_rel);
        EXECUTE format('CREATE OR REPLACE TRIGGER _db4ai_immutable_row INSTEAD OF INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION db4ai_internal._refuse_write()', i_rel);
    ELSIF NOT db4ai_internal._citus_table(i_rel) THEN
        EXECUTE format('CREATE OR REPLACE TRIGGER _db4ai_immutable BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION db4ai_internal._refuse_write()', i_rel);
    END IF;
    -- A Citus distributed or reference backing table gets no trigger (Citus refuses triggers there):
    -- its view refuses writes like any other, and only its owner could write the table itself.
END;
$$;

-- Run one of db4ai's own writes on backing table i_store (i_sql, with $1 = i_members); returns the
-- row count. The permit it sets holds for this call only: the SET clause of the function restores
-- db4ai.store_write when it returns, and an error rolls it back.
CREATE OR REPLACE FUNCTION db4ai_internal._write_store(i_store regclass, i_sql text, i_members int8multirange DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET db4ai.store_write = ''
AS $$
DECLARE
    v_rows bigint;
BEGIN
    PERFORM set_config('db4ai.store_write', format('%s:%s', i_store::oid, txid_current()), true);
    EXECUTE i_sql USING i_members;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM set_config('db4ai.store_write', '', true);
    RETURN v_rows;
END;
$$;

-- Upgrade: snapshots made by an earlier install get their triggers, and the owner of a view gets back
-- the write privileges an earlier install revoked from it (so that it, too, sees the error that says
-- what to do instead of "permission denied"). Needs the rights of the owners (a superuser installs);
-- a snapshot the installing role cannot alter is reported, not skipped silently.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT s.id, s."schema", s."name", s.owner, st.store, to_regclass(format('%I.%I', s."schema", s."name")) AS view
        FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st ON st.id = s.id
        WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = st.store)
        ORDER BY s.id
    LOOP
        BEGIN
            PERFORM db4ai_internal._make_immutable(r.store, false);
            IF r.view IS NOT NULL THEN
                PERFORM db4ai_internal._make_immutable(r.view, true);
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.owner) THEN
                    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO %I', r.view, r.owner);
                END IF;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'snapshot %.% stays writable by its owner: % (re-run install.sql as a superuser or as %)',
                quote_ident(r."schema"), quote_ident(r."name"), SQLERRM, quote_ident(r.owner);
        END;
    END LOOP;
END;
$$;
