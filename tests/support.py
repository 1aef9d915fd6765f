"""Helpers shared by tests (importable as tests.support)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


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


def on_every_node(server: Any, statements: list[sql.Composable], *, coordinator_first: bool = False) -> None:
    """Run ``statements`` in the maintenance database of every node: a Citus cluster's coordinator
    and workers (concurrently; the coordinator alone first with ``coordinator_first``), else the
    one server. A database still in use by a node's background connections is retried."""
    def run(dsn: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for stmt in statements:
                for attempt in range(50):
                    try:
                        conn.execute(stmt)
                        break
                    except psycopg.errors.ObjectInUse:
                        if attempt == 49:
                            raise
                        time.sleep(0.1)

    workers = list(getattr(server, "worker_admin_dsns", []))
    if coordinator_first or not workers:
        run(server.admin_dsn)
    else:
        workers.append(server.admin_dsn)
    if workers:
        with ThreadPoolExecutor(len(workers)) as pool:
            for future in [pool.submit(run, d) for d in workers]:
                future.result()


@contextmanager
def cloned_database(server: Any, prefix: str = "db4ai_t") -> Iterator[str]:
    """A database cloned from the run's installed template (DSN), dropped afterwards.

    On a Citus cluster the database is cloned on every node from the template of that node
    (the coordinator's clone then finds its workers' clones under the same name).
    """
    name = f"{prefix}{os.getpid()}_{next(_counter)}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
        sql.Identifier(name), sql.Identifier(server.template))  # type: ignore[attr-defined]
    on_every_node(server, [drop, create])
    try:
        yield server.dsn(name)
    finally:
        on_every_node(server, [drop], coordinator_first=True)


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


#: Every object in schemas db4ai and db4ai_internal with its definition, privileges and comment, for
#: comparing two installs (names are schema-qualified).
DB4AI_OBJECTS = """
    SELECT 'class', n.nspname || '.' || c.relname, c.relkind::text, coalesce(pg_get_viewdef(c.oid), ''),
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                              || coalesce(col_description(c.oid, a.attnum), '-'), ', ' ORDER BY a.attnum)
              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           coalesce(c.relacl::text, ''), coalesce(obj_description(c.oid, 'pg_class'), '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('db4ai', 'db4ai_internal')
    UNION ALL
    SELECT 'function', n.nspname || '.' || p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid), '',
           coalesce(p.proacl::text, ''), coalesce(obj_description(p.oid, 'pg_proc'), '')
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname IN ('db4ai', 'db4ai_internal') AND p.prokind <> 'a'
    UNION ALL
    SELECT 'type', n.nspname || '.' || t.typname, t.typtype::text, '', '', '', coalesce(obj_description(t.oid, 'pg_type'), '')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname IN ('db4ai', 'db4ai_internal')
    UNION ALL
    SELECT 'policy', pol.polname, pol.polrelid::regclass::text, coalesce(pg_get_expr(pol.polqual, pol.polrelid), ''),
           coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), ''), pol.polcmd::text, ''
      FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('db4ai', 'db4ai_internal')
    UNION ALL
    SELECT 'trigger', tg.tgname, tg.tgrelid::regclass::text, pg_get_triggerdef(tg.oid), '', '', ''
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('db4ai', 'db4ai_internal') AND NOT tg.tgisinternal
    UNION ALL
    SELECT 'schema', n.nspname, '', '', '', coalesce(n.nspacl::text, ''), coalesce(obj_description(n.oid, 'pg_namespace'), '')
      FROM pg_namespace n WHERE n.nspname IN ('db4ai', 'db4ai_internal')
    ORDER BY 1, 2, 3
"""


def db4ai_objects(dsn: str) -> list[tuple]:
    """Every object of db4ai (see DB4AI_OBJECTS), sorted."""
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


# -- Citus: DB4AI_TEST_DSN may name the coordinator of a Citus cluster (../shared/tools/citus-cluster).
# Citus keeps its metadata per database, and a coordinator's database expects a database of the same
# name on each worker. So the run's template is made on every node (extension, nodes, db4ai), and each
# test clones it on every node.

def citus_workers(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """(host, port) of the workers when ``conn`` is a Citus coordinator's database, else []."""
    if conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()[0] == 0:
        return []
    return [(str(h), int(p)) for h, p in conn.execute(
        "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeid")]


def citus_template(server: Any, name: str) -> None:
    """Make database ``name`` (already on every node) a Citus database with the same workers."""
    for dsn in [server.admin_dsn, *server.worker_admin_dsns]:
        with psycopg.connect(make_conninfo(dsn, dbname=name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION citus")
    coordinator = conninfo_to_dict(server.admin_dsn)
    with psycopg.connect(server.dsn(name), autocommit=True) as conn:
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)",
                     (coordinator.get("host", "localhost"), int(coordinator.get("port", 5432))))
        for dsn in server.worker_admin_dsns:
            worker = conninfo_to_dict(dsn)
            conn.execute("SELECT citus_add_node(%s, %s)", (worker["host"], int(worker["port"])))


def freeze_citus_template(server: Any, name: str) -> None:
    """Let PostgreSQL clone the template: no session may be connected to it.

    Citus keeps a maintenance daemon (and cached connections) in each of its databases. New
    connections are refused first; Citus stops a database's daemon when it sees DROP DATABASE,
    before PostgreSQL refuses that statement inside a transaction block, so the template stays.
    """
    ident = sql.Identifier(name)
    stop = [sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident), sql.SQL("BEGIN"),
            sql.SQL("DROP DATABASE {}").format(ident)]

    def freeze(dsn: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for stmt in stop:
                try:
                    conn.execute(stmt)
                except psycopg.errors.ActiveSqlTransaction:
                    conn.execute("ROLLBACK")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            for _ in range(100):
                if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0] == 0:
                    return
                time.sleep(0.05)

    for dsn in [server.admin_dsn, *server.worker_admin_dsns]:
        freeze(dsn)
