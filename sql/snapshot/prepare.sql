-- db4ai.prepare_snapshot (CREATE SNAPSHOT ... FROM @version USING (...)): a new version of a
-- snapshot, made by running DDL/DML operations on a copy of the parent's rows.
--
-- How it works: the parent's rows go into a temporary work table with the snapshot's column names
-- (plus the hidden row id); the caller's operations run on it in order, as plain SQL with the
-- caller's rights (so the result is by construction what the same SQL gives on a copy table);
-- then the result is stored:
--   MSS  into a fresh backing table;
--   CSS  into the parent's backing table: the rows the operations inserted or updated are appended,
--        new columns become new fields, and the child's membership is the row ids of the rows it
--        kept untouched plus the new ones.
-- CSS needs a parent stored in CSS mode (a backing table with row ids) and the privileges of that
-- table's owner; otherwise (an MSS parent, or a role that may only read the parent's view), and when
-- the child changed rows all over its parent (see _store_css_child), the child gets a backing table
-- of its own, with row ids if the mode is CSS, so its own descendants share it.

-- New version "x.y.z" of a child: ALTER bumps x, INSERT/DELETE bump y, UPDATE alone bumps z.
CREATE OR REPLACE FUNCTION db4ai_internal._next_version(i_parent_version text, i_kinds text[], i_delimiter text, i_separator text)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text[] := string_to_array(i_parent_version, i_separator);
BEGIN
    IF cardinality(v) IS DISTINCT FROM 3 OR v[1] !~ '^[0-9]+$' OR v[2] !~ '^[0-9]+$' OR v[3] !~ '^[0-9]+$' THEN
        RAISE EXCEPTION 'parent has nonstandard version %. i_vers cannot be null or empty', i_parent_version
            USING ERRCODE = 'invalid_parameter_value', HINT = 'provide custom version using i_vers parameter for new snapshot';
    END IF;
    IF 'ALTER' = ANY (i_kinds) THEN
        v := ARRAY[(v[1]::numeric + 1)::text, '0', '0'];
    ELSIF 'INSERT' = ANY (i_kinds) OR 'DELETE' = ANY (i_kinds) THEN
        v := ARRAY[v[1]::numeric::text, (v[2]::numeric + 1)::text, '0'];
    ELSE
        v := ARRAY[v[1]::numeric::text, v[2]::numeric::text, (v[3]::numeric + 1)::text];
    END IF;
    RETURN i_delimiter || array_to_string(v, i_separator);
END;
$$;

-- CSS: the two statements that store a child (see _store_css_child), over work table i_work whose
-- rows the parent's copy wrote under command id i_cmin:
--   kept    the row ids of the rows the child keeps untouched, described by their gaps (into temp
--           table i_kept): one row per gap between consecutive kept row ids (lo, hi: the missing ids
--           [lo, hi)), plus the first and the last kept row id, and back = true where a row id is
--           smaller than its predecessor. Window functions over the work table in scan order when
--           i_sorted (then back says whether the kept rows really were in row-id order), else in
--           row-id order (a sort); no join. It stops after i_max_gaps + 1 gaps: more mean a copy;
--   append  INSERT INTO <store> of every row the operations wrote (inserted or updated) under the
--           child's row ids: a plain scan of the work table.
CREATE OR REPLACE FUNCTION db4ai_internal._css_child_sql(
    i_parent db4ai.snapshot_storage, i_child_id bigint, i_work regclass, i_cmin cid, i_sorted boolean, i_max_gaps bigint,
    i_kept text, i_columns name[], i_fields name[], OUT kept text, OUT append text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_untouched text := format('w._db4ai_rid IS NOT NULL AND w.cmin OPERATOR(pg_catalog.=) %L::pg_catalog.cid', i_cmin);
BEGIN
    kept := format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT '
                   'CASE WHEN e.gap THEN e.prev OPERATOR(pg_catalog.+) 1 END AS lo, CASE WHEN e.gap THEN e.rid END AS hi, '
                   'CASE WHEN e.prev IS NULL THEN e.rid END AS first, CASE WHEN e.next IS NULL THEN e.rid END AS last, '
                   'coalesce(e.rid OPERATOR(pg_catalog.<) e.prev, false) AS back FROM ('
                   'SELECT k.rid, k.prev, k.next, k.rid OPERATOR(pg_catalog.<>) (k.prev OPERATOR(pg_catalog.+) 1) AS gap FROM ('
                   'SELECT w._db4ai_rid AS rid, pg_catalog.lag(w._db4ai_rid) OVER o AS prev, pg_catalog.lead(w._db4ai_rid) OVER o AS next '
                   'FROM %s w WHERE %s WINDOW o AS (%s)) k) e WHERE e.gap OR e.prev IS NULL OR e.next IS NULL LIMIT %s',
                   i_kept, i_work, v_untouched, CASE WHEN i_sorted THEN '' ELSE 'ORDER BY w._db4ai_rid' END, i_max_gaps + 3);
    append := format('INSERT INTO %s (_db4ai_rid%s) SELECT %s::pg_catalog.int8 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER ()%s '
                     'FROM %s w WHERE NOT (%s)',
                     i_parent.store,
                     (SELECT coalesce(string_agg(format(', %I', f), '' ORDER BY o), '') FROM unnest(i_fields) WITH ORDINALITY AS u(f, o)),
                     i_child_id << 32,
                     (SELECT coalesce(string_agg(format(', w.%I', c), '' ORDER BY o), '') FROM unnest(i_columns) WITH ORDINALITY AS u(c, o)),
                     i_work, v_untouched);
END;
$$;

-- CSS: store the work table's rows as a child of parent i_parent in the parent's backing table.
-- Returns the child's columns, fields, members and row count; members is NULL when sharing does not
-- pay (see below): the caller then gives the child a table of its own.
--
-- Which rows changed: every row of the work table was written by the one command that copied the
-- parent (command id i_cmin); a row that the caller's operations inserted or updated is a new row
-- version with a later command id (PostgreSQL's cmin). So the child keeps, by row id, the rows whose
-- cmin is still i_cmin, and appends all others under its own row ids, without comparing a single row
-- with the backing table, and whatever the operations did to the hidden row id column (a row they
-- wrote is appended as it is, under a new id). A row updated to the same values is appended too.
-- Work stays linear: a scan, a sort of the kept row ids and the appended rows, never a join (an
-- "IN (subquery)" under an OR, which PostgreSQL ran once per row beyond work_mem, made a child
-- updating half of 800,000 rows run for minutes).
-- When sharing does not pay: the membership holds one range per run of kept rows, and multirange
-- operations cost a few microseconds per range, copying a row about one. A child whose kept rows
-- fall into more than 10,000 runs and more than one run per four rows of its parent (it changed or
-- deleted rows all over its parent, e.g. every other row) is cheaper to copy, and faster to read.
DROP FUNCTION IF EXISTS db4ai_internal._store_css_child(bigint, bigint, regclass);  -- before 0.1.1: compared every row
CREATE OR REPLACE FUNCTION db4ai_internal._store_css_child(
    i_parent_id bigint, i_child_id bigint, i_work regclass, i_cmin cid,
    OUT columns name[], OUT fields name[], OUT members int8multirange, OUT row_count bigint)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pst db4ai.snapshot_storage;
    a record;
    v_inherited int;
    v_field text;
    v_add text[] := ARRAY[]::text[];
    v_drop_default text[] := ARRAY[]::text[];
    v_kept text := format('pg_temp.%I', '_db4ai_k' || i_child_id);
    v_first bigint;
    v_last bigint;
    v_gaps bigint;
    v_missing numeric;
    v_back boolean;
    v_kept_rows bigint;
    v_limit bigint;
    v_sorted boolean;
    v_default text;
    v_sql record;
    v_new bigint;
BEGIN
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = i_parent_id;
    v_inherited := cardinality(pst.columns);
    columns := '{}';
    fields := '{}';
    -- Work table attribute 1 is the row id, 2 .. v_inherited + 1 the parent's columns in order; a
    -- column with a later attnum was ADDed (even if it reuses a dropped column's name).
    FOR a IN
        SELECT at.attname, at.attnum, format_type(at.atttypid, at.atttypmod) AS typ, at.atthasmissing,
               CASE WHEN at.attcollation <> 0 AND at.attcollation <> t.typcollation
                    THEN format(' COLLATE %I.%I', cn.nspname, co.collname) ELSE '' END AS coll
        FROM pg_attribute at
        JOIN pg_type t ON t.oid = at.atttypid
        LEFT JOIN pg_collation co ON co.oid = at.attcollation
        LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
        WHERE at.attrelid = i_work AND at.attnum > 1 AND NOT at.attisdropped
        ORDER BY at.attnum
    LOOP
        columns := columns || a.attname;
        IF a.attnum <= v_inherited + 1 THEN
            v_field := pst.fields[a.attnum - 1];
        ELSE
            v_field := format('_db4ai_c%s_%s', i_child_id, a.attnum);
            -- A DEFAULT evaluated once reached the work table's old rows as a "missing value"
            -- (atthasmissing). The new field gets that very value as its default: the kept rows then
            -- read the same from the backing table, at no rewrite. Anything else starts as NULL.
            v_default := NULL;
            IF a.atthasmissing THEN
                EXECUTE format('SELECT pg_catalog.quote_literal(w.%I) FROM %s w WHERE w._db4ai_rid IS NOT NULL '
                               'AND w.cmin OPERATOR(pg_catalog.=) $1 LIMIT 1', a.attname, i_work)
                    INTO v_default USING i_cmin;
            END IF;
            v_add := v_add || format('ADD COLUMN %I %s%s%s', v_field, a.typ, a.coll,
                                     CASE WHEN v_default IS NOT NULL THEN format(' DEFAULT %s::%s', v_default, a.typ) ELSE '' END);
            IF v_default IS NOT NULL THEN
                v_drop_default := v_drop_default || format('ALTER COLUMN %I DROP DEFAULT', v_field);
            END IF;
        END IF;
        fields := fields || v_field::name;
    END LOOP;

    -- The kept rows, by their gaps: one scan, in scan order. The work table normally holds them in
    -- row-id order (the backing table's, copied serially); if not, the same again, sorted. The scan
    -- stops at the first gap beyond the limit: the child then does not pay off (see above). (With
    -- kept rows out of order, gaps in scan order may be no gaps in row-id order: a child may then be
    -- copied that could have shared; never the other way round.)
    SELECT greatest(10000, s.row_count / 4) INTO v_limit FROM db4ai.snapshot s WHERE s.id = i_parent_id;
    FOREACH v_sorted IN ARRAY ARRAY[true, false] LOOP
        SELECT * INTO v_sql FROM db4ai_internal._css_child_sql(pst, i_child_id, i_work, i_cmin, v_sorted, v_limit, v_kept, columns, fields);
        EXECUTE v_sql.kept;
        EXECUTE format('SELECT min(k.first), max(k.last), count(k.lo), coalesce(sum(k.hi OPERATOR(pg_catalog.-) k.lo), 0), '
                       'coalesce(bool_or(k.back), false) FROM %s k', v_kept) INTO v_first, v_last, v_gaps, v_missing, v_back;
        EXIT WHEN NOT v_back OR v_gaps > v_limit;
        EXECUTE format('DROP TABLE %s', v_kept);
    END LOOP;
    IF v_gaps > v_limit THEN
        EXECUTE format('DROP TABLE %s', v_kept);
        members := NULL;  -- sharing does not pay: the caller copies
        RETURN;
    END IF;
    v_kept_rows := coalesce(v_last - v_first + 1 - v_missing, 0);

    IF cardinality(v_add) > 0 THEN
        EXECUTE format('ALTER TABLE %s %s', pst.store, array_to_string(v_add, ', '));
    END IF;
    IF cardinality(v_drop_default) > 0 THEN  -- the defaults were for the rows already there
        EXECUTE format('ALTER TABLE %s %s', pst.store, array_to_string(v_drop_default, ', '));
    END IF;
    v_new := db4ai_internal._write_store(pst.store, v_sql.append);
    row_count := v_kept_rows + v_new;
    -- [first, last] without the gaps (disjoint, not adjacent: range_agg has nothing to merge)
    IF v_first IS NULL THEN
        members := '{}';
    ELSE
        EXECUTE format('SELECT pg_catalog.int8multirange(pg_catalog.int8range($1, $2 OPERATOR(pg_catalog.+) 1)) OPERATOR(pg_catalog.-) '
                       'coalesce((SELECT pg_catalog.range_agg(pg_catalog.int8range(k.lo, k.hi) ORDER BY k.lo) FROM %s k '
                       'WHERE k.lo IS NOT NULL), ''{}'')', v_kept) INTO members USING v_first, v_last;
    END IF;
    members := members + db4ai_internal._fresh_members(i_child_id, v_new, true);
    IF v_new > 0 THEN
        PERFORM db4ai_internal._filter_store_views(pst.store);
    END IF;
    EXECUTE format('DROP TABLE %s', v_kept);
END;
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._prepare_snapshot(
    i_schema name, i_parent name, i_commands text[], i_vers name, i_comment text, i_search_path text)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    v_parent record;
    p db4ai.snapshot;
    pst db4ai.snapshot_storage;
    o_kind text[]; o_alias text[]; o_sql text[]; o_from text[]; o_where text[]; o_alter text[]; o_own boolean[];
    v_name text;
    v_id bigint;
    v_css boolean;
    v_work text;
    v_cmin cid;
    v_parallel text;
    v_stmt text;
    v_cols text;
    v_child record;
    v_matrix bigint;
    v_columns name[];
    v_result db4ai.snapshot_name;
BEGIN
    SELECT * INTO st FROM db4ai_internal._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai_internal._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
    p := v_parent.p;
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = p.id;

    -- parse everything before doing anything
    SELECT array_agg(o.kind ORDER BY o.ord), array_agg(o.alias ORDER BY o.ord), array_agg(o.sql_clause ORDER BY o.ord),
           array_agg(o.from_clause ORDER BY o.ord), array_agg(o.where_clause ORDER BY o.ord),
           array_agg(o.alter_sql ORDER BY o.ord), array_agg(o.own_columns ORDER BY o.ord)
      INTO o_kind, o_alias, o_sql, o_from, o_where, o_alter, o_own
      FROM db4ai_internal._parse_prepare_commands(i_commands, pst.columns)
           WITH ORDINALITY AS o (kind, alias, sql_clause, from_clause, where_clause, alter_sql, own_columns, ord);
    v_name := v_parent.prefix || CASE WHEN i_vers IS NULL OR i_vers = ''
                                      THEN db4ai_internal._next_version(v_parent.version, o_kind, st.delimiter, st.separator)
                                      ELSE db4ai_internal._custom_version(i_vers, st.delimiter, st.separator) END;
    PERFORM db4ai_internal._claim_snapshot_name(v_schema, v_name);  -- refuses a name too long, too

    v_css := st.mode = 'CSS' AND db4ai_internal._can_share_store(p.id);
    IF v_css THEN  -- one CSS derivation at a time per backing table
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', pst.store);
    END IF;
    v_id := nextval('db4ai.snapshot_sequence');
    v_work := format('pg_temp.%I', '_db4ai_w' || v_id);
    IF v_css THEN  -- serially, so that the work table keeps the row-id order of the backing table
        v_parallel := current_setting('max_parallel_workers_per_gather');
        PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    END IF;
    EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS %s', v_work, db4ai_internal._snapshot_rows_sql(p.id, v_css));
    IF v_css THEN
        PERFORM set_config('max_parallel_workers_per_gather', v_parallel, true);
    END IF;
    -- the command id of the rows just copied: rows the operations write get later ones (_store_css_child)
    EXECUTE format('SELECT w.cmin FROM %s w LIMIT 1', v_work) INTO v_cmin;

    FOR i IN 1 .. cardinality(o_kind) LOOP
        v_stmt := NULL;
        IF o_kind[i] = 'ALTER' THEN
            IF o_alter[i] IS NOT NULL THEN
                v_stmt := format('ALTER TABLE %s %s', v_work, o_alter[i]);
            END IF;
        ELSIF o_kind[i] = 'INSERT' THEN
            -- name the snapshot's columns, so positional values never reach the hidden row id
            SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO v_cols
            FROM pg_attribute WHERE attrelid = v_work::regclass AND attnum > 1 AND NOT attisdropped;
            v_stmt := 'INSERT INTO ' || v_work || CASE WHEN o_own[i] OR v_cols IS NULL THEN '' ELSE ' (' || v_cols || ')' END
                      || ' ' || o_sql[i] || coalesce(' ' || o_from[i], '') || coalesce(' ' || o_where[i], '');
        ELSIF o_kind[i] = 'DELETE' THEN
            v_stmt := 'DELETE FROM ' || v_work || ' AS ' || o_alias[i] || coalesce(' ' || o_from[i], '')
                      || coalesce(' ' || o_where[i], '');
        ELSE
            v_stmt := 'UPDATE ' || v_work || ' AS ' || o_alias[i] || ' ' || o_sql[i] || coalesce(' ' || o_from[i], '')
                      || coalesce(' ' || o_where[i], '');
        END IF;
        IF v_stmt IS NOT NULL THEN
            PERFORM db4ai_internal._run_user_sql(v_stmt, i_search_path);
        END IF;
    END LOOP;

    IF v_css THEN
        SELECT * INTO v_child FROM db4ai_internal._store_css_child(p.id, v_id, v_work::regclass, v_cmin);
        IF v_child.members IS NOT NULL THEN
            v_matrix := db4ai_internal._matrix_for_child(p);
            EXECUTE format('DROP TABLE %s', v_work);
            RETURN db4ai_internal._register_snapshot(
                v_id, p.id, v_matrix, p.root_id, v_schema, v_name, i_commands, i_comment, false, v_child.row_count,
                pst.store, v_child.columns, v_child.fields, v_child.members, true);
        END IF;  -- else sharing would not pay: a table of its own, with row ids for its descendants
    END IF;
    SELECT coalesce(array_agg(attname ORDER BY attnum), '{}') INTO v_columns
    FROM pg_attribute WHERE attrelid = v_work::regclass AND attnum > 1 AND NOT attisdropped;
    v_result := db4ai_internal._register_copy_child(p, v_id, v_name, 'SELECT * FROM ' || v_work, v_columns, i_commands, i_comment,
                                                    st.mode = 'CSS');
    EXECUTE format('DROP TABLE %s', v_work);
    RETURN v_result;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.prepare_snapshot(
    i_schema name, i_parent name, i_commands text[], i_vers name DEFAULT NULL, i_comment text DEFAULT NULL)
    RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$
    SELECT db4ai_internal._prepare_snapshot(i_schema, i_parent, i_commands, i_vers, i_comment, pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION db4ai.prepare_snapshot(name, name, text[], name, text) IS
    'Create a new version of snapshot i_parent (name@version) by DDL/DML operations, e.g. {DELETE, WHERE x < 0}';
