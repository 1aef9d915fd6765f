"""sql/install.sql and sql/uninstall.sql through psql, and `db4ai install` giving the same objects."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from db4ai import __version__
from db4ai.install import expand_script, installed_version, sql_dir

from tests.support import db4ai_objects, pg_binary

ROOT = Path(__file__).resolve().parents[2]


def psql_binary() -> str:
    return pg_binary("psql")


def run_psql(dsn: str, script: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [psql_binary(), dsn, "-X", "-v", "ON_ERROR_STOP=1", *extra, "-f", str(script)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_psql_install_twice_from_another_directory(blank_db, tmp_path):
    for _ in range(2):  # the second run is an upgrade over an installed database
        result = run_psql(blank_db, ROOT / "sql" / "install.sql", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "" and result.stderr == ""  # quiet: no command tags, no NOTICEs
    with psycopg.connect(blank_db) as conn:
        assert installed_version(conn) == __version__


def test_uninstall_leaves_no_db4ai_object(blank_db, tmp_path):
    assert run_psql(blank_db, ROOT / "sql" / "install.sql", cwd=tmp_path).returncode == 0
    assert db4ai_objects(blank_db)
    import db4ai

    with db4ai.connect(blank_db, autocommit=True) as conn:  # snapshots (MSS and CSS) and a model to remove
        conn.execute("CREATE TABLE t AS SELECT g AS id, g * 2.0 AS y FROM generate_series(1, 50) g")
        conn.execute("CREATE SNAPSHOT s AS SELECT * FROM t")
        conn.execute("SET db4ai.snapshot_mode = 'CSS'")
        conn.execute("CREATE SNAPSHOT c AS SELECT * FROM t")
        conn.execute("CREATE SNAPSHOT c FROM @1.0.0 USING (DELETE WHERE id < 5)")
        conn.execute("CREATE MODEL m USING linear_regression FEATURES id TARGET y FROM s@1.0.0")
    with psycopg.connect(blank_db) as conn:
        before = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone()[0]
        assert before > 1
    result = run_psql(blank_db, ROOT / "sql" / "uninstall.sql", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(blank_db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'db4ai%'").fetchone()[0] == 0
        leftovers = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE proname LIKE 'db4ai%' OR prosrc LIKE '%db4ai.%'"
        ).fetchone()[0]
        assert leftovers == 0
        assert installed_version(conn) is None
        remaining = conn.execute(
            "SELECT array_agg(relname::text ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()[0]
        assert remaining == ["t"]  # the user's own table stays; snapshot views and backing tables are gone


def test_cli_install_gives_the_same_objects_as_psql(pg_server, blank_db, tmp_path):
    other = f"db4ai_blank_{uuid.uuid4().hex[:8]}"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(other)))
    try:
        other_dsn = pg_server.dsn(other)
        assert run_psql(blank_db, ROOT / "sql" / "install.sql", cwd=tmp_path).returncode == 0
        result = subprocess.run(
            [str(Path(ROOT / ".venv/bin/db4ai")) if (ROOT / ".venv/bin/db4ai").exists() else "db4ai", "install", "-d", other_dsn],
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"db4ai {__version__} installed in database {other}\n"
        assert db4ai_objects(blank_db) == db4ai_objects(other_dsn)
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other)))


def test_expand_script_inlines_every_include():
    text = expand_script(sql_dir() / "install.sql")
    assert not [line for line in text.splitlines() if line.lstrip().startswith("\\")]
    assert "CREATE SCHEMA IF NOT EXISTS db4ai" in text
