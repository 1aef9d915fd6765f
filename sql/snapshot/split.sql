-- db4ai.split_snapshot (SPLIT SNAPSHOT; GaussDB has it, openGauss does not): an exact, disjoint,
-- covering partition of a snapshot into k >= 2 parts, with scikit-learn train_test_split semantics.
--
-- Part sizes, for n rows and ratios r1 .. rk (summing to 1):
--     n_i = ceil(r_i * n) for i = 2 .. k,   n_1 = n - (n_2 + ... + n_k)
-- computed in double precision exactly like scikit-learn, so for k = 2 the sizes equal those of
-- train_test_split(test_size=r2) bit for bit (including float artefacts: 0.2 * 15 rounds up to 4).
-- A part that would be empty is an error, as in scikit-learn.
-- Order: rows are ranked by a hash of (seed, row content, occurrence) — see sample.sql — and the
-- first n_1 go to part 1, the next n_2 to part 2, and so on.
-- STRATIFY BY: scikit-learn's StratifiedShuffleSplit. Part 1 gets _approximate_mode(class counts,
-- n_1) rows of each class (largest remainder; ties broken by a seeded hash of the class instead of
-- scikit-learn's random choice), part 2 _approximate_mode(remaining counts, n_2), ..., the last part
-- what is left; within a class, rows are taken in hash order. Errors as scikit-learn: a class with
-- fewer than 2 members, or a part smaller than the number of classes.

-- scikit-learn's _approximate_mode with a deterministic tie-break (i_tiebreak, ascending).
CREATE OR REPLACE FUNCTION db4ai_internal._approximate_mode(i_counts bigint[], i_draws bigint, i_tiebreak text[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_total float8;
    v_out bigint[];
    v_need bigint;
    v_idx bigint;
BEGIN
    SELECT sum(c)::float8 INTO v_total FROM unnest(i_counts) c;
    -- continuous = counts / counts.sum() * n_draws, in the same float operations as numpy
    SELECT array_agg(floor(c::float8 / v_total * i_draws::float8)::bigint ORDER BY o)
      INTO v_out FROM unnest(i_counts) WITH ORDINALITY AS u(c, o);
    v_need := i_draws - (SELECT sum(x) FROM unnest(v_out) x);
    IF v_need > 0 THEN
        FOR v_idx IN
            SELECT o FROM unnest(i_counts, i_tiebreak) WITH ORDINALITY AS u(c, t, o)
            ORDER BY (c::float8 / v_total * i_draws::float8) - floor(c::float8 / v_total * i_draws::float8) DESC, t
            LIMIT v_need
        LOOP
            v_out[v_idx] := v_out[v_idx] + 1;
        END LOOP;
    END IF;
    RETURN v_out;
END;
$$;

-- Part sizes of a split of n rows (see above); raises when a part would be empty.
CREATE OR REPLACE FUNCTION db4ai_internal._split_sizes(i_n bigint, i_ratios numeric[], i_names name[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_k int := cardinality(i_ratios);
    v_sizes bigint[] := array_fill(0::bigint, ARRAY[cardinality(i_ratios)]);
BEGIN
    FOR i IN 2 .. v_k LOOP
        v_sizes[i] := ceil(i_ratios[i]::float8 * i_n::float8)::bigint;
    END LOOP;
    v_sizes[1] := i_n - (SELECT coalesce(sum(x), 0) FROM unnest(v_sizes[2:v_k]) x);
    FOR i IN 1 .. v_k LOOP
        IF v_sizes[i] <= 0 THEN
            RAISE EXCEPTION 'With n_samples=%, ratios=% and parts=%, the resulting % set will be empty. Adjust any of the aforementioned parameters.',
                i_n, i_ratios, i_names, i_names[i] USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    RETURN v_sizes;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._split_snapshot(
    i_schema name, i_parent name, i_split_names name[], i_ratios numeric[], i_stratify name[], i_comment text, i_seed bigint)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai_internal._snapshot_schema(i_schema);
    v_parent record;
    p db4ai.snapshot;
    pst db4ai.snapshot_storage;
    v_k int;
    v_stratify name[];
    v_seed bigint;
    v_css boolean;
    v_names text[] := ARRAY[]::text[];
    v_name text;
    v_src text;
    v_ranked text;
    v_n bigint;
    v_sizes bigint[];
    v_lo bigint;
    v_cols text;
    v_keys text[];
    v_counts bigint[];
    v_remaining bigint[];
    v_alloc bigint[];
    v_bounds text;
    v_commands text;
    v_id bigint;
BEGIN
    SELECT * INTO st FROM db4ai_internal._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai_internal._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
    p := v_parent.p;
    SELECT * INTO STRICT pst FROM db4ai.snapshot_storage WHERE id = p.id;

    IF i_split_names IS NULL OR cardinality(i_split_names) = 0 OR array_ndims(i_split_names) <> 1 THEN
        RAISE EXCEPTION 'i_split_names array malformed'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass the parts'' name infixes as NAME[] literal, e.g. ''{_train, _test}''';
    END IF;
    IF i_ratios IS NULL OR cardinality(i_ratios) = 0 OR array_ndims(i_ratios) <> 1 THEN
        RAISE EXCEPTION 'i_ratios array malformed'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'pass the parts'' ratios as NUMERIC[] literal, e.g. ''{.8, .2}''';
    END IF;
    v_k := cardinality(i_split_names);
    IF v_k <> cardinality(i_ratios) THEN
        RAISE EXCEPTION 'i_split_names and i_ratios array length mismatch' USING ERRCODE = 'invalid_parameter_value';
    ELSIF array_position(i_split_names, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'i_split_names array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
    ELSIF array_position(i_ratios, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'i_ratios array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
    ELSIF v_k < 2 THEN
        RAISE EXCEPTION 'SPLIT needs at least two parts, got %', v_k
            USING ERRCODE = 'invalid_parameter_value', HINT = 'use SAMPLE for a single subset';
    ELSIF (SELECT count(DISTINCT x) FROM unnest(i_split_names) x) <> v_k THEN
        RAISE EXCEPTION 'i_split_names must be distinct: %', i_split_names USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1 .. v_k LOOP
        IF NOT (i_ratios[i] > 0 AND i_ratios[i] < 1) THEN
            RAISE EXCEPTION 'ratio=% of part % should be a float in the (0, 1) range', i_ratios[i], i_split_names[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF abs((SELECT sum(r) FROM unnest(i_ratios) r) - 1) > 1e-9 THEN
        RAISE EXCEPTION 'The sum of the ratios = %, should be 1', (SELECT sum(r) FROM unnest(i_ratios) r)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SPLIT puts every row into exactly one part: give ratios that add up to 1, e.g. ''{.8, .2}''';
    END IF;
    v_stratify := db4ai_internal._stratify_columns(i_stratify, p, pst.columns);
    v_seed := db4ai_internal._snapshot_seed(i_seed);
    FOR i IN 1 .. v_k LOOP
        v_names := v_names || (v_parent.prefix || i_split_names[i] || st.delimiter || v_parent.version);
        IF char_length(v_names[i]) > 63 OR octet_length(v_names[i]) > 63 THEN
            RAISE EXCEPTION 'split snapshot name too long: ''%''', v_names[i] USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    -- claimed in a fixed order, so that two concurrent splits cannot deadlock on each other's names
    FOR v_name IN SELECT x FROM unnest(v_names) x ORDER BY x LOOP
        PERFORM db4ai_internal._claim_snapshot_name(v_schema, v_name);
    END LOOP;

    v_css := st.mode = 'CSS' AND db4ai_internal._can_share_store(p.id);
    v_src := db4ai_internal._hashed_rows(p.id, v_css, pst.columns, v_stratify, 'split');
    EXECUTE format('SELECT count(*) FROM %s', v_src) INTO v_n;
    v_sizes := db4ai_internal._split_sizes(v_n, i_ratios, i_split_names);

    SELECT coalesce(string_agg(format(', s.%I', c), '' ORDER BY o), '') INTO v_cols
    FROM unnest(pst.columns) WITH ORDINALITY AS u(c, o);
    v_ranked := format('pg_temp.%I', '_db4ai_ranked_' || p.id);
    IF v_stratify IS NULL THEN
        -- part i: ranks (n_1 + .. + n_{i-1}, n_1 + .. + n_i]
        EXECUTE format('DROP TABLE IF EXISTS %s', v_ranked);
        EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT s.*, pg_catalog.row_number() OVER '
                       '(ORDER BY db4ai_internal._unit_hash(%s, ''split'', s._db4ai_h, s._db4ai_o), s._db4ai_h, s._db4ai_o) AS _db4ai_n FROM %s s',
                       v_ranked, v_seed, v_src);
        v_bounds := NULL;
    ELSE
        EXECUTE format('SELECT array_agg(k ORDER BY k), array_agg(c ORDER BY k) FROM '
                       '(SELECT s._db4ai_k AS k, count(*) AS c FROM %s s GROUP BY 1) g', v_src) INTO v_keys, v_counts;
        IF (SELECT min(c) FROM unnest(v_counts) c) < 2 THEN
            RAISE EXCEPTION 'The least populated class in y has only 1 member, which is too few. '
                            'The minimum number of groups for any class cannot be less than 2.'
                USING ERRCODE = 'data_exception', HINT = format('stratification columns: %s', v_stratify);
        END IF;
        FOR i IN 1 .. v_k LOOP
            IF v_sizes[i] < cardinality(v_keys) THEN
                RAISE EXCEPTION 'The % size = % should be greater or equal to the number of classes = %',
                    i_split_names[i], v_sizes[i], cardinality(v_keys) USING ERRCODE = 'data_exception';
            END IF;
        END LOOP;
        -- per class and part, the rank range inside the class: part i takes ranks (lo, lo + alloc]
        EXECUTE format('DROP TABLE IF EXISTS %s', v_ranked || '_b');
        EXECUTE format('CREATE TEMP TABLE %s_b (k text, part int, lo bigint, hi bigint) ON COMMIT DROP', v_ranked);
        v_remaining := v_counts;
        v_lo := 0;
        DECLARE
            v_lo_by_class bigint[] := array_fill(0::bigint, ARRAY[cardinality(v_keys)]);
            v_tie text[];
        BEGIN
            SELECT array_agg(md5(v_seed || ':class:' || k) ORDER BY o) INTO v_tie FROM unnest(v_keys) WITH ORDINALITY AS u(k, o);
            FOR i IN 1 .. v_k LOOP
                v_alloc := CASE WHEN i = v_k THEN v_remaining ELSE db4ai_internal._approximate_mode(v_remaining, v_sizes[i], v_tie) END;
                EXECUTE format('INSERT INTO %s_b SELECT k, $1, lo, lo + a FROM unnest($2, $3, $4) AS u(k, lo, a)', v_ranked)
                    USING i, v_keys, v_lo_by_class, v_alloc;
                SELECT array_agg(l + a ORDER BY o) INTO v_lo_by_class FROM unnest(v_lo_by_class, v_alloc) WITH ORDINALITY AS u(l, a, o);
                SELECT array_agg(r - a ORDER BY o) INTO v_remaining FROM unnest(v_remaining, v_alloc) WITH ORDINALITY AS u(r, a, o);
            END LOOP;
        END;
        EXECUTE format('DROP TABLE IF EXISTS %s', v_ranked);
        EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT s.*, pg_catalog.row_number() OVER (PARTITION BY s._db4ai_k '
                       'ORDER BY db4ai_internal._unit_hash(%s, ''split'', s._db4ai_h, s._db4ai_o), s._db4ai_h, s._db4ai_o) AS _db4ai_n FROM %s s',
                       v_ranked, v_seed, v_src);
        v_bounds := v_ranked || '_b';
    END IF;

    v_commands := 'SPLIT ' || i_split_names::text || ' ' || i_ratios::text
                  || CASE WHEN v_stratify IS NULL THEN '' ELSE ' STRATIFY ' || v_stratify::text END;
    v_lo := 0;
    FOR i IN 1 .. v_k LOOP
        v_id := nextval('db4ai.snapshot_sequence');
        RETURN NEXT db4ai_internal._create_subset_child(
            p, v_css, v_id, v_names[i],
            CASE WHEN v_bounds IS NULL
                 THEN format('SELECT s._db4ai_rid%s FROM %s s WHERE s._db4ai_n > %s AND s._db4ai_n <= %s', v_cols, v_ranked, v_lo, v_lo + v_sizes[i])
                 ELSE format('SELECT s._db4ai_rid%s FROM %s s JOIN %s b ON b.k = s._db4ai_k AND b.part = %s '
                             'WHERE s._db4ai_n > b.lo AND s._db4ai_n <= b.hi', v_cols, v_ranked, v_bounds, i) END,
            ARRAY[v_commands, 'PART ' || i_split_names[i], 'SEED ' || v_seed],
            i_comment, st.mode = 'CSS');
        v_lo := v_lo + v_sizes[i];
    END LOOP;
    EXECUTE format('DROP TABLE %s', v_ranked);
    IF v_bounds IS NOT NULL THEN
        EXECUTE format('DROP TABLE %s', v_bounds);
    END IF;
    EXECUTE format('DROP TABLE %s', v_src);
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.split_snapshot(
    i_schema name, i_parent name, i_split_names name[], i_ratios numeric[], i_stratify name[] DEFAULT NULL,
    i_comment text DEFAULT NULL, i_seed bigint DEFAULT NULL)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$
    SELECT * FROM db4ai_internal._split_snapshot(i_schema, i_parent, i_split_names, i_ratios, i_stratify, i_comment, i_seed)
$$;
COMMENT ON FUNCTION db4ai.split_snapshot(name, name, name[], numeric[], name[], text, bigint) IS
    'Partition snapshot i_parent into parts "<name><infix>@<version>" (exact sizes, disjoint, covering; seeded; optionally stratified)';
