-- Snapshot storage and the helpers shared by create / prepare / sample / split / publish / purge.
--
-- STORAGE LAYOUT (see README.md in this folder for the longer story)
-- A snapshot's rows live in a backing table "<schema>"."_db4ai_t<id>" next to its view, owned by
-- the role that created it, with one column ("field") per data column. db4ai.snapshot_storage maps
-- each snapshot to (store, fields, members): its view is
--     SELECT t.<field> AS "<column>", ... FROM <store> t [WHERE t._db4ai_rid <@ <members>]
-- where members is an int8multirange of row ids.
--   MSS: every snapshot gets a fresh backing table holding exactly its rows: a plain copy, no row
--        ids, no filter (members is NULL).
--   CSS: tables made in CSS mode also have a row id column _db4ai_rid (bigint, unique in the
--        table), and a derived snapshot shares its parent's such table. Rows it keeps unchanged cost
--        nothing, rows it inserts or updates are appended to the shared table under new row ids,
--        deleted rows simply leave its members, ADDed columns become new (NULL or constant-default,
--        i.e. metadata-only) fields. Membership is a list of row-id ranges: a child that changes k
--        rows of a parent adds O(k) ranges and O(k) rows, never rewriting the parent's rows.
--        openGauss instead adds a boolean column per snapshot and UPDATEs every row of the shared
--        table, which under PostgreSQL's MVCC rewrites the whole table for each child.
-- Row ids are (snapshot id << 32) + n, so concurrent derivations never collide and need no lock.
--
-- SEARCH PATH
-- The public functions are thin SQL wrappers that pass the caller's search_path to a worker running
-- with search_path = pg_catalog, pg_temp. The worker switches to the caller's path only while it runs
-- the caller's own SQL pieces (_run_user_sql), so "FROM my_table" resolves as the caller expects while
-- nothing on the caller's path can capture the functions db4ai itself calls.

-- Run a piece of the caller's SQL with the caller's search_path; returns the processed row count.
-- It has no SET clause on purpose: the search_path it sets is restored by the calling worker's
-- own SET clause. Calling it directly only runs one's own SQL with one's own rights.
CREATE OR REPLACE FUNCTION db4ai_internal._run_user_sql(i_sql text, i_search_path text) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_rows bigint;
BEGIN
    PERFORM pg_catalog.set_config('search_path', i_search_path, true);
    EXECUTE i_sql;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    RETURN v_rows;
END;
$$;

-- Split "name<delimiter>version"; i_arg names the argument in the messages (i_name / i_parent).
-- The SQL layer may encode the delimiter as chr(1) and version dots as chr(2) (openGauss parser).
CREATE OR REPLACE FUNCTION db4ai_internal._split_snapshot_name(
    i_full text, i_arg text, i_delimiter text, i_separator text, OUT full_name text, OUT prefix text, OUT version text)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_parts text[];
BEGIN
    IF i_full IS NULL OR i_full = '' THEN
        RAISE EXCEPTION '% cannot be NULL or empty', i_arg USING ERRCODE = 'invalid_parameter_value';
    END IF;
    full_name := replace(replace(i_full, chr(1), i_delimiter), chr(2), i_separator);
    v_parts := string_to_array(full_name, i_delimiter);
    IF cardinality(v_parts) <> 2 THEN
        RAISE EXCEPTION '% must contain exactly one ''%'' character', i_arg, i_delimiter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'reference a snapshot using the format: snapshot_name' || i_delimiter || 'version';
    END IF;
    prefix := v_parts[1];
    version := v_parts[2];
END;
$$;

-- A user-given version: '[@]x.y.z' or '[@]label'; returns it with its leading delimiter.
CREATE OR REPLACE FUNCTION db4ai_internal._custom_version(i_vers text, i_delimiter text, i_separator text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := replace(i_vers, chr(2), i_separator);
BEGIN
    IF left(v, 1) <> i_delimiter THEN
        v := i_delimiter || v;
    ELSIF char_length(v) < 2 THEN
        RAISE EXCEPTION 'illegal i_vers: ''%''', i_delimiter USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strpos(substr(v, 2), i_delimiter) > 0 THEN
        RAISE EXCEPTION 'i_vers may contain only one single, leading ''%'' character', i_delimiter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'specify snapshot version as [' || i_delimiter || ']x' || i_separator || 'y' || i_separator
                         || 'z or [' || i_delimiter || ']label with optional, leading ''' || i_delimiter || '''';
    END IF;
    RETURN v;
END;
$$;

-- The catalog row of an existing snapshot, or the openGauss "does not exist" error. It also locks
-- the snapshot for the transaction: shared for a parent being derived from, exclusive for a snapshot
-- being purged, so a purge waits for derivations in progress and vice versa. (An advisory lock, because
-- row locks would need UPDATE rights on other owners' catalog rows.)
CREATE OR REPLACE FUNCTION db4ai_internal._get_snapshot(i_schema name, i_name text, i_as_parent boolean, i_exclusive boolean DEFAULT false)
    RETURNS db4ai.snapshot
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v db4ai.snapshot;
BEGIN
    SELECT * INTO v FROM db4ai.snapshot s WHERE s."schema" = i_schema AND s."name" = i_name;
    IF FOUND THEN
        IF i_exclusive THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('db4ai snapshot id ' || v.id, 0));
        ELSE
            PERFORM pg_advisory_xact_lock_shared(hashtextextended('db4ai snapshot id ' || v.id, 0));
        END IF;
        -- read again: it may have changed or gone while we waited
        SELECT * INTO v FROM db4ai.snapshot s WHERE s.id = v.id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%snapshot %.% does not exist', CASE WHEN i_as_parent THEN 'parent ' ELSE '' END,
            quote_ident(i_schema), quote_ident(i_name) USING ERRCODE = 'undefined_object';
    END IF;
    RETURN v;
END;
$$;

-- Deriving from a snapshot (prepare / sample / split) needs SELECT on its view.
CREATE OR REPLACE FUNCTION db4ai_internal._check_readable(i_snapshot db4ai.snapshot) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT db4ai_internal._snapshot_readable(i_snapshot.id) THEN
        RAISE EXCEPTION 'permission denied for snapshot %.%', quote_ident(i_snapshot."schema"), quote_ident(i_snapshot."name")
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'deriving a snapshot needs SELECT on its view; ask its owner to GRANT it';
    END IF;
END;
$$;

-- The parent of a PREPARE / SAMPLE / SPLIT: name checks, existence, SELECT privilege (openGauss order).
CREATE OR REPLACE FUNCTION db4ai_internal._derivation_parent(i_schema name, i_parent name, i_delimiter text, i_separator text,
                                                             OUT p db4ai.snapshot, OUT prefix text, OUT version text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM db4ai_internal._split_snapshot_name(i_parent, 'i_parent', i_delimiter, i_separator);
    p := db4ai_internal._get_snapshot(i_schema, v.full_name, true);
    PERFORM db4ai_internal._check_readable(p);
    prefix := v.prefix;
    version := v.version;
END;
$$;

-- Publish, archive and purge need ownership (or membership in the owning role).
CREATE OR REPLACE FUNCTION db4ai_internal._check_owner(i_snapshot db4ai.snapshot, i_action text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT db4ai_internal._is_owner(i_snapshot.owner) THEN
        RAISE EXCEPTION 'permission denied for snapshot %.%', quote_ident(i_snapshot."schema"), quote_ident(i_snapshot."name")
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('only the owner of the snapshot (%s) or a member of that role may %s it', i_snapshot.owner, i_action);
    END IF;
END;
$$;

-- The snapshot i_name (name@version) that publish / archive / purge act on: name checks, existence,
-- ownership (openGauss order). i_exclusive locks it against derivations in progress (purge).
CREATE OR REPLACE FUNCTION db4ai_internal._owned_snapshot(i_schema name, i_name text, i_action text, i_exclusive boolean)
    RETURNS db4ai.snapshot
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st record;
    v_name record;
    s db4ai.snapshot;
BEGIN
    SELECT * INTO st FROM db4ai_internal._snapshot_settings();
    SELECT * INTO v_name FROM db4ai_internal._split_snapshot_name(i_name, 'i_name', st.delimiter, st.separator);
    s := db4ai_internal._get_snapshot(i_schema, v_name.full_name, false, i_exclusive);
    PERFORM db4ai_internal._check_owner(s, i_action);
    RETURN s;
END;
$$;

-- Refuse a name with a control character (below 0x20): such a name cannot be referenced again
-- (chr(1) and chr(2) are the openGauss parser's encodings of the version delimiter and separator, so
-- "s\x01x@1.0.0" reads back as "s@x@1.0.0"), so nobody could purge, publish or derive from it.
-- The error shows the characters as \xNN.
CREATE OR REPLACE FUNCTION db4ai_internal._check_printable(i_what text, i_value text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_value ~ '[\x01-\x1f]' THEN
        RAISE EXCEPTION '% must not contain control characters: ''%''', i_what,
            (SELECT string_agg(CASE WHEN ascii(c) < 32 THEN '\x' || lpad(to_hex(ascii(c)), 2, '0') ELSE c END, '' ORDER BY o)
               FROM regexp_split_to_table(i_value, '') WITH ORDINALITY AS u(c, o))
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'use printable characters in snapshot names, versions, sample infixes and split names';
    END IF;
END;
$$;

-- Reserve a snapshot name for this transaction: concurrent calls for the same name wait here, and
-- the one that comes second sees the first one's row and gets the openGauss "already exists".
-- Every new snapshot name passes here, so this is where control characters are refused.
CREATE OR REPLACE FUNCTION db4ai_internal._claim_snapshot_name(i_schema name, i_name text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM db4ai_internal._check_printable('schema name', i_schema);
    PERFORM db4ai_internal._check_printable('snapshot name', i_name);
    IF octet_length(i_name) > 63 THEN  -- would be truncated as a name (openGauss: "too long" before this)
        RAISE EXCEPTION 'snapshot name too long: ''%''', i_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(format('db4ai snapshot %I.%I', i_schema, i_name), 0));
    IF EXISTS (SELECT 1 FROM db4ai.snapshot s WHERE s."schema" = i_schema AND s."name" = i_name) THEN
        RAISE EXCEPTION 'snapshot %.% already exists', quote_ident(i_schema), quote_ident(i_name)
            USING ERRCODE = 'duplicate_object';
    END IF;
END;
$$;

-- Nobody but the owner may touch a backing table; nobody but the owner may even try to write through
-- a snapshot view, and nobody at all, superusers included, gets past the triggers that make both
-- read-only (immutable.sql; the owner keeps its privileges on the view so that it sees their error,
-- which says what to do instead).
CREATE OR REPLACE FUNCTION db4ai_internal._lock_down(i_rel regclass, i_is_view boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_grantee text;
BEGIN
    FOR v_grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = i_rel AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE %s ON %s FROM %s',
                       CASE WHEN i_is_view THEN 'INSERT, UPDATE, DELETE, TRUNCATE' ELSE 'ALL' END, i_rel, v_grantee);
    END LOOP;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', i_rel);
    PERFORM db4ai_internal._make_immutable(i_rel, i_is_view);
END;
$$;

-- Number of row ids in a membership.
CREATE OR REPLACE FUNCTION db4ai_internal._members_size(i_members int8multirange) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(sum(upper(r) - lower(r)), 0) FROM unnest(i_members) r
$$;

-- The filter of a shared backing table. The membership is read once per query (an InitPlan); the
-- intersection with the full range makes it an in-memory value, because comparing each row against
-- the stored (TOASTed) value would de-TOAST it once per row.
CREATE OR REPLACE FUNCTION db4ai_internal._members_filter(i_id bigint, i_alias text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%I._db4ai_rid OPERATOR(pg_catalog.<@) (SELECT m.members OPERATOR(pg_catalog.*) '
                  '''{(,)}''::pg_catalog.int8multirange FROM db4ai.snapshot_storage m WHERE m.id = %s)', i_alias, i_id)
$$;

-- The rows of the snapshot with storage row i_st, read from its backing table:
--     SELECT [t._db4ai_rid, ]t.<field> AS "<column>", ... FROM <store> t [WHERE <membership filter>]
CREATE OR REPLACE FUNCTION db4ai_internal._store_select_sql(i_st db4ai.snapshot_storage, i_with_rid boolean) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('SELECT %s FROM %s t%s',
                  concat_ws(', ', CASE WHEN i_with_rid THEN 't._db4ai_rid' END,
                            (SELECT string_agg(format('t.%I AS %I', f, c), ', ' ORDER BY o)
                               FROM unnest(i_st.fields, i_st.columns) WITH ORDINALITY AS u(f, c, o))),
                  i_st.store,
                  CASE WHEN i_st.filtered THEN ' WHERE ' || db4ai_internal._members_filter(i_st.id, 't') ELSE '' END)
$$;

-- (Re)create the view "<schema>"."<name>" of snapshot i_id from its catalog and storage rows.
CREATE OR REPLACE FUNCTION db4ai_internal._create_view(i_id bigint, i_replace boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s db4ai.snapshot;
    st db4ai.snapshot_storage;
    v_ddl text;
BEGIN
    SELECT * INTO STRICT s FROM db4ai.snapshot WHERE id = i_id;
    SELECT * INTO STRICT st FROM db4ai.snapshot_storage WHERE id = i_id;
    v_ddl := db4ai_internal._set_citus_ddl('off');  -- Citus: the view stays on the coordinator (distributed.sql)
    -- security_barrier: a reader's own (leaky) functions in WHERE must not see rows before the
    -- membership filter has dropped the rows of the shared CSS store that are not this snapshot's.
    EXECUTE format('CREATE %sVIEW %I.%I WITH (security_barrier) AS %s',
                   CASE WHEN i_replace THEN 'OR REPLACE ' ELSE '' END, s."schema", s."name", db4ai_internal._store_select_sql(st, false));
    EXECUTE format('COMMENT ON VIEW %I.%I IS %L', s."schema", s."name",
                   format('db4ai snapshot, rows in %s', st.store) || coalesce(': ' || s.comment, ''));
    PERFORM db4ai_internal._lock_down(format('%I.%I', s."schema", s."name")::regclass, true);
    PERFORM db4ai_internal._set_citus_ddl(v_ddl);
END;
$$;

-- A query returning the rows of snapshot i_id as (_db4ai_rid, <columns>). With row ids it reads the
-- backing table (CSS work, needs the store owner's privileges); without, it reads the view (any
-- role that may SELECT from it) and _db4ai_rid is NULL.
CREATE OR REPLACE FUNCTION db4ai_internal._snapshot_rows_sql(i_id bigint, i_with_rid boolean) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s db4ai.snapshot;
    st db4ai.snapshot_storage;
    v_cols text;
BEGIN
    SELECT * INTO STRICT s FROM db4ai.snapshot WHERE id = i_id;
    SELECT * INTO STRICT st FROM db4ai.snapshot_storage WHERE id = i_id;
    IF i_with_rid THEN
        RETURN db4ai_internal._store_select_sql(st, true);
    END IF;
    SELECT coalesce(string_agg(format(', v.%I', c), '' ORDER BY o), '')
      INTO v_cols FROM unnest(st.columns) WITH ORDINALITY AS u(c, o);
    RETURN format('SELECT NULL::pg_catalog.int8 AS _db4ai_rid%s FROM %I.%I v', v_cols, s."schema", s."name");
END;
$$;

-- May the current role add rows and columns to the backing table of snapshot i_id (CSS)? Only a
-- table with row ids (made in CSS mode) can be shared.
CREATE OR REPLACE FUNCTION db4ai_internal._can_share_store(i_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT st.members IS NOT NULL AND pg_has_role(current_user, c.relowner, 'USAGE')
                     FROM db4ai.snapshot_storage st JOIN pg_class c ON c.oid = st.store
                     WHERE st.id = i_id), false)
$$;

-- A new backing table "<schema>"."_db4ai_t<id>" filled from i_rows (a query returning
-- (_db4ai_rid, <columns>)). CSS (i_row_ids): the rows are numbered (id << 32) + 1, 2, ..., so that
-- descendants can share the table; MSS: a plain copy, as fast as CREATE TABLE AS. Returns the row count.
CREATE OR REPLACE FUNCTION db4ai_internal._new_store(i_schema name, i_id bigint, i_rows text, i_columns name[], i_label text,
                                                     i_row_ids boolean)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_store text := format('%I.%I', i_schema, '_db4ai_t' || i_id);
    v_cols text;
    v_rows bigint;
BEGIN
    SELECT string_agg(format('q.%I', c), ', ' ORDER BY o)
      INTO v_cols FROM unnest(i_columns) WITH ORDINALITY AS u(c, o);
    EXECUTE format('CREATE TABLE %s AS SELECT %s FROM (%s) q', v_store,
                   concat_ws(', ', CASE WHEN i_row_ids THEN db4ai_internal._row_id_expr(i_id) END, v_cols), i_rows);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM db4ai_internal._store_created(v_store::regclass, i_label);
    RETURN v_rows;
END;
$$;

-- The row id of the n-th row a snapshot i_id adds to a CSS backing table.
CREATE OR REPLACE FUNCTION db4ai_internal._row_id_expr(i_id bigint) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('(%s::pg_catalog.int8 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER ()) AS _db4ai_rid', i_id << 32)
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._store_created(i_store regclass, i_label text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %s IS %L', i_store,
                   'db4ai snapshot storage, first used by ' || i_label || '; managed by the db4ai snapshot functions');
    PERFORM db4ai_internal._lock_down(i_store, false);
END;
$$;

-- The row ids (s_id << 32) + 1 .. + n of a fresh CSS store; NULL for an MSS table.
CREATE OR REPLACE FUNCTION db4ai_internal._fresh_members(i_id bigint, i_rows bigint, i_row_ids boolean) RETURNS int8multirange
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN NOT i_row_ids THEN NULL
                WHEN i_rows > 0 THEN int8multirange(int8range((i_id << 32) + 1, (i_id << 32) + i_rows + 1))
                ELSE '{}'::int8multirange END
$$;

-- Once a CSS child has appended rows to a backing table, a view that showed the whole table (its
-- first snapshot's) must filter by membership from now on.
CREATE OR REPLACE FUNCTION db4ai_internal._filter_store_views(i_store regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    FOR v_id IN SELECT id FROM db4ai.snapshot_storage WHERE store = i_store AND NOT filtered ORDER BY id LOOP
        UPDATE db4ai.snapshot_storage SET filtered = true WHERE id = v_id;
        PERFORM db4ai_internal._create_view(v_id, true);
    END LOOP;
END;
$$;

-- The CSS matrix id of a child of i_parent: the parent's, or the parent itself, which is then
-- marked as a matrix (openGauss sets matrix_id = id on the first CSS derivation).
CREATE OR REPLACE FUNCTION db4ai_internal._matrix_for_child(i_parent db4ai.snapshot) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_parent.matrix_id IS NOT NULL THEN
        RETURN i_parent.matrix_id;
    END IF;
    UPDATE db4ai.snapshot SET matrix_id = id WHERE id = i_parent.id;
    RETURN i_parent.id;
END;
$$;

-- Write the catalog and storage rows of a new snapshot and create its view.
CREATE OR REPLACE FUNCTION db4ai_internal._register_snapshot(
    i_id bigint, i_parent_id bigint, i_matrix_id bigint, i_root_id bigint, i_schema name, i_name text,
    i_commands text[], i_comment text, i_published boolean, i_row_count bigint,
    i_store regclass, i_columns name[], i_fields name[], i_members int8multirange, i_filtered boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        INSERT INTO db4ai.snapshot (id, parent_id, matrix_id, root_id, "schema", "name", owner, commands, comment,
                                    published, archived, row_count)
        VALUES (i_id, i_parent_id, i_matrix_id, coalesce(i_root_id, i_id), i_schema, i_name, current_user, i_commands,
                i_comment, i_published, false, i_row_count);
    EXCEPTION WHEN unique_violation THEN  -- lost a race that the name lock did not see (REPEATABLE READ)
        RAISE EXCEPTION 'snapshot %.% already exists', quote_ident(i_schema), quote_ident(i_name)
            USING ERRCODE = 'duplicate_object';
    END;
    INSERT INTO db4ai.snapshot_storage (id, owner, store, columns, fields, members, filtered)
    VALUES (i_id, current_user, i_store, i_columns, i_fields, i_members, i_filtered);
    PERFORM db4ai_internal._create_view(i_id, false);
    RETURN ROW(i_schema, i_name)::db4ai.snapshot_name;
END;
$$;

-- Register child i_id of parent p with a fresh backing table holding i_rows (a query returning
-- (_db4ai_rid, <i_columns>)); with row ids if i_row_ids (CSS mode), so its descendants can share it.
CREATE OR REPLACE FUNCTION db4ai_internal._register_copy_child(
    p db4ai.snapshot, i_id bigint, i_name text, i_rows text, i_columns name[], i_commands text[], i_comment text,
    i_row_ids boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows bigint;
BEGIN
    v_rows := db4ai_internal._distributed_child_store(p, i_id, i_rows, i_columns, i_name);  -- NULL: not distributed
    IF v_rows IS NULL THEN
        v_rows := db4ai_internal._new_store(p."schema", i_id, i_rows, i_columns, format('%I.%I', p."schema", i_name), i_row_ids);
    END IF;
    RETURN db4ai_internal._register_snapshot(
        i_id, p.id, NULL, p.root_id, p."schema", i_name, i_commands, i_comment, false, v_rows,
        format('%I.%I', p."schema", '_db4ai_t' || i_id)::regclass, i_columns, i_columns,
        db4ai_internal._fresh_members(i_id, v_rows, i_row_ids), false);
END;
$$;
