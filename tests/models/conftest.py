"""Fixtures for the model tests: a database with the model module, tables of training data."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest



@pytest.fixture
def mdb(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Autocommit superuser connection to a fresh database with db4ai installed (model module included)."""
    yield db


def houses(conn: psycopg.Connection, table: str = "houses") -> None:
    """openGauss's regress data set `houses` (MADlib's example), 15 rows."""
    conn.execute(f"""
        CREATE TABLE {table} (id int, tax int, bedroom int, bath float8, price int, size int, lot int);
        INSERT INTO {table} VALUES
        (1,590,2,1,50000,770,22100),(2,1050,3,2,85000,1410,12000),(3,20,3,1,22500,1060,3500),
        (4,870,2,2,90000,1300,17500),(5,1320,3,2,133000,1500,30000),(6,1350,2,1,90500,820,25700),
        (7,2790,3,2.5,260000,2130,25000),(8,680,2,1,142500,1170,22000),(9,1840,3,2,160000,1500,19000),
        (10,3680,4,2,240000,2790,20000),(11,1660,3,1,87000,1030,17500),(12,1620,3,2,118600,1250,20000),
        (13,3100,3,2,140000,1760,38000),(14,2070,2,3,148000,1550,14000),(15,650,3,1.5,65000,1450,12000)
    """)


def synthetic(conn: psycopg.Connection, table: str = "points", n: int = 500, seed: int = 0,
              nulls: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A table (id, x1, x2, x3 float8, flag bool, y float8, yi int4) with a known linear relation,
    written in id order (so its scan order is id order). Returns features [x1, x2, x3, flag], y
    and the mask of rows that have a NULL (x2 NULL when id % 50 = 3, y NULL when id % 70 = 5)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.5, -1.0, 2.0]
    flag = rng.random(n) < 0.5
    y = X @ [1.5, -0.7, 3.0] + 2.0 * flag + 4.0 + rng.normal(scale=0.05, size=n)
    ids = np.arange(n)
    null_x2 = nulls & (ids % 50 == 3)
    null_y = nulls & (ids % 70 == 5)
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, flag bool,"
                 " y float8, yi int4)")
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
        for i in range(n):
            copy.write_row((i, float(X[i, 0]), None if null_x2[i] else float(X[i, 1]), float(X[i, 2]),
                            bool(flag[i]), None if null_y[i] else float(y[i]),
                            None if null_y[i] else int(np.trunc(y[i] * 10))))
    return np.column_stack([X, flag.astype(float)]), y, null_x2 | null_y
