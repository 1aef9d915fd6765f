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

CREATE OR REPLACE FUNCTION db4ai_internal._sql_tokens(
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
CREATE OR REPLACE FUNCTION db4ai_internal._sql_ident(i_kind text, i_val text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN i_kind = 'word'
                THEN translate(i_val, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
                ELSE i_val END
$$;

-- Refuse a statement separator or an unbalanced ')' outside quotes: each array element is one
-- piece of one statement (openGauss texts).
CREATE OR REPLACE FUNCTION db4ai_internal._sql_check_piece(i_sql text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM db4ai_internal._sql_tokens(i_sql);
    FOR k IN 1 .. coalesce(cardinality(t.kinds), 0) LOOP
        IF t.kinds[k] = 'punct' AND (t.vals[k] = ';' OR (t.vals[k] = ')' AND t.depths[k] < 0)) THEN
            RAISE EXCEPTION 'syntax error at or near ''%'' in ''%'' at position ''%''', t.vals[k], i_sql, t.pos[k]
                USING ERRCODE = 'syntax_error';
        END IF;
    END LOOP;
END;
$$;
