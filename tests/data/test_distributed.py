"""Data-parallel input: every row exactly once per epoch over ranks x workers, DistributedSampler
semantics (same seed and epoch, same order on every rank), equal ranks with drop_tail, cached
snapshot blocks; and two real processes on the gloo backend."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from db4ai.data import _blocks

torch = pytest.importorskip("torch")

from db4ai.data.torch import TorchDataset, distributed_position  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def positions(n, block_rows, **kw) -> list[tuple[int, int]]:
    """(block, row in block) of each row a (rank, worker) gets, in order, without shuffling rows."""
    return [(p.block, i) for p in _blocks.plan(n, block_rows, **kw) for i in range(p.lo, p.hi)]


@pytest.mark.parametrize("n, block_rows, world, workers, batch", [
    (0, 4, 2, 2, 3), (1, 4, 3, 1, 1), (10, 3, 2, 2, 2), (101, 7, 3, 2, 5), (64, 8, 4, 3, 8), (17, 100, 2, 4, 4),
])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_tail", [False, True])
def test_plans_cover_every_row_once_and_drop_tail_evens_the_ranks(n, block_rows, world, workers, batch, shuffle, drop_tail):
    per_rank = []
    seen = []
    for rank in range(world):
        parts = [positions(n, block_rows, rank=rank, world=world, worker=worker, workers=workers, batch_size=batch,
                           shuffle=shuffle, seed=5, epoch=2, drop_tail=drop_tail) for worker in range(workers)]
        sizes = [len(p) for p in parts if p]
        assert all(size % batch == 0 for size in sizes[:-1])  # only a rank's last batch may be short
        rows = [row for p in parts for row in p]
        per_rank.append(len(rows))
        assert -(-len(rows) // batch) == _blocks.rank_batches(n, rank, world, batch, drop_tail=drop_tail)
        seen += rows
    assert len(seen) == len(set(seen))  # disjoint
    if drop_tail:
        assert len(set(per_rank)) == 1 and len(seen) == n - n % world
    else:
        assert max(per_rank) - min(per_rank) <= 1
        assert sorted(b * block_rows + i for b, i in seen) == list(range(n))


def test_block_orders_depend_on_seed_and_epoch_only():
    a = _blocks.block_order(50, shuffle=True, seed=1, epoch=3)
    assert np.array_equal(a, _blocks.block_order(50, shuffle=True, seed=1, epoch=3))
    assert not np.array_equal(a, _blocks.block_order(50, shuffle=True, seed=1, epoch=4))
    assert not np.array_equal(a, _blocks.block_order(50, shuffle=True, seed=2, epoch=3))
    assert sorted(a) == list(range(50))


@pytest.fixture
def ranked(db):
    """1010 rows, 9 of them with a NULL (left out): 1001 rows, an odd count; and a snapshot of them."""
    db.execute("CREATE TABLE rk AS SELECT g AS id, g * 0.25 AS x, CASE WHEN g % 111 = 0 THEN NULL ELSE g % 3 END AS y"
               " FROM generate_series(1, 1010) g")
    db.execute("SELECT db4ai.create_snapshot('public', 'rk', ARRAY['SELECT * FROM rk'])")
    return db


KEPT = [i for i in range(1, 1011) if i % 111]


def epoch_ids(dsn, query, world, workers, epoch, **kw) -> list[list[int]]:
    """Ids each rank yields in one epoch (ranks simulated in turn, each with its DataLoader workers)."""
    out = []
    for rank in range(world):
        ds = TorchDataset(dsn, query, rank=rank, world_size=world, dtype=torch.float64, **kw)
        ds.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers)
        batches = [b[:, 0].long().tolist() for b in loader]
        assert len(batches) == len(ds)
        out.append(list(itertools.chain.from_iterable(batches)))
    return out


@pytest.mark.parametrize("query", ["SELECT id, x, y FROM rk", "SELECT id, x, y FROM rk@1.0.0"])
def test_ranks_and_workers_read_every_row_once_in_a_seeded_order(ranked, db_dsn, query):
    kw = dict(batch_size=64, chunk_rows=100, shuffle=True, seed=7)
    first = epoch_ids(db_dsn, query, 2, 2, 0, **kw)
    assert sorted(first[0] + first[1]) == KEPT
    assert abs(len(first[0]) - len(first[1])) <= 1
    assert epoch_ids(db_dsn, query, 2, 2, 0, **kw) == first  # same seed and epoch: same order
    second = epoch_ids(db_dsn, query, 2, 2, 1, **kw)
    assert sorted(second[0] + second[1]) == KEPT and second != first
    assert first[0] != sorted(first[0])  # shuffled


def test_drop_tail_gives_every_rank_the_same_rows_and_batches(ranked, db_dsn):
    ids = epoch_ids(db_dsn, "SELECT id, x, y FROM rk", 2, 2, 3, batch_size=64, chunk_rows=100, shuffle=True,
                    seed=7, drop_tail=True)
    assert len(ids[0]) == len(ids[1]) == 500
    assert len(set(ids[0]) | set(ids[1])) == 1000 and set(ids[0]).isdisjoint(ids[1])


def test_without_shuffling_ranks_get_contiguous_slices_in_query_order(ranked, db_dsn):
    query = "SELECT id, x, y FROM rk ORDER BY id DESC"
    ids = epoch_ids(db_dsn, query, 3, 0, 0, batch_size=50, chunk_rows=64)  # 3 ranks: planned mode
    assert ids[0] + ids[1] + ids[2] == KEPT[::-1]
    assert [len(i) for i in ids] == [334, 334, 333]


def test_the_cached_snapshot_path_reads_later_epochs_from_disk(ranked, db_dsn, tmp_path):
    ds = TorchDataset(db_dsn, "SELECT id, x FROM rk@1.0.0", batch_size=100, chunk_rows=128, shuffle=True, seed=1,
                      cache_dir=tmp_path, dtype=torch.float64)
    ds.set_epoch(0)
    first = [b[:, 0].long().tolist() for b in ds]
    files = sorted(p.name for p in next(tmp_path.iterdir()).iterdir())
    assert files == sorted([f"b{i}.npy" for i in range(8)] + ["rows.json"])
    ranked.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC")
    ranked.execute("DROP TABLE rk CASCADE")  # the snapshot keeps its own rows; now tamper with them
    store = ranked.execute("SELECT store::text FROM db4ai.snapshot_storage").fetchone()[0]
    ranked.execute(f"ALTER TABLE {store} DISABLE TRIGGER _db4ai_immutable")  # as only its owner could
    ranked.execute(f"UPDATE {store} SET x = -1")  # a cache hit cannot see this change
    # Same query text, same snapshot id: served from the files, read again exactly as before.
    again = TorchDataset(db_dsn, "SELECT id, x FROM rk@1.0.0", batch_size=100, chunk_rows=128, shuffle=True,
                         seed=1, cache_dir=tmp_path, dtype=torch.float64)
    again.set_epoch(0)
    batches = list(again)
    assert [b[:, 0].long().tolist() for b in batches] == first
    assert all((b[:, 1] > 0).all() for b in batches)
    # A table query is never cached: it may change.
    ranked.execute("CREATE TABLE plain AS SELECT 1 AS one")
    assert len(TorchDataset(db_dsn, "SELECT one FROM plain", batch_size=10, shuffle=True,
                            cache_dir=tmp_path / "t")) == 1
    assert not (tmp_path / "t").exists()


def test_rank_and_world_size_come_from_arguments_or_the_environment(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed_position() == (0, 1)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert distributed_position() == (2, 4)
    assert distributed_position(1, 2) == (1, 2)
    with pytest.raises(Exception, match="rank must be in"):
        distributed_position(2, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_with_two_workers_each(ranked, db_dsn, tmp_path):
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
           "PYTHONPATH": str(ROOT)}
    # their output goes to files: a pipe the test does not drain while it waits for the other rank
    # would block a chatty rank, and with it the collective calls of both
    logs = [tmp_path / f"rank{rank}.log" for rank in range(2)]
    procs = []
    for rank, log in enumerate(logs):
        with log.open("w") as out:
            procs.append(subprocess.Popen([sys.executable, str(HERE / "_ddp_rank.py"), db_dsn, str(tmp_path)],
                                          env={**env, "RANK": str(rank)}, stdout=out, stderr=subprocess.STDOUT))
    try:
        for p, log in zip(procs, logs, strict=True):
            p.wait(timeout=240)
            assert p.returncode == 0, log.read_text()
    finally:
        for p in procs:
            p.kill()
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for mode in ("exact", "drop_tail"):
        epochs = [[ranks[r][mode][e] for r in range(2)] for e in range(3)]  # epochs 0, 1, 0 again
        for e, (r0, r1) in enumerate(epochs):
            ids0, ids1 = sum(r0["batches"], []), sum(r1["batches"], [])
            assert set(ids0).isdisjoint(ids1)
            assert r0["position"] == [0, 2] and r1["position"] == [1, 2]  # from the process group
            if mode == "exact":
                assert sorted(ids0 + ids1) == KEPT
            else:
                assert len(ids0) == len(ids1) == 500
                assert len(r0["batches"]) == len(r1["batches"]) == r0["all_batch_counts"][0] == r0["all_batch_counts"][1]
        assert epochs[2] == epochs[0] and epochs[1] != epochs[0]
    assert ranks[0]["cached_files"] > 0  # the snapshot's blocks were kept for later epochs
