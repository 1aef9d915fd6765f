"""Fixtures for the run registry and artifacts: a small table and a snapshot of it."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest


@pytest.fixture
def points(db: psycopg.Connection) -> psycopg.Connection:
    """``db`` with table ``pts(id, x1, x2, y)`` (200 rows, y = 1 + 2 x1 - 3 x2) and snapshot ``pts@1.0.0``."""
    db.execute("CREATE TABLE pts AS SELECT g AS id, (g % 17) / 17.0 AS x1, (g % 5) / 5.0 AS x2,"
               " 1 + 2 * ((g % 17) / 17.0) - 3 * ((g % 5) / 5.0) AS y FROM generate_series(1, 200) g")
    db.execute("SELECT db4ai.create_snapshot('public', 'pts', ARRAY['SELECT * FROM pts'])")
    return db


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds passed (a killed client's backend
    exits a moment after its socket closes)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
