"""Faults in the middle of DB4AI statements (issue 14.7): the server ends the session
(pg_terminate_backend) or the client process dies (SIGKILL) at seeded moments of a CREATE MODEL,
a CREATE SNAPSHOT and a CSS derivation. Whatever the moment, the statement either completed whole
or left nothing at all: no catalog row, no half-stored model, no table, view or function."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg
import pytest

import db4ai

from .conftest import broken_models, broken_snapshots, db_state

SEED = 7
# The slow sources make each statement last about a second on the server, so that the faults land
# while rows are read, while the model trains, and around the final transaction.
SLOW = "(SELECT x, y, z, pg_sleep(0.001) AS pause FROM t) AS slow"
STATEMENTS = {
    "create model": f"CREATE MODEL m USING linear_regression FEATURES x, z TARGET y FROM {SLOW} WITH max_iterations = 50",
    "create snapshot": "CREATE SNAPSHOT s AS SELECT x, y, z, pg_sleep(0.001) IS NULL AS p FROM t",
    "css derivation": "SET db4ai.snapshot_mode = 'CSS'; "
                      "CREATE SNAPSHOT c FROM @1.0.0 USING (UPDATE SET x = x + 1 + length(pg_sleep(0.001)::text))",
}


@pytest.fixture
def faultdb(db: psycopg.Connection, db_dsn: str) -> psycopg.Connection:
    db.execute("CREATE TABLE t AS SELECT g AS id, g * 0.5 AS x, (g % 7)::float8 AS z, 3 * g + 1.0 AS y"
               " FROM generate_series(1, 800) g")
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        conn.execute("SET db4ai.snapshot_mode = 'CSS'")
        conn.execute("CREATE SNAPSHOT c AS SELECT * FROM t")
    return db


def whole_or_nothing(db: psycopg.Connection, before: tuple) -> str:
    """"completed" when the statement's objects are there (and whole), "interrupted" when the
    database is exactly as before; anything else fails. Judged by the database, not the client:
    a client killed just after the commit never hears of its success."""
    after = db_state(db)
    assert broken_snapshots(db) == [] and broken_models(db) == []
    if after == before:
        return "interrupted"
    assert len(after[2]) + len(after[4]) == len(before[2]) + len(before[4]) + 1, (before, after)  # one new object
    return "completed"


def wait_gone(db: psycopg.Connection, pid: int) -> None:
    deadline = time.monotonic() + 30
    while db.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
        assert time.monotonic() < deadline, f"backend {pid} did not end"
        time.sleep(0.02)


def reset(db: psycopg.Connection, dsn: str, kind: str) -> None:
    """Undo a statement that completed, so the next fault meets the same starting point."""
    with db4ai.connect(dsn, autocommit=True) as conn:
        if kind == "create model":
            conn.execute("DROP MODEL IF EXISTS m")
        elif kind == "create snapshot":
            if db.execute("SELECT count(*) FROM db4ai.snapshot WHERE name = 's@1.0.0'").fetchone()[0]:
                conn.execute("PURGE SNAPSHOT s@1.0.0")
        elif db.execute("SELECT count(*) FROM db4ai.snapshot WHERE name = 'c@1.0.1'").fetchone()[0]:
            conn.execute("PURGE SNAPSHOT c@1.0.1")


@pytest.mark.parametrize("kind", list(STATEMENTS))
def test_terminated_sessions_leave_whole_objects_or_nothing(faultdb: psycopg.Connection, db_dsn: str, kind: str) -> None:
    rng = random.Random(SEED)
    outcomes = {"interrupted": 0, "completed": 0}
    for delay in sorted(rng.uniform(0.05, 1.2) for _ in range(3)):
        before = db_state(faultdb)
        with db4ai.connect(db_dsn, autocommit=True) as victim:
            pid = victim.info.backend_pid
            timer = threading.Timer(delay, lambda: faultdb.execute("SELECT pg_terminate_backend(%s)", (pid,)))
            timer.start()
            try:
                victim.execute(STATEMENTS[kind])
            except (psycopg.OperationalError, db4ai.Error):
                pass  # the session ended; the database says what happened
            timer.join()
        wait_gone(faultdb, pid)
        outcomes[whole_or_nothing(faultdb, before)] += 1
        reset(faultdb, db_dsn, kind)
    print(f"\nfaults ({kind}, pg_terminate_backend): {outcomes}")
    assert outcomes["interrupted"] >= 1, outcomes


# client_connection_check_interval: the server checks during a long statement whether its client is
# still there, so a kill interrupts server-side work too, not only the training in the client.
VICTIM = textwrap.dedent("""
    import sys, db4ai
    with db4ai.connect(sys.argv[1], autocommit=True, application_name="db4ai_victim",
                       options="-c client_connection_check_interval=50") as conn:
        print("ready", flush=True)
        conn.execute(sys.argv[2])
    print("done", flush=True)
""")


@pytest.mark.parametrize("kind", ["create model", "css derivation"])
def test_a_killed_client_leaves_whole_objects_or_nothing(faultdb: psycopg.Connection, db_dsn: str, kind: str) -> None:
    rng = random.Random(SEED + 1)
    outcomes = {"interrupted": 0, "completed": 0}
    for delay in sorted(rng.uniform(0.1, 1.2) for _ in range(2)):
        before = db_state(faultdb)
        proc = subprocess.Popen([sys.executable, "-c", VICTIM, db_dsn, STATEMENTS[kind]],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 30  # the server ends the session when it next talks to the client
        while faultdb.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'db4ai_victim'").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed client's session did not end"
            time.sleep(0.05)
        outcomes[whole_or_nothing(faultdb, before)] += 1
        reset(faultdb, db_dsn, kind)
    print(f"\nfaults ({kind}, client SIGKILL): {outcomes}")
    assert outcomes["interrupted"] >= 1, outcomes
