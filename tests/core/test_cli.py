"""The db4ai command line as a user runs it: real subprocesses against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]


def db4ai(*args: str, env: dict | None = None, stdin: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DB4AI_DSN",)}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "db4ai.cli", *args],
        capture_output=True, text=True, env=full_env, input=stdin, timeout=timeout,
    )


def test_sql_prints_an_aligned_table(db_dsn):
    result = db4ai("sql", "-d", db_dsn, "-c", "select 40+2 as answer")
    assert result.returncode == 0, result.stderr
    assert result.stdout == " answer \n--------\n     42\n(1 row)\n\n"


def test_sql_runs_several_commands_in_order_with_tags(db_dsn):
    result = db4ai(
        "sql", "-d", db_dsn,
        "-c", "create table t(a int, b text); insert into t values (1, 'x'), (2, null)",
        "-c", "select a, b from t order by a",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "CREATE TABLE", "INSERT 0 2", " a | b ", "---+---", " 1 | x", " 2 | ", "(2 rows)", "",
    ]


def test_sql_file_with_semicolons_in_strings_and_dollar_quotes(db_dsn, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text(
        "create function f() returns text language sql as $$ select 'a;b' $$;\n"
        "select f() as v, 'c;d' as w;\n"
    )
    result = db4ai("sql", "-d", db_dsn, "-f", str(script))
    assert result.returncode == 0, result.stderr
    assert " a;b | c;d" in result.stdout


def test_sql_error_goes_to_stderr_and_stops_with_status_1(db_dsn):
    result = db4ai("sql", "-d", db_dsn, "-c", "select 1 as one", "-c", "select nosuch", "-c", "select 3 as three")
    assert result.returncode == 1
    assert "one" in result.stdout and "three" not in result.stdout
    assert result.stderr.startswith('ERROR:  column "nosuch" does not exist')
    assert "Traceback" not in result.stderr


def test_unreachable_server_is_one_clear_line():
    result = db4ai("sql", "-d", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=3", "-c", "select 1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("db4ai: could not connect to the database:"), result.stderr
    assert "Connection refused" in lines[0]


def test_a_dsn_placeholder_left_in_is_one_clear_line():
    """postgresql://... as copied from an example: psycopg's host lookup fails in Python's idna
    codec with a chained traceback; db4ai says what is wrong in one line."""
    for command in (["sql", "-c", "select 1"], ["install"]):
        result = db4ai(*command[:1], "-d", "postgresql://...", *command[1:])
        assert result.returncode == 1
        assert result.stderr == "db4ai: could not connect to the database: '...' is not a valid host name\n"
    import db4ai as package

    with pytest.raises(package.InterfaceError) as raised:
        package.connect("postgresql://...")
    assert str(raised.value) == "could not connect to the database: '...' is not a valid host name"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no chained traceback
    assert "postgresql://user@host" in raised.value.hint


def test_database_without_db4ai_is_one_clear_line(pg_server):
    import uuid

    from psycopg import sql

    name = f"db4ai_plain_{uuid.uuid4().hex[:8]}"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        result = db4ai("sql", "-d", pg_server.dsn(name), "-c", "PUBLISH SNAPSHOT s@1.0.0")
        assert result.returncode == 1
        assert result.stderr.splitlines()[0] == f'ERROR:  db4ai is not installed in database "{name}"'
        assert "Traceback" not in result.stderr
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_wrong_password_is_one_clear_line(pg_server, make_role, db_dsn):
    """Needs password authentication for the role: add an hba rule when the server's files are ours."""
    with pg_server.admin() as conn:
        hba = conn.execute("SHOW hba_file").fetchone()[0]
    if not (os.path.exists(hba) and os.access(hba, os.W_OK)):
        pytest.skip("the server's pg_hba.conf is not on this machine (testcontainers): password auth not configurable")
    role = make_role("pw")
    original = Path(hba).read_text()
    rule = f"local all {role.name} scram-sha-256\nhost all {role.name} 0.0.0.0/0 scram-sha-256\n"
    Path(hba).write_text(rule + original)
    try:
        with pg_server.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")
        result = db4ai("sql", "-d", make_conninfo(role.dsn, password="wrong"), "-c", "select 1")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "password authentication failed" in lines[0]
    finally:
        Path(hba).write_text(original)
        with pg_server.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")


def test_embedded_server_is_used_without_dsn_and_reused(outside_tmp_path):
    tmp_path = outside_tmp_path
    env = {"DB4AI_HOME": str(tmp_path / "home")}
    first = db4ai("sql", "-c", "create table marker(x int); select 40+2 as answer", env=env)
    assert first.returncode == 0, first.stderr
    assert "     42" in first.stdout
    assert (tmp_path / "home" / "pgdata" / "PG_VERSION").exists()
    second = db4ai("sql", "-c", "select 40+2 as answer, count(*) as markers from marker", env=env)
    assert second.returncode == 0, second.stderr
    assert "     42 |       0" in second.stdout  # same data directory: the table from the first run is there
    # the embedded server was stopped cleanly when the last process using it exited
    assert not (tmp_path / "home" / "pgdata" / "postmaster.pid").exists()


def test_table_layout_matches_psql():
    from db4ai.cli import format_table

    text = format_table(["ab", "c", "abc"], [True, False, False], [("12345", "hello", "x")])
    assert text == "  ab   |   c   | abc \n-------+-------+-----\n 12345 | hello | x\n(1 row)\n"
    # multi-line cells, as psql -c "select E'ab\\ncdef' as x, 1 as n, E'p\\nq' as z" prints them
    text = format_table(["x", "n", "z"], [False, True, False], [("ab\ncdef", "1", "p\nq")])
    assert text == "  x   | n | z \n------+---+---\n ab  +| 1 | p+\n cdef |   | q\n(1 row)\n"


def test_help_everywhere():
    for args in ([], ["install"], ["sql"], ["demo"]):
        result = db4ai(*args, "--help")
        assert result.returncode == 0
        assert "usage: db4ai" in result.stdout


def test_interactive_prompt_runs_statements_across_lines(db_dsn, tmp_path):
    result = db4ai("sql", "-d", db_dsn, stdin="select\n 40+2\n as answer;\nselect nosuch;\nselect 1 as one;\n\\q\n",
                   env={"DB4AI_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "     42" in result.stdout and "   1" in result.stdout
    assert 'column "nosuch" does not exist' in result.stderr


def test_missing_file_and_malformed_dsn_are_one_clear_line(db_dsn):
    result = db4ai("sql", "-d", db_dsn, "-f", "/nonexistent/script.sql")
    assert result.returncode == 1
    assert result.stderr == "db4ai: cannot read /nonexistent/script.sql: No such file or directory\n"
    result = db4ai("sql", "-d", "not a dsn at all", "-c", "select 1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("db4ai: could not connect to the database:"), result.stderr


def test_failed_install_reports_the_real_error(make_role, pg_server):
    role = make_role("noinstall")  # no CREATE on the database: CREATE SCHEMA fails inside install.sql
    result = db4ai("install", "-d", role.dsn)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR:  permission denied for database"), result.stderr


def test_script_mixing_sql_and_db4ai_statements(db_dsn, tmp_path):
    script = tmp_path / "mixed.sql"
    script.write_text("""
        CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 3 * g + 1 AS y FROM generate_series(1, 20) g;
        CREATE FUNCTION note() RETURNS text LANGUAGE sql AS $$ SELECT 'a;b' $$;
        CREATE SNAPSHOT pts AS SELECT * FROM pts;
        CREATE MODEL fit USING linear_regression FEATURES x TARGET y FROM pts@1.0.0
            WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 3, verbose = true, seed = 1;
        SELECT id, PREDICT BY fit (FEATURES x), note() FROM pts WHERE id = 1;
        DROP MODEL fit;
    """)
    result = db4ai("sql", "-d", db_dsn, "-f", str(script))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[:3] == ["SELECT 20", "CREATE FUNCTION", " schema |   name    "]
    assert "MODEL CREATED. PROCESSED 1" in out and out[-1] == "DROP MODEL"
    assert " id | fit_pred | note " in out and any(line.endswith("| a;b") for line in out)
    notices = [line for line in result.stderr.splitlines() if line.startswith("NOTICE:  ITERATION ")]
    assert [n.split(":")[1].strip() for n in notices] == ["ITERATION 1", "ITERATION 2", "ITERATION 3"]


def test_demo_tells_a_story_and_recovers_from_an_interrupted_run(db_dsn):
    # an earlier demo stopped half-way: its table, snapshots and model are still there
    from importlib import resources

    script = resources.files("db4ai").joinpath("demo.sql").read_text()
    half = script[script.index("--> Sample data"):script.index("--> What was stored")]
    assert db4ai("sql", "-d", db_dsn, "-c", half).returncode == 0
    result = db4ai("demo", "-d", db_dsn)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no NOTICEs: not from the cleanup, not from the install
    out = result.stdout.splitlines()
    story = [line[4:] for line in script.splitlines() if line.startswith("--> ")]
    assert len(story) >= 8
    positions = [out.index(sentence) for sentence in story]
    assert positions == sorted(positions)  # told in order, each once
    lines = script.splitlines()
    for sentence, position in zip(story, positions):  # then the statement the script has after it
        assert out[position + 1] == lines[lines.index("--> " + sentence) + 1]
    assert "MODEL CREATED. PROCESSED 1" in out
    # and it leaves nothing behind
    import psycopg

    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM db4ai.snapshot").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 0
        assert conn.execute("SELECT to_regclass('demo_houses')").fetchone()[0] is None
