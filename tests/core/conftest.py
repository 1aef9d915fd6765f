"""Fixtures of the install tests: empty databases and the extension files in the server's folder."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import sql

from db4ai import extension
from db4ai.errors import InterfaceError


@pytest.fixture
def blank_dbs(pg_server) -> Iterator[Callable[[], str]]:
    """Factory of empty databases (no db4ai), each dropped afterwards; returns DSNs."""
    names: list[str] = []

    def make() -> str:
        name = f"db4ai_blank_{uuid.uuid4().hex[:8]}"
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        names.append(name)
        return pg_server.dsn(name)

    yield make
    with pg_server.admin() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def blank_db(blank_dbs) -> str:
    """DSN of an empty database (no db4ai), dropped afterwards."""
    return blank_dbs()


@pytest.fixture(scope="session")
def extension_files(pg_server) -> Path:
    """The extension files of this checkout, written into the server's extension directory once.
    Possible only where the server runs on this machine (the embedded one, CI's PostgreSQL 15)."""
    with pg_server.admin() as conn:
        try:
            folder = extension.extension_dir(conn)
        except InterfaceError as exc:
            pytest.skip(f"cannot install extension files: {exc} (a server in a container)")
    extension.write_files(folder)
    return folder


@pytest.fixture
def outside_tmp_path() -> Iterator[Path]:
    """A folder for server data outside pytest's tmp_path: every pytest session that starts on the
    machine resets /tmp/pytest-of-<user> to mode 0700, locking out the server's own system user
    (pgserver runs PostgreSQL as one under root)."""
    folder = Path(tempfile.mkdtemp(prefix="db4ai-server-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
