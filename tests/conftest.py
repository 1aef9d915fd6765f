"""Test harness: one real PostgreSQL per test run, a fresh database per test.

The server comes from, in order (DESIGN §6): ``DB4AI_TEST_DSN``; a testcontainers PostgreSQL
when a Docker engine answers; otherwise an embedded pgserver PostgreSQL in a temporary folder.
Each test gets its own database cloned from a template that has db4ai installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from db4ai.install import install

from tests.support import (citus_template, citus_workers, cloned_database, docker_engine_answers, freeze_citus_template,
                           on_every_node, stop_server_when_gone)

TEMPLATE = "db4ai_test_template"


@dataclass
class PgServer:
    admin_dsn: str  # superuser DSN to the maintenance database
    version_num: int
    source: str  # "DB4AI_TEST_DSN" | "testcontainers" | "pgserver"
    worker_admin_dsns: list[str] = field(default_factory=list)  # a Citus coordinator's workers

    @property
    def citus(self) -> bool:
        return bool(self.worker_admin_dsns)

    def dsn(self, dbname: str, **overrides: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname, **overrides)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)


@dataclass
class Role:
    name: str
    dsn: str


def _start_server(stack: list) -> PgServer:
    if os.environ.get("DB4AI_TEST_DSN"):
        dsn, source = os.environ["DB4AI_TEST_DSN"], "DB4AI_TEST_DSN"
    elif docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16", driver=None)
        container.start()
        stack.append(container.stop)
        dsn, source = container.get_connection_url(), "testcontainers"
    else:
        import pgserver

        pgdata = Path(tempfile.mkdtemp(prefix="db4ai-test-"))
        # pytest killed (SIGKILL, SIGTERM, a CI timeout) runs no teardown: this stops the server then
        stop_server_when_gone(os.getpid(), pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(pgdata, cleanup_mode="delete")
        # cleanups run last-in first-out: stop the server (pgserver reads its handle list in pgdata),
        # then remove the folder (the other order deleted the list first and left the server running)
        stack.append(lambda: shutil.rmtree(pgdata, ignore_errors=True))
        stack.append(server.cleanup)
        dsn, source = server.get_uri(), "pgserver"
    with psycopg.connect(dsn, autocommit=True) as conn:
        version_num = int(conn.execute("SHOW server_version_num").fetchone()[0])
        workers = citus_workers(conn)
    return PgServer(admin_dsn=dsn, version_num=version_num, source=source,
                    worker_admin_dsns=[make_conninfo(dsn, host=h, port=str(p)) for h, p in workers])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    cleanups: list = []
    server = _start_server(cleanups)
    # One template per test run; the suffix keeps parallel runs on one shared server apart.
    server_template = f"{TEMPLATE}_{uuid.uuid4().hex[:8]}"
    template = sql.Identifier(server_template)
    on_every_node(server, [sql.SQL("CREATE DATABASE {}").format(template)])
    if server.citus:
        citus_template(server, server_template)
    with psycopg.connect(server.dsn(server_template)) as conn:
        install(conn)
    if server.citus:
        freeze_citus_template(server, server_template)
    server.template = server_template  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        on_every_node(server, [sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(template)], coordinator_first=True)
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception:
                pass


@pytest.fixture
def db_dsn(pg_server: PgServer) -> Iterator[str]:
    """DSN of a fresh database with db4ai installed (superuser)."""
    with cloned_database(pg_server) as dsn:
        yield dsn


@pytest.fixture
def db(db_dsn: str) -> Iterator[psycopg.Connection]:
    """Autocommit superuser connection to a fresh database with db4ai installed."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_role(pg_server: PgServer, db_dsn: str) -> Iterator:
    """Factory for fresh LOGIN roles with access to the test database; dropped afterwards."""
    created: list[str] = []
    dbname = conninfo_to_dict(db_dsn)["dbname"]

    def factory(prefix: str = "role", superuser: bool = False) -> Role:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        password = uuid.uuid4().hex
        with pg_server.admin() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                    sql.Identifier(name),
                    sql.SQL("SUPERUSER" if superuser else "NOSUPERUSER"),
                    sql.Literal(password),
                )
            )
        created.append(name)
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(name)))
            conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(name)))
        return Role(name=name, dsn=make_conninfo(db_dsn, user=name, password=password))

    yield factory
    # On Citus the role also holds privileges in the workers' clones of the test database.
    node_dsns = [db_dsn] + [make_conninfo(w, dbname=dbname) for w in pg_server.worker_admin_dsns]
    for name in created:
        for i, dsn in enumerate(node_dsns):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("SELECT pg_terminate_backend(pid::int4) FROM pg_stat_activity WHERE usename = {}").format(sql.Literal(name)))
                try:
                    conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
                except psycopg.errors.InternalError_:
                    if i == 0:  # a worker refuses it where the coordinator's already reached it
                        raise
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
