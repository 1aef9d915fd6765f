"""The data set of the unsupervised benchmarks: ``bench_points(id bigint, p float8[])``, ``rows`` points in
8 dimensions around 10 well-separated centres (each coordinate of a centre uniform in [-100, 100],
noise the sum of three uniforms, standard deviation 1), generated in SQL with a fixed seed."""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

TABLE = "bench_points"
DIMENSIONS = 8
CENTRES = 10


def create_points(conn: psycopg.Connection, rows: int, table: str = TABLE, seed: float = 0.17) -> None:
    """(Re)create ``table`` with ``rows`` points (skipped when it already holds exactly that many)."""
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]
    if found and conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0] == rows:
        return
    ident = sql.Identifier(table)
    noise = "2.0 * (random() + random() + random() - 1.5)"
    coords = ", ".join(f"c.m[{d}] + {noise}" for d in range(1, DIMENSIONS + 1))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
    with conn.transaction():
        conn.execute("SELECT setseed(%s)", (seed,))
        conn.execute(sql.SQL(
            "CREATE TABLE {t} AS SELECT g::bigint AS id, ARRAY[" + coords + "]::float8[] AS p"
            " FROM generate_series(1, {n}) AS g"
            " JOIN (SELECT c, array_agg(random() * 200 - 100 ORDER BY d) AS m"
            "       FROM generate_series(0, {k} - 1) AS c, generate_series(1, {dims}) AS d GROUP BY c) AS c"
            " ON c.c = g % {k}").format(t=ident, n=sql.Literal(rows), k=sql.Literal(CENTRES),
                                        dims=sql.Literal(DIMENSIONS)))
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(ident))


def adbc_points(dsn: str, query: str) -> np.ndarray:
    """ADBC PostgreSQL driver -> Arrow -> numpy (rows, dimensions): the fastest driver read of the points."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        table = cur.fetch_arrow_table()
    column = table.column(0).combine_chunks()
    return np.asarray(column.flatten()).reshape(len(column), -1)


def pandas_points(conn: psycopg.Connection, query: str) -> np.ndarray:
    """What a user does by hand: pandas.read_sql, then the list column into a matrix."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about connections that are not SQLAlchemy
        frame = pd.read_sql(query, conn)
    return np.array(frame.iloc[:, 0].tolist(), dtype=np.float64)
