-- db4ai.create_snapshot (CREATE SNAPSHOT ... AS query): a new root snapshot from operational data.

CREATE OR REPLACE FUNCTION db4ai_internal._create_snapshot(
    i_schema name, i_name name, i_commands text[], i_vers name, i_comment text, i_search_path text)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    v_cmd record;
    v_name text;
    v_id bigint;
    v_store text;
    v_rows bigint;
    v_cols name[];
    v_css boolean;
    v_query text;
    v_sources regclass[];
    v_target text;
BEGIN
    SELECT * INTO st FROM db4ai_internal._snapshot_settings();
    v_css := st.mode = 'CSS';  -- only CSS stores carry row ids, so that descendants can share them
    IF i_name IS NULL OR i_name = '' THEN
        RAISE EXCEPTION 'i_name cannot be NULL or empty' USING ERRCODE = 'invalid_parameter_value';
    ELSIF strpos(i_name, st.delimiter) > 0 THEN
        RAISE EXCEPTION 'i_name must not contain ''%'' characters', st.delimiter USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v_cmd FROM db4ai_internal._parse_create_commands(i_commands);
    v_name := i_name || CASE WHEN i_vers IS NULL OR i_vers = ''
                             THEN st.delimiter || '1' || st.separator || '0' || st.separator || '0'
                             ELSE db4ai_internal._custom_version(i_vers, st.delimiter, st.separator) END;
    PERFORM db4ai_internal._claim_snapshot_name(v_schema, v_name);  -- refuses a name too long, too

    v_id := nextval('db4ai.snapshot_sequence');
    v_store := format('%I.%I', v_schema, '_db4ai_t' || v_id);
    v_query := format('SELECT q.* FROM (%s %s) q', v_cmd.proj, v_cmd.from_clause);
    IF db4ai_internal._citus() THEN  -- distributed sources give a distributed store (distributed.sql)
        v_sources := db4ai_internal._distributed_sources(v_query, i_search_path);
        v_target := db4ai_internal._distribute_by_target(v_cmd.dist);
        -- DISTRIBUTE BY alone (over local tables) asks for a distributed MSS store; CSS keeps one node
        IF cardinality(v_sources) > 0 OR (v_target IS NOT NULL AND NOT v_css) THEN
            PERFORM db4ai_internal._refuse_distributed_css(st.mode, format('the snapshot reads distributed table %s', v_sources[1]));
            v_rows := db4ai_internal._distributed_store(v_store, v_query, v_sources, v_target, i_search_path);
        END IF;
    END IF;
    -- the caller's query, with the caller's rights and search_path, straight into the backing table
    IF v_rows IS NULL THEN
        v_rows := db4ai_internal._run_user_sql(
            format('CREATE TABLE %s AS SELECT %sq.* FROM (%s %s) q',
                   v_store, CASE WHEN v_css THEN db4ai_internal._row_id_expr(v_id) || ', ' ELSE '' END, v_cmd.proj, v_cmd.from_clause),
            i_search_path);
    END IF;
    SELECT array_agg(attname ORDER BY attnum) INTO v_cols
    FROM pg_attribute WHERE attrelid = v_store::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '_db4ai_rid';
    IF NOT v_css AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = v_store::regclass AND attname = '_db4ai_rid') THEN
        RAISE EXCEPTION 'column name "_db4ai_rid" is reserved for db4ai' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM db4ai_internal._check_distribute_by(v_cmd.dist, coalesce(v_cols, '{}'));
    PERFORM db4ai_internal._store_created(v_store::regclass, format('%I.%I', v_schema, v_name));
    RETURN db4ai_internal._register_snapshot(
        v_id, NULL, NULL, v_id, v_schema, v_name,
        ARRAY[v_cmd.proj, v_cmd.from_clause, coalesce(v_cmd.dist, '')], i_comment, true, v_rows,
        v_store::regclass, coalesce(v_cols, '{}'), coalesce(v_cols, '{}'), db4ai_internal._fresh_members(v_id, v_rows, v_css), false);
END;
$$;

-- Public API (openGauss signature). A thin SQL wrapper: it hands the caller's search_path to the
-- worker, which runs with a fixed one (see storage.sql).
CREATE OR REPLACE FUNCTION db4ai.create_snapshot(
    i_schema name, i_name name, i_commands text[], i_vers name DEFAULT NULL, i_comment text DEFAULT NULL)
    RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$
    SELECT db4ai_internal._create_snapshot(i_schema, i_name, i_commands, i_vers, i_comment, pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION db4ai.create_snapshot(name, name, text[], name, text) IS
    'Create a new snapshot "<name>@<version>" from a query given as SQL pieces, e.g. {SELECT *, FROM public.t}';
