-- Removes every snapshot's view and backing table. Both live in user schemas (the backing table
-- next to its view, owned by the snapshot's creator), so DROP SCHEMA db4ai CASCADE alone would leave
-- them behind. sql/uninstall.sql includes this file before it drops schema db4ai.
DO $$
DECLARE
    v_sql text;
BEGIN
    IF to_regclass('db4ai.snapshot') IS NULL THEN
        RETURN;  -- nothing installed
    END IF;
    FOR v_sql IN SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE', s."schema", s."name") FROM db4ai.snapshot s LOOP
        EXECUTE v_sql;
    END LOOP;
    IF to_regclass('db4ai.snapshot_storage') IS NOT NULL THEN
        FOR v_sql IN SELECT DISTINCT format('DROP TABLE %I.%I CASCADE', n.nspname, c.relname)
                     FROM db4ai.snapshot_storage st JOIN pg_class c ON c.oid = st.store
                     JOIN pg_namespace n ON n.oid = c.relnamespace LOOP
            EXECUTE v_sql;
        END LOOP;
    END IF;
END;
$$;
