"""Reading bench_data (id, x1..x4, y) into numpy: db4ai.data against the usual ways.

* ADBC PostgreSQL driver -> Arrow -> numpy: the fastest driver read, the reference;
* db4ai.data.read on one connection (server-packed arrays over ctid ranges; goal: at most 1.0x
  ADBC) and on ``--parallel`` connections (default: the automatic value; goal at most 0.7x);
* db4ai.data.read_matrix (the training path), for information;
* a query that is not a plain table scan (ORDER BY id), which db4ai.data reads through ADBC,
  against ADBC reading the same query (goal: at most 1.2x), and, side by side, the same query
  by server-packed row-number groups (the path before ADBC, still used for small results);
* psycopg binary COPY decoded with numpy, psycopg fetchall, pandas.read_sql: what people do.
"""

from __future__ import annotations

import warnings

import numpy as np
import psycopg
from psycopg import sql

from benchmarks._harness import BenchContext, Measurement

GROUP = "read"
ADBC = "ADBC -> Arrow -> numpy"
ADBC_ORDERED = "ADBC ORDER BY id"
COLUMNS = ("id", "x1", "x2", "x3", "x4", "y")


def _adbc(dsn: str, query: str) -> dict[str, np.ndarray]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        table = cur.fetch_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def _copy_numpy(conn: psycopg.Connection, query: str) -> np.ndarray:
    fields = [("n", ">i2")]
    for name in COLUMNS:
        fields += [(f"len_{name}", ">i4"), (name, ">i8" if name == "id" else ">f8")]
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(sql.SQL(query))) as copy:
        buf = b"".join(copy)
    return np.frombuffer(buf, dtype=np.dtype(fields), offset=19, count=(len(buf) - 21) // np.dtype(fields).itemsize)


def _pandas(conn: psycopg.Connection, query: str) -> object:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about connections that are not SQLAlchemy
        return pd.read_sql(query, conn)


def _packed_groups(conn: psycopg.Connection, query: str) -> object:
    """db4ai.data.read with the ADBC path switched off (server-packed row-number groups)."""
    from db4ai import data
    from db4ai.data import _reader

    saved = _reader.ARROW_MIN_ROWS
    _reader.ARROW_MIN_ROWS = float("inf")  # type: ignore[assignment]
    try:
        return data.read(conn, query, parallel=1)
    finally:
        _reader.ARROW_MIN_ROWS = saved


def run(ctx: BenchContext) -> list[Measurement]:
    from db4ai import data

    query = f"SELECT {', '.join(COLUMNS)} FROM {ctx.table}"
    ordered = query + " ORDER BY id"
    extra = {"rows": ctx.rows, "columns": len(COLUMNS)}
    _adbc(ctx.dsn, "SELECT 1 AS warm_up")  # load the driver before timing it
    with ctx.connect() as conn:
        p = ctx.parallel or data.resolve_parallel(conn, None)
        frame = data.read(conn, query, parallel=p)
        assert len(frame) == ctx.rows and not any(m.any() for m in frame.nulls.values())
        cases = [
            (ADBC, lambda: _adbc(ctx.dsn, query), None, None),
            ("db4ai.data.read", lambda: data.read(conn, query, parallel=1), ADBC, 1.0),
            (f"db4ai.data.read parallel={p}", lambda: data.read(conn, query, parallel=p), ADBC, 0.7 if p > 1 else None),
            ("db4ai.data.read_matrix", lambda: data.read_matrix(conn, query, parallel=1), ADBC, None),
            (f"db4ai.data.read_matrix parallel={p}", lambda: data.read_matrix(conn, query, parallel=p), ADBC, None),
            (ADBC_ORDERED, lambda: _adbc(ctx.dsn, ordered), None, None),
            ("db4ai.data.read ORDER BY id", lambda: data.read(conn, ordered, parallel=1), ADBC_ORDERED, 1.2),
            ("db4ai.data.read ORDER BY id, packed row groups", lambda: _packed_groups(conn, ordered), ADBC_ORDERED, None),
            ("psycopg binary COPY + numpy", lambda: _copy_numpy(conn, query), ADBC, None),
            ("psycopg fetchall", lambda: conn.execute(query).fetchall(), ADBC, None),
            ("pandas.read_sql", lambda: _pandas(conn, query), ADBC, None),
        ]
        return [Measurement(GROUP, name, ctx.best_of(fn), reference=ref, goal=goal, extra=extra)
                for name, fn, ref, goal in cases]
