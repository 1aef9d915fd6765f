-- Snapshot settings. PostgreSQL custom settings need a dot, so openGauss's GUCs are renamed:
--   db4ai.snapshot_mode      (openGauss db4ai_snapshot_mode)               MSS (default) | CSS
--   db4ai.version_delimiter  (openGauss db4ai_snapshot_version_delimiter)  default '@'
--   db4ai.version_separator  (openGauss db4ai_snapshot_version_separator)  default '.'
--   db4ai.seed               (ours) default seed of SAMPLE and SPLIT, default 0
-- A custom setting accepts any string (SET db4ai.snapshot_mode = 8 succeeds), so, as in openGauss,
-- the value is checked when a snapshot function runs. Unset and '' (after RESET) mean the default.

CREATE OR REPLACE FUNCTION db4ai_internal._snapshot_settings(OUT mode text, OUT delimiter text, OUT separator text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    mode := upper(coalesce(nullif(current_setting('db4ai.snapshot_mode', true), ''), 'MSS'));
    IF mode NOT IN ('MSS', 'CSS') THEN
        -- no HINT: openGauss raises this text without one, and its test harness asserts that
        RAISE EXCEPTION 'invalid snapshot mode: ''%''', mode USING ERRCODE = 'invalid_parameter_value';
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
CREATE OR REPLACE FUNCTION db4ai_internal._snapshot_seed(i_seed bigint) RETURNS bigint
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
CREATE OR REPLACE FUNCTION db4ai_internal._snapshot_schema(i_schema name) RETURNS name
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN i_schema IS NOT NULL AND i_schema <> '' THEN i_schema
        WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = current_user) THEN current_user::name
        ELSE 'public'::name
    END
$$;
