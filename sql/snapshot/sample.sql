-- db4ai.sample_snapshot (SAMPLE SNAPSHOT): random subsets of a snapshot, and the machinery SPLIT
-- shares with it.
--
-- Reproducibility: every random decision is a hash of (seed, purpose, row content, occurrence),
-- never random(). "Row content" is the binary form of the row (record_send), which does not
-- depend on settings such as extra_float_digits or TimeZone; "occurrence" numbers identical rows
-- (1, 2, ...), so duplicates still get independent draws, and since identical rows are
-- interchangeable the result does not depend on which physical copy got which number. Hence a
-- sample is a function of (snapshot contents, seed, infix, ratio, strata): the same in MSS and
-- CSS, after a dump and restore, and on re-created data.
-- Differences from openGauss (which draws random() <= ratio and ignores STRATIFY BY):
--   * the seed comes from the optional argument i_seed, else the setting db4ai.seed, else 0, and
--     is recorded in commands ({"SAMPLE _a 0.5", "SEED 0"});
--   * each sample is still an independent Bernoulli draw (samples may overlap, sizes are about
--     ratio × n), but with STRATIFY BY each stratum (distinct combination of the listed columns,
--     NULL being a value) contributes exactly round(ratio × stratum size) rows.

-- A number in [0, 1) from a hash: 60 bits of md5.
CREATE OR REPLACE FUNCTION db4ai_internal._unit_hash(i_seed bigint, i_salt text, i_row_hash text, i_occurrence bigint)
    RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (('x' OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.md5(
               i_seed::pg_catalog.text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) i_salt
               OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) i_row_hash OPERATOR(pg_catalog.||) ':'
               OPERATOR(pg_catalog.||) i_occurrence::pg_catalog.text), 1, 15))::pg_catalog.bit(60)::pg_catalog.int8
           )::pg_catalog.float8 OPERATOR(pg_catalog./) 1152921504606846976::pg_catalog.float8
$$;

-- Validate a stratification column list against the snapshot's columns; returns the columns as
-- stored (an element matches exactly or, like an unquoted SQL name, in lower case).
CREATE OR REPLACE FUNCTION db4ai_internal._stratify_columns(i_stratify name[], i_snapshot db4ai.snapshot, i_columns name[])
    RETURNS name[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_col name;
    v_out name[] := ARRAY[]::name[];
BEGIN
    IF i_stratify IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(i_stratify) = 0 OR array_ndims(i_stratify) <> 1 THEN
        RAISE EXCEPTION 'i_stratify array malformed'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass stratification field names as NAME[] literal, e.g. ''{color, size}''';
    END IF;
    FOREACH v_col IN ARRAY i_stratify LOOP
        IF v_col IS NULL THEN
            RAISE EXCEPTION 'i_stratify array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
        ELSIF v_col = ANY (i_columns) THEN
            v_out := v_out || v_col;
        ELSIF db4ai_internal._sql_ident('word', v_col)::name = ANY (i_columns) THEN
            v_out := v_out || db4ai_internal._sql_ident('word', v_col)::name;
        ELSE
            RAISE EXCEPTION 'column "%" does not exist in snapshot %.%', v_col, quote_ident(i_snapshot."schema"),
                quote_ident(i_snapshot."name") USING ERRCODE = 'undefined_object',
                HINT = 'STRATIFY BY names columns of the parent snapshot';
        END IF;
    END LOOP;
    RETURN v_out;
END;
$$;

-- Copy the parent's rows into a temporary table with, per row: _db4ai_h (content hash),
-- _db4ai_o (occurrence among identical rows) and _db4ai_k (hash of the stratification columns).
-- With row ids (CSS) it reads the backing table, otherwise the view. Returns the table's name.
CREATE OR REPLACE FUNCTION db4ai_internal._hashed_rows(i_parent_id bigint, i_with_rid boolean, i_columns name[], i_stratify name[],
                                                       i_tag text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table text := format('pg_temp.%I', format('_db4ai_%s_%s', i_tag, i_parent_id));
    v_row text;
    v_strata text;
BEGIN
    SELECT 'ROW(' || coalesce(string_agg(format('r.%I', c), ', ' ORDER BY o), '') || ')'
      INTO v_row FROM unnest(i_columns) WITH ORDINALITY AS u(c, o);
    SELECT 'ROW(' || string_agg(format('r.%I', c), ', ' ORDER BY o) || ')'
      INTO v_strata FROM unnest(i_stratify) WITH ORDINALITY AS u(c, o);
    EXECUTE format('DROP TABLE IF EXISTS %s', v_table);
    EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS '
                   'SELECT q.*, pg_catalog.row_number() OVER (PARTITION BY q._db4ai_h) AS _db4ai_o FROM ('
                   'SELECT r.*, pg_catalog.md5(pg_catalog.record_send(%s)) AS _db4ai_h, %s AS _db4ai_k FROM (%s) r) q',
                   v_table, v_row,
                   CASE WHEN v_strata IS NULL THEN 'NULL::pg_catalog.text' ELSE format('pg_catalog.md5(pg_catalog.record_send(%s))', v_strata) END,
                   db4ai_internal._snapshot_rows_sql(i_parent_id, i_with_rid));
    RETURN v_table;
END;
$$;

-- Create one subset child of parent p from i_rows (a query over the hashed rows returning the
-- parent's columns and _db4ai_rid). i_css: a membership over the parent's backing table; otherwise
-- a copy (with row ids if i_row_ids, i.e. in CSS mode, so that its descendants can share it).
CREATE OR REPLACE FUNCTION db4ai_internal._create_subset_child(
    p db4ai.snapshot, i_css boolean, i_id bigint, i_name text, i_rows text, i_commands text[], i_comment text,
    i_row_ids boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pst db4ai.snapshot_storage;
    v_members int8multirange;
BEGIN
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = p.id;
    IF i_css THEN
        EXECUTE format('SELECT coalesce(range_agg(int8range(q._db4ai_rid, q._db4ai_rid + 1)), ''{}'') FROM (%s) q', i_rows)
            INTO v_members;
        RETURN db4ai_internal._register_snapshot(
            i_id, p.id, db4ai_internal._matrix_for_child(p), p.root_id, p."schema", i_name, i_commands, i_comment, false,
            db4ai_internal._members_size(v_members)::bigint, pst.store, pst.columns, pst.fields, v_members, true);
    END IF;
    RETURN db4ai_internal._register_copy_child(p, i_id, i_name, i_rows, pst.columns, i_commands, i_comment, i_row_ids);
END;
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._sample_snapshot(
    i_schema name, i_parent name, i_sample_infixes name[], i_sample_ratios numeric[], i_stratify name[],
    i_sample_comments text[], i_seed bigint)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    v_parent record;
    p db4ai.snapshot;
    pst db4ai.snapshot_storage;
    v_stratify name[];
    v_seed bigint;
    v_css boolean;
    v_src text;
    v_name text;
    v_id bigint;
    v_u text;
    v_cols text;
    v_keys text[];     -- strata (STRATIFY BY), with their row counts
    v_counts bigint[];
    v_alloc bigint[];  -- rows drawn per stratum for one sample
    v_tie text[];
BEGIN
    SELECT * INTO st FROM db4ai_internal._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai_internal._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
    p := v_parent.p;
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = p.id;
    IF i_sample_infixes IS NULL OR cardinality(i_sample_infixes) = 0 OR array_ndims(i_sample_infixes) <> 1 THEN
        RAISE EXCEPTION 'i_sample_infixes array malformed'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass sample infixes as NAME[] literal, e.g. ''{_train, _test}''';
    END IF;
    IF i_sample_ratios IS NULL OR cardinality(i_sample_ratios) = 0 OR array_ndims(i_sample_ratios) <> 1 THEN
        RAISE EXCEPTION 'i_sample_ratios array malformed'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass sample percentages as NUMBER[] literal, e.g. ''{.8, .2}''';
    END IF;
    IF cardinality(i_sample_infixes) <> cardinality(i_sample_ratios) THEN
        RAISE EXCEPTION 'i_sample_infixes and i_sample_ratios array length mismatch' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_stratify := db4ai_internal._stratify_columns(i_stratify, p, pst.columns);
    IF i_sample_comments IS NOT NULL THEN
        IF cardinality(i_sample_comments) = 0 OR array_ndims(i_sample_comments) <> 1 THEN
            RAISE EXCEPTION 'i_sample_comments array malformed'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'pass sample comments as TEXT[] literal, e.g. ''{comment 1, comment 2}''';
        ELSIF cardinality(i_sample_infixes) <> cardinality(i_sample_comments) THEN
            RAISE EXCEPTION 'i_sample_infixes and i_sample_comments array length mismatch' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    v_seed := db4ai_internal._snapshot_seed(i_seed);
    v_css := st.mode = 'CSS' AND db4ai_internal._can_share_store(p.id);
    SELECT coalesce(string_agg(format(', s.%I', c), '' ORDER BY o), '') INTO v_cols
    FROM unnest(pst.columns) WITH ORDINALITY AS u(c, o);

    FOR i IN 1 .. cardinality(i_sample_infixes) LOOP
        IF i_sample_infixes[i] IS NULL THEN
            RAISE EXCEPTION 'i_sample_infixes array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
        ELSIF i_sample_ratios[i] IS NULL THEN
            RAISE EXCEPTION 'i_sample_ratios array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_name := v_parent.prefix || i_sample_infixes[i] || st.delimiter || v_parent.version;
        IF char_length(v_name) > 63 OR octet_length(v_name) > 63 THEN
            RAISE EXCEPTION 'sample snapshot name too long: ''%''', v_name USING ERRCODE = 'invalid_parameter_value';
        ELSIF i_sample_ratios[i] < 0 OR i_sample_ratios[i] > 1 THEN
            RAISE EXCEPTION 'sample ratio must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM db4ai_internal._claim_snapshot_name(v_schema, v_name);
        IF v_src IS NULL THEN
            v_src := db4ai_internal._hashed_rows(p.id, v_css, pst.columns, v_stratify, 'sample');
        END IF;
        v_u := format('db4ai_internal._unit_hash(%s, %L, s._db4ai_h, s._db4ai_o)', v_seed, 'sample ' || i_sample_infixes[i]);
        IF v_stratify IS NOT NULL THEN
            -- round(ratio x n) rows in all, spread over the strata in proportion to their sizes with
            -- scikit-learn's largest-remainder rule (as SPLIT does), so small strata cannot inflate
            -- or starve the sample; ties are broken by a seeded hash of the stratum.
            IF v_keys IS NULL THEN
                EXECUTE format('SELECT array_agg(k ORDER BY k), array_agg(c ORDER BY k) FROM '
                               '(SELECT s._db4ai_k AS k, count(*) AS c FROM %s s GROUP BY 1) g', v_src)
                    INTO v_keys, v_counts;
            END IF;
            SELECT array_agg(md5(v_seed || ':sample:' || i_sample_infixes[i] || ':' || k) ORDER BY o) INTO v_tie
              FROM unnest(v_keys) WITH ORDINALITY AS u(k, o);
            v_alloc := db4ai_internal._approximate_mode(v_counts,
                           round(i_sample_ratios[i] * (SELECT coalesce(sum(c), 0) FROM unnest(v_counts) c))::bigint, v_tie);
        END IF;
        v_id := nextval('db4ai.snapshot_sequence');
        RETURN NEXT db4ai_internal._create_subset_child(
            p, v_css, v_id, v_name,
            CASE WHEN v_stratify IS NULL
                 THEN format('SELECT s._db4ai_rid%s FROM %s s WHERE %s < %s::pg_catalog.float8', v_cols, v_src, v_u, i_sample_ratios[i])
                 ELSE format('SELECT s._db4ai_rid%s FROM (SELECT s.*, pg_catalog.row_number() OVER '
                             '(PARTITION BY s._db4ai_k ORDER BY %s, s._db4ai_h, s._db4ai_o) AS _db4ai_n FROM %s s) s '
                             'JOIN ROWS FROM (pg_catalog.unnest(%L::pg_catalog.text[]), pg_catalog.unnest(%L::pg_catalog.int8[])) AS a(k, n) '
                             'ON a.k OPERATOR(pg_catalog.=) s._db4ai_k WHERE s._db4ai_n OPERATOR(pg_catalog.<=) a.n',
                             v_cols, v_u, v_src, coalesce(v_keys, '{}'), coalesce(v_alloc, '{}')) END,
            ARRAY['SAMPLE ' || i_sample_infixes[i] || ' ' || i_sample_ratios[i]
                      || CASE WHEN v_stratify IS NULL THEN '' ELSE ' ' || v_stratify::text END,
                  'SEED ' || v_seed],
            i_sample_comments[i], st.mode = 'CSS');
    END LOOP;
    IF v_src IS NOT NULL THEN
        EXECUTE format('DROP TABLE %s', v_src);
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.sample_snapshot(
    i_schema name, i_parent name, i_sample_infixes name[], i_sample_ratios numeric[], i_stratify name[] DEFAULT NULL,
    i_sample_comments text[] DEFAULT NULL, i_seed bigint DEFAULT NULL)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$
    SELECT * FROM db4ai_internal._sample_snapshot(i_schema, i_parent, i_sample_infixes, i_sample_ratios, i_stratify,
                                                  i_sample_comments, i_seed)
$$;
COMMENT ON FUNCTION db4ai.sample_snapshot(name, name, name[], numeric[], name[], text[], bigint) IS
    'Create random samples "<name><infix>@<version>" of snapshot i_parent: independent, seeded draws; with STRATIFY BY round(ratio x n) rows spread over the strata';
