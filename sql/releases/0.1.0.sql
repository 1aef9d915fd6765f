-- db4ai 0.1.0, as released (commit 8b54936): every object of sql/core.sql, sql/snapshot/ and sql/model/,
-- expanded, without the CREATE SCHEMA that install.sql ran. Frozen: never edit a released version.
-- db4ai.extension makes it the extension script db4ai--0.1.0.sql, the starting point of the upgrade
-- db4ai--0.1.0--<current>.sql, and tests/core/test_extension.py installs it to test that upgrade.
-- db4ai core: the schema and the installed version.
-- Every db4ai object lives in schema db4ai; PUBLIC may look things up in it, while what each role may
-- do with snapshots and models is decided by the privileges of the objects themselves.

COMMENT ON SCHEMA db4ai IS 'db4ai: versioned training-data snapshots and in-database models';
GRANT USAGE ON SCHEMA db4ai TO PUBLIC;

-- The version of the SQL layer; the Python package refuses a database whose major.minor differs.
-- Re-running install.sql replaces it, which is how an upgrade records itself.
CREATE OR REPLACE FUNCTION db4ai.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '0.1.0'::text $$;
COMMENT ON FUNCTION db4ai.version() IS 'installed db4ai version';
-- db4ai snapshots: versioned, immutable training-data sets (openGauss DB4AI snapshot API).
-- Included from sql/install.sql; every file is idempotent (CREATE OR REPLACE / IF NOT EXISTS).
-- Order matters: later files call functions of earlier ones. README.md in this folder explains
-- the storage layout (MSS / CSS), the security model and where we differ from openGauss.
-- Snapshot catalog: the result type, the id sequence, the public catalog db4ai.snapshot (openGauss
-- columns) and the internal storage map db4ai.snapshot_storage.
--
-- Who may write what (DESIGN §3.2, §4): there is no SECURITY DEFINER code in the snapshot module.
-- Callers write the catalog rows of their own snapshots directly, and row level security decides:
--   * everybody may read both tables (lineage is not secret; a snapshot's rows are protected by
--     the privileges of its view and its backing table, not by hiding the catalog);
--   * a row may be inserted only for oneself, with the id just drawn from the sequence by this
--     session (so nobody can squat future ids), in a schema one may CREATE in, and with a parent
--     one may read (so nobody can fake a dependency on somebody else's snapshot);
--   * a row may be changed or deleted only by its owner or a member of the owning role, and only
--     the lineage/state columns are updatable at all.

DO $$
BEGIN
    CREATE TYPE db4ai.snapshot_name AS ("schema" name, "name" name);
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- installed before: keep it, views and callers depend on it
END;
$$;
COMMENT ON TYPE db4ai.snapshot_name IS 'schema and name (with version) of a snapshot, returned by every snapshot function';

-- Snapshot ids. An id also forms the upper 32 bits of the ids of the rows its snapshot stores
-- (row id = id << 32 | n), so ids stay below 2^31.
CREATE SEQUENCE IF NOT EXISTS db4ai.snapshot_sequence AS bigint MAXVALUE 2147483647;
REVOKE ALL ON SEQUENCE db4ai.snapshot_sequence FROM PUBLIC;
GRANT USAGE ON SEQUENCE db4ai.snapshot_sequence TO PUBLIC;  -- nextval/currval, never setval

CREATE TABLE IF NOT EXISTS db4ai.snapshot (
    id          bigint NOT NULL UNIQUE,     -- from db4ai.snapshot_sequence
    parent_id   bigint,                     -- snapshot it was derived from; NULL for roots
    matrix_id   bigint,                     -- CSS: snapshot whose backing table holds the shared rows
    root_id     bigint,                     -- first snapshot of the lineage
    "schema"    name NOT NULL,              -- schema of the view "<name>@<version>"
    "name"      name NOT NULL,              -- full name including the version
    owner       name NOT NULL,              -- creating role
    commands    text[] NOT NULL,            -- how it was made from its parent (or from operational data)
    comment     text,
    published   boolean NOT NULL DEFAULT false,
    archived    boolean NOT NULL DEFAULT false,
    created     timestamp DEFAULT CURRENT_TIMESTAMP,
    row_count   bigint NOT NULL,
    PRIMARY KEY ("schema", "name")
);
COMMENT ON TABLE db4ai.snapshot IS 'db4ai snapshot catalog (openGauss layout); rows are written by the db4ai.*_snapshot functions';
CREATE INDEX IF NOT EXISTS snapshot_parent_id_idx ON db4ai.snapshot (parent_id);

-- Where a snapshot's rows live (see README.md "Storage"): the backing table ("store"), which of its
-- columns ("fields") hold the snapshot's columns, and which of its rows belong to the snapshot
-- ("members": a set of row-id ranges). Internal: the public contract is db4ai.snapshot.
CREATE TABLE IF NOT EXISTS db4ai.snapshot_storage (
    id          bigint PRIMARY KEY REFERENCES db4ai.snapshot (id) ON DELETE CASCADE,
    owner       name NOT NULL,
    store       regclass NOT NULL,          -- backing table, in the snapshot's schema
    columns     name[] NOT NULL,            -- the snapshot's column names, in order
    fields      name[] NOT NULL,            -- the backing-table column holding each of them
    members     int8multirange,             -- row ids (_db4ai_rid) of its rows; NULL: an MSS table without row ids
    filtered    boolean NOT NULL            -- does the view filter by members? (false: it shows the whole table)
);
COMMENT ON TABLE db4ai.snapshot_storage IS 'db4ai internal: backing table, column map and row membership of each snapshot';
CREATE INDEX IF NOT EXISTS snapshot_storage_store_idx ON db4ai.snapshot_storage (store);

-- Helpers used by the policies. They only read, and run with the caller's rights.
CREATE OR REPLACE FUNCTION db4ai._is_owner(i_owner name) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- The owner itself, or a role that may use the owner's privileges (members with INHERIT,
    -- superusers): they can drop and alter the owner's objects anyway.
    SELECT i_owner = current_user
        OR EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = i_owner AND pg_has_role(current_user, r.oid, 'USAGE'))
$$;

CREATE OR REPLACE FUNCTION db4ai._snapshot_readable(i_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- May the current role read the rows of snapshot i_id (SELECT on its view)?
    SELECT coalesce((SELECT has_table_privilege(to_regclass(format('%I.%I', s."schema", s."name")), 'SELECT')
                     FROM db4ai.snapshot s WHERE s.id = i_id), false)
$$;

-- Policies are re-created on every install (an upgrade may change them); dropped here without the
-- NOTICEs that DROP POLICY IF EXISTS would print on a first install.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT policyname, tablename FROM pg_policies
             WHERE schemaname = 'db4ai' AND tablename IN ('snapshot', 'snapshot_storage') LOOP
        EXECUTE format('DROP POLICY %I ON db4ai.%I', p.policyname, p.tablename);
    END LOOP;
END;
$$;

ALTER TABLE db4ai.snapshot ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON db4ai.snapshot FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.snapshot TO PUBLIC;
GRANT UPDATE (parent_id, matrix_id, commands, comment, published, archived) ON db4ai.snapshot TO PUBLIC;

CREATE POLICY snapshot_read ON db4ai.snapshot FOR SELECT USING (true);
CREATE POLICY snapshot_insert ON db4ai.snapshot FOR INSERT WITH CHECK (
    owner = current_user
    AND id = currval('db4ai.snapshot_sequence')
    AND has_schema_privilege("schema", 'CREATE')
    AND (parent_id IS NULL OR db4ai._snapshot_readable(parent_id)));
CREATE POLICY snapshot_update ON db4ai.snapshot FOR UPDATE
    USING (db4ai._is_owner(owner))
    WITH CHECK (db4ai._is_owner(owner) AND (parent_id IS NULL OR db4ai._snapshot_readable(parent_id)));
CREATE POLICY snapshot_delete ON db4ai.snapshot FOR DELETE USING (db4ai._is_owner(owner));

ALTER TABLE db4ai.snapshot_storage ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON db4ai.snapshot_storage FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.snapshot_storage TO PUBLIC;
GRANT UPDATE (filtered) ON db4ai.snapshot_storage TO PUBLIC;

CREATE POLICY snapshot_storage_read ON db4ai.snapshot_storage FOR SELECT USING (true);
CREATE POLICY snapshot_storage_insert ON db4ai.snapshot_storage FOR INSERT WITH CHECK (
    owner = current_user
    AND EXISTS (SELECT 1 FROM db4ai.snapshot s WHERE s.id = snapshot_storage.id AND s.owner = current_user)
    -- one can only register a table whose owner's privileges one has
    AND pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = store), 'USAGE'));
CREATE POLICY snapshot_storage_update ON db4ai.snapshot_storage FOR UPDATE
    USING (db4ai._is_owner(owner)) WITH CHECK (db4ai._is_owner(owner));
CREATE POLICY snapshot_storage_delete ON db4ai.snapshot_storage FOR DELETE USING (db4ai._is_owner(owner));

-- Snapshot settings. PostgreSQL custom settings need a dot, so openGauss's GUCs are renamed:
--   db4ai.snapshot_mode      (openGauss db4ai_snapshot_mode)               MSS (default) | CSS
--   db4ai.version_delimiter  (openGauss db4ai_snapshot_version_delimiter)  default '@'
--   db4ai.version_separator  (openGauss db4ai_snapshot_version_separator)  default '.'
--   db4ai.seed               (ours) default seed of SAMPLE and SPLIT, default 0
-- A custom setting accepts any string (SET db4ai.snapshot_mode = 8 succeeds), so, as in openGauss,
-- the value is checked when a snapshot function runs. Unset and '' (after RESET) mean the default.

CREATE OR REPLACE FUNCTION db4ai._snapshot_settings(OUT mode text, OUT delimiter text, OUT separator text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    mode := upper(coalesce(nullif(current_setting('db4ai.snapshot_mode', true), ''), 'MSS'));
    IF mode NOT IN ('MSS', 'CSS') THEN
        RAISE EXCEPTION 'invalid snapshot mode: ''%''', mode
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'set db4ai.snapshot_mode to MSS (every snapshot owns a copy) or CSS (descendants share storage)';
    END IF;
    delimiter := coalesce(nullif(current_setting('db4ai.version_delimiter', true), ''), '@');
    separator := coalesce(nullif(current_setting('db4ai.version_separator', true), ''), '.');
    IF char_length(delimiter) <> 1 OR delimiter = separator THEN
        RAISE EXCEPTION 'invalid db4ai.version_delimiter: ''%''', delimiter
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'use exactly one character that differs from db4ai.version_separator';
    END IF;
    IF char_length(separator) <> 1 OR separator ~ '[0-9]' THEN
        RAISE EXCEPTION 'invalid db4ai.version_separator: ''%''', separator
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'use exactly one character that is not a digit and differs from db4ai.version_delimiter';
    END IF;
END;
$$;

-- The seed of SAMPLE / SPLIT: the argument if given, else the setting db4ai.seed, else 0.
CREATE OR REPLACE FUNCTION db4ai._snapshot_seed(i_seed bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text text := btrim(coalesce(current_setting('db4ai.seed', true), ''));
BEGIN
    IF i_seed IS NOT NULL THEN
        RETURN i_seed;
    ELSIF v_text = '' THEN
        RETURN 0;
    ELSIF v_text !~ '^[+-]?[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'invalid db4ai.seed: ''%''', v_text
            USING ERRCODE = 'invalid_parameter_value', HINT = 'set db4ai.seed to an integer';
    END IF;
    RETURN v_text::bigint;
END;
$$;

-- The schema a snapshot function works in: the argument, else (openGauss) the schema named like
-- the current user if it exists, else public.
CREATE OR REPLACE FUNCTION db4ai._snapshot_schema(i_schema name) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN i_schema IS NOT NULL AND i_schema <> '' THEN i_schema
        WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = current_user) THEN current_user::name
        ELSE 'public'::name
    END
$$;

-- A small SQL tokenizer for the snapshot command arrays. It knows just enough SQL to find the
-- clause keywords that matter at the top level (FROM, WHERE, DISTRIBUTE BY, SET targets, commas of
-- an ALTER list) while skipping quoted identifiers, string literals (standard, E'', dollar-quoted),
-- comments and parenthesised sub-expressions. openGauss scans characters and knows only double
-- quotes, so for it  SELECT 'a from b' FROM t  splits inside the string; here it does not.
--
-- Tokens come back as parallel arrays:
--   kinds   word | ident (quoted identifier, unescaped) | string | number | punct (one character)
--           | unterminated_ident | unterminated_string
--   vals    the text (words keep their case; ident/unterminated_ident without the quotes)
--   pos     1-based character position in the input, lens: length in characters
--   depths  parenthesis depth outside the token; a ')' that closes more than was opened has -1

CREATE OR REPLACE FUNCTION db4ai._sql_tokens(
    i_sql text,
    OUT kinds text[], OUT vals text[], OUT pos int[], OUT lens int[], OUT depths int[])
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c text[] := regexp_split_to_array(coalesce(i_sql, ''), '');  -- characters, O(1) access
    n int;
    i int := 1;
    j int;          -- start of the current token
    k int;
    d int := 0;     -- parenthesis depth
    ch text;
    v_kind text;
    v_val text;
    v_tag text;
    v_escape boolean;
BEGIN
    kinds := '{}'; vals := '{}'; pos := '{}'; lens := '{}'; depths := '{}';
    IF coalesce(i_sql, '') = '' THEN
        RETURN;
    END IF;
    n := cardinality(c);
    WHILE i <= n LOOP
        ch := c[i];
        j := i;
        IF ch ~ '^\s$' THEN
            i := i + 1;
            CONTINUE;
        ELSIF ch = '-' AND c[i + 1] = '-' THEN  -- comment to the end of the line
            WHILE i <= n AND c[i] <> E'\n' LOOP i := i + 1; END LOOP;
            CONTINUE;
        ELSIF ch = '/' AND c[i + 1] = '*' THEN  -- block comment; they nest in PostgreSQL
            k := 1;
            i := i + 2;
            WHILE i <= n AND k > 0 LOOP
                IF c[i] = '/' AND c[i + 1] = '*' THEN k := k + 1; i := i + 2;
                ELSIF c[i] = '*' AND c[i + 1] = '/' THEN k := k - 1; i := i + 2;
                ELSE i := i + 1;
                END IF;
            END LOOP;
            CONTINUE;
        ELSIF ch = '"' THEN
            v_kind := 'unterminated_ident';
            v_val := '';
            i := i + 1;
            WHILE i <= n LOOP
                IF c[i] = '"' THEN
                    IF c[i + 1] = '"' THEN  -- "" is an escaped quote
                        v_val := v_val || '"';
                        i := i + 2;
                        CONTINUE;
                    END IF;
                    v_kind := 'ident';
                    i := i + 1;
                    EXIT;
                END IF;
                v_val := v_val || c[i];
                i := i + 1;
            END LOOP;
        ELSIF ch ~ '^[A-Za-z_]$' OR ascii(ch) > 127 THEN
            WHILE i <= n AND (c[i] ~ '^[A-Za-z0-9_$]$' OR ascii(c[i]) > 127) LOOP i := i + 1; END LOOP;
            v_kind := 'word';
            v_val := array_to_string(c[j:i - 1], '');
            -- a string with a prefix: E'..' (backslash escapes), B'..', X'..', N'..'
            IF c[i] = '''' AND upper(v_val) IN ('E', 'B', 'X', 'N') THEN
                v_escape := upper(v_val) = 'E';
                v_kind := 'unterminated_string';
                i := i + 1;
                WHILE i <= n LOOP
                    IF v_escape AND c[i] = '\' THEN
                        i := i + 2;
                    ELSIF c[i] = '''' THEN
                        IF c[i + 1] = '''' THEN i := i + 2; CONTINUE; END IF;
                        v_kind := 'string';
                        i := i + 1;
                        EXIT;
                    ELSE
                        i := i + 1;
                    END IF;
                END LOOP;
                v_val := array_to_string(c[j:i - 1], '');
            END IF;
        ELSIF ch = '''' THEN
            v_kind := 'unterminated_string';
            i := i + 1;
            WHILE i <= n LOOP
                IF c[i] = '''' THEN
                    IF c[i + 1] = '''' THEN i := i + 2; CONTINUE; END IF;
                    v_kind := 'string';
                    i := i + 1;
                    EXIT;
                END IF;
                i := i + 1;
            END LOOP;
            v_val := array_to_string(c[j:i - 1], '');
        ELSIF ch ~ '^[0-9]$' OR (ch = '.' AND c[i + 1] ~ '^[0-9]$') THEN
            WHILE i <= n AND (c[i] ~ '^[0-9A-Za-z_.]$' OR (c[i] IN ('+', '-') AND c[i - 1] IN ('e', 'E'))) LOOP
                i := i + 1;
            END LOOP;
            v_kind := 'number';
            v_val := array_to_string(c[j:i - 1], '');
        ELSIF ch = '$' AND (c[i + 1] = '$' OR c[i + 1] ~ '^[A-Za-z_]$') THEN
            -- maybe a dollar quote $tag$ ... $tag$
            k := i + 1;
            WHILE k <= n AND c[k] ~ '^[A-Za-z0-9_]$' LOOP k := k + 1; END LOOP;
            IF c[k] = '$' THEN
                v_tag := array_to_string(c[i:k], '');
                k := strpos(array_to_string(c[k + 1:n], ''), v_tag);
                v_kind := CASE WHEN k = 0 THEN 'unterminated_string' ELSE 'string' END;
                i := CASE WHEN k = 0 THEN n + 1 ELSE i + char_length(v_tag) + k - 1 + char_length(v_tag) END;
                v_val := array_to_string(c[j:i - 1], '');
            ELSE
                v_kind := 'punct';
                v_val := ch;
                i := i + 1;
            END IF;
        ELSE
            v_kind := 'punct';
            v_val := ch;
            i := i + 1;
            IF ch = ')' THEN
                d := d - 1;
            END IF;
        END IF;
        kinds := kinds || v_kind;
        vals := vals || v_val;
        pos := pos || j;
        lens := lens || (i - j);
        depths := depths || d;
        IF v_kind = 'punct' AND v_val = '(' THEN
            d := d + 1;
        END IF;
    END LOOP;
END;
$$;

-- An identifier token as PostgreSQL reads it: unquoted words fold to lower case (ASCII only, as
-- PostgreSQL does), quoted identifiers are taken verbatim.
CREATE OR REPLACE FUNCTION db4ai._sql_ident(i_kind text, i_val text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN i_kind = 'word'
                THEN translate(i_val, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                ELSE i_val END
$$;

-- Refuse a statement separator or an unbalanced ')' outside quotes: each array element is one
-- piece of one statement (openGauss texts).
CREATE OR REPLACE FUNCTION db4ai._sql_check_piece(i_sql text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM db4ai._sql_tokens(i_sql);
    FOR k IN 1 .. coalesce(cardinality(t.kinds), 0) LOOP
        IF t.kinds[k] = 'punct' AND (t.vals[k] = ';' OR (t.vals[k] = ')' AND t.depths[k] < 0)) THEN
            RAISE EXCEPTION 'syntax error at or near ''%'' in ''%'' at position ''%''', t.vals[k], i_sql, t.pos[k]
                USING ERRCODE = 'syntax_error';
        END IF;
    END LOOP;
END;
$$;

-- The command arrays of create_snapshot and prepare_snapshot (spec §1.3, §1.4): classification of
-- the elements, the clause state machine with openGauss's error texts, the ALTER ADD/DROP list,
-- UPDATE SET targets and the DISTRIBUTE BY check. Everything here only parses: nothing runs, so
-- all of a call's parse errors come before any of its work, as in openGauss.

-- The leading words of an element decide what it is: trimmed, first 30 characters, whitespace runs
-- collapsed, upper case ('SeLeCT' alone is not 'SELECT ', so it is unrecognized, as in openGauss).
CREATE OR REPLACE FUNCTION db4ai._command_pattern(i_element text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT upper(regexp_replace(left(i_element, 30), '\s+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION db4ai._command_trim(i_element text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT btrim(i_element, E' \t\n\r\f\x0B')
$$;

CREATE OR REPLACE FUNCTION db4ai._rtrim_space(i_text text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT rtrim(i_text, E' \t\n\r\f\x0B')
$$;

-- An identifier in double quotes even where quote_ident would not quote it: in "DROP COLUMN if",
-- an unquoted IF would be read as the start of IF EXISTS.
CREATE OR REPLACE FUNCTION db4ai._quote_always(i_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '"' || replace(i_name, '"', '""') || '"'
$$;

-- Is i_commands a usable one-dimensional, non-empty array without NULLs? Raises the openGauss texts.
CREATE OR REPLACE FUNCTION db4ai._check_command_array(i_commands text[], i_hint text) RETURNS void
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
CREATE OR REPLACE FUNCTION db4ai._parse_create_commands(
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
    PERFORM db4ai._check_command_array(i_commands,
        'pass SQL commands as TEXT[] literal, e.g. ''{SELECT *, FROM public.t, DISTRIBUTE BY HASH(id)''');
    FOREACH v_el IN ARRAY i_commands LOOP
        v_el := db4ai._command_trim(v_el);
        v_pattern := db4ai._command_pattern(v_el);
        IF left(v_pattern, 7) = 'SELECT ' THEN
            IF proj IS NOT NULL THEN
                RAISE EXCEPTION 'multiple SELECT clauses in i_commands: ''%'' ''%''', proj, v_el USING ERRCODE = 'syntax_error';
            END IF;
            PERFORM db4ai._sql_check_piece(v_el);
            SELECT * INTO t FROM db4ai._sql_tokens(v_el);
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
                proj := db4ai._rtrim_space(left(v_el, v_from - 1));
                IF from_clause IS NOT NULL THEN  -- a FROM element came first
                    RAISE EXCEPTION 'multiple FROM clauses in i_commands: ''%'' ''%''', from_clause,
                        substr(v_el, v_from) USING ERRCODE = 'syntax_error';
                END IF;
                from_clause := db4ai._rtrim_space(substr(v_el, v_from, coalesce(v_dist - v_from, char_length(v_el))));
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
            PERFORM db4ai._sql_check_piece(v_el);
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
CREATE OR REPLACE FUNCTION db4ai._check_distribute_by(i_dist text, i_columns name[]) RETURNS void
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
    SELECT * INTO t FROM db4ai._sql_tokens(v_list);
    FOR k IN 1 .. cardinality(t.kinds) LOOP
        CONTINUE WHEN t.kinds[k] = 'punct' AND t.vals[k] = ',';
        IF t.kinds[k] = 'unterminated_ident' THEN
            RAISE EXCEPTION 'unterminated quoted identifier ''%'' at or near: ''%''', t.vals[k], i_dist
                USING ERRCODE = 'syntax_error';
        END IF;
        v_col := db4ai._sql_ident(t.kinds[k], t.vals[k]);
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
CREATE OR REPLACE FUNCTION db4ai._parse_alter_clause(i_clause text, INOUT io_columns name[], OUT o_sql text)
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
    v_parts text[] := '{}';
BEGIN
    SELECT * INTO t FROM db4ai._sql_tokens(i_clause);
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
            RAISE EXCEPTION 'expected ADD or DROP keyword before ''%'' in: ''%''', db4ai._sql_ident(t.kinds[k], t.vals[k]), i_clause
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
        v_col := db4ai._sql_ident(t.kinds[m], t.vals[m]);
        v_rest := btrim(substr(i_clause, t.pos[m] + t.lens[m], v_end - t.pos[m] - t.lens[m]), E' \t\n\r\f\x0B');
        IF v_op = 'ADD' THEN
            IF v_col = ANY (io_columns) THEN
                RAISE EXCEPTION 'column "%" already exists in current snapshot', v_col USING ERRCODE = 'duplicate_object';
            END IF;
            io_columns := io_columns || v_col::name;
            v_parts := v_parts || format('ADD COLUMN %s %s', db4ai._quote_always(v_col), v_rest);
        ELSIF v_col = ANY (io_columns) THEN
            io_columns := array_remove(io_columns, v_col::name);
            v_parts := v_parts || rtrim(format('DROP COLUMN %s %s', db4ai._quote_always(v_col), v_rest));
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
CREATE OR REPLACE FUNCTION db4ai._set_targets(i_set text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    n int;
    k int := 1;
    e int;
    q int;
    v_targets text[] := '{}';
BEGIN
    SELECT * INTO t FROM db4ai._sql_tokens(i_set);
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
                        v_targets := v_targets || db4ai._sql_ident(t.kinds[i], t.vals[i]);
                    END IF;
                END LOOP;
            ELSIF t.kinds[k] IN ('word', 'ident') THEN
                v_targets := v_targets || db4ai._sql_ident(t.kinds[k], t.vals[k]);
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
CREATE OR REPLACE FUNCTION db4ai._insert_has_columns(i_sql text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM db4ai._sql_tokens(i_sql);
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
CREATE OR REPLACE FUNCTION db4ai._parse_true_sql(
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
    SELECT * INTO t FROM db4ai._sql_tokens(i_element);
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
                body := db4ai._rtrim_space(substr(i_element, t.pos[k], t.pos[i] - t.pos[k]));
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
CREATE OR REPLACE FUNCTION db4ai._parse_prepare_commands(i_commands text[], i_columns name[])
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
    PERFORM db4ai._check_command_array(i_commands,
        'pass SQL DML and DDL operations as TEXT[] literal, e.g. ''{ALTER, ADD a int, DROP c, DELETE, '
        'WHERE b=5, INSERT, FROM t, UPDATE, FROM t, SET x=y, SET z=f(z), WHERE t.u=v}''');
    FOREACH v_el IN ARRAY i_commands || ARRAY[NULL::text] LOOP
        v_el := db4ai._command_trim(v_el);
        v_pattern := db4ai._command_pattern(v_el);
        v_next := NULL;
        IF v_el IS NOT NULL THEN
            PERFORM db4ai._sql_check_piece(v_el);
        END IF;
        IF v_el IS NULL THEN
            NULL;  -- end of the array: finish the last operation
        ELSIF v_pattern IN ('ALTER', 'INSERT', 'DELETE', 'UPDATE') THEN
            v_next := v_pattern;
        ELSIF left(v_pattern, 7) IN ('INSERT ', 'DELETE ', 'UPDATE ') THEN
            v_next := left(v_pattern, 6);
            SELECT * INTO v_tru FROM db4ai._parse_true_sql(v_next, v_el);
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
            SELECT * INTO v_tru FROM db4ai._parse_true_sql('ALTER', v_el);
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
                SELECT * INTO v_alt FROM db4ai._parse_alter_clause(c_alter, v_cols);
                v_cols := v_alt.io_columns;
                alter_sql := v_alt.o_sql;
            ELSIF v_cur = 'INSERT' THEN
                IF c_sql IS NULL THEN
                    RAISE EXCEPTION 'missing SELECT or VALUES clause in INSERT operation' USING ERRCODE = 'syntax_error';
                END IF;
                own_columns := db4ai._insert_has_columns(c_sql);
            ELSIF v_cur = 'UPDATE' THEN
                IF c_sql IS NULL THEN
                    RAISE EXCEPTION 'missing SET clause in UPDATE operation' USING ERRCODE = 'syntax_error';
                END IF;
                SELECT x INTO v_missing FROM unnest(db4ai._set_targets(c_sql)) x WHERE NOT x = ANY (v_cols) LIMIT 1;
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
CREATE OR REPLACE FUNCTION db4ai._run_user_sql(i_sql text, i_search_path text) RETURNS bigint
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
CREATE OR REPLACE FUNCTION db4ai._split_snapshot_name(
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
CREATE OR REPLACE FUNCTION db4ai._custom_version(i_vers text, i_delimiter text, i_separator text) RETURNS text
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
CREATE OR REPLACE FUNCTION db4ai._get_snapshot(i_schema name, i_name text, i_as_parent boolean, i_exclusive boolean DEFAULT false)
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
CREATE OR REPLACE FUNCTION db4ai._check_readable(i_snapshot db4ai.snapshot) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT db4ai._snapshot_readable(i_snapshot.id) THEN
        RAISE EXCEPTION 'permission denied for snapshot %.%', quote_ident(i_snapshot."schema"), quote_ident(i_snapshot."name")
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'deriving a snapshot needs SELECT on its view; ask its owner to GRANT it';
    END IF;
END;
$$;

-- The parent of a PREPARE / SAMPLE / SPLIT: name checks, existence, SELECT privilege (openGauss order).
CREATE OR REPLACE FUNCTION db4ai._derivation_parent(i_schema name, i_parent name, i_delimiter text, i_separator text,
                                                    OUT p db4ai.snapshot, OUT prefix text, OUT version text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM db4ai._split_snapshot_name(i_parent, 'i_parent', i_delimiter, i_separator);
    p := db4ai._get_snapshot(i_schema, v.full_name, true);
    PERFORM db4ai._check_readable(p);
    prefix := v.prefix;
    version := v.version;
END;
$$;

-- Publish, archive and purge need ownership (or membership in the owning role).
CREATE OR REPLACE FUNCTION db4ai._check_owner(i_snapshot db4ai.snapshot, i_action text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT db4ai._is_owner(i_snapshot.owner) THEN
        RAISE EXCEPTION 'permission denied for snapshot %.%', quote_ident(i_snapshot."schema"), quote_ident(i_snapshot."name")
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('only the owner of the snapshot (%s) or a member of that role may %s it', i_snapshot.owner, i_action);
    END IF;
END;
$$;

-- The snapshot i_name (name@version) that publish / archive / purge act on: name checks, existence,
-- ownership (openGauss order). i_exclusive locks it against derivations in progress (purge).
CREATE OR REPLACE FUNCTION db4ai._owned_snapshot(i_schema name, i_name text, i_action text, i_exclusive boolean)
    RETURNS db4ai.snapshot
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st record;
    v_name record;
    s db4ai.snapshot;
BEGIN
    SELECT * INTO st FROM db4ai._snapshot_settings();
    SELECT * INTO v_name FROM db4ai._split_snapshot_name(i_name, 'i_name', st.delimiter, st.separator);
    s := db4ai._get_snapshot(i_schema, v_name.full_name, false, i_exclusive);
    PERFORM db4ai._check_owner(s, i_action);
    RETURN s;
END;
$$;

-- Reserve a snapshot name for this transaction: concurrent calls for the same name wait here, and
-- the one that comes second sees the first one's row and gets the openGauss "already exists".
CREATE OR REPLACE FUNCTION db4ai._claim_snapshot_name(i_schema name, i_name text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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

-- Nobody but the owner may touch a backing table; nobody at all may write through a snapshot view
-- (REVOKE also from the owner, so an accidental INSERT INTO "s@1.0.0" fails; the owner could grant
-- it back, but the owner can also drop the table: ownership is the limit of what a database can
-- protect against).
CREATE OR REPLACE FUNCTION db4ai._lock_down(i_rel regclass, i_is_view boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner name;
    v_grantee text;
BEGIN
    SELECT r.rolname INTO v_owner FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = i_rel;
    FOR v_grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = i_rel AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE %s ON %s FROM %s',
                       CASE WHEN i_is_view THEN 'INSERT, UPDATE, DELETE, TRUNCATE' ELSE 'ALL' END, i_rel, v_grantee);
    END LOOP;
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', i_rel);
    IF i_is_view THEN
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM %I', i_rel, v_owner);
    END IF;
END;
$$;

-- Number of row ids in a membership.
CREATE OR REPLACE FUNCTION db4ai._members_size(i_members int8multirange) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(sum(upper(r) - lower(r)), 0) FROM unnest(i_members) r
$$;

-- The filter of a shared backing table. The membership is read once per query (an InitPlan); the
-- intersection with the full range makes it an in-memory value, because comparing each row against
-- the stored (TOASTed) value would de-TOAST it once per row.
CREATE OR REPLACE FUNCTION db4ai._members_filter(i_id bigint, i_alias text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%I._db4ai_rid OPERATOR(pg_catalog.<@) (SELECT m.members OPERATOR(pg_catalog.*) '
                  '''{(,)}''::pg_catalog.int8multirange FROM db4ai.snapshot_storage m WHERE m.id = %s)', i_alias, i_id)
$$;

-- The rows of the snapshot with storage row i_st, read from its backing table:
--     SELECT [t._db4ai_rid, ]t.<field> AS "<column>", ... FROM <store> t [WHERE <membership filter>]
CREATE OR REPLACE FUNCTION db4ai._store_select_sql(i_st db4ai.snapshot_storage, i_with_rid boolean) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('SELECT %s FROM %s t%s',
                  concat_ws(', ', CASE WHEN i_with_rid THEN 't._db4ai_rid' END,
                            (SELECT string_agg(format('t.%I AS %I', f, c), ', ' ORDER BY o)
                               FROM unnest(i_st.fields, i_st.columns) WITH ORDINALITY AS u(f, c, o))),
                  i_st.store,
                  CASE WHEN i_st.filtered THEN ' WHERE ' || db4ai._members_filter(i_st.id, 't') ELSE '' END)
$$;

-- (Re)create the view "<schema>"."<name>" of snapshot i_id from its catalog and storage rows.
CREATE OR REPLACE FUNCTION db4ai._create_view(i_id bigint, i_replace boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s db4ai.snapshot;
    st db4ai.snapshot_storage;
BEGIN
    SELECT * INTO STRICT s FROM db4ai.snapshot WHERE id = i_id;
    SELECT * INTO STRICT st FROM db4ai.snapshot_storage WHERE id = i_id;
    -- security_barrier: a reader's own (leaky) functions in WHERE must not see rows before the
    -- membership filter has dropped the rows of the shared CSS store that are not this snapshot's.
    EXECUTE format('CREATE %sVIEW %I.%I WITH (security_barrier) AS %s',
                   CASE WHEN i_replace THEN 'OR REPLACE ' ELSE '' END, s."schema", s."name", db4ai._store_select_sql(st, false));
    EXECUTE format('COMMENT ON VIEW %I.%I IS %L', s."schema", s."name",
                   format('db4ai snapshot, rows in %s', st.store) || coalesce(': ' || s.comment, ''));
    PERFORM db4ai._lock_down(format('%I.%I', s."schema", s."name")::regclass, true);
END;
$$;

-- A query returning the rows of snapshot i_id as (_db4ai_rid, <columns>). With row ids it reads the
-- backing table (CSS work, needs the store owner's privileges); without, it reads the view (any
-- role that may SELECT from it) and _db4ai_rid is NULL.
CREATE OR REPLACE FUNCTION db4ai._snapshot_rows_sql(i_id bigint, i_with_rid boolean) RETURNS text
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
        RETURN db4ai._store_select_sql(st, true);
    END IF;
    SELECT coalesce(string_agg(format(', v.%I', c), '' ORDER BY o), '')
      INTO v_cols FROM unnest(st.columns) WITH ORDINALITY AS u(c, o);
    RETURN format('SELECT NULL::pg_catalog.int8 AS _db4ai_rid%s FROM %I.%I v', v_cols, s."schema", s."name");
END;
$$;

-- May the current role add rows and columns to the backing table of snapshot i_id (CSS)? Only a
-- table with row ids (made in CSS mode) can be shared.
CREATE OR REPLACE FUNCTION db4ai._can_share_store(i_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT st.members IS NOT NULL AND pg_has_role(current_user, c.relowner, 'USAGE')
                     FROM db4ai.snapshot_storage st JOIN pg_class c ON c.oid = st.store
                     WHERE st.id = i_id), false)
$$;

-- A new backing table "<schema>"."_db4ai_t<id>" filled from i_rows (a query returning
-- (_db4ai_rid, <columns>)). CSS (i_row_ids): the rows are numbered (id << 32) + 1, 2, ..., so that
-- descendants can share the table; MSS: a plain copy, as fast as CREATE TABLE AS. Returns the row count.
CREATE OR REPLACE FUNCTION db4ai._new_store(i_schema name, i_id bigint, i_rows text, i_columns name[], i_label text,
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
                   concat_ws(', ', CASE WHEN i_row_ids THEN db4ai._row_id_expr(i_id) END, v_cols), i_rows);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    PERFORM db4ai._store_created(v_store::regclass, i_label);
    RETURN v_rows;
END;
$$;

-- The row id of the n-th row a snapshot i_id adds to a CSS backing table.
CREATE OR REPLACE FUNCTION db4ai._row_id_expr(i_id bigint) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('(%s::pg_catalog.int8 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER ()) AS _db4ai_rid', i_id << 32)
$$;

CREATE OR REPLACE FUNCTION db4ai._store_created(i_store regclass, i_label text) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('COMMENT ON TABLE %s IS %L', i_store,
                   'db4ai snapshot storage, first used by ' || i_label || '; managed by the db4ai snapshot functions');
    PERFORM db4ai._lock_down(i_store, false);
END;
$$;

-- The row ids (s_id << 32) + 1 .. + n of a fresh CSS store; NULL for an MSS table.
CREATE OR REPLACE FUNCTION db4ai._fresh_members(i_id bigint, i_rows bigint, i_row_ids boolean) RETURNS int8multirange
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN NOT i_row_ids THEN NULL
                WHEN i_rows > 0 THEN int8multirange(int8range((i_id << 32) + 1, (i_id << 32) + i_rows + 1))
                ELSE '{}'::int8multirange END
$$;

-- Once a CSS child has appended rows to a backing table, a view that showed the whole table (its
-- first snapshot's) must filter by membership from now on.
CREATE OR REPLACE FUNCTION db4ai._filter_store_views(i_store regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    FOR v_id IN SELECT id FROM db4ai.snapshot_storage WHERE store = i_store AND NOT filtered ORDER BY id LOOP
        UPDATE db4ai.snapshot_storage SET filtered = true WHERE id = v_id;
        PERFORM db4ai._create_view(v_id, true);
    END LOOP;
END;
$$;

-- The CSS matrix id of a child of i_parent: the parent's, or the parent itself, which is then
-- marked as a matrix (openGauss sets matrix_id = id on the first CSS derivation).
CREATE OR REPLACE FUNCTION db4ai._matrix_for_child(i_parent db4ai.snapshot) RETURNS bigint
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
CREATE OR REPLACE FUNCTION db4ai._register_snapshot(
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
    PERFORM db4ai._create_view(i_id, false);
    RETURN ROW(i_schema, i_name)::db4ai.snapshot_name;
END;
$$;

-- Register child i_id of parent p with a fresh backing table holding i_rows (a query returning
-- (_db4ai_rid, <i_columns>)); with row ids if i_row_ids (CSS mode), so its descendants can share it.
CREATE OR REPLACE FUNCTION db4ai._register_copy_child(
    p db4ai.snapshot, i_id bigint, i_name text, i_rows text, i_columns name[], i_commands text[], i_comment text,
    i_row_ids boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rows bigint;
BEGIN
    v_rows := db4ai._new_store(p."schema", i_id, i_rows, i_columns, format('%I.%I', p."schema", i_name), i_row_ids);
    RETURN db4ai._register_snapshot(
        i_id, p.id, NULL, p.root_id, p."schema", i_name, i_commands, i_comment, false, v_rows,
        format('%I.%I', p."schema", '_db4ai_t' || i_id)::regclass, i_columns, i_columns,
        db4ai._fresh_members(i_id, v_rows, i_row_ids), false);
END;
$$;

-- db4ai.create_snapshot (CREATE SNAPSHOT ... AS query): a new root snapshot from operational data.

CREATE OR REPLACE FUNCTION db4ai._create_snapshot(
    i_schema name, i_name name, i_commands text[], i_vers name, i_comment text, i_search_path text)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai._snapshot_schema(i_schema);
    v_cmd record;
    v_name text;
    v_id bigint;
    v_store text;
    v_rows bigint;
    v_cols name[];
    v_css boolean;
BEGIN
    SELECT * INTO st FROM db4ai._snapshot_settings();
    v_css := st.mode = 'CSS';  -- only CSS stores carry row ids, so that descendants can share them
    IF i_name IS NULL OR i_name = '' THEN
        RAISE EXCEPTION 'i_name cannot be NULL or empty' USING ERRCODE = 'invalid_parameter_value';
    ELSIF strpos(i_name, st.delimiter) > 0 THEN
        RAISE EXCEPTION 'i_name must not contain ''%'' characters', st.delimiter USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO v_cmd FROM db4ai._parse_create_commands(i_commands);
    v_name := i_name || CASE WHEN i_vers IS NULL OR i_vers = ''
                             THEN st.delimiter || '1' || st.separator || '0' || st.separator || '0'
                             ELSE db4ai._custom_version(i_vers, st.delimiter, st.separator) END;
    PERFORM db4ai._claim_snapshot_name(v_schema, v_name);  -- refuses a name too long, too

    v_id := nextval('db4ai.snapshot_sequence');
    v_store := format('%I.%I', v_schema, '_db4ai_t' || v_id);
    -- the caller's query, with the caller's rights and search_path, straight into the backing table
    v_rows := db4ai._run_user_sql(
        format('CREATE TABLE %s AS SELECT %sq.* FROM (%s %s) q',
               v_store, CASE WHEN v_css THEN db4ai._row_id_expr(v_id) || ', ' ELSE '' END, v_cmd.proj, v_cmd.from_clause),
        i_search_path);
    SELECT array_agg(attname ORDER BY attnum) INTO v_cols
    FROM pg_attribute WHERE attrelid = v_store::regclass AND attnum > 0 AND NOT attisdropped AND attname <> '_db4ai_rid';
    IF NOT v_css AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = v_store::regclass AND attname = '_db4ai_rid') THEN
        RAISE EXCEPTION 'column name "_db4ai_rid" is reserved for db4ai' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM db4ai._check_distribute_by(v_cmd.dist, coalesce(v_cols, '{}'));
    PERFORM db4ai._store_created(v_store::regclass, format('%I.%I', v_schema, v_name));
    RETURN db4ai._register_snapshot(
        v_id, NULL, NULL, v_id, v_schema, v_name,
        ARRAY[v_cmd.proj, v_cmd.from_clause, coalesce(v_cmd.dist, '')], i_comment, true, v_rows,
        v_store::regclass, coalesce(v_cols, '{}'), coalesce(v_cols, '{}'), db4ai._fresh_members(v_id, v_rows, v_css), false);
END;
$$;

-- Public API (openGauss signature). A thin SQL wrapper: it hands the caller's search_path to the
-- worker, which runs with a fixed one (see storage.sql).
CREATE OR REPLACE FUNCTION db4ai.create_snapshot(
    i_schema name, i_name name, i_commands text[], i_vers name DEFAULT NULL, i_comment text DEFAULT NULL)
    RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$
    SELECT db4ai._create_snapshot(i_schema, i_name, i_commands, i_vers, i_comment, pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION db4ai.create_snapshot(name, name, text[], name, text) IS
    'Create a new snapshot "<name>@<version>" from a query given as SQL pieces, e.g. {SELECT *, FROM public.t}';

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
    v_store_row text;
    v_work_row text;
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

    SELECT 'ROW(' || coalesce(string_agg(format('t.%I', f), ', ' ORDER BY o), '') || ')',
           'ROW(' || coalesce(string_agg(format('w.%I', c), ', ' ORDER BY o), '') || ')'
      INTO v_store_row, v_work_row
      FROM unnest(fields, columns) WITH ORDINALITY AS u(f, c, o);
    -- parent rows the child does not keep byte for byte: deleted or changed
    EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT t._db4ai_rid FROM %s t WHERE %s NOT EXISTS '
                   '(SELECT 1 FROM %s w WHERE w._db4ai_rid = t._db4ai_rid AND pg_catalog.record_image_eq(%s, %s))',
                   v_removed, pst.store,
                   CASE WHEN pst.filtered THEN db4ai._members_filter(i_parent_id, 't') || ' AND' ELSE '' END,
                   i_work, v_store_row, v_work_row);
    -- inserted and changed rows are appended under the child's row ids
    EXECUTE format('INSERT INTO %s (_db4ai_rid%s) SELECT %s::pg_catalog.int8 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER ()%s '
                   'FROM %s w WHERE w._db4ai_rid IS NULL OR w._db4ai_rid IN (SELECT r._db4ai_rid FROM %s r)',
                   pst.store,
                   (SELECT coalesce(string_agg(format(', %I', f), '' ORDER BY o), '') FROM unnest(fields) WITH ORDINALITY AS u(f, o)),
                   i_child_id << 32,
                   (SELECT coalesce(string_agg(format(', w.%I', c), '' ORDER BY o), '') FROM unnest(columns) WITH ORDINALITY AS u(c, o)),
                   i_work, v_removed);
    GET DIAGNOSTICS v_new = ROW_COUNT;
    EXECUTE format('SELECT $1 OPERATOR(pg_catalog.-) coalesce((SELECT range_agg(int8range(r._db4ai_rid, r._db4ai_rid + 1)) FROM %s r), ''{}'') '
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

-- db4ai.publish_snapshot / db4ai.archive_snapshot (PUBLISH / ARCHIVE SNAPSHOT): lifecycle flags.
-- Any state may go to any other (openGauss); only the owner or a member of the owning role may.

CREATE OR REPLACE FUNCTION db4ai._manage_snapshot(i_schema name, i_name name, i_publish boolean)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    v_schema name := db4ai._snapshot_schema(i_schema);
    s db4ai.snapshot;
BEGIN
    s := db4ai._owned_snapshot(v_schema, i_name, CASE WHEN i_publish THEN 'publish' ELSE 'archive' END, false);
    UPDATE db4ai.snapshot SET published = i_publish, archived = NOT i_publish WHERE id = s.id;
    RETURN ROW(v_schema, s."name")::db4ai.snapshot_name;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.publish_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai._manage_snapshot(i_schema, i_name, true) $$;
COMMENT ON FUNCTION db4ai.publish_snapshot(name, name) IS 'Mark snapshot i_name (name@version) as published';

CREATE OR REPLACE FUNCTION db4ai.archive_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai._manage_snapshot(i_schema, i_name, false) $$;
COMMENT ON FUNCTION db4ai.archive_snapshot(name, name) IS 'Mark snapshot i_name (name@version) as archived';

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
CREATE OR REPLACE FUNCTION db4ai._unit_hash(i_seed bigint, i_salt text, i_row_hash text, i_occurrence bigint)
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
CREATE OR REPLACE FUNCTION db4ai._stratify_columns(i_stratify name[], i_snapshot db4ai.snapshot, i_columns name[])
    RETURNS name[]
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_col name;
    v_out name[] := '{}';
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
        ELSIF db4ai._sql_ident('word', v_col)::name = ANY (i_columns) THEN
            v_out := v_out || db4ai._sql_ident('word', v_col)::name;
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
CREATE OR REPLACE FUNCTION db4ai._hashed_rows(i_parent_id bigint, i_with_rid boolean, i_columns name[], i_stratify name[],
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
                   db4ai._snapshot_rows_sql(i_parent_id, i_with_rid));
    RETURN v_table;
END;
$$;

-- Create one subset child of parent p from i_rows (a query over the hashed rows returning the
-- parent's columns and _db4ai_rid). i_css: a membership over the parent's backing table; otherwise
-- a copy (with row ids if i_row_ids, i.e. in CSS mode, so that its descendants can share it).
CREATE OR REPLACE FUNCTION db4ai._create_subset_child(
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
        RETURN db4ai._register_snapshot(
            i_id, p.id, db4ai._matrix_for_child(p), p.root_id, p."schema", i_name, i_commands, i_comment, false,
            db4ai._members_size(v_members)::bigint, pst.store, pst.columns, pst.fields, v_members, true);
    END IF;
    RETURN db4ai._register_copy_child(p, i_id, i_name, i_rows, pst.columns, i_commands, i_comment, i_row_ids);
END;
$$;

CREATE OR REPLACE FUNCTION db4ai._sample_snapshot(
    i_schema name, i_parent name, i_sample_infixes name[], i_sample_ratios numeric[], i_stratify name[],
    i_sample_comments text[], i_seed bigint)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai._snapshot_schema(i_schema);
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
    SELECT * INTO st FROM db4ai._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
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
    v_stratify := db4ai._stratify_columns(i_stratify, p, pst.columns);
    IF i_sample_comments IS NOT NULL THEN
        IF cardinality(i_sample_comments) = 0 OR array_ndims(i_sample_comments) <> 1 THEN
            RAISE EXCEPTION 'i_sample_comments array malformed'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'pass sample comments as TEXT[] literal, e.g. ''{comment 1, comment 2}''';
        ELSIF cardinality(i_sample_infixes) <> cardinality(i_sample_comments) THEN
            RAISE EXCEPTION 'i_sample_infixes and i_sample_comments array length mismatch' USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    v_seed := db4ai._snapshot_seed(i_seed);
    v_css := st.mode = 'CSS' AND db4ai._can_share_store(p.id);
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
        PERFORM db4ai._claim_snapshot_name(v_schema, v_name);
        IF v_src IS NULL THEN
            v_src := db4ai._hashed_rows(p.id, v_css, pst.columns, v_stratify, 'sample');
        END IF;
        v_u := format('db4ai._unit_hash(%s, %L, s._db4ai_h, s._db4ai_o)', v_seed, 'sample ' || i_sample_infixes[i]);
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
            v_alloc := db4ai._approximate_mode(v_counts,
                           round(i_sample_ratios[i] * (SELECT coalesce(sum(c), 0) FROM unnest(v_counts) c))::bigint, v_tie);
        END IF;
        v_id := nextval('db4ai.snapshot_sequence');
        RETURN NEXT db4ai._create_subset_child(
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
    SELECT * FROM db4ai._sample_snapshot(i_schema, i_parent, i_sample_infixes, i_sample_ratios, i_stratify,
                                         i_sample_comments, i_seed)
$$;
COMMENT ON FUNCTION db4ai.sample_snapshot(name, name, name[], numeric[], name[], text[], bigint) IS
    'Create random samples "<name><infix>@<version>" of snapshot i_parent: independent, seeded draws; with STRATIFY BY round(ratio x n) rows spread over the strata';

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
CREATE OR REPLACE FUNCTION db4ai._approximate_mode(i_counts bigint[], i_draws bigint, i_tiebreak text[]) RETURNS bigint[]
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
CREATE OR REPLACE FUNCTION db4ai._split_sizes(i_n bigint, i_ratios numeric[], i_names name[]) RETURNS bigint[]
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

CREATE OR REPLACE FUNCTION db4ai._split_snapshot(
    i_schema name, i_parent name, i_split_names name[], i_ratios numeric[], i_stratify name[], i_comment text, i_seed bigint)
    RETURNS SETOF db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    st record;
    v_schema name := db4ai._snapshot_schema(i_schema);
    v_parent record;
    p db4ai.snapshot;
    pst db4ai.snapshot_storage;
    v_k int;
    v_stratify name[];
    v_seed bigint;
    v_css boolean;
    v_names text[] := '{}';
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
    SELECT * INTO st FROM db4ai._snapshot_settings();
    SELECT * INTO v_parent FROM db4ai._derivation_parent(v_schema, i_parent, st.delimiter, st.separator);
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
    v_stratify := db4ai._stratify_columns(i_stratify, p, pst.columns);
    v_seed := db4ai._snapshot_seed(i_seed);
    FOR i IN 1 .. v_k LOOP
        v_names := v_names || (v_parent.prefix || i_split_names[i] || st.delimiter || v_parent.version);
        IF char_length(v_names[i]) > 63 OR octet_length(v_names[i]) > 63 THEN
            RAISE EXCEPTION 'split snapshot name too long: ''%''', v_names[i] USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    -- claimed in a fixed order, so that two concurrent splits cannot deadlock on each other's names
    FOR v_name IN SELECT x FROM unnest(v_names) x ORDER BY x LOOP
        PERFORM db4ai._claim_snapshot_name(v_schema, v_name);
    END LOOP;

    v_css := st.mode = 'CSS' AND db4ai._can_share_store(p.id);
    v_src := db4ai._hashed_rows(p.id, v_css, pst.columns, v_stratify, 'split');
    EXECUTE format('SELECT count(*) FROM %s', v_src) INTO v_n;
    v_sizes := db4ai._split_sizes(v_n, i_ratios, i_split_names);

    SELECT coalesce(string_agg(format(', s.%I', c), '' ORDER BY o), '') INTO v_cols
    FROM unnest(pst.columns) WITH ORDINALITY AS u(c, o);
    v_ranked := format('pg_temp.%I', '_db4ai_ranked_' || p.id);
    IF v_stratify IS NULL THEN
        -- part i: ranks (n_1 + .. + n_{i-1}, n_1 + .. + n_i]
        EXECUTE format('DROP TABLE IF EXISTS %s', v_ranked);
        EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT s.*, pg_catalog.row_number() OVER '
                       '(ORDER BY db4ai._unit_hash(%s, ''split'', s._db4ai_h, s._db4ai_o), s._db4ai_h, s._db4ai_o) AS _db4ai_n FROM %s s',
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
                v_alloc := CASE WHEN i = v_k THEN v_remaining ELSE db4ai._approximate_mode(v_remaining, v_sizes[i], v_tie) END;
                EXECUTE format('INSERT INTO %s_b SELECT k, $1, lo, lo + a FROM unnest($2, $3, $4) AS u(k, lo, a)', v_ranked)
                    USING i, v_keys, v_lo_by_class, v_alloc;
                SELECT array_agg(l + a ORDER BY o) INTO v_lo_by_class FROM unnest(v_lo_by_class, v_alloc) WITH ORDINALITY AS u(l, a, o);
                SELECT array_agg(r - a ORDER BY o) INTO v_remaining FROM unnest(v_remaining, v_alloc) WITH ORDINALITY AS u(r, a, o);
            END LOOP;
        END;
        EXECUTE format('DROP TABLE IF EXISTS %s', v_ranked);
        EXECUTE format('CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT s.*, pg_catalog.row_number() OVER (PARTITION BY s._db4ai_k '
                       'ORDER BY db4ai._unit_hash(%s, ''split'', s._db4ai_h, s._db4ai_o), s._db4ai_h, s._db4ai_o) AS _db4ai_n FROM %s s',
                       v_ranked, v_seed, v_src);
        v_bounds := v_ranked || '_b';
    END IF;

    v_commands := 'SPLIT ' || i_split_names::text || ' ' || i_ratios::text
                  || CASE WHEN v_stratify IS NULL THEN '' ELSE ' STRATIFY ' || v_stratify::text END;
    v_lo := 0;
    FOR i IN 1 .. v_k LOOP
        v_id := nextval('db4ai.snapshot_sequence');
        RETURN NEXT db4ai._create_subset_child(
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
    SELECT * FROM db4ai._split_snapshot(i_schema, i_parent, i_split_names, i_ratios, i_stratify, i_comment, i_seed)
$$;
COMMENT ON FUNCTION db4ai.split_snapshot(name, name, name[], numeric[], name[], text, bigint) IS
    'Partition snapshot i_parent into parts "<name><infix>@<version>" (exact sizes, disjoint, covering; seeded; optionally stratified)';

-- db4ai.purge_snapshot (PURGE SNAPSHOT): drop a snapshot and reclaim its storage.
--
-- As openGauss: a root with children is refused; the children of a purged non-root snapshot are
-- handed to its parent, inheriting its commands (parent's first) and comment ("a | b"). CSS
-- children keep working because memberships are absolute, not deltas.
-- Ours: only the owner (or a member of the owning role) may purge; a snapshot that a stored model
-- was trained on (db4ai.gs_model_warehouse.snapshot_ids) is refused, and so is one with a child of
-- another owner (its lineage row is that owner's to change).

CREATE OR REPLACE FUNCTION db4ai._purge_snapshot(i_schema name, i_name name)
    RETURNS db4ai.snapshot_name
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET client_min_messages = warning
AS $$
DECLARE
    v_schema name := db4ai._snapshot_schema(i_schema);
    s db4ai.snapshot;
    sst db4ai.snapshot_storage;
    v_model text;
    v_child db4ai.snapshot;
    v_others int8multirange;
    v_orphans int8multirange;
    v_unused text;
BEGIN
    s := db4ai._owned_snapshot(v_schema, i_name, 'purge', true);  -- waits for derivations from it

    IF to_regclass('db4ai.gs_model_warehouse') IS NOT NULL THEN
        EXECUTE 'SELECT modelname::text FROM db4ai.gs_model_warehouse WHERE $1 = ANY (snapshot_ids) ORDER BY 1 LIMIT 1'
            INTO v_model USING s.id;
        IF v_model IS NOT NULL THEN
            RAISE EXCEPTION 'cannot purge snapshot %.%: model "%" was trained on it', quote_ident(s."schema"), quote_ident(s."name"), v_model
                USING ERRCODE = 'dependent_objects_still_exist', HINT = 'drop the model first';
        END IF;
    END IF;
    IF s.parent_id IS NULL AND EXISTS (SELECT 1 FROM db4ai.snapshot c WHERE c.parent_id = s.id) THEN
        RAISE EXCEPTION 'cannot purge root snapshot ''%.%'' having dependent snapshots', quote_ident(s."schema"), quote_ident(s."name")
            USING ERRCODE = 'dependent_objects_still_exist', HINT = 'purge all dependent snapshots first';
    END IF;
    SELECT * INTO v_child FROM db4ai.snapshot c WHERE c.parent_id = s.id AND NOT db4ai._is_owner(c.owner) ORDER BY c.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot purge snapshot %.%: snapshot %.% of role % depends on it', quote_ident(s."schema"), quote_ident(s."name"),
            quote_ident(v_child."schema"), quote_ident(v_child."name"), quote_ident(v_child.owner)
            USING ERRCODE = 'dependent_objects_still_exist', HINT = 'the owner of the dependent snapshot must purge it first';
    END IF;

    -- hand the children down to the parent (merge of lineage, as openGauss)
    UPDATE db4ai.snapshot c SET
        parent_id = s.parent_id,
        commands = s.commands || c.commands,
        comment = CASE WHEN s.comment IS NULL THEN c.comment
                       WHEN c.comment IS NULL THEN s.comment
                       ELSE s.comment || ' | ' || c.comment END
    WHERE c.parent_id = s.id;

    EXECUTE format('DROP VIEW IF EXISTS %I.%I', s."schema", s."name");
    SELECT * INTO sst FROM db4ai.snapshot_storage WHERE id = s.id;
    IF FOUND THEN
        DELETE FROM db4ai.snapshot_storage WHERE id = s.id;
        IF to_regclass(sst.store::text) IS NULL THEN
            NULL;  -- the backing table was dropped by hand
        ELSIF NOT EXISTS (SELECT 1 FROM db4ai.snapshot_storage o WHERE o.store = sst.store) THEN
            EXECUTE format('DROP TABLE %s', sst.store);
        ELSE
            -- shared: drop the rows and fields nobody else uses
            SELECT coalesce(range_agg(r), '{}') INTO v_others
            FROM db4ai.snapshot_storage o, unnest(o.members) r WHERE o.store = sst.store;
            v_orphans := sst.members - v_others;
            IF NOT isempty(v_orphans) THEN
                EXECUTE format('DELETE FROM %s t WHERE t._db4ai_rid OPERATOR(pg_catalog.<@) $1', sst.store) USING v_orphans;
            END IF;
            SELECT string_agg(format('DROP COLUMN %I', f), ', ') INTO v_unused
            FROM unnest(sst.fields) f
            WHERE NOT EXISTS (SELECT 1 FROM db4ai.snapshot_storage o WHERE o.store = sst.store AND f = ANY (o.fields));
            IF v_unused IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %s %s', sst.store, v_unused);
            END IF;
        END IF;
    END IF;
    DELETE FROM db4ai.snapshot WHERE id = s.id;
    RETURN ROW(v_schema, s."name")::db4ai.snapshot_name;
END;
$$;

CREATE OR REPLACE FUNCTION db4ai.purge_snapshot(i_schema name, i_name name) RETURNS db4ai.snapshot_name
    LANGUAGE sql VOLATILE
AS $$ SELECT db4ai._purge_snapshot(i_schema, i_name) $$;
COMMENT ON FUNCTION db4ai.purge_snapshot(name, name) IS 'Drop snapshot i_name (name@version) and reclaim its storage';

-- db4ai model module: the warehouse, prediction, explain and drop (installed after snapshots).
-- The model warehouse: one row per trained model, in openGauss's gs_model_warehouse layout
-- (spec §3.1) plus db4ai's additions, and a per-pass training log.
--
-- Who may do what (openGauss lets only sysadmins drop; db4ai enforces ownership instead):
--   * everyone may read every model (openGauss grants SELECT to PUBLIC), explain and predict;
--   * any role may store models it owns (row level security checks modelowner on INSERT);
--   * only the owner, a member of the owning role, or a superuser may delete (drop) a model;
--   * nobody updates rows: a model is immutable once stored.
-- Model rows are data only: modeldata is a self-describing binary format that never holds code.

CREATE TABLE IF NOT EXISTS db4ai.gs_model_warehouse (
    modelname             name        NOT NULL,
    modelowner            oid         NOT NULL,
    createtime            timestamp   NOT NULL DEFAULT localtimestamp,
    processedtuples       int4,
    discardedtuples       int4,
    preprocesstime        float4,
    exectime              float4,
    iterations            int4,
    outputtype            oid,
    modeltype             text,
    query                 text,
    modeldata             bytea,
    weight                float4[],       -- deprecated in openGauss, always NULL
    hyperparametersnames  text[],
    hyperparametersvalues text[],
    hyperparametersoids   oid[],
    coefnames             text[],         -- deprecated in openGauss, always NULL
    coefvalues            text[],         -- deprecated
    coefoids              oid[],          -- deprecated
    trainingscoresname    text[],
    trainingscoresvalue   float4[],
    modeldescribe         text[],         -- deprecated
    -- db4ai additions
    feature_names         text[],         -- FEATURES labels (alias, else the expression text)
    feature_oids          oid[],          -- type of each FEATURES column (one float array: its type)
    coefficients          float8[],       -- weights, bias last: the same numbers as in modeldata
    snapshot_ids          bigint[],       -- db4ai.snapshot ids of the snapshots trained on
    predict_function      name,           -- db4ai.<this>(features...) predicts with this model
    CONSTRAINT gs_model_warehouse_pkey PRIMARY KEY (modelname)
);
COMMENT ON TABLE db4ai.gs_model_warehouse IS
    'db4ai model warehouse: openGauss gs_model_warehouse columns plus feature_names, feature_oids, coefficients, snapshot_ids, predict_function';

-- BigQuery's ML.TRAINING_INFO shows why: one row per training pass.
CREATE TABLE IF NOT EXISTS db4ai.gs_model_training_log (
    modelname     name   NOT NULL REFERENCES db4ai.gs_model_warehouse (modelname) ON DELETE CASCADE,
    pass          int4   NOT NULL,
    loss          float8,            -- total test loss of the weights frozen at the start of the pass (NULL in pass 0)
    delta_loss    float8,            -- |previous loss - loss| (NULL in passes 0 and 1)
    learning_rate float8 NOT NULL,   -- the rate used in this pass
    elapsed       float8 NOT NULL,   -- seconds since training started, at the end of the pass
    PRIMARY KEY (modelname, pass)
);
COMMENT ON TABLE db4ai.gs_model_training_log IS 'db4ai: per-pass training log of each stored model';

-- True when the current role may manage a model owned by p_owner. The owner's role may have
-- been dropped since (modelowner is a plain oid), then only superusers may.
CREATE OR REPLACE FUNCTION db4ai._is_model_owner(p_owner oid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM pg_roles WHERE oid = p_owner) THEN pg_has_role(p_owner, 'MEMBER')
        ELSE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    END
$$;

-- Any role may INSERT its own rows, and storing a row generates its prediction function (as the
-- installer, from numbers only): bound what a hand-written row can ask for.
DO $db4ai$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'gs_model_warehouse_model_shape'
                   AND conrelid = 'db4ai.gs_model_warehouse'::regclass) THEN
        ALTER TABLE db4ai.gs_model_warehouse ADD CONSTRAINT gs_model_warehouse_model_shape CHECK (
            modeldata IS NOT NULL AND coefficients IS NOT NULL AND array_ndims(coefficients) = 1
            AND cardinality(coefficients) BETWEEN 1 AND 100001
            AND (feature_oids IS NULL OR cardinality(feature_oids) <= 100000));
    END IF;
END
$db4ai$;

ALTER TABLE db4ai.gs_model_warehouse ENABLE ROW LEVEL SECURITY;
ALTER TABLE db4ai.gs_model_training_log ENABLE ROW LEVEL SECURITY;

DO $db4ai$
BEGIN
    -- Policies have no IF NOT EXISTS: create each one only when missing (install.sql is re-runnable).
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_readable') THEN
        CREATE POLICY models_readable ON db4ai.gs_model_warehouse FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_stored_by_owner') THEN
        CREATE POLICY models_stored_by_owner ON db4ai.gs_model_warehouse FOR INSERT
            WITH CHECK (db4ai._is_model_owner(modelowner));
    END IF;
    -- A stored model blocks PURGE of the snapshots it names, so a role may only name snapshots it can
    -- read (else anyone could pin anyone's snapshot). ALTER keeps upgrades in step with the definition.
    ALTER POLICY models_stored_by_owner ON db4ai.gs_model_warehouse
        WITH CHECK (db4ai._is_model_owner(modelowner)
                    AND NOT EXISTS (SELECT 1 FROM unnest(snapshot_ids) AS sid WHERE NOT db4ai._snapshot_readable(sid)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_warehouse'
                   AND policyname = 'models_dropped_by_owner') THEN
        CREATE POLICY models_dropped_by_owner ON db4ai.gs_model_warehouse FOR DELETE
            USING (db4ai._is_model_owner(modelowner));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_training_log'
                   AND policyname = 'training_log_readable') THEN
        CREATE POLICY training_log_readable ON db4ai.gs_model_training_log FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'gs_model_training_log'
                   AND policyname = 'training_log_written_by_owner') THEN
        CREATE POLICY training_log_written_by_owner ON db4ai.gs_model_training_log FOR INSERT
            WITH CHECK (EXISTS (SELECT 1 FROM db4ai.gs_model_warehouse m
                                WHERE m.modelname = gs_model_training_log.modelname
                                  AND db4ai._is_model_owner(m.modelowner)));
    END IF;
END
$db4ai$;

REVOKE ALL ON db4ai.gs_model_warehouse, db4ai.gs_model_training_log FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.gs_model_warehouse TO PUBLIC;
GRANT SELECT, INSERT ON db4ai.gs_model_training_log TO PUBLIC;

-- Verbose training reports each pass to the client as a NOTICE (psql and db4ai sql print them).
CREATE OR REPLACE FUNCTION db4ai.notice(p_message text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE NOTICE '%', p_message;
END
$$;
COMMENT ON FUNCTION db4ai.notice(text) IS 'db4ai: send a NOTICE to the client (training progress)';

-- Prediction with stored models, for every client.
--
-- A linear model predicts x·w + bias converted to the type of its TARGET (openGauss's
-- float8_get_datum): integer targets truncate toward zero, bool is "<> 0". The expression is
-- built in exactly one place, db4ai._prediction_sql, and used twice:
--   * db4ai.predict_model_sql(model, feature expressions): what PREDICT BY becomes through the
--     Python shim, plain SQL arithmetic with the weights as constants;
--   * a function db4ai."<model>_pred"(features...) generated when the model is stored, whose
--     body is that expression over its arguments: LANGUAGE sql IMMUTABLE, so PostgreSQL inlines it
--     and a plain SQL client predicts as fast as a hand-written expression (DESIGN §5).
-- NULL features give a NULL prediction (openGauss uses 0.0; db4ai never substitutes values).

-- Raised from inside prediction expressions when a float array feature has the wrong shape.
-- IMMUTABLE so that the generated functions stay inlinable.
CREATE OR REPLACE FUNCTION db4ai._input_array_error(p_expected int4, p_input float8[]) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'Input array must be 1-dimensional of % elements, must not contain nulls, and must be of type float8 or float.', p_expected
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = format('The array given has %s elements in %s dimensions.', cardinality(p_input), array_ndims(p_input)),
              HINT = 'Pass one float8[] with as many elements as the model was trained on.';
END
$$;

-- The SQL return type of a model's predictions (openGauss picks db4ai_predict_by_<type> the same way;
-- int2 targets predict int4, as openGauss's _int32 function does). NULL: not predictable.
CREATE OR REPLACE FUNCTION db4ai._prediction_type(p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_outputtype
        WHEN 16 THEN 'boolean' WHEN 21 THEN 'int4' WHEN 23 THEN 'int4' WHEN 20 THEN 'int8'
        WHEN 700 THEN 'float4' WHEN 701 THEN 'float8' WHEN 1700 THEN 'numeric'
    END
$$;

-- The prediction expression of a linear model over the given argument expressions. Weights
-- become float8 literals printed with all digits; argument texts are used verbatim (they are
-- either $n placeholders or the caller's own PREDICT BY expressions, returned to that caller).
CREATE OR REPLACE FUNCTION db4ai._prediction_sql(
    p_modeltype text, p_coefficients float8[], p_feature_oids oid[], p_outputtype oid, p_args text[]
) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    SET extra_float_digits = 3  -- float8 -> text keeps every digit (shortest exact form)
AS $$
DECLARE
    v_inputs int4 := cardinality(p_coefficients) - 1;
    v_array  boolean := p_feature_oids = ARRAY[1022]::oid[] OR p_feature_oids = ARRAY[1021]::oid[];
    v_terms  text[] := ARRAY[]::text[];
    v_arg    text;
    v_sum    text;
    v_type   text := db4ai._prediction_type(p_outputtype);
BEGIN
    IF p_modeltype IS DISTINCT FROM 'linear_regression' THEN
        RAISE EXCEPTION 'Cannot trigger prediction for model of type %', p_modeltype
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF v_type IS NULL THEN
        RAISE EXCEPTION 'Cannot trigger prediction for model with oid %', p_outputtype
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF v_inputs < 1 OR array_ndims(p_coefficients) <> 1 OR array_position(p_coefficients, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'corrupted model: invalid coefficients %', p_coefficients USING ERRCODE = 'data_corrupted';
    END IF;
    IF v_array THEN
        v_arg := format('CAST((%s) AS float8[])', p_args[1]);
        FOR i IN 1 .. v_inputs LOOP
            v_terms := v_terms || format('(%s)[%s] * %L::float8', v_arg, i, p_coefficients[i]::text);
        END LOOP;
    ELSE
        IF cardinality(p_feature_oids) <> v_inputs THEN
            RAISE EXCEPTION 'corrupted model: % coefficients for % features', v_inputs + 1, cardinality(p_feature_oids)
                USING ERRCODE = 'data_corrupted';
        END IF;
        FOR i IN 1 .. v_inputs LOOP
            IF p_feature_oids[i] = 16 THEN  -- bool features count as 0/1
                v_arg := format('CAST(CAST((%s) AS boolean) AS int4)', p_args[i]);
            ELSE
                v_arg := format('CAST((%s) AS float8)', p_args[i]);
            END IF;
            v_terms := v_terms || format('%s * %L::float8', v_arg, p_coefficients[i]::text);
        END LOOP;
    END IF;
    v_sum := array_to_string(v_terms || format('%L::float8', p_coefficients[v_inputs + 1]::text), ' + ');
    IF v_array THEN
        v_sum := format('CASE WHEN %1$s IS NULL THEN NULL::float8 '
                        'WHEN array_ndims(%1$s) = 1 AND array_lower(%1$s, 1) = 1 AND cardinality(%1$s) = %2$s THEN %3$s '
                        'ELSE db4ai._input_array_error(%2$s, %1$s) END', v_arg, v_inputs, v_sum);
    END IF;
    RETURN CASE v_type
        WHEN 'float8'  THEN format('(%s)', v_sum)
        WHEN 'float4'  THEN format('CAST((%s) AS float4)', v_sum)
        WHEN 'numeric' THEN format('CAST((%s) AS numeric)', v_sum)
        WHEN 'boolean' THEN format('((%s) <> 0)', v_sum)
        ELSE format('CAST(trunc(%s) AS %s)', v_sum, v_type)  -- C's cast truncates toward zero
    END;
END
$$;

-- What PREDICT BY <model> (FEATURES <exprs>) becomes through the Python shim.
CREATE OR REPLACE FUNCTION db4ai.predict_model_sql(p_model text, p_features text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m        record;
    v_inputs int4;
BEGIN
    SELECT modeltype, coefficients, feature_oids, outputtype INTO m
      FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_inputs := CASE WHEN m.feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]) THEN 1
                     ELSE cardinality(m.coefficients) - 1 END;
    IF coalesce(cardinality(p_features), 0) <> v_inputs THEN
        RAISE EXCEPTION 'Invalid number of features for prediction, provided %, expected %',
            coalesce(cardinality(p_features), 0), v_inputs
            USING ERRCODE = 'feature_not_supported';
    END IF;
    RETURN db4ai._prediction_sql(m.modeltype, m.coefficients, m.feature_oids, m.outputtype, p_features);
END
$$;
COMMENT ON FUNCTION db4ai.predict_model_sql(text, text[]) IS
    'db4ai: the SQL expression predicting with a stored model from the given feature expressions';

-- Generic entry point: the model's linear value for plain float8 features. It looks the model up
-- on every call; for speed call the model's own function (gs_model_warehouse.predict_function).
CREATE OR REPLACE FUNCTION db4ai.predict_by_float8(p_model text, VARIADIC p_features float8[]) RETURNS float8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_coef   float8[];
    v_inputs int4;
    v_sum    float8 := 0;
BEGIN
    SELECT coefficients INTO v_coef FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No model found with name %', p_model USING ERRCODE = 'undefined_object';
    END IF;
    v_inputs := cardinality(v_coef) - 1;
    IF cardinality(p_features) <> v_inputs THEN
        RAISE EXCEPTION 'Invalid number of features for prediction, provided %, expected %',
            cardinality(p_features), v_inputs USING ERRCODE = 'feature_not_supported';
    END IF;
    FOR i IN 1 .. v_inputs LOOP
        v_sum := v_sum + p_features[i] * v_coef[i];
    END LOOP;
    RETURN v_sum + v_coef[v_inputs + 1];
END
$$;

-- Keeps each model's prediction function in step with its warehouse row. SECURITY DEFINER because
-- ordinary roles store models but may not create functions in schema db4ai; it is narrow: the
-- function's name is derived from the model name (quoted with %I), its body only from the row's
-- numbers (weights, type OIDs) through db4ai._prediction_sql with $n placeholders.
-- BEFORE INSERT names the function; AFTER INSERT (past the unique check on modelname) creates it;
-- AFTER DELETE drops it.
CREATE OR REPLACE FUNCTION db4ai._model_function_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_base   text;
    v_args   text[] := ARRAY[]::text[];
    v_types  text;
    v_inputs int4;
    v_array  boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.predict_function IS NOT NULL THEN
            EXECUTE format('DROP FUNCTION IF EXISTS db4ai.%I', OLD.predict_function);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_WHEN = 'BEFORE' THEN
        NEW.predict_function := NULL;
        IF NEW.modeltype IS DISTINCT FROM 'linear_regression' OR db4ai._prediction_type(NEW.outputtype) IS NULL
           OR NEW.coefficients IS NULL OR NEW.feature_oids IS NULL THEN
            RETURN NEW;  -- nothing a SQL function can predict with
        END IF;
        -- "<model>_pred", like PREDICT BY's default column name; long names keep a hash to stay unique
        v_base := NEW.modelname || '_pred';
        IF octet_length(v_base) > 63 THEN
            v_base := NEW.modelname;
            WHILE octet_length(v_base) > 49 LOOP
                v_base := left(v_base, -1);
            END LOOP;
            v_base := v_base || '_' || left(md5(NEW.modelname), 8) || '_pred';
        END IF;
        NEW.predict_function := v_base;
        RETURN NEW;
    END IF;
    IF NEW.predict_function IS NULL THEN
        RETURN NULL;
    END IF;
    v_array := NEW.feature_oids IN (ARRAY[1022]::oid[], ARRAY[1021]::oid[]);
    v_inputs := CASE WHEN v_array THEN 1 ELSE cardinality(NEW.feature_oids) END;
    SELECT string_agg(CASE WHEN v_array THEN 'float8[]' WHEN NEW.feature_oids[i] = 16 THEN 'boolean' ELSE 'float8' END,
                      ', ' ORDER BY i),
           array_agg('$' || i ORDER BY i)
      INTO v_types, v_args
      FROM generate_series(1, v_inputs) AS i;
    EXECUTE format('CREATE FUNCTION db4ai.%I(%s) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
                   NEW.predict_function, v_types, db4ai._prediction_type(NEW.outputtype),
                   'SELECT ' || db4ai._prediction_sql(NEW.modeltype, NEW.coefficients, NEW.feature_oids,
                                                      NEW.outputtype, v_args));
    EXECUTE format('COMMENT ON FUNCTION db4ai.%I(%s) IS %L', NEW.predict_function, v_types,
                   format('db4ai: predicts with model %s', NEW.modelname));
    EXECUTE format('GRANT EXECUTE ON FUNCTION db4ai.%I(%s) TO PUBLIC', NEW.predict_function, v_types);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION db4ai._model_function_sync() FROM PUBLIC;

CREATE OR REPLACE TRIGGER model_function_name
    BEFORE INSERT ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai._model_function_sync();
CREATE OR REPLACE TRIGGER model_function_sync
    AFTER INSERT OR DELETE ON db4ai.gs_model_warehouse
    FOR EACH ROW EXECUTE FUNCTION db4ai._model_function_sync();

-- gs_explain_model: openGauss's EXPLAIN MODEL text layout (spec §3.7), one "Label: value" line each:
-- Name, Algorithm, Query, Return type, Pre-processing time (%.6f), Execution time (%.6f),
-- Processed tuples, Discarded tuples, every hyperparameter in definition order (int as integer,
-- float8 as %.10f, enum and bool as text), every score (%.10f), then "weights: {w1,...,bias}".
-- Unlike openGauss the argument is not lower-cased, so quoted mixed-case model names work, and
-- int2 targets (predicted as int4) report Int32 instead of failing.

CREATE OR REPLACE FUNCTION db4ai._return_type_label(p_outputtype oid) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE p_outputtype
        WHEN 16 THEN 'Boolean' WHEN 17 THEN 'Binary' WHEN 21 THEN 'Int32' WHEN 23 THEN 'Int32'
        WHEN 20 THEN 'Int64' WHEN 700 THEN 'Float32' WHEN 701 THEN 'Float64' WHEN 1022 THEN 'Float64[]'
        WHEN 1700 THEN 'Numeric' WHEN 25 THEN 'Text' WHEN 1043 THEN 'Varchar'
    END
$$;

-- C's "%.<n>f" of a float: fixed notation, n decimals.
CREATE OR REPLACE FUNCTION db4ai._fixed(p_value float8, p_decimals int4) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_value = 'NaN'::float8 THEN 'nan'
        WHEN p_value = 'Infinity'::float8 THEN 'inf'
        WHEN p_value = '-Infinity'::float8 THEN '-inf'
        ELSE round(p_value::numeric, p_decimals)::text
    END
$$;

CREATE OR REPLACE FUNCTION db4ai.gs_explain_model(p_model text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m      db4ai.gs_model_warehouse%ROWTYPE;
    v_type text;
    v_out  text;
BEGIN
    SELECT * INTO m FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        RAISE WARNING 'There is no model called "%".', p_model;
        RAISE EXCEPTION 'empty model obtained for EXPLAIN MODEL'
            USING ERRCODE = 'undefined_object', HINT = 'gs_model_warehouse lists the stored models.';
    END IF;
    v_type := db4ai._return_type_label(m.outputtype);
    IF v_type IS NULL THEN
        RAISE EXCEPTION 'invalid return type (%) for model of name "%"', m.outputtype, m.modelname
            USING ERRCODE = 'feature_not_supported';
    END IF;
    v_out := format(E'Name: %s\nAlgorithm: %s\nQuery: %s\nReturn type: %s\n' ||
                    E'Pre-processing time: %s\nExecution time: %s\nProcessed tuples: %s\nDiscarded tuples: %s\n',
                    m.modelname, m.modeltype, m.query, v_type,
                    db4ai._fixed(coalesce(m.preprocesstime, 0), 6), db4ai._fixed(coalesce(m.exectime, 0), 6),
                    m.processedtuples, m.discardedtuples);
    FOR i IN 1 .. coalesce(cardinality(m.hyperparametersnames), 0) LOOP
        v_out := v_out || format(E'%s: %s\n', m.hyperparametersnames[i],
            CASE WHEN m.hyperparametersoids[i] = 701
                 THEN db4ai._fixed(m.hyperparametersvalues[i]::float8, 10)
                 ELSE m.hyperparametersvalues[i] END);
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(m.trainingscoresname), 0) LOOP
        v_out := v_out || format(E'%s: %s\n', m.trainingscoresname[i], db4ai._fixed(m.trainingscoresvalue[i], 10));
    END LOOP;
    IF m.coefficients IS NOT NULL THEN
        v_out := v_out || format(E'weights: %s\n', m.coefficients::text);
    END IF;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION db4ai.gs_explain_model(text) IS 'db4ai: describe a stored model in openGauss''s EXPLAIN MODEL layout';

-- DROP MODEL for plain SQL clients (the Python shim calls this too).
-- Only the owner, a member of the owning role, or a superuser may drop (openGauss effectively lets
-- only sysadmins). Deleting the row also drops the model's prediction function (trigger) and its
-- training log (foreign key cascade).

CREATE OR REPLACE FUNCTION db4ai.drop_model(p_model text, p_if_exists boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner oid;
BEGIN
    SELECT modelowner INTO v_owner FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        IF p_if_exists THEN
            RAISE NOTICE 'model "%" does not exist, skipping', p_model;
            RETURN;
        END IF;
        RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT db4ai._is_model_owner(v_owner) THEN
        RAISE EXCEPTION 'must be owner of model %', p_model
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the role that created the model, its members, or a superuser may drop it.';
    END IF;
    DELETE FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN  -- dropped concurrently since we looked
        IF NOT p_if_exists THEN
            RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION db4ai.drop_model(text, boolean) IS 'db4ai: DROP MODEL [IF EXISTS]';

