"""The ADBC path for non-table queries, the parallelism setting and prefetching readers.

The ADBC path is taken for large results only (``ARROW_MIN_ROWS``); these tests lower the
threshold so that small tables take it, and compare with psycopg's fetchall as the others do.
"""

from __future__ import annotations

import threading

import numpy as np
import psycopg
import pytest

from db4ai import data
from db4ai.data import _arrow, _parallel, _reader
from db4ai.errors import InvalidParameter

from .conftest import assert_frame_matches, reference

SCALARS = "SELECT id, i2, i4, i8, f4, f8, num, b FROM alltypes ORDER BY id DESC"


@pytest.fixture
def arrow_always(monkeypatch):
    monkeypatch.setattr(_reader, "ARROW_MIN_ROWS", 0)
    calls: list[str] = []
    real = _arrow.frames

    def spy(conn, query, *args, **kwargs):
        calls.append(query)
        return real(conn, query, *args, **kwargs)

    monkeypatch.setattr(_arrow, "frames", spy)
    return calls


@pytest.mark.parametrize("chunk_rows", [1, 13, 65536])
def test_adbc_read_of_a_query_equals_fetchall_with_nulls(alltypes, arrow_always, chunk_rows):
    names, rows = reference(alltypes, SCALARS)
    frames = list(data.stream(alltypes, SCALARS, chunk_rows=chunk_rows))
    assert arrow_always  # the ADBC path read it
    assert all(len(f) == chunk_rows for f in frames[:-1]) and 0 < len(frames[-1]) <= chunk_rows
    assert_frame_matches(data.read(alltypes, SCALARS, chunk_rows=chunk_rows), names, rows)


def test_adbc_path_skips_arrays_and_falls_back_for_temporary_tables(alltypes, arrow_always):
    names, rows = reference(alltypes, "SELECT id, a8 FROM alltypes ORDER BY id")
    assert_frame_matches(data.read(alltypes, "SELECT id, a8 FROM alltypes ORDER BY id"), names, rows)
    assert arrow_always == []  # arrays are read by the packed path
    alltypes.execute("CREATE TEMP TABLE scratch AS SELECT g AS id, g * 0.5 AS x FROM generate_series(1, 500) g")
    frame = data.read(alltypes, "SELECT id, x FROM scratch ORDER BY id DESC", chunk_rows=100)
    assert len(arrow_always) == 1  # tried, and the caller's own connection read it instead
    assert frame.arrays["id"].tolist() == list(range(500, 0, -1))


def test_adbc_read_sees_the_callers_session_settings_and_snapshot(alltypes, arrow_always):
    alltypes.execute("CREATE SCHEMA hidden; CREATE TABLE hidden.t AS SELECT g AS v FROM generate_series(1, 50) g")
    alltypes.execute("SET search_path = hidden, public")
    assert data.read(alltypes, "SELECT v FROM t ORDER BY v").arrays["v"].tolist() == list(range(1, 51))
    assert arrow_always == ["SELECT v FROM t ORDER BY v"]
    alltypes.execute("RESET search_path")


def test_adbc_errors_are_psycopg_errors(alltypes, arrow_always):
    with pytest.raises(psycopg.errors.DivisionByZero):
        data.read(alltypes, "SELECT 1 / (id - 5) AS x FROM alltypes ORDER BY id")
    alltypes.execute("SET statement_timeout = '100ms'")
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            data.read(alltypes, "SELECT id, pg_sleep(0.01) IS NULL AS s FROM alltypes ORDER BY id")
    finally:
        alltypes.execute("RESET statement_timeout")


def test_parallel_setting_and_automatic_default(db):
    assert _parallel.resolve_parallel(db, 3) == 3
    server = int(db.execute("SHOW max_parallel_workers").fetchone()[0])
    assert _parallel.resolve_parallel(db, None) == max(1, min(_parallel.client_cpus(), server))
    db.execute("SET db4ai.parallel = 5")
    assert _parallel.resolve_parallel(db, None) == 5
    db.execute("SET db4ai.parallel = 'auto'")
    assert _parallel.resolve_parallel(db, None) == max(1, min(_parallel.client_cpus(), server))
    db.execute("SET max_parallel_workers = 1")
    assert _parallel.resolve_parallel(db, None) == 1
    for bad in ("0", "many"):
        db.execute("SELECT set_config('db4ai.parallel', %s, false)", (bad,))
        with pytest.raises(InvalidParameter, match="db4ai.parallel must be auto or a positive number"):
            data.read(db, "SELECT 1 AS x")
    with pytest.raises(InvalidParameter, match="parallel must be at least 1"):
        _parallel.resolve_parallel(db, 0)


def test_stream_matrix_prefetches_in_a_background_thread(db):
    db.execute("CREATE TABLE big AS SELECT g AS id, g * 0.5 AS x FROM generate_series(1, 5000) g")
    threads: set[str] = set()
    real = _reader.to_matrix

    def spy(frame, *args, **kwargs):
        threads.add(threading.current_thread().name)
        return real(frame, *args, **kwargs)

    try:
        _reader.to_matrix = spy  # type: ignore[assignment]
        got = [m.values for m in data.stream_matrix(db, "SELECT id, x FROM big", chunk_rows=500, parallel=1)]
        assert threads == {"db4ai-prefetch"}
        threads.clear()
        again = [m.values for m in data.stream_matrix(db, "SELECT id, x FROM big", chunk_rows=500, prefetch=0, parallel=1)]
        assert threads == {threading.current_thread().name}
    finally:
        _reader.to_matrix = real  # type: ignore[assignment]
    assert np.array_equal(np.concatenate(got), np.concatenate(again))
    # an abandoned prefetching stream stops its thread and frees the connection
    it = data.stream_matrix(db, "SELECT id, x FROM big", chunk_rows=100)
    next(it)
    it.close()
    assert db.execute("SELECT 1").fetchone() == (1,)
    assert not [t for t in threading.enumerate() if t.name == "db4ai-prefetch"]
