"""db4ai.data.points_query / first_array_length: one array column read as fixed-width points, invalid
arrays kept in place as dead points, NULL arrays left out and counted."""

from __future__ import annotations

import numpy as np
import pytest

from db4ai import data
from db4ai.data import _source

ROWS = [
    ("{1,2,3}", 0, [1, 2, 3]),
    (None, None, None),  # NULL array: left out, counted in discarded
    ("{1,2}", 1, None),  # too short
    ("{1,2,3,4}", 1, None),  # too long
    ("{1,NULL,3}", 1, None),  # a NULL element
    ("{{1,2,3}}", 1, None),  # not 1-D
    ("{}", 1, None),  # empty
    ("[0:2]={7,8,9}", 0, [7, 8, 9]),  # another lower bound: still a point
    ("{4,5,6}", 0, [4, 5, 6]),
]


@pytest.fixture
def arrays(db):
    db.execute("CREATE TABLE pts (id int, p float8[])")
    with db.cursor() as cur:
        for i, (text, _, _) in enumerate(ROWS):
            cur.execute("INSERT INTO pts VALUES (%s, %s::float8[])", (i, text))
    db.execute("ANALYZE pts")
    return db


@pytest.mark.parametrize("query", ["SELECT (p) AS f1 FROM pts", "SELECT * FROM (SELECT p FROM pts) AS s",
                                   "SELECT p FROM pts ORDER BY id"])
def test_points_keep_dead_rows_in_place(arrays, query):
    rewritten = data.points_query(arrays, query, 3)
    matrices = list(data.stream_matrix(arrays, rewritten, chunk_rows=2))
    values = np.concatenate([m.values for m in matrices])
    assert sum(m.discarded for m in matrices) == 1
    expected = [(flag, point) for _, flag, point in ROWS if flag is not None]
    assert values[:, 0].tolist() == [flag for flag, _ in expected]
    for row, (flag, point) in zip(values, expected):
        assert row[1:].tolist() == (point if flag == 0 else [0.0, 0.0, 0.0])


def test_a_plain_table_query_stays_a_page_range_scan(arrays):
    rewritten = data.points_query(arrays, 'SELECT (p) AS "f1" FROM pts', 3)
    assert _source.table_scan(arrays, rewritten, data.describe(arrays, rewritten)) is not None
    assert data.points_query(arrays, "SELECT * FROM (SELECT p FROM pts) AS s", 3).endswith("FROM (SELECT p FROM pts) AS s")
    assert data.points_query(arrays, "SELECT p FROM pts ORDER BY id", 3).endswith("FROM (SELECT p FROM pts ORDER BY id) AS q(a)")


def test_first_array_length(arrays):
    assert data.first_array_length(arrays, "SELECT p FROM pts ORDER BY id") == 3
    assert data.first_array_length(arrays, "SELECT p FROM pts WHERE id >= 5 ORDER BY id") == 1  # {{1,2,3}}: 1 x 3
    assert data.first_array_length(arrays, "SELECT p FROM pts WHERE id = 6") == 0  # {}
    assert data.first_array_length(arrays, "SELECT p FROM pts WHERE id = 1") is None  # only a NULL
    with pytest.raises(ValueError):
        data.points_query(arrays, "SELECT id, p FROM pts", 3)
