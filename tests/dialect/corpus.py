"""Statements shared by the dialect tests."""

# Ordinary PostgreSQL that must come back as Query(tree=None) with exactly this text. Each
# entry is one statement; the corpus is joined into one script with comments in between.
ORDINARY = [
    "BEGIN",
    "SET search_path = public, pg_catalog",
    "CREATE TABLE t (id int PRIMARY KEY, model int, target float8, features float8[], predict int,"
    " sample text, snapshot text, explain text, data jsonb, ts tsvector)",
    "INSERT INTO t VALUES (1, 2, 3.5, '{1,2}', 4, 'a;b', 'it''s; fine', E'\\'; still a string', '{\"a\": 1}', 'x')",
    "SELECT data @> '{\"a\":1}', '{1}'::int[] <@ '{1,2}', ts @@ 'x'::tsquery, data->>'a', data #>> '{a}',"
    " id::text, @ -5, |/ 9.0, 'C:\\' FROM t",
    "SELECT model, target, features, predict, sample, snapshot, explain FROM t WHERE predict > 1",
    "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'x;y'; END $$",
    "DO $body$ DECLARE x int; BEGIN x := 1; END $body$ LANGUAGE plpgsql",
    "CREATE FUNCTION predict(x int) RETURNS int LANGUAGE sql AS $f$ SELECT x + 1; $f$",
    "SELECT predict(id), predict (2), t.predict FROM t",
    "CREATE OR REPLACE FUNCTION atomic_f(x int) RETURNS int LANGUAGE sql"
    " BEGIN ATOMIC SELECT x; SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; END",
    "CREATE RULE r AS ON UPDATE TO t DO ALSO (NOTIFY a; NOTIFY b)",
    "COMMENT ON TABLE t IS 'semi; colon'",
    "SAVEPOINT s1",
    "RELEASE SAVEPOINT s1",
    "EXPLAIN (COSTS OFF) SELECT explain FROM t",
    "COMMIT",
    "VACUUM ANALYZE t",
    "COPY t (id) TO STDOUT",
    "SELECT U&'\\0041', B'101', X'FF', $tag$ ; $tag$",
]
