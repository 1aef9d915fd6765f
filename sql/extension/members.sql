-- Appended to the extension scripts only (CREATE EXTENSION db4ai, ALTER EXTENSION db4ai UPDATE).
-- pg_dump leaves out the contents of an extension's tables unless they are registered as
-- configuration tables: db4ai's tables and sequences hold the users' snapshots, models and training
-- runs, so every one of them is registered (the whole table, no filter), whichever file created it.
-- Registering again (an upgrade) just replaces the entry.
DO $db4ai$
DECLARE
    v_rel regclass;
BEGIN
    FOR v_rel IN
        SELECT c.oid::regclass
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
          JOIN pg_catalog.pg_class c ON c.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_extension'::regclass
           AND d.deptype = 'e' AND e.extname = 'db4ai' AND c.relkind IN ('r', 'p', 'S')
         ORDER BY c.oid
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(v_rel, '');
    END LOOP;
END
$db4ai$;
