"""Fixtures for the snapshot tests: a database per module for the many error-text checks, helpers
that assert an error's text/hint/SQLSTATE and that a failed call left nothing behind, and the
openGauss test data set (spec §4.1: test_data(pk, a1..a8), 1000 rows)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.support import cloned_database

MODES = ("MSS", "CSS")


@dataclass
class Db:
    """A connection with helpers for snapshot calls."""

    conn: psycopg.Connection

    def rows(self, query: str, params: Any = None) -> list[tuple]:
        cur = self.conn.execute(query, params)
        return cur.fetchall() if cur.description else []

    def one(self, query: str, params: Any = None) -> Any:
        rows = self.rows(query, params)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]

    def state(self) -> tuple:
        """What a failed call must not change: relations outside the system schemas (temp ones
        included), catalog rows, storage rows, and the columns of every backing table."""
        return (
            self.rows(
                """SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2"""
            ),
            self.rows("SELECT id, name, parent_id, matrix_id, commands, comment, published, archived FROM db4ai.snapshot ORDER BY id"),
            self.rows("SELECT id, store::text, fields, members::text, filtered FROM db4ai.snapshot_storage ORDER BY id"),
            self.rows(
                """SELECT a.attrelid::regclass::text, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   WHERE c.relname LIKE '\\_db4ai\\_t%' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, a.attnum"""
            ),
        )

    def fails(self, query: str, params: Any = None, *, message: str, hint: str | None = None,
              sqlstate: str | None = None) -> psycopg.Error:
        """Run a statement that must fail with exactly this message (and hint / SQLSTATE when
        given) and leave the database as it was."""
        before = self.state()
        with pytest.raises(psycopg.Error) as info:
            self.conn.execute(query, params)
        diag = info.value.diag
        assert diag.message_primary == message
        if hint is not None:
            assert diag.message_hint == hint
        if sqlstate is not None:
            assert diag.sqlstate == sqlstate
        assert self.state() == before, "a failed call left something behind"
        return info.value

    def set_mode(self, mode: str) -> None:
        self.conn.execute(sql.SQL("SET db4ai.snapshot_mode = {}").format(sql.Literal(mode)))


TEST_DATA = """
    CREATE TABLE IF NOT EXISTS public.test_data AS
    SELECT g::bigint AS pk,
           (g * 7919 % 1000)::int AS a1, (g * 6007 % 997)::int AS a2, (g * 4001 % 991)::int AS a3,
           (g * 3001 % 983)::int AS a4, (g * 2003 % 977)::int AS a5, (g * 1009 % 971)::int AS a6,
           (g * 503 % 967)::int AS a7, (g * 101 % 953)::int AS a8
    FROM generate_series(1, 1000) g;
    CREATE TABLE IF NOT EXISTS public.dual AS SELECT 'X'::text AS dummy;
    CREATE SCHEMA IF NOT EXISTS "_db4ai test";
    CREATE SCHEMA IF NOT EXISTS _db4ai_test;
"""


def make_db(conn: psycopg.Connection) -> Db:
    conn.execute(TEST_DATA)
    return Db(conn)


@pytest.fixture(scope="module")
def module_dsn(pg_server) -> Iterator[str]:
    """A database shared by one test module (cloned from the installed template)."""
    with cloned_database(pg_server, "db4ai_snap") as dsn:
        yield dsn


@pytest.fixture
def mdb(module_dsn: str) -> Iterator[Db]:
    """Connection to the module's database, with test_data; settings reset per test."""
    with psycopg.connect(module_dsn, autocommit=True) as conn:
        yield make_db(conn)


@pytest.fixture
def sdb(db: psycopg.Connection) -> Db:
    """A fresh database (function scope) with test_data."""
    return make_db(db)


def equal_relations(db: Db, left: str, right: str) -> bool:
    """Multiset equality, as openGauss's assert_rel_equal (EXCEPT ALL both ways)."""
    return db.one(f"SELECT count(*) FROM ((TABLE {left} EXCEPT ALL TABLE {right}) UNION ALL "
                  f"(TABLE {right} EXCEPT ALL TABLE {left})) d") == 0
