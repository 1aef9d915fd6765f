-- db4ai.prepare_snapshot (CREATE SNAPSHOT ... FROM @version USING (...)): a new version of a
-- snapshot, made by running DDL/DML operations on a copy of the parent's rows.
--
-- How it works: the parent's rows go into a temporary work table with the snapshot's column names
-- (plus the hidden row id); the caller's operations run on it in order, as plain SQL with the
-- caller's rights (so the result is by construction what the same SQL gives on a copy table);
-- then the result is stored:
--   MSS  into a fresh backing table;
--   CSS  into the parent's backing table: only rows whose content differs from the stored row with
--        the same row id (inserted or updated rows) are appended, new columns become new fields,
--        and the child's membership is the parent's minus the removed row ids plus the new ones.
-- CSS needs a parent stored in CSS mode (a backing table with row ids) and the privileges of that
-- table's owner; otherwise (an MSS parent, or a role that may only read the parent's view) the child
-- gets a backing table of its own, with row ids if the mode is CSS, so its own descendants share it.

-- New version "x.y.z" of a child: ALTER bumps x, INSERT/DELETE bump y, UPDATE alone bumps z.
CREATE OR REPLACE FUNCTION db4ai._next_version(i_parent_version text, i_kinds text[], i_delimiter text, i_separator text)
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

-- CSS: the two queries that store a child (see _store_css_child). i_removed names the table that holds
-- the result of the first one.
--   removed  the row ids of the parent's rows that the child does not keep byte for byte (deleted or
--            changed): an anti-join of the parent's rows with the work table;
--   append   INSERT INTO <store> of the work table's new and changed rows under the child's row ids: the
--            work table left-joined to the removed row ids.
CREATE OR REPLACE FUNCTION db4ai._css_child_sql(
    i_parent db4ai.snapshot_storage, i_child_id bigint, i_work regclass, i_removed text, i_columns name[], i_fields name[],
    OUT removed text, OUT append text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_store_row text;
    v_work_row text;
BEGIN
    SELECT 'ROW(' || coalesce(string_agg(format('t.%I', f), ', ' ORDER BY o), '') || ')',
           'ROW(' || coalesce(string_agg(format('w.%I', c), ', ' ORDER BY o), '') || ')'
      INTO v_store_row, v_work_row
      FROM unnest(i_fields, i_columns) WITH ORDINALITY AS u(f, c, o);
    removed := format('SELECT t._db4ai_rid FROM %s t WHERE %s NOT EXISTS '
                      '(SELECT 1 FROM %s w WHERE w._db4ai_rid OPERATOR(pg_catalog.=) t._db4ai_rid '
                      'AND pg_catalog.record_image_eq(%s, %s))',
                      i_parent.store,
                      CASE WHEN i_parent.filtered THEN db4ai._members_filter(i_parent.id, 't') || ' AND' ELSE '' END,
                      i_work, v_store_row, v_work_row);
    append := format('INSERT INTO %s (_db4ai_rid%s) SELECT %s::pg_catalog.int8 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER ()%s '
                     'FROM %s w LEFT JOIN %s r ON r._db4ai_rid OPERATOR(pg_catalog.=) w._db4ai_rid '
                     'WHERE w._db4ai_rid IS NULL OR r._db4ai_rid IS NOT NULL',
                     i_parent.store,
                     (SELECT coalesce(string_agg(format(', %I', f), '' ORDER BY o), '') FROM unnest(i_fields) WITH ORDINALITY AS u(f, o)),
                     i_child_id << 32,
                     (SELECT coalesce(string_agg(format(', w.%I', c), '' ORDER BY o), '') FROM unnest(i_columns) WITH ORDINALITY AS u(c, o)),
                     i_work, i_removed);
END;
$$;

-- CSS: store the work table's rows as a child of parent i_parent in the parent's backing table.
-- Returns the child's fields and members.
CREATE OR REPLACE FUNCTION db4ai._store_css_child(
    i_parent_id bigint, i_child_id bigint, i_work regclass,
    OUT columns name[], OUT fields name[], OUT members int8multirange, OUT row_count bigint)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pst db4ai.snapshot_storage;
    a record;
    v_inherited int;
    v_field text;
    v_add text[] := '{}';
    v_drop_default text[] := '{}';
    v_removed text := format('pg_temp.%I', '_db4ai_r' || i_child_id);
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
                    THEN format(' COLLATE %I.%I', cn.nspname, co.collname) ELSE '' END AS coll,
               pg_get_expr(d.adbin, d.adrelid) AS def
        FROM pg_attribute at
        JOIN pg_type t ON t.oid = at.atttypid
        LEFT JOIN pg_collation co ON co.oid = at.attcollation
        LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = at.attrelid AND d.adnum = at.attnum
        WHERE at.attrelid = i_work AND at.attnum > 1 AND NOT at.attisdropped
        ORDER BY at.attnum
    LOOP
        columns := columns || a.attname;
        IF a.attnum <= v_inherited + 1 THEN
            v_field := pst.fields[a.attnum - 1];
        ELSE
            v_field := format('_db4ai_c%s_%s', i_child_id, a.attnum);
            -- A constant DEFAULT reached the work table's old rows as a "missing value"
            -- (atthasmissing); giving the new field the same default keeps the shared rows
            -- unchanged for this child, and costs no rewrite. Anything else starts as NULL.
            v_add := v_add || format('ADD COLUMN %I %s%s%s', v_field, a.typ, a.coll,
                                     CASE WHEN a.atthasmissing AND a.def IS NOT NULL THEN ' DEFAULT ' || a.def ELSE '' END);
            IF a.atthasmissing AND a.def IS NOT NULL THEN
                v_drop_default := v_drop_default || format('ALTER COLUMN %I DROP DEFAULT', v_field);
            END IF;
        END IF;
        fields := fields || v_field::name;
    END LOOP;
    IF cardinality(v_add) > 0 THEN
        EXECUTE format('ALTER TABLE %s %s', pst.store, array_to_string(v_add, ', '));
    END IF;
    IF cardinality(v_drop_default) > 0 THEN
        EXECUTE format('ALTER TABLE %s %s', pst.store, array_to_string(v_drop_default, ', '));
    END IF;

    SELECT * INTO v_sql FROM db4ai._css_child_sql(pst, i_child_id, i_work, v_removed, columns, fields);
    -- Both statements are joins (hash or merge), linear whatever work_mem is: an "IN (subquery)" under
    -- an OR became a subplan re-scanned for every row once the changed rows outgrew work_mem (quadratic:
    -- minutes for a child that updates half of 800,000 rows). Fresh statistics keep the planner on them.
    EXECUTE format('ANALYZE %s', i_work);
    EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS %s', v_removed, v_sql.removed);
    EXECUTE format('ANALYZE %s', v_removed);
    v_new := db4ai._write_store(pst.store, v_sql.append);
    EXECUTE format('SELECT $1 OPERATOR(pg_catalog.-) coalesce((SELECT range_agg(int8range(r._db4ai_rid, r._db4ai_rid OPERATOR(pg_catalog.+) 1)) FROM %s r), ''{}'') '
                   'OPERATOR(pg_catalog.+) $2', v_removed)
        INTO members USING pst.members, db4ai._fresh_members(i_child_id, v_new, true);
    EXECUTE format('SELECT count(*) FROM %s', i_work) INTO row_count;
    IF db4ai._members_size(members) <> row_count THEN
        -- only possible if the caller's SQL wrote the hidden row id column
        RAISE EXCEPTION 'column _db4ai_rid is reserved for db4ai' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'snapshot commands must not write _db4ai_rid';
    END IF;
    IF v_new > 0 THEN
        PERFORM db4ai._filter_store_views(pst.store);
    END IF;
    EXECUTE format('DROP TABLE %s', v_removed);
END;
$$;

CREATE OR REPLACE FUNCTION db4ai._prepare_snapshot(
    i_schema name, i_parent name, i_commands text[], i_vers name, i_comment text, i_search_path text)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai._snapshot_schema(i_schema);
    v_parent record;
    p db4ai.snapshot;
    pst db4ai.snapshot_storage;
    o_kind text[]; o_alias text[]; o_sql text[]; o_from text[]; o_where text[]; o_alter text[]; o_own boolean[];
    v_name text;
    v_id bigint;
    v_css boolean;
    v_work text;
    v_stmt text;
    v_cols text;
    v_child record;
    v_matrix bigint;
    v_columns name[];
    v_result db4ai.snapshot_name;
BEGIN
    SELECT * INTO st FROM db4ai._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
    p := v_parent.p;
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = p.id;

    -- parse everything before doing anything
    SELECT array_agg(o.kind ORDER BY o.ord), array_agg(o.alias ORDER BY o.ord), array_agg(o.sql_clause ORDER BY o.ord),
           array_agg(o.from_clause ORDER BY o.ord), array_agg(o.where_clause ORDER BY o.ord),
           array_agg(o.alter_sql ORDER BY o.ord), array_agg(o.own_columns ORDER BY o.ord)
      INTO o_kind, o_alias, o_sql, o_from, o_where, o_alter, o_own
      FROM db4ai._parse_prepare_commands(i_commands, pst.columns)
           WITH ORDINALITY AS o (kind, alias, sql_clause, from_clause, where_clause, alter_sql, own_columns, ord);
    v_name := v_parent.prefix || CASE WHEN i_vers IS NULL OR i_vers = ''
                                      THEN db4ai._next_version(v_parent.version, o_kind, st.delimiter, st.separator)
                                      ELSE db4ai._custom_version(i_vers, st.delimiter, st.separator) END;
    PERFORM db4ai._claim_snapshot_name(v_schema, v_name);  -- refuses a name too long, too

    v_css := st.mode = 'CSS' AND db4ai._can_share_store(p.id);
    IF v_css THEN  -- one CSS derivation at a time per backing table
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', pst.store);
    END IF;
    v_id := nextval('db4ai.snapshot_sequence');
    v_work := format('pg_temp.%I', '_db4ai_w' || v_id);
    EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS %s', v_work, db4ai._snapshot_rows_sql(p.id, v_css));

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
            PERFORM db4ai._run_user_sql(v_stmt, i_search_path);
        END IF;
    END LOOP;

    IF v_css THEN
        SELECT * INTO v_child FROM db4ai._store_css_child(p.id, v_id, v_work::regclass);
        v_matrix := db4ai._matrix_for_child(p);
        EXECUTE format('DROP TABLE %s', v_work);
        RETURN db4ai._register_snapshot(
            v_id, p.id, v_matrix, p.root_id, v_schema, v_name, i_commands, i_comment, false, v_child.row_count,
            pst.store, v_child.columns, v_child.fields, v_child.members, true);
    END IF;
    SELECT coalesce(array_agg(attname ORDER BY attnum), '{}') INTO v_columns
    FROM pg_attribute WHERE attrelid = v_work::regclass AND attnum > 1 AND NOT attisdropped;
    v_result := db4ai._register_copy_child(p, v_id, v_name, 'SELECT * FROM ' || v_work, v_columns, i_commands, i_comment,
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
    SELECT db4ai._prepare_snapshot(i_schema, i_parent, i_commands, i_vers, i_comment, pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION db4ai.prepare_snapshot(name, name, text[], name, text) IS
    'Create a new version of snapshot i_parent (name@version) by DDL/DML operations, e.g. {DELETE, WHERE x < 0}';
