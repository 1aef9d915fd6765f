"""Sequence batches: equal to a pandas groupby reference (padding and masks included), bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import psycopg
import pytest

from db4ai.data import SequenceBatch, read, sequence_items, sequences
from db4ai.errors import FeatureError, InvalidParameter


@pytest.fixture
def series(db):
    """Time series: 40 keys of 1..14 steps inserted out of order, float8 and float4 values,
    a few rows with a NULL key (left out, as pandas' groupby does)."""
    db.execute("""
        CREATE TABLE ts AS
        SELECT k, t, sin(k * 7 + t)::float8 AS x, (k * 100 + t)::float4 AS y
          FROM generate_series(1, 40) k, generate_series(1, 1 + (k * 37) % 14) t
         ORDER BY md5(k::text || t::text);
        INSERT INTO ts VALUES (NULL, 1, 1.0, 1.0), (NULL, 2, 2.0, 2.0);
    """)
    return db


def frame(conn: psycopg.Connection, query: str) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def reference(df: pd.DataFrame, key: str, order: str, values: list[str], batch_size: int,
              max_length: int | None = None, keep: str = "first") -> list[SequenceBatch]:
    """What the batches must be, from pandas: sort, group, cut, pad with zeros."""
    groups = []
    for k, g in df.sort_values([key, order]).groupby(key, sort=True):
        v = g[values].to_numpy(dtype=np.float64)
        if max_length is not None:
            v = v[:max_length] if keep == "first" else v[-max_length:]
        groups.append((k, v[:, 0] if len(values) == 1 else v))
    out = []
    for s in range(0, len(groups), batch_size):
        chunk = groups[s:s + batch_size]
        longest = max(len(v) for _, v in chunk)
        values_ = np.zeros((len(chunk), longest, *chunk[0][1].shape[1:]))
        mask = np.zeros((len(chunk), longest), dtype=bool)
        for i, (_, v) in enumerate(chunk):
            values_[i, :len(v)] = v
            mask[i, :len(v)] = True
        out.append(SequenceBatch(np.array([k for k, _ in chunk]), values_, mask, mask.sum(axis=1)))
    return out


def assert_batches_equal(got: list[SequenceBatch], want: list[SequenceBatch]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.array_equal(g.keys, w.keys)
        assert g.values.shape == w.values.shape
        assert np.array_equal(g.values.astype(np.float64), w.values)  # padding included
        assert g.mask.dtype == bool and np.array_equal(g.mask, w.mask)
        assert g.lengths.dtype == np.int64 and np.array_equal(g.lengths, w.lengths)


@pytest.mark.parametrize("max_length, keep, batch_size", [
    (None, "first", 1), (None, "first", 64), (5, "first", 7), (5, "last", 7), (1, "last", 7)])
def test_step_rows_equal_the_pandas_groupby_reference(series, max_length, keep, batch_size):
    got = list(sequences(series, "SELECT k, t, x, y FROM ts", key="k", order_by="t", batch_size=batch_size,
                         max_length=max_length, keep=keep))
    want = reference(frame(series, "SELECT k, t, x, y FROM ts"), "k", "t", ["x", "y"], batch_size, max_length, keep)
    assert_batches_equal(got, want)
    assert got[0].values.dtype == np.float64  # float8 and float4 together


def test_one_value_column_gives_two_dimensional_batches_of_its_type(series):
    got = list(sequences(series, "SELECT k, t, y FROM ts", key="k", order_by="t", batch_size=8))
    assert got[0].values.dtype == np.float32 and got[0].values.ndim == 2
    assert_batches_equal(got, reference(frame(series, "SELECT k, t, y FROM ts"), "k", "t", ["y"], 8))


def test_token_arrays_are_concatenated_in_order(db):
    db.execute("""
        CREATE TABLE docs AS
        SELECT d, part, ARRAY(SELECT (d * 10 + part * 3 + i) % 50 FROM generate_series(1, 1 + (d + part) % 6) i)::int4[] AS ids
          FROM generate_series(1, 30) d, generate_series(1, 1 + d % 3) part ORDER BY md5(d::text || part::text)
    """)
    steps = frame(db, "SELECT d, part * 1000 + i AS pos, ids[i] AS id FROM docs, generate_subscripts(ids, 1) i")
    got = list(sequences(db, "SELECT d, part, ids FROM docs", key="d", order_by="part", batch_size=4, max_length=9))
    assert got[0].values.dtype == np.int32
    assert_batches_equal(got, reference(steps, "d", "pos", ["id"], 4, 9))


def test_bucketing_batches_similar_lengths_and_keeps_every_sequence(series):
    plain = list(sequences(series, "SELECT k, t, x FROM ts", key="k", order_by="t", batch_size=4))
    bucketed = list(sequences(series, "SELECT k, t, x FROM ts", key="k", order_by="t", batch_size=4,
                              bucket=True, bucket_batches=5))
    by_key = {k: (b.values[i], b.lengths[i]) for b in plain for i, k in enumerate(b.keys)}
    for b in bucketed:
        assert list(b.lengths) == sorted(b.lengths)
        for i, k in enumerate(b.keys):
            v, n = by_key.pop(k)
            assert n == b.lengths[i] and np.array_equal(b.values[i, :n], v[:n])
    assert not by_key
    padding = lambda batches: sum(b.values.size - b.lengths.sum() for b in batches)  # noqa: E731
    assert padding(bucketed) < padding(plain)
    seeded = [list(b.keys) for b in sequences(series, "SELECT k, t, x FROM ts", key="k", order_by="t", batch_size=4,
                                              bucket=True, bucket_batches=5, seed=3)]
    assert sorted(seeded) == sorted(list(b.keys) for b in bucketed) and seeded != [list(b.keys) for b in bucketed]


def test_parts_split_the_keys_between_readers(series):
    whole = [k for k, _ in sequence_items(series, "SELECT k, t, x FROM ts", key="k", order_by="t")]
    parts = [[k for k, _ in sequence_items(series, "SELECT k, t, x FROM ts", key="k", order_by="t", chunk_keys=3,
                                           part=p, parts=3)] for p in range(3)]
    assert sorted(sum(parts, [])) == whole and all(parts)
    assert parts[0][:4] == [whole[0], whole[1], whole[2], whole[9]]


@pytest.mark.parametrize("query, kwargs, error, message", [
    ("SELECT k, t, x FROM ts", {"key": "nope"}, InvalidParameter, 'key column "nope" is not in the query'),
    ("SELECT k, t, x FROM ts", {"key": "k", "order_by": "u"}, InvalidParameter, 'order_by column "u"'),
    ("SELECT k, t FROM ts", {"key": "k", "order_by": "t"}, InvalidParameter, "no value columns"),
    ("SELECT k, t, CASE WHEN t = 3 THEN NULL ELSE x END AS x FROM ts", {"key": "k", "order_by": "t"}, FeatureError,
     'value column "x" holds a NULL'),
    ("SELECT k, t, x::text AS x FROM ts", {"key": "k", "order_by": "t"}, FeatureError, "unsupported type"),
    ("SELECT k, x, ARRAY[x] AS a FROM ts", {"key": "k"}, FeatureError, "all scalars"),
    ("SELECT k, t, x FROM ts", {"key": "k", "max_length": 0}, InvalidParameter, "max_length must be at least 1"),
    ("SELECT k, t, x FROM ts", {"key": "k", "keep": "middle"}, InvalidParameter, "keep must be"),
    ("SELECT k, t, x FROM ts", {"key": "k", "batch_size": 0}, InvalidParameter, "batch_size"),
])
def test_bad_requests_raise_clear_errors(series, query, kwargs, error, message):
    with pytest.raises(error, match=message):
        list(sequences(series, query, **kwargs))
    assert series.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_memory_is_bounded_by_keys_not_rows(db):
    """60,000 rows in 600 keys: the feeder holds a batch of keys, not the table (benchmarks/sequences.py
    measures 1M rows in 10,000 keys)."""
    db.execute("CREATE TABLE big AS SELECT g % 600 AS k, g AS t, g * 0.5 AS x, g * 0.25 AS y"
               " FROM generate_series(1, 60000) g")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        whole = read(db, "SELECT k, t, x, y FROM big")
        table_peak = tracemalloc.get_traced_memory()[1]
        del whole
        tracemalloc.reset_peak()
        batches = sum(1 for _ in sequences(db, "SELECT k, t, x, y FROM big", key="k", order_by="t", batch_size=16))
        feeder_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert batches == 38
    assert feeder_peak < table_peak / 4, (feeder_peak, table_peak)


def test_the_pytorch_dataset_and_collate_keep_masks(series, db_dsn):
    torch = pytest.importorskip("torch")
    from db4ai.data.torch import SequenceDataset, pad_collate

    want = {k: v for b in reference(frame(series, "SELECT k, t, x, y FROM ts"), "k", "t", ["x", "y"], 1)
            for k, v in zip(b.keys, b.values)}
    ds = SequenceDataset(db_dsn, "SELECT k, t, x, y FROM ts", key="k", order_by="t", batch_size=None, chunk_keys=4)
    loader = torch.utils.data.DataLoader(ds, batch_size=6, collate_fn=pad_collate, num_workers=2)
    seen = []
    for batch in loader:
        assert batch["values"].dtype == torch.float64 and batch["mask"].dtype == torch.bool
        assert torch.equal(batch["mask"].sum(1), batch["lengths"])
        for i, k in enumerate(batch["keys"]):
            n = int(batch["lengths"][i])
            assert np.array_equal(batch["values"][i, :n].numpy(), want[k][:n])
            assert not batch["values"][i, n:].any()
            seen.append(k)
    assert sorted(seen) == list(range(1, 41))
    batched = SequenceDataset(db_dsn, "SELECT k, t, x FROM ts", key="k", order_by="t", batch_size=10,
                              dtype=torch.float32, max_length=3)
    items = list(torch.utils.data.DataLoader(batched, batch_size=None))
    assert [len(b["keys"]) for b in items] == [10, 10, 10, 10]
    assert items[0]["values"].dtype == torch.float32 and items[0]["values"].shape[1] == 3
