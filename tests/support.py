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
