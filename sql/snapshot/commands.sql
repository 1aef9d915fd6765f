-- The command arrays of create_snapshot and prepare_snapshot (spec §1.3, §1.4): classification of
-- the elements, the clause state machine with openGauss's error texts, the ALTER ADD/DROP list,
-- UPDATE SET targets and the DISTRIBUTE BY check. Everything here only parses: nothing runs, so
-- all of a call's parse errors come before any of its work, as in openGauss.

-- The leading words of an element decide what it is: trimmed, first 30 characters, whitespace runs
-- collapsed, upper case ('SeLeCT' alone is not 'SELECT ', so it is unrecognized, as in openGauss).
CREATE OR REPLACE FUNCTION db4ai_internal._command_pattern(i_element text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT upper(regexp_replace(left(i_element, 30), '\s+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._command_trim(i_element text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT btrim(i_element, E' \t\n\r\f\x0B')
$$;

CREATE OR REPLACE FUNCTION db4ai_internal._rtrim_space(i_text text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT rtrim(i_text, E' \t\n\r\f\x0B')
$$;

-- An identifier in double quotes even where quote_ident would not quote it: in "DROP COLUMN if",
-- an unquoted IF would be read as the start of IF EXISTS.
CREATE OR REPLACE FUNCTION db4ai_internal._quote_always(i_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '"' || replace(i_name, '"', '""') || '"'
$$;

-- Is i_commands a usable one-dimensional, non-empty array without NULLs? Raises the openGauss texts.
CREATE OR REPLACE FUNCTION db4ai_internal._check_command_array(i_commands text[], i_hint text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF i_commands IS NULL OR cardinality(i_commands) = 0 OR array_ndims(i_commands) <> 1 THEN
        RAISE EXCEPTION 'i_commands array malformed' USING ERRCODE = 'invalid_parameter_value', HINT = i_hint;
    END IF;
    IF array_position(i_commands, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'i_commands array contains NULL values' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END;
$$;

---------------------------------------------------------------------------------------------------
-- create_snapshot: {SELECT ..., FROM ..., DISTRIBUTE BY ...} in any order; a SELECT element may hold
-- the whole query, which is split at its first top-level FROM and DISTRIBUTE BY.
CREATE OR REPLACE FUNCTION db4ai_internal._parse_create_commands(
    i_commands text[], OUT proj text, OUT from_clause text, OUT dist text)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_el text;
    v_pattern text;
    t record;
    v_from int;
    v_dist int;
BEGIN
    PERFORM db4ai_internal._check_command_array(i_commands,
        'pass SQL commands as TEXT[] literal, e.g. ''{SELECT *, FROM public.t, DISTRIBUTE BY HASH(id)''');
    FOREACH v_el IN ARRAY i_commands LOOP
        v_el := db4ai_internal._command_trim(v_el);
        v_pattern := db4ai_internal._command_pattern(v_el);
        IF left(v_pattern, 7) = 'SELECT ' THEN
            IF proj IS NOT NULL THEN
                RAISE EXCEPTION 'multiple SELECT clauses in i_commands: ''%'' ''%''', proj, v_el USING ERRCODE = 'syntax_error';
            END IF;
            PERFORM db4ai_internal._sql_check_piece(v_el);
            SELECT * INTO t FROM db4ai_internal._sql_tokens(v_el);
            v_from := NULL;
            v_dist := NULL;
            FOR k IN 1 .. cardinality(t.kinds) LOOP
                CONTINUE WHEN t.kinds[k] <> 'word' OR t.depths[k] <> 0;
                IF v_from IS NULL AND upper(t.vals[k]) = 'FROM' THEN
                    v_from := t.pos[k];
                ELSIF v_from IS NOT NULL AND upper(t.vals[k]) = 'DISTRIBUTE'
                      AND t.kinds[k + 1] = 'word' AND upper(t.vals[k + 1]) = 'BY' THEN
                    v_dist := t.pos[k];
                    EXIT;
                END IF;
            END LOOP;
            IF v_from IS NULL THEN
                proj := v_el;
            ELSE
                proj := db4ai_internal._rtrim_space(left(v_el, v_from - 1));
                IF from_clause IS NOT NULL THEN  -- a FROM element came first
                    RAISE EXCEPTION 'multiple FROM clauses in i_commands: ''%'' ''%''', from_clause,
                        substr(v_el, v_from) USING ERRCODE = 'syntax_error';
                END IF;
                from_clause := db4ai_internal._rtrim_space(substr(v_el, v_from, coalesce(v_dist - v_from, char_length(v_el))));
                IF v_dist IS NOT NULL THEN
                    IF dist IS NOT NULL THEN
                        RAISE EXCEPTION 'multiple DISTRIBUTE BY clauses in i_commands: ''%'' ''%''', dist,
                            substr(v_el, v_dist) USING ERRCODE = 'syntax_error';
                    END IF;
                    dist := substr(v_el, v_dist);
                END IF;
            END IF;
        ELSIF left(v_pattern, 5) = 'FROM ' THEN
            IF from_clause IS NOT NULL THEN
                RAISE EXCEPTION 'multiple FROM clauses in i_commands: ''%'' ''%''', from_clause, v_el USING ERRCODE = 'syntax_error';
            END IF;
            PERFORM db4ai_internal._sql_check_piece(v_el);
            from_clause := v_el;
        ELSIF left(v_pattern, 14) = 'DISTRIBUTE BY ' THEN
            IF dist IS NOT NULL THEN
                RAISE EXCEPTION 'multiple DISTRIBUTE BY clauses in i_commands: ''%'' ''%''', dist, v_el USING ERRCODE = 'syntax_error';
            END IF;
            dist := v_el;
        ELSE
            RAISE EXCEPTION 'unrecognized command in i_commands: ''%''', v_el USING ERRCODE = 'syntax_error';
        END IF;
    END LOOP;
    IF proj IS NULL THEN
        IF from_clause IS NULL THEN
            RAISE EXCEPTION 'SELECT and FROM clauses are missing in i_commands' USING ERRCODE = 'syntax_error';
        END IF;
        proj := 'SELECT *';
    ELSIF from_clause IS NULL AND strpos(upper(proj), 'FROM ') = 0 THEN
        RAISE EXCEPTION 'FROM clause is missing in i_commands' USING ERRCODE = 'syntax_error';
    END IF;
END;
$$;

-- DISTRIBUTE BY REPLICATION | DISTRIBUTE BY HASH(col, ...): checked against the snapshot's columns
-- and then dropped, as openGauss does on a single node.
CREATE OR REPLACE FUNCTION db4ai_internal._check_distribute_by(i_dist text, i_columns name[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_list text;
    t record;
    v_col text;
BEGIN
    IF coalesce(i_dist, '') = '' THEN
        RETURN;
    END IF;
    v_list := (regexp_match(i_dist, '^\s*DISTRIBUTE\s+BY\s+HASH\s*\((.*)\)\s*$', 'i'))[1];
    IF v_list IS NULL OR v_list ~ '^\s*$' THEN
        IF i_dist !~* '^\s*DISTRIBUTE\s+BY\s+REPLICATION\s*$' THEN
            RAISE EXCEPTION 'cannot match DISTRIBUTE BY clause'
                USING ERRCODE = 'syntax_error',
                      HINT = 'currently only DISTRIBUTE BY REPLICATION and DISTRIBUTE BY HASH(column_name [, ...]) supported';
        END IF;
        RETURN;
    END IF;
    SELECT * INTO t FROM db4ai_internal._sql_tokens(v_list);
    FOR k IN 1 .. cardinality(t.kinds) LOOP
        CONTINUE WHEN t.kinds[k] = 'punct' AND t.vals[k] = ',';
        IF t.kinds[k] = 'unterminated_ident' THEN
            RAISE EXCEPTION 'unterminated quoted identifier ''%'' at or near: ''%''', t.vals[k], i_dist
                USING ERRCODE = 'syntax_error';
        END IF;
        v_col := db4ai_internal._sql_ident(t.kinds[k], t.vals[k]);
        IF NOT v_col = ANY (i_columns) THEN
            RAISE EXCEPTION 'unable to map field "%" to backing table', v_col USING ERRCODE = 'undefined_object';
        END IF;
    END LOOP;
END;
$$;

---------------------------------------------------------------------------------------------------
-- ALTER clause: "ADD [COLUMN] name definition, DROP [COLUMN] [IF EXISTS] name, ...". Checks the
-- names against the snapshot's current columns (io_columns, updated) and returns the ALTER TABLE
-- subcommands with quoted names and the definitions verbatim (NULL if nothing is left to do).
-- Unlike openGauss, commas inside parentheses or quotes do not split: ADD x numeric(10,2) works.
CREATE OR REPLACE FUNCTION db4ai_internal._parse_alter_clause(i_clause text, INOUT io_columns name[], OUT o_sql text)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n int;
    k int := 1;         -- first token of the current item
    e int;              -- one past the last token of the current item
    m int;
    v_op text;
    v_col text;
    v_if_exists boolean;
    v_end int;          -- character position where the current item ends
    v_rest text;
    v_parts text[] := ARRAY[]::text[];
BEGIN
    SELECT * INTO t FROM db4ai_internal._sql_tokens(i_clause);
    n := cardinality(t.kinds);
    WHILE k <= n LOOP
        e := k;
        WHILE e <= n AND NOT (t.kinds[e] = 'punct' AND t.vals[e] = ',' AND t.depths[e] = 0) LOOP e := e + 1; END LOOP;
        v_end := CASE WHEN e <= n THEN t.pos[e] ELSE char_length(i_clause) + 1 END;
        IF e = k THEN  -- an empty item: ",," or a leading comma
            RAISE EXCEPTION 'expected ADD or DROP keyword before '','' in: ''%''', i_clause
                USING ERRCODE = 'syntax_error', HINT = 'currently only ADD and DROP supported';
        END IF;
        IF t.kinds[k] = 'unterminated_ident' THEN
            RAISE EXCEPTION 'unterminated quoted identifier ''"%'' at or near: ''%''', t.vals[k], i_clause USING ERRCODE = 'syntax_error';
        END IF;
        v_op := CASE WHEN t.kinds[k] = 'word' THEN upper(t.vals[k]) END;
        IF v_op IS NULL OR v_op NOT IN ('ADD', 'DROP') THEN
            RAISE EXCEPTION 'expected ADD or DROP keyword before ''%'' in: ''%''', db4ai_internal._sql_ident(t.kinds[k], t.vals[k]), i_clause
                USING ERRCODE = 'syntax_error', HINT = 'currently only ADD and DROP supported';
        END IF;
        m := k + 1;
        IF m < e AND t.kinds[m] = 'word' AND upper(t.vals[m]) = 'COLUMN' THEN
            m := m + 1;
        END IF;
        v_if_exists := false;
        IF v_op = 'DROP' AND m < e AND t.kinds[m] = 'word' AND upper(t.vals[m]) = 'IF' AND m + 1 < e THEN
            -- IF is not reserved: "DROP if" drops a column named if
            IF NOT (t.kinds[m + 1] = 'word' AND upper(t.vals[m + 1]) = 'EXISTS') THEN
                RAISE EXCEPTION 'expected EXISTS keyword in DROP operation after ''%'' in: ''%''', t.vals[m], i_clause
                    USING ERRCODE = 'syntax_error';
            END IF;
            v_if_exists := true;
            m := m + 2;
        END IF;
        IF m >= e OR t.kinds[m] NOT IN ('word', 'ident', 'unterminated_ident') THEN
            RAISE EXCEPTION 'unable to extract column name in % operation: ''%''', v_op, i_clause USING ERRCODE = 'syntax_error';
        ELSIF t.kinds[m] = 'unterminated_ident' THEN
            RAISE EXCEPTION 'unterminated quoted identifier ''"%'' at or near: ''%''', t.vals[m], i_clause USING ERRCODE = 'syntax_error';
        END IF;
        v_col := db4ai_internal._sql_ident(t.kinds[m], t.vals[m]);
        v_rest := btrim(substr(i_clause, t.pos[m] + t.lens[m], v_end - t.pos[m] - t.lens[m]), E' \t\n\r\f\x0B');
        IF v_op = 'ADD' THEN
            IF v_col = ANY (io_columns) THEN
                RAISE EXCEPTION 'column "%" already exists in current snapshot', v_col USING ERRCODE = 'duplicate_object';
            END IF;
            io_columns := io_columns || v_col::name;
            v_parts := v_parts || format('ADD COLUMN %s %s', db4ai_internal._quote_always(v_col), v_rest);
        ELSIF v_col = ANY (io_columns) THEN
            io_columns := array_remove(io_columns, v_col::name);
            v_parts := v_parts || rtrim(format('DROP COLUMN %s %s', db4ai_internal._quote_always(v_col), v_rest));
        ELSIF NOT v_if_exists THEN
            RAISE EXCEPTION 'unable to map field "%" to backing table in DROP operation: ''%''', v_col, i_clause
                USING ERRCODE = 'undefined_object';
        END IF;  -- DROP IF EXISTS of an unknown column: nothing to do
        k := e + 1;
    END LOOP;
    -- an unterminated quote inside a definition (openGauss reports it after the whole list)
    FOR i IN 1 .. n LOOP
        IF t.kinds[i] = 'unterminated_ident' THEN
            RAISE EXCEPTION 'unterminated quoted identifier ''"%'' at or near: ''%''', t.vals[i], i_clause USING ERRCODE = 'syntax_error';
        END IF;
    END LOOP;
    IF cardinality(v_parts) > 0 THEN
        o_sql := array_to_string(v_parts, ', ');
    END IF;
END;
$$;

-- The columns assigned by an UPDATE SET clause ("SET a = 1, (b, c) = (...)", targets folded).
CREATE OR REPLACE FUNCTION db4ai_internal._set_targets(i_set text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n int;
    k int := 1;
    e int;
    q int;
    v_targets text[] := ARRAY[]::text[];
BEGIN
    SELECT * INTO t FROM db4ai_internal._sql_tokens(i_set);
    n := cardinality(t.kinds);
    IF n > 0 AND t.kinds[1] = 'word' AND upper(t.vals[1]) = 'SET' THEN
        k := 2;
    END IF;
    WHILE k <= n LOOP
        e := k;
        WHILE e <= n AND NOT (t.kinds[e] = 'punct' AND t.vals[e] = ',' AND t.depths[e] = 0) LOOP e := e + 1; END LOOP;
        q := k;  -- the assignment's '='
        WHILE q < e AND NOT (t.kinds[q] = 'punct' AND t.vals[q] = '=' AND t.depths[q] = 0) LOOP q := q + 1; END LOOP;
        IF q < e THEN
            IF t.kinds[k] = 'punct' AND t.vals[k] = '(' THEN  -- (a, b) = ...
                FOR i IN k + 1 .. q - 1 LOOP
                    IF t.kinds[i] IN ('word', 'ident') AND t.depths[i] = 1
                       AND t.kinds[i - 1] = 'punct' AND t.vals[i - 1] IN ('(', ',') THEN
                        v_targets := v_targets || db4ai_internal._sql_ident(t.kinds[i], t.vals[i]);
                    END IF;
                END LOOP;
            ELSIF t.kinds[k] IN ('word', 'ident') THEN
                v_targets := v_targets || db4ai_internal._sql_ident(t.kinds[k], t.vals[k]);
            END IF;
        END IF;
        k := e + 1;
    END LOOP;
    RETURN v_targets;
END;
$$;

-- Does the text after INSERT INTO snapshot bring its own column list (or DEFAULT VALUES, which
-- takes none)? Otherwise db4ai supplies the snapshot's columns, so that positional INSERTs fill
-- exactly the user's columns.
CREATE OR REPLACE FUNCTION db4ai_internal._insert_has_columns(i_sql text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM db4ai_internal._sql_tokens(i_sql);
    IF cardinality(t.kinds) >= 2 AND t.kinds[1] = 'punct' AND t.vals[1] = '(' THEN
        RETURN NOT ((t.kinds[2] = 'punct' AND t.vals[2] = '(')
                    OR (t.kinds[2] = 'word' AND upper(t.vals[2]) IN ('SELECT', 'VALUES', 'WITH', 'TABLE')));
    END IF;
    RETURN cardinality(t.kinds) >= 1 AND t.kinds[1] = 'word' AND upper(t.vals[1]) = 'DEFAULT';
END;
$$;

-- A "true SQL" element: INSERT INTO snapshot ..., UPDATE snapshot [AS a] SET ..., DELETE FROM
-- snapshot [AS a] ..., ALTER TABLE snapshot .... The target keyword SNAPSHOT may be left out
-- (UPDATE SET ..., DELETE WHERE ..., as the SQL syntax's short form); any other target is refused
-- (openGauss would run such a DELETE without its WHERE clause).
CREATE OR REPLACE FUNCTION db4ai_internal._parse_true_sql(
    i_op text, i_element text, OUT alias text, OUT body text, OUT tail text)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n int;
    k int := 2;   -- token 1 is the operation keyword
    v_target boolean := false;
    v_keyword text;
BEGIN
    SELECT * INTO t FROM db4ai_internal._sql_tokens(i_element);
    n := cardinality(t.kinds);
    -- optional INTO / FROM / TABLE, then the target "snapshot"
    v_keyword := CASE i_op WHEN 'INSERT' THEN 'INTO' WHEN 'DELETE' THEN 'FROM' WHEN 'ALTER' THEN 'TABLE' ELSE '' END;
    IF k <= n AND t.kinds[k] = 'word' AND upper(t.vals[k]) = v_keyword THEN
        k := k + 1;
        v_target := true;  -- the keyword requires a target
    END IF;
    IF k <= n AND ((t.kinds[k] = 'word' AND lower(t.vals[k]) = 'snapshot') OR (t.kinds[k] = 'ident' AND t.vals[k] = 'snapshot')) THEN
        k := k + 1;
    ELSIF v_target OR (i_op = 'UPDATE' AND k <= n AND t.kinds[k] IN ('word', 'ident') AND upper(t.vals[k]) NOT IN ('SET', 'AS')) THEN
        RAISE EXCEPTION 'illegal target of % in i_commands at: ''%''', i_op, i_element
            USING ERRCODE = 'syntax_error',
                  HINT = 'the snapshot being prepared is called snapshot, e.g. ''' || CASE i_op
                      WHEN 'INSERT' THEN 'INSERT INTO snapshot SELECT ...' WHEN 'DELETE' THEN 'DELETE FROM snapshot WHERE ...'
                      WHEN 'UPDATE' THEN 'UPDATE snapshot SET ...' ELSE 'ALTER TABLE snapshot ADD ...' END || '''';
    END IF;
    IF i_op IN ('UPDATE', 'DELETE') AND k <= n AND t.kinds[k] IN ('word', 'ident') THEN
        IF t.kinds[k] = 'word' AND upper(t.vals[k]) = 'AS' AND k < n THEN
            alias := substr(i_element, t.pos[k + 1], t.lens[k + 1]);
            k := k + 2;
        ELSIF NOT (t.kinds[k] = 'word' AND upper(t.vals[k]) IN ('SET', 'USING', 'WHERE', 'RETURNING')) THEN
            alias := substr(i_element, t.pos[k], t.lens[k]);
            k := k + 1;
        END IF;
    END IF;
    IF k <= n THEN
        body := substr(i_element, t.pos[k]);
    END IF;
    IF i_op = 'UPDATE' AND body IS NOT NULL THEN
        -- split "SET ... [FROM ...] [WHERE ...]" at the first top-level FROM or WHERE
        FOR i IN k .. n LOOP
            IF t.kinds[i] = 'word' AND t.depths[i] = 0 AND upper(t.vals[i]) IN ('FROM', 'WHERE') THEN
                body := db4ai_internal._rtrim_space(substr(i_element, t.pos[k], t.pos[i] - t.pos[k]));
                tail := substr(i_element, t.pos[i]);
                EXIT;
            END IF;
        END LOOP;
        IF upper(left(body, 3)) <> 'SET' THEN  -- e.g. "UPDATE snapshot WHERE ...": no SET clause
            tail := body;
            body := NULL;
        END IF;
    END IF;
END;
$$;

---------------------------------------------------------------------------------------------------
-- prepare_snapshot: the operations of a command array, in order. Each row is one operation:
--   kind        ALTER | INSERT | DELETE | UPDATE
--   alias       correlation name of UPDATE/DELETE (default snapshot)
--   sql_clause  INSERT: the generic SQL (SELECT ..., VALUES ..., (cols) ...); UPDATE: the SET clause
--   from_clause INSERT/UPDATE: FROM ...; DELETE: USING ... (or the rest of a true-SQL DELETE)
--   where_clause
--   alter_sql   ALTER: the checked ALTER TABLE subcommands (NULL: nothing to do)
--   own_columns INSERT: true when the SQL names its columns itself
-- i_columns are the parent's columns; ALTERs change them for the operations that follow.
CREATE OR REPLACE FUNCTION db4ai_internal._parse_prepare_commands(i_commands text[], i_columns name[])
    RETURNS TABLE (kind text, alias text, sql_clause text, from_clause text, where_clause text,
                   alter_sql text, own_columns boolean)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_cols name[] := i_columns;
    v_el text;
    v_pattern text;
    v_cur text;             -- operation being collected
    v_next text;            -- operation started by the current element
    c_alias text; c_sql text; c_from text; c_where text; c_alter text; c_any boolean := false;
    n_alias text; n_sql text; n_from text; n_alter text; n_any boolean := false;
    v_tru record;
    v_alt record;
    v_missing text;
BEGIN
    PERFORM db4ai_internal._check_command_array(i_commands,
        'pass SQL DML and DDL operations as TEXT[] literal, e.g. ''{ALTER, ADD a int, DROP c, DELETE, '
        'WHERE b=5, INSERT, FROM t, UPDATE, FROM t, SET x=y, SET z=f(z), WHERE t.u=v}''');
    FOREACH v_el IN ARRAY i_commands || ARRAY[NULL::text] LOOP
        v_el := db4ai_internal._command_trim(v_el);
        v_pattern := db4ai_internal._command_pattern(v_el);
        v_next := NULL;
        IF v_el IS NOT NULL THEN
            PERFORM db4ai_internal._sql_check_piece(v_el);
        END IF;
        IF v_el IS NULL THEN
            NULL;  -- end of the array: finish the last operation
        ELSIF v_pattern IN ('ALTER', 'INSERT', 'DELETE', 'UPDATE') THEN
            v_next := v_pattern;
        ELSIF left(v_pattern, 7) IN ('INSERT ', 'DELETE ', 'UPDATE ') THEN
            v_next := left(v_pattern, 6);
            SELECT * INTO v_tru FROM db4ai_internal._parse_true_sql(v_next, v_el);
            n_alias := v_tru.alias;
            IF v_next = 'UPDATE' THEN
                n_sql := v_tru.body;
                n_from := v_tru.tail;
            ELSIF v_next = 'INSERT' THEN
                n_sql := v_tru.body;
            ELSE
                n_from := v_tru.body;
            END IF;
            n_any := true;
        ELSIF left(v_pattern, 6) = 'ALTER ' THEN
            SELECT * INTO v_tru FROM db4ai_internal._parse_true_sql('ALTER', v_el);
            IF v_cur = 'ALTER' THEN  -- chain onto the current ALTER
                c_alter := concat_ws(', ', c_alter, v_tru.body);
                c_any := true;
                CONTINUE;
            END IF;
            v_next := 'ALTER';
            n_alter := v_tru.body;
            n_any := v_tru.body IS NOT NULL;
        ELSIF left(v_pattern, 4) = 'ADD ' OR left(v_pattern, 5) = 'DROP ' THEN
            IF v_cur = 'ALTER' THEN  -- ALTER keyword is optional; consecutive ADD/DROP chain
                c_alter := concat_ws(', ', c_alter, v_el);
                c_any := true;
                CONTINUE;
            END IF;
            v_next := 'ALTER';
            n_alter := v_el;
            n_any := true;
        ELSIF left(v_pattern, 6) = 'WHERE ' THEN
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing INSERT / UPDATE / DELETE keyword before WHERE clause in i_commands at: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
                RAISE EXCEPTION 'illegal WHERE clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            ELSIF c_where IS NOT NULL THEN
                RAISE EXCEPTION 'multiple WHERE clauses in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            END IF;
            c_where := v_el;
            c_any := true;
            CONTINUE;
        ELSIF left(v_pattern, 5) = 'FROM ' THEN
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing INSERT / UPDATE keyword before FROM clause in i_commands at: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur NOT IN ('INSERT', 'UPDATE') THEN
                RAISE EXCEPTION 'illegal FROM clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            ELSIF c_from IS NOT NULL THEN
                RAISE EXCEPTION 'multiple FROM clauses in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            END IF;
            c_from := v_el;
            c_any := true;
            CONTINUE;
        ELSIF left(v_pattern, 6) = 'USING ' THEN
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing DELETE keyword before USING clause in i_commands at: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur <> 'DELETE' THEN
                RAISE EXCEPTION 'illegal USING clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            ELSIF c_from IS NOT NULL THEN
                RAISE EXCEPTION 'multiple USING clauses in DELETE at: ''%''', v_el USING ERRCODE = 'syntax_error';
            END IF;
            c_from := v_el;
            c_any := true;
            CONTINUE;
        ELSIF left(v_pattern, 4) = 'SET ' THEN
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing UPDATE keyword before SET clause in i_commands at: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur <> 'UPDATE' THEN
                RAISE EXCEPTION 'illegal SET clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            END IF;
            -- several SET elements make one SET list (openGauss would write "SET a=1 SET b=2")
            c_sql := CASE WHEN c_sql IS NULL THEN v_el
                          ELSE c_sql || ', ' || regexp_replace(v_el, '^SET\s+', '', 'i') END;
            c_any := true;
            CONTINUE;
        ELSIF left(v_pattern, 3) = 'AS ' THEN
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing UPDATE / DELETE keyword before AS clause in i_commands at: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur NOT IN ('UPDATE', 'DELETE') THEN
                RAISE EXCEPTION 'illegal AS clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            ELSIF c_alias IS NOT NULL THEN
                RAISE EXCEPTION 'multiple AS clauses in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            END IF;
            c_alias := ltrim(substr(v_el, 4), E' \t\n\r\f\x0B');
            c_any := true;
            CONTINUE;
        ELSE  -- generic SQL belongs to an INSERT (SELECT ..., VALUES ..., (cols) ...)
            IF v_cur IS NULL THEN
                RAISE EXCEPTION 'missing ALTER / INSERT / UPDATE / DELETE keyword before SQL clause: ''%''', v_el USING ERRCODE = 'syntax_error';
            ELSIF v_cur <> 'INSERT' THEN
                RAISE EXCEPTION 'illegal SQL clause in % at: ''%''', v_cur, v_el USING ERRCODE = 'syntax_error';
            END IF;
            c_sql := concat_ws(' ', c_sql, v_el);
            c_any := true;
            CONTINUE;
        END IF;

        -- a new operation starts (or the array ends): finish the current one
        IF v_cur IS NOT NULL THEN
            IF NOT c_any AND v_cur <> 'DELETE' THEN  -- a bare DELETE deletes every row
                RAISE EXCEPTION 'missing auxiliary clauses in %', v_cur || coalesce(' before: ''' || v_el || '''', '')
                    USING ERRCODE = 'syntax_error';
            END IF;
            kind := v_cur;
            alias := coalesce(c_alias, 'snapshot');
            sql_clause := c_sql;
            from_clause := c_from;
            where_clause := c_where;
            alter_sql := NULL;
            own_columns := NULL;
            IF v_cur = 'ALTER' THEN
                SELECT * INTO v_alt FROM db4ai_internal._parse_alter_clause(c_alter, v_cols);
                v_cols := v_alt.io_columns;
                alter_sql := v_alt.o_sql;
            ELSIF v_cur = 'INSERT' THEN
                IF c_sql IS NULL THEN
                    RAISE EXCEPTION 'missing SELECT or VALUES clause in INSERT operation' USING ERRCODE = 'syntax_error';
                END IF;
                own_columns := db4ai_internal._insert_has_columns(c_sql);
            ELSIF v_cur = 'UPDATE' THEN
                IF c_sql IS NULL THEN
                    RAISE EXCEPTION 'missing SET clause in UPDATE operation' USING ERRCODE = 'syntax_error';
                END IF;
                SELECT x INTO v_missing FROM unnest(db4ai_internal._set_targets(c_sql)) x WHERE NOT x = ANY (v_cols) LIMIT 1;
                IF v_missing IS NOT NULL THEN
                    RAISE EXCEPTION 'unable to map field "%" to backing table in UPDATE operation: %', v_missing, c_sql
                        USING ERRCODE = 'undefined_object';
                END IF;
            END IF;
            RETURN NEXT;
        END IF;
        v_cur := v_next;
        c_alias := n_alias; c_sql := n_sql; c_from := n_from; c_where := NULL; c_alter := n_alter; c_any := n_any;
        n_alias := NULL; n_sql := NULL; n_from := NULL; n_alter := NULL; n_any := false;
    END LOOP;
END;
$$;
