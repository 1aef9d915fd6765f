"""Helpers shared by tests (importable as tests.support)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg import sql


def docker_engine_answers() -> bool:
    """True when a Docker engine answers a ping within a second or two."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker  # installed with testcontainers

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:
        return False


_counter = itertools.count()


@contextmanager
def cloned_database(server: Any, prefix: str = "db4ai_t") -> Iterator[str]:
    """A database cloned from the run's installed template (DSN), dropped afterwards."""
    name = f"{prefix}{os.getpid()}_{next(_counter)}"
    with server.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(server.template)  # type: ignore[attr-defined]
            )
        )
    try:
        yield server.dsn(name)
    finally:
        with server.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_binary(name: str, server: Any = None) -> str:
    """A PostgreSQL client program: the server's own (its BINDIR, when that is on this machine,
    e.g. Debian's PostgreSQL 15 in CI), else pgserver's, which is present wherever db4ai is."""
    if server is not None:
        with server.admin() as conn:
            row = conn.execute("SELECT setting FROM pg_catalog.pg_config WHERE name = 'BINDIR'").fetchone()
        candidate = Path(row[0]) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    import pgserver._commands as commands

    return str(commands.POSTGRES_BIN_PATH / name)


#: Every object in schema db4ai with its definition, privileges and comment, for comparing two installs.
DB4AI_OBJECTS = """
    SELECT 'class', c.relname, c.relkind::text, coalesce(pg_get_viewdef(c.oid), ''),
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                              || coalesce(col_description(c.oid, a.attnum), '-'), ', ' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           coalesce(c.relacl::text, ''), coalesce(obj_description(c.oid, 'pg_class'), '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'db4ai'
    UNION ALL
    SELECT 'function', p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid), '',
           coalesce(p.proacl::text, ''), coalesce(obj_description(p.oid, 'pg_proc'), '')
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'db4ai' AND p.prokind <> 'a'
    UNION ALL
    SELECT 'type', t.typname, t.typtype::text, '', '', '', coalesce(obj_description(t.oid, 'pg_type'), '')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'db4ai'
    UNION ALL
    SELECT 'policy', pol.polname, pol.polrelid::regclass::text, coalesce(pg_get_expr(pol.polqual, pol.polrelid), ''),
           coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), ''), pol.polcmd::text, ''
      FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'db4ai'
    UNION ALL
    SELECT 'trigger', tg.tgname, tg.tgrelid::regclass::text, pg_get_triggerdef(tg.oid), '', '', ''
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'db4ai' AND NOT tg.tgisinternal
    UNION ALL
    SELECT 'schema', n.nspname, '', '', '', coalesce(n.nspacl::text, ''), coalesce(obj_description(n.oid, 'pg_namespace'), '')
      FROM pg_namespace n WHERE n.nspname = 'db4ai'
    ORDER BY 1, 2, 3
"""


def db4ai_objects(dsn: str) -> list[tuple]:
    """Every object in schema db4ai (see DB4AI_OBJECTS), sorted."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(DB4AI_OBJECTS).fetchall()


_WATCHDOG = """
import os, shutil, sys, time
from pathlib import Path
pid, pgdata = int(sys.argv[1]), Path(sys.argv[2])
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(0.5)
time.sleep(1.0)  # a server that was starting when the run died has written postmaster.pid by now
if (pgdata / "postmaster.pid").exists():
    from pgserver._commands import pg_ctl
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=30)
    except Exception:
        pass
shutil.rmtree(pgdata, ignore_errors=True)
"""


def stop_server_when_gone(pid: int, pgdata: Path) -> None:
    """Start a watchdog that stops the embedded server in ``pgdata`` (and removes it) once process
    ``pid`` has ended, whichever way it ended: a killed test run leaves no server behind."""
    import subprocess
    import sys

    subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(pid), str(pgdata)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
