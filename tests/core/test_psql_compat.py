"""`db4ai sql` prints what psql prints: the same statements through both, compared byte for byte,
and the db4ai backslash commands (\\dm, \\ds, \\dr) and psql's (via pgspecial) on a real catalog."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import pg_binary


def db4ai_sql(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DB4AI_DSN"}
    return subprocess.run([sys.executable, "-m", "db4ai.cli", "sql", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


def psql(dsn: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([pg_binary("psql"), "-X", "-d", dsn, *args], capture_output=True, text=True, timeout=60)


CASES = [
    # PostgreSQL's own text for every type: float8 1 (not 1.0), numeric scale, arrays, NULLs, bytea, json, dates
    "SELECT 1::float8 AS f, 2.50::numeric AS n, 1e300::float8 * 10 AS big, 'NaN'::float8 AS nan, -0.1::float4 AS r",
    "SELECT ARRAY[1.5, 2]::float8[] AS a, ARRAY['x y', NULL, ''] AS t, '{}'::int[] AS e, NULL::int AS z, true AS b",
    "SELECT '\\x00ff'::bytea AS raw, '{\"k\": [1, 2]}'::jsonb AS j, DATE '2024-02-29' AS d, INTERVAL '1 day 02:03' AS i",
    # layouts: multi-line cells, wide characters, numbers right-aligned in any column, empty results
    "SELECT 5 AS n, 'abcdefgh' AS t, NULL::int AS z UNION ALL SELECT 12345, E'x\\ny', 3",
    "SELECT E'ab\\ncdef' AS x, 1 AS n, E'p\\nq' AS z",
    "SELECT '数据库' AS cjk, 'é' AS e, 42 AS answer",
    "SELECT 1 AS a, 'x' AS b WHERE false",
    "CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1), (2); UPDATE t SET a = a + 1; DELETE FROM t",
]


@pytest.mark.parametrize("statement", CASES)
def test_results_print_as_in_psql(db_dsn, statement):
    ours, theirs = db4ai_sql("-d", db_dsn, "-c", statement), psql(db_dsn, "-c", statement)
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout


def test_expanded_display_and_timing_as_in_psql(db_dsn):
    query = "SELECT g AS n, repeat('x', g) AS long_name_here, CASE WHEN g = 2 THEN E'a\\nb' END AS m FROM generate_series(1, 3) g"
    args = ["-c", "\\x", "-c", query, "-c", "\\x", "-c", "SELECT 1 AS a WHERE false"]
    ours, theirs = db4ai_sql("-d", db_dsn, *args), psql(db_dsn, *args)
    assert ours.stdout == theirs.stdout
    timed = db4ai_sql("-d", db_dsn, "-c", "\\timing", "-c", "SELECT 1 AS a").stdout.splitlines()
    assert timed[:5] == ["Timing is on.", " a ", "---", " 1", "(1 row)"] and timed[6].startswith("Time: ")
    assert timed[6].endswith(" ms")


def test_server_errors_show_the_line_and_a_caret_as_in_psql(db_dsn):
    statement = "SELECT 1 AS one,\n       nosuch + 1 AS two\n  FROM generate_series(1, 2)"
    ours, theirs = db4ai_sql("-d", db_dsn, "-c", statement), psql(db_dsn, "-c", statement)
    assert ours.returncode == 1
    assert ours.stderr == theirs.stderr
    assert ours.stderr.splitlines()[1:] == ["LINE 2:        nosuch + 1 AS two", "               ^"]


def test_backslash_commands_of_psql_work(db_dsn):
    result = db4ai_sql("-d", db_dsn, "-c", "CREATE TABLE zebra (id int PRIMARY KEY, label text); CREATE VIEW zv AS SELECT id FROM zebra",
                       "-c", "\\dt zeb*", "-c", "\\dv z*", "-c", "\\d zebra", "-c", "\\dn", "-c", "\\df db4ai.create_snap*",
                       "-c", "\\l", "-c", "\\?")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert " public | zebra | table | " in out and " public | zv   | view | " in out
    assert ' label  | text    | ' in out and 'Indexes:\n    "zebra_pkey" PRIMARY KEY, btree (id)' in out
    assert " db4ai  | create_snapshot | db4ai.snapshot_name | i_schema name, i_name name, i_commands text[]" in out
    assert " \\dm[+] [pattern]" in out and " \\i FILE " in out and " \\q " in out
    bad = db4ai_sql("-d", db_dsn, "-c", "\\nosuch")
    assert bad.returncode == 1 and bad.stderr == "invalid command \\nosuch\nTry \\? for help.\n"


def test_df_db4ai_lists_the_public_api_only(db_dsn):
    setup = ("CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 3 * g + 1 AS y FROM generate_series(1, 30) g;"
             "CREATE MODEL line USING linear_regression FEATURES x TARGET y FROM pts"
             " WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 5, seed = 3;")
    assert db4ai_sql("-d", db_dsn, "-c", setup).returncode == 0
    result = db4ai_sql("-d", db_dsn, "-c", "\\df db4ai.*", "-c", "\\df db4ai_internal._ova*")
    assert result.returncode == 0, result.stderr
    listed = [row for row in ([c.strip() for c in line.split("|")] for line in result.stdout.splitlines())
              if len(row) >= 5 and row[0] != "Schema"]
    api = [row[1] for row in listed if row[0] == "db4ai"]
    assert {"create_snapshot", "gs_explain_model", "predict_model_sql", "version"} <= set(api)
    assert ("line_pred", "x double precision") in [(row[1], row[3]) for row in listed]  # a model's function too
    assert not [name for name in api if name.startswith("_")]  # the helpers live elsewhere...
    assert [row[:2] for row in listed if row[0] != "db4ai"] == [["db4ai_internal", "_ova_argmax"]]  # ...here


def test_db4ai_listings_of_models_snapshots_and_runs(db_dsn):
    setup = """
        CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 3 * g + 1 AS y FROM generate_series(1, 30) g;
        CREATE SNAPSHOT pts COMMENT IS 'raw points' AS SELECT * FROM pts;
        CREATE SNAPSHOT pts FROM @1.0.0 COMMENT IS 'no outlier' USING (DELETE WHERE id = 7);
        CREATE MODEL line USING linear_regression FEATURES x TARGET y FROM pts@1.1.0
            WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 5, seed = 3;
    """
    assert db4ai_sql("-d", db_dsn, "-c", setup).returncode == 0
    result = db4ai_sql("-d", db_dsn, "-c", "\\dm", "-c", "\\ds", "-c", "\\ds+ pts@1.1*", "-c", "\\dm nomatch*")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    import psycopg

    with psycopg.connect(db_dsn) as conn:
        me = conn.execute("SELECT current_user").fetchone()[0]
    model = next(line for line in lines if line.startswith(" line "))
    assert [c.strip() for c in model.split("|")][:5] == ["line", me, "linear_regression", "x", "integer"]
    assert 'public."pts@1.1.0"' in model and "mse = " in model
    assert any(line.startswith(" public | pts@1.0.0 |           |   30 | published |") for line in lines), result.stdout
    assert any(line.startswith(" public | pts@1.1.0 | pts@1.0.0 |   29 |") and line.endswith("no outlier") for line in lines)
    verbose = [line for line in lines if "pts@1.1.0" in line and "MSS" in line]
    assert len(verbose) == 1 and "DELETE WHERE id = 7" in verbose[0]
    assert "(0 rows)" in lines  # \dm nomatch*


def test_training_runs_are_listed_with_their_state_and_last_metrics(db_dsn):
    import psycopg

    from db4ai import runs

    setup = """
        CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 3 * g + 1 AS y FROM generate_series(1, 30) g;
        CREATE MODEL line USING linear_regression FEATURES x TARGET y FROM pts
            WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 5, seed = 3;
    """
    assert db4ai_sql("-d", db_dsn, "-c", setup).returncode == 0
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with runs.start(conn, "mnist", params={"lr": 0.1}) as run:
            run.log(1, loss=0.5)
    result = db4ai_sql("-d", db_dsn, "-c", "\\dr", "-c", "\\dr mn*", "-c", "\\dr+ line")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if " line " in x and "create_model" in x)
    assert [c.strip() for c in line.split("|")][1:5] == ["line", "create_model", "postgres", "succeeded"]
    assert line.rstrip().endswith("| line")
    assert result.stdout.count("mnist") == 2 and "loss=0.5" in result.stdout
    assert '"seed": 3' in result.stdout  # \dr+ shows the params


def test_piped_input_runs_like_a_psql_file(db_dsn, tmp_path):
    script = tmp_path / "inner.sql"
    script.write_text("SELECT 'from the file' AS src;\n")
    out = tmp_path / "out.txt"
    stdin = f"\\o {out}\nSELECT 1 AS hidden;\n\\o\nSELECT\n 2 AS shown;\n\\i {script}\nselect nosuch;\n\\q\nSELECT 3 AS never;\n"
    result = db4ai_sql("-d", db_dsn, stdin=stdin)
    assert result.returncode == 0
    assert out.read_text() == " hidden \n--------\n      1\n(1 row)\n\n"
    assert result.stdout == " shown \n-------\n     2\n(1 row)\n\n      src      \n---------------\n from the file\n(1 row)\n\n"
    assert 'ERROR:  column "nosuch" does not exist' in result.stderr
