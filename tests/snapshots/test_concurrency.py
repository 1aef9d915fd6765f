"""Concurrent calls (DESIGN §3.4): sessions preparing from one parent at the same time get distinct
versions or the clean "already exists" error, and nothing half-made is left behind."""

from __future__ import annotations

import threading

import psycopg
import pytest

from .conftest import MODES, Db

SESSIONS = 4


def race(dsn: str, mode: str, calls: list[tuple[str, tuple]]) -> list[object]:
    """Run one call per session, all released at once; returns each result or the error."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(i: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT set_config('db4ai.snapshot_mode', %s, false)", (mode,))
            barrier.wait()
            try:
                results[i] = conn.execute(*calls[i]).fetchone()
            except psycopg.Error as exc:
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("mode", MODES)
def test_parallel_prepares_of_one_parent(sdb: Db, db_dsn: str, mode: str) -> None:
    sdb.rows("SELECT db4ai.create_snapshot('public', 'race', ARRAY['SELECT * FROM test_data'])")
    same = ("SELECT (db4ai.prepare_snapshot('public', 'race@1.0.0', '{DELETE, WHERE pk <= 10}')).name", ())
    results = race(db_dsn, mode, [same] * SESSIONS)
    winners = [r for r in results if isinstance(r, tuple)]
    losers = [r for r in results if isinstance(r, psycopg.Error)]
    assert winners == [("race@1.1.0",)]
    assert len(losers) == SESSIONS - 1
    for err in losers:
        assert err.diag.sqlstate == "42710"
        assert err.diag.message_primary == 'snapshot public."race@1.1.0" already exists'

    distinct = [("SELECT (db4ai.prepare_snapshot('public', 'race@1.0.0', %s, %s)).name",
                 ([f"UPDATE snapshot SET a1 = {i}", f"INSERT INTO snapshot SELECT * FROM test_data WHERE pk = {i + 1}"], f"v{i}"))
                for i in range(SESSIONS)]
    results = race(db_dsn, mode, distinct)
    assert sorted(results) == [(f"race@v{i}",) for i in range(SESSIONS)]
    for i in range(SESSIONS):
        assert sdb.rows(f'SELECT count(*), count(*) FILTER (WHERE a1 = {i}) FROM "race@v{i}"') == [(1001, 1000)]
    # every catalog row has its storage row and view; no temp or half-made tables survive
    assert sdb.one("SELECT count(*) FROM db4ai.snapshot s JOIN db4ai.snapshot_storage USING (id)") == 2 + SESSIONS
    assert sdb.one("SELECT count(*) FROM pg_class WHERE relname LIKE 'race@%%'") == 2 + SESSIONS
    assert sdb.one("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_db4ai\\_%%' AND relpersistence = 't'") == 0
    ids = sdb.rows("SELECT id FROM db4ai.snapshot ORDER BY id")
    assert len(ids) == len(set(ids))


def test_purge_waits_for_a_derivation_in_progress(sdb: Db, db_dsn: str) -> None:
    """A purge of a parent that another session is deriving from waits, then sees the new child."""
    sdb.rows("SELECT db4ai.create_snapshot('public', 'busy', ARRAY['SELECT * FROM test_data'])")
    with psycopg.connect(db_dsn) as deriving:  # an open transaction holding the derivation
        deriving.execute("SELECT db4ai.prepare_snapshot('public', 'busy@1.0.0', '{DELETE, WHERE pk < 10}')")
        outcome: list[object] = []

        def purge() -> None:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                try:
                    conn.execute("SELECT db4ai.purge_snapshot('public', 'busy@1.0.0')")
                    outcome.append("purged")
                except psycopg.Error as exc:
                    outcome.append(exc)

        thread = threading.Thread(target=purge)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive() and outcome == []  # waiting for the derivation
        deriving.commit()
        thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], psycopg.Error)
    assert outcome[0].diag.message_primary == """cannot purge root snapshot 'public."busy@1.0.0"' having dependent snapshots"""
    assert sdb.one('SELECT count(*) FROM "busy@1.1.0"') == 991
