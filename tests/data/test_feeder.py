"""BatchFeeder: consecutive-row batches, seeded batch-order shuffling (rows inside a batch keep
scan order), background prefetch that stops cleanly, and the same batches whatever the cache."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from db4ai import data
from db4ai.data import BatchFeeder, Matrix

from .test_cache import make_snapshot


def matrix(n: int, k: int = 3) -> Matrix:
    return Matrix(np.arange(n * k, dtype=np.float64).reshape(n, k), 0, ())


def chunks_of(m: Matrix, sizes: list[int]) -> list[Matrix]:
    bounds = np.cumsum([0, *sizes])
    assert bounds[-1] == len(m)
    return [Matrix(m.values[a:b], 1, ()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def starts(batches: list[np.ndarray], k: int = 3) -> list[int]:
    return [int(b[0, 0]) // k for b in batches]


@pytest.mark.parametrize("prefetch", [0, 2])
def test_batches_are_consecutive_rows_with_a_short_last_batch(prefetch):
    m = matrix(23)
    for source in (m, m.values, chunks_of(m, [5, 1, 10, 7]), lambda: iter(chunks_of(m, [9, 14]))):
        batches = list(BatchFeeder(source, 4, prefetch=prefetch))
        assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 3]
        assert np.array_equal(np.concatenate(batches), m.values)


def test_shuffle_permutes_whole_batches_reproducibly():
    m = matrix(100)
    feeder = BatchFeeder(m, 7, shuffle=True, seed=42)
    passes = [list(feeder) for _ in range(3)]
    for batches in passes:
        assert sorted(starts(batches)) == list(range(0, 100, 7))  # every batch once
        for b in batches:  # rows inside a batch stay consecutive, in scan order
            assert np.array_equal(np.diff(b[:, 0]), np.full(len(b) - 1, 3.0))
    assert starts(passes[0]) != starts(passes[1])  # a new order each pass
    again = BatchFeeder(m, 7, shuffle=True, seed=42)
    assert [starts(list(again)) for _ in range(3)] == [starts(p) for p in passes]
    assert starts(list(BatchFeeder(m, 7, shuffle=True, seed=43))) != starts(passes[0])
    assert starts(list(BatchFeeder(m, 7))) == list(range(0, 100, 7))


def test_first_pass_in_order_then_shuffled():
    feeder = BatchFeeder(matrix(50), 5, shuffle=True, seed=1, first_pass_in_order=True)
    assert starts(list(feeder)) == list(range(0, 50, 5))
    assert starts(list(feeder)) != list(range(0, 50, 5))


def test_streamed_sources_shuffle_within_windows():
    m = matrix(100)
    feeder = BatchFeeder(lambda: iter(chunks_of(m, [30, 30, 40])), 5, shuffle=True, seed=3, shuffle_window=4)
    order = starts(list(feeder))
    assert len(order) == 20
    for w in range(5):  # each window of 4 batches is a permutation of those 4 batches
        assert sorted(order[4 * w:4 * w + 4]) == list(range(20 * w, 20 * w + 20, 5))
    assert order != list(range(0, 100, 5))
    assert feeder.rows == 100 and feeder.discarded == 3


def test_a_one_shot_iterator_gives_one_pass():
    feeder = BatchFeeder(iter([matrix(10)]), 4)
    assert len(list(feeder)) == 3
    assert list(feeder) == []


def test_prefetch_propagates_errors_and_stops_when_abandoned():
    def broken():
        yield matrix(8)
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        list(BatchFeeder(broken, 4, prefetch=2))
    before = threading.active_count()
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield matrix(10)
        finally:
            closed.set()

    it = iter(BatchFeeder(endless, 3, prefetch=2))
    next(it)
    it.close()
    assert closed.is_set() and threading.active_count() == before


def test_bad_arguments():
    with pytest.raises(ValueError):
        BatchFeeder(matrix(3), 0)
    with pytest.raises(ValueError):
        list(BatchFeeder(np.zeros(3), 2))


def test_a_1mb_cache_gives_the_same_batches_as_an_unlimited_cache_and_no_cache(db):
    # About 2.4 MB of float8: with a 1 MB limit most chunks live in memory-mapped files.
    db.execute("CREATE TABLE pts AS SELECT g AS id, sin(g) AS x1, cos(g) AS x2, g % 7 AS y"
               " FROM generate_series(1, 100000) g")
    snap = make_snapshot(db, "pts", "pts")
    query = f"SELECT y, x1, x2 FROM {snap} ORDER BY id"

    def passes(cache):
        feeder = BatchFeeder(lambda: data.stream_matrix(db, query, cache=cache, chunk_rows=8192), 1000,
                             shuffle=True, seed=7, shuffle_window=16)
        return [list(feeder) for _ in range(3)]

    with data.Cache(memory_limit=1 << 20) as small, data.Cache() as unlimited:
        a, b, c = passes(small), passes(unlimited), passes(None)
        assert small.disk_used > 0 and small.memory_used <= 1 << 20 and unlimited.disk_used == 0
    for pa, pb, pc in zip(a, b, c, strict=True):
        assert len(pa) == 100
        assert all(np.array_equal(x, y) and np.array_equal(x, z) for x, y, z in zip(pa, pb, pc, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a[1], a[2], strict=True))  # passes differ, reproducibly
