-- Snapshots on a Citus coordinator: storage of distributed sources (README "Citus").
--
-- A snapshot whose query reads hash-distributed tables is stored in a distributed table, filled
-- by INSERT ... SELECT, which Citus runs on the workers shard by shard when the store is co-located
-- with the source: then no row passes through the coordinator. The store is distributed on the
-- source's distribution column when the snapshot keeps it (same name and type) and co-located
-- with the source; otherwise on the first column whose type can be hashed. openGauss's
-- DISTRIBUTE BY HASH(c) picks the column (Citus distributes on one: the first named), DISTRIBUTE
-- BY REPLICATION makes a reference table. Children of a distributed snapshot (prepare, sample,
-- split) are derived on the coordinator as on one node and stored distributed, co-located with
-- their parent. Snapshots of local or reference tables are stored as on one node.
-- CSS shares one backing table between snapshots through row ids drawn with row_number() over
-- the whole table, which Citus cannot compute where the rows live: CSS refuses distributed data.
-- Without Citus every function here answers "not distributed" and nothing changes.

-- Is this database a Citus coordinator (or worker) with the extension installed?
CREATE OR REPLACE FUNCTION db4ai_internal._citus() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')
$$;

-- Switch Citus's DDL propagation for the rest of the transaction; returns the previous value (NULL,
-- and nothing happens, without Citus). Snapshot views and db4ai's temporary views stay on the
-- coordinator: queries are planned there, and a view over a local table cannot be propagated.
CREATE OR REPLACE FUNCTION db4ai_internal._set_citus_ddl(i_value text) RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old text;
BEGIN
    IF i_value IS NULL OR NOT db4ai_internal._citus() THEN
        RETURN NULL;
    END IF;
    v_old := current_setting('citus.enable_ddl_propagation');
    PERFORM set_config('citus.enable_ddl_propagation', i_value, true);
    RETURN v_old;
END;
$$;

-- The distribution column of a hash-distributed table (NULL for any other relation).
CREATE OR REPLACE FUNCTION db4ai_internal._distribution_column(i_rel regclass) RETURNS name
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v name;
BEGIN
    IF i_rel IS NULL OR NOT db4ai_internal._citus() THEN
        RETURN NULL;
    END IF;
    -- dynamic: pg_dist_partition exists only where Citus is installed
    EXECUTE 'SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)::name FROM pg_catalog.pg_dist_partition p '
            'WHERE p.logicalrelid = $1 AND p.partmethod = ''h'''
        INTO v USING i_rel;
    RETURN v;
END;
$$;

-- Is i_rel a Citus table (distributed or reference)? Citus refuses triggers on those.
CREATE OR REPLACE FUNCTION db4ai_internal._citus_table(i_rel regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v boolean;
BEGIN
    IF i_rel IS NULL OR NOT db4ai_internal._citus() THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1)' INTO v USING i_rel;
    RETURN v;
END;
$$;

-- The hash-distributed tables a query reads, directly or through views, in the order PostgreSQL
-- records them. PostgreSQL finds them: the query becomes a temporary view (with the caller's
-- search_path and rights) whose dependencies are followed. Empty without Citus.
CREATE OR REPLACE FUNCTION db4ai_internal._distributed_sources(i_query text, i_search_path text) RETURNS regclass[]
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_view text := format('pg_temp.%I', '_db4ai_sources_' || pg_catalog.txid_current());
    v_ddl text;
    v regclass[];
BEGIN
    IF NOT db4ai_internal._citus() THEN
        RETURN '{}';
    END IF;
    v_ddl := db4ai_internal._set_citus_ddl('off');  -- a temporary view is no business of the workers
    PERFORM db4ai_internal._run_user_sql(format('CREATE TEMP VIEW %s AS %s', v_view, i_query), i_search_path);
    WITH RECURSIVE reads(oid, depth) AS (
        SELECT d.refobjid, 1 FROM pg_rewrite r
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
         WHERE r.ev_class = v_view::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
        UNION
        SELECT d.refobjid, reads.depth + 1 FROM reads
          JOIN pg_rewrite r ON r.ev_class = reads.oid
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
    )
    SELECT coalesce(array_agg(oid::regclass ORDER BY depth, oid), '{}') INTO v
      FROM (SELECT oid, min(depth) AS depth FROM reads GROUP BY oid) r
     WHERE db4ai_internal._distribution_column(oid::regclass) IS NOT NULL;
    EXECUTE format('DROP VIEW %s', v_view::regclass);
    PERFORM db4ai_internal._set_citus_ddl(v_ddl);
    RETURN v;
END;
$$;

-- DISTRIBUTE BY of CREATE SNAPSHOT on Citus: 'REPLICATION', the first column of HASH(...), or NULL.
-- (_check_distribute_by has checked the clause and its column names.)
CREATE OR REPLACE FUNCTION db4ai_internal._distribute_by_target(i_dist text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_list text;
    t record;
BEGIN
    IF coalesce(i_dist, '') = '' THEN
        RETURN NULL;
    ELSIF i_dist ~* '^\s*DISTRIBUTE\s+BY\s+REPLICATION\s*$' THEN
        RETURN 'REPLICATION';
    END IF;
    v_list := (regexp_match(i_dist, '^\s*DISTRIBUTE\s+BY\s+HASH\s*\((.*)\)\s*$', 'i'))[1];
    IF v_list IS NULL THEN
        RETURN NULL;  -- malformed: _check_distribute_by says so
    END IF;
    SELECT * INTO t FROM db4ai_internal._sql_tokens(v_list);
    IF coalesce(cardinality(t.kinds), 0) = 0 OR t.kinds[1] NOT IN ('word', 'ident') THEN
        RETURN NULL;
    END IF;
    RETURN db4ai_internal._sql_ident(t.kinds[1], t.vals[1]);
END;
$$;

-- Refuse CSS where its shared backing table would be distributed (see the header).
CREATE OR REPLACE FUNCTION db4ai_internal._refuse_distributed_css(i_mode text, i_what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_mode = 'CSS' THEN
        RAISE EXCEPTION 'CSS snapshots cannot be stored in distributed tables'
            USING ERRCODE = 'feature_not_supported', DETAIL = i_what,
                  HINT = 'use MSS storage for distributed data: SET db4ai.snapshot_mode = ''MSS''';
    END IF;
END;
$$;

-- Create the distributed store i_store (schema-qualified, quoted) holding the rows of i_select, a
-- query of the caller's (run with i_search_path and the caller's rights). i_sources: the
-- distributed tables it reads, to co-locate with; i_target: DISTRIBUTE BY's column or
-- 'REPLICATION' (NULL: db4ai chooses). Returns the row count, or NULL when no column of the rows
-- can be a distribution column (the caller then stores them as on one node).
CREATE OR REPLACE FUNCTION db4ai_internal._distributed_store(i_store text, i_select text, i_sources regclass[], i_target text,
                                                             i_search_path text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel regclass;
    v_col name;
    v_colocate text := 'default';
    v_source regclass;
BEGIN
    PERFORM db4ai_internal._run_user_sql(format('CREATE TABLE %s AS %s WITH NO DATA', i_store, i_select), i_search_path);
    v_rel := i_store::regclass;
    IF i_target = 'REPLICATION' THEN
        PERFORM pg_catalog.create_reference_table(v_rel);
    ELSE
        -- co-located with the first source whose distribution column the rows keep (name and type)
        FOREACH v_source IN ARRAY coalesce(i_sources, '{}') LOOP
            SELECT a.attname INTO v_col FROM pg_attribute a, pg_attribute s
             WHERE a.attrelid = v_rel AND a.attname = db4ai_internal._distribution_column(v_source) AND NOT a.attisdropped
               AND s.attrelid = v_source AND s.attname = a.attname AND s.atttypid = a.atttypid
               AND (i_target IS NULL OR a.attname = i_target);
            IF FOUND THEN
                v_colocate := v_source::text;
                EXIT;
            END IF;
        END LOOP;
        IF v_col IS NULL THEN
            SELECT a.attname INTO v_col FROM pg_attribute a
             WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped AND (a.attname = i_target OR i_target IS NULL)
               AND EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
                            WHERE am.amname = 'hash' AND oc.opcdefault AND oc.opcintype = a.atttypid)
             ORDER BY a.attnum LIMIT 1;
        END IF;
        IF v_col IS NULL THEN
            EXECUTE format('DROP TABLE %s', v_rel);
            RETURN NULL;
        END IF;
        PERFORM pg_catalog.create_distributed_table(v_rel, v_col, colocate_with => v_colocate);
    END IF;
    RETURN db4ai_internal._run_user_sql(format('INSERT INTO %s %s', v_rel, i_select), i_search_path);
END;
$$;

-- The store of a child (prepare / sample / split) of a snapshot p whose store is distributed:
-- distributed the same way, co-located with the parent's store when the child keeps the column.
-- i_rows: db4ai's query over temporary tables returning (_db4ai_rid, <i_columns>). Returns the
-- row count, or NULL when p's store is not distributed (the caller stores the child as on one node).
CREATE OR REPLACE FUNCTION db4ai_internal._distributed_child_store(p db4ai.snapshot, i_id bigint, i_rows text, i_columns name[],
                                                                   i_name text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_parent regclass;
    v_store text := format('%I.%I', p."schema", '_db4ai_t' || i_id);
    v_rows bigint;
BEGIN
    SELECT st.store INTO v_parent FROM db4ai.snapshot_storage st WHERE st.id = p.id;
    IF db4ai_internal._distribution_column(v_parent) IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM db4ai_internal._refuse_distributed_css((SELECT s.mode FROM db4ai_internal._snapshot_settings() s),
                                                   format('snapshot %I.%I is stored in distributed table %s', p."schema", p."name", v_parent));
    v_rows := db4ai_internal._distributed_store(
        v_store, format('SELECT %s FROM (%s) q', (SELECT string_agg(format('q.%I', c), ', ' ORDER BY o)
                                                   FROM unnest(i_columns) WITH ORDINALITY AS u(c, o)), i_rows),
        ARRAY[v_parent], NULL, 'pg_catalog, pg_temp');
    IF v_rows IS NOT NULL THEN
        PERFORM db4ai_internal._store_created(v_store::regclass, format('%I.%I', p."schema", i_name));
    END IF;
    RETURN v_rows;
END;
$$;
