"""read_matrix / stream_matrix: float64 rows, NULL and non-finite rows discarded and counted, one
array column expanded in place; checked against a matrix built from psycopg's fetchall."""

from __future__ import annotations

import math

import numpy as np
import pytest

from db4ai import data
from db4ai.errors import FeatureError

from .conftest import reference


def reference_matrix(conn, query: str) -> tuple[np.ndarray, int]:
    """Rows of ``query`` without NULLs (in arrays too) and with finite values only, as float64,
    and the number dropped."""
    _, rows = reference(conn, query)
    kept, dropped = [], 0
    for row in rows:
        flat: list[float] = []
        ok = True
        for value in row:
            if value is None or (isinstance(value, list) and any(v is None for v in value)):
                ok = False
                break
            flat.extend(float(v) for v in value) if isinstance(value, list) else flat.append(float(value))
        if ok and all(math.isfinite(v) for v in flat):
            kept.append(flat)
        else:
            dropped += 1
    return np.array(kept, dtype=np.float64), dropped


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)


QUERIES = [
    "SELECT f8, i4, b, num, i2, i8 FROM alltypes",  # table: ctid ranges
    "SELECT f8, i4, b, num, i2, i8 FROM alltypes ORDER BY id DESC",  # any query: row groups
    "SELECT f8, a8, i2 FROM alltypes",  # one array column, expanded in place
    "SELECT a8 FROM alltypes ORDER BY id",
]


@pytest.mark.parametrize("query", QUERIES)
def test_read_matrix_equals_the_reference(alltypes, query):
    want, dropped = reference_matrix(alltypes, query if "ORDER" in query else query + " ORDER BY ctid")
    assert dropped > 0  # the data has NULLs in every column
    for kwargs in ({}, {"chunk_rows": 17}, {"parallel": 2, "chunk_rows": 40}):
        matrix = data.read_matrix(alltypes, query, **kwargs)
        assert_same(matrix.values, want)
        assert matrix.discarded == dropped
        assert [c.name for c in matrix.columns] == reference(alltypes, query + " LIMIT 0")[0]


def test_stream_matrix_chunks_add_up_to_read_matrix(alltypes):
    query = "SELECT f4, a4, b FROM alltypes ORDER BY id"
    want, dropped = reference_matrix(alltypes, query)
    parts = list(data.stream_matrix(alltypes, query, chunk_rows=25))
    assert all(p.values.shape[1] == 5 for p in parts if len(p))
    assert [len(p) + p.discarded for p in parts] == [25] * 16 + [6]
    assert_same(np.concatenate([p.values for p in parts]), want)
    assert sum(p.discarded for p in parts) == dropped


def test_bool_is_zero_or_one_and_numeric_is_float(db):
    db.execute("CREATE TABLE t (b bool, n numeric); INSERT INTO t VALUES (true, 1.5), (false, '-2.25'), (NULL, 3)")
    matrix = data.read_matrix(db, "SELECT b, n FROM t")
    assert matrix.values.tolist() == [[1.0, 1.5], [0.0, -2.25]] and matrix.discarded == 1


def test_only_one_array_column_may_stand_in_for_features(alltypes):
    with pytest.raises(FeatureError, match="^Input array cannot be combined with other features"):
        data.read_matrix(alltypes, "SELECT a4, a8 FROM alltypes")


def test_unsupported_type_in_a_matrix_read(db):
    with pytest.raises(FeatureError, match='^Oid type 25 not yet supported: column "t" has type text'):
        data.read_matrix(db, "SELECT 1.0::float8 AS x, 'a'::text AS t")
