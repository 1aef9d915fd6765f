"""Sequence batches: ``db4ai.data.sequences`` against reading the rows and grouping them in pandas.

Data: ``bench_seq(k, t, x1 float8, x2 float4)`` with ``--rows`` rows in ``rows / 100`` keys (1M rows:
10,000 keys of 100 steps), inserted in an order unrelated to (k, t). Both sides produce the same
batches of 64 sequences padded with a mask: db4ai groups and orders on the server and holds one
batch of keys; pandas reads every row (``read_sql``), sorts, groups and pads. Time is the best of
``--repeats``; memory is tracemalloc's peak of Python allocations (numpy included) during one pass.
Goals: at least as fast as pandas, and at most a quarter of its peak memory.
"""

from __future__ import annotations

import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
import psycopg

from benchmarks._harness import BenchContext, Measurement

GROUP = "sequences"
QUERY = "SELECT k, t, x1, x2 FROM bench_seq"
BATCH = 64


def _create(conn: psycopg.Connection, rows: int) -> int:
    keys = max(rows // 100, 1)
    conn.execute("DROP TABLE IF EXISTS bench_seq")
    with conn.transaction():
        conn.execute("SELECT setseed(0.5)")
        conn.execute("CREATE TABLE bench_seq AS SELECT (g::int8 * 7919) %% %s AS k, g AS t, random() AS x1,"
                     " random()::float4 AS x2 FROM generate_series(1, %s) g", (keys, rows))
    conn.execute("VACUUM ANALYZE bench_seq")
    return keys


def _db4ai(conn: psycopg.Connection) -> int:
    from db4ai.data import sequences

    return sum(len(b) for b in sequences(conn, QUERY, key="k", order_by="t", batch_size=BATCH))


def _pandas(conn: psycopg.Connection) -> int:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about connections that are not SQLAlchemy
        df = pd.read_sql(QUERY, conn)
    groups = [g[["x1", "x2"]].to_numpy() for _, g in df.sort_values(["k", "t"]).groupby("k", sort=True)]
    seen = 0
    for s in range(0, len(groups), BATCH):
        chunk = groups[s:s + BATCH]
        lengths = np.array([len(g) for g in chunk])
        values = np.zeros((len(chunk), lengths.max(), 2))
        for i, g in enumerate(chunk):
            values[i, :len(g)] = g
        mask = np.arange(lengths.max())[None, :] < lengths[:, None]
        seen += int(mask[:, 0].sum())  # every sequence has a first step
    return seen


def _peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()


def run(ctx: BenchContext) -> list[Measurement]:
    with ctx.connect() as conn:
        keys = _create(conn, ctx.rows)
        try:
            assert _db4ai(conn) == _pandas(conn) == keys
            ref = f"pandas: read_sql, sort, groupby, pad ({keys:,} keys)"
            mine = "db4ai.data.sequences (server groups and orders)"
            out = [Measurement(GROUP, ref, ctx.best_of(lambda: _pandas(conn))),
                   Measurement(GROUP, mine, ctx.best_of(lambda: _db4ai(conn)), reference=ref, goal=1.0)]
            pandas_mb, db4ai_mb = _peak_mb(lambda: _pandas(conn)), _peak_mb(lambda: _db4ai(conn))
        finally:
            conn.execute("DROP TABLE IF EXISTS bench_seq")
    out += [Measurement(GROUP, "pandas: peak Python memory", pandas_mb, unit="MB"),
            Measurement(GROUP, "db4ai.data.sequences: peak Python memory", db4ai_mb, unit="MB",
                        reference="pandas: peak Python memory", goal=0.25)]
    return out
