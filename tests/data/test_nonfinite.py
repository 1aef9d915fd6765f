"""Training matrices and values that are not finite (issue 14.4): a row with NaN, ±Infinity or a
numeric beyond float8's range is discarded and counted like a NULL row (1e300 is finite and stays);
``missing="nan"`` keeps NULLs and NaNs as NaN (missing values) instead. The reference is psycopg's
own fetch, converted and filtered in Python."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from db4ai import data
from db4ai.errors import InvalidParameter

from .conftest import reference

TABLE = """
CREATE TABLE nf (id int, x float8, r float4, n numeric, a float8[], y float8);
INSERT INTO nf SELECT g, g * 0.5, g, g * 1.25, ARRAY[g, -g], 2 * g FROM generate_series(1, 60) g;
INSERT INTO nf VALUES
  (101, 'NaN', 1, 1, '{1,2}', 1),           -- NaN feature
  (102, 1, 'Infinity', 1, '{1,2}', 1),      -- float4 infinity
  (103, 1, 1, 'NaN', '{1,2}', 1),           -- numeric NaN
  (104, 1, 1, 'Infinity', '{1,2}', 1),      -- numeric infinity
  (105, 1, 1, '-1e400', '{1,2}', 1),        -- numeric beyond float8: overflows
  (106, 1, 1, '1e300', '{1,2}', 1),         -- finite: stays
  (107, 1, 1, 1, '{1,NaN}', 1),             -- NaN in an array
  (108, 1, 1, 1, '{-Infinity,2}', 1),       -- infinity in an array
  (109, 1, 1, 1, '{1,2}', '-Infinity'),     -- infinite target
  (110, NULL, 1, 1, '{1,2}', 1),            -- NULL feature
  (111, 1, 1, 1, NULL, 1),                  -- NULL array
  (112, 1, 1, 1, '{1,2}', 'NaN');           -- NaN target
"""
QUERIES = ["SELECT x, r, n, a, y FROM nf",  # ctid ranges
           "SELECT x, r, n, a, y FROM nf ORDER BY id"]  # row groups


def as_float(value: object) -> float:
    if isinstance(value, Decimal):
        try:
            return float(value)  # NaN, ±Infinity, 1e300 as float8; beyond: ±inf (Python rounds like PostgreSQL)
        except OverflowError:  # pragma: no cover - float(Decimal) gives inf rather than raising
            return math.copysign(math.inf, value)
    return float(value)  # type: ignore[arg-type]


def expected(conn, query: str, missing: str) -> tuple[np.ndarray, int]:
    names, rows = reference(conn, query)
    kept, dropped = [], 0
    for row in rows:
        flat: list[float] = []
        ok = True
        for name, value in zip(names, row, strict=True):
            if name == "a":  # an array: NULL, or NULL inside, always discards the row
                if value is None or any(v is None for v in value):
                    ok = False
                    break
                flat.extend(as_float(v) for v in value)
            elif value is None:
                ok = ok and missing == "nan"
                flat.append(math.nan)
            else:
                flat.append(as_float(value))
        finite = all(math.isfinite(v) or (missing == "nan" and math.isnan(v)) for v in flat)
        if ok and finite:
            kept.append(flat)
        else:
            dropped += 1
    return np.array(kept, dtype=np.float64), dropped


@pytest.fixture
def nf(db):
    db.execute(TABLE)
    return db


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("missing", ["discard", "nan"])
def test_non_finite_rows_are_discarded_and_counted_like_null_rows(nf, query: str, missing: str) -> None:
    want, dropped = expected(nf, query if "ORDER" in query else query + " ORDER BY ctid", missing)
    # of the 12 odd rows, 1e300 stays; with NaN kept, NaN and NULL scalars and NaN in an array stay too
    assert dropped == (11 if missing == "discard" else 6)
    for chunk_rows in (65536, 7):
        matrix = data.read_matrix(nf, query, chunk_rows=chunk_rows, missing=missing)
        assert np.array_equal(matrix.values, want, equal_nan=True)
        assert matrix.discarded == dropped
        parts = list(data.stream_matrix(nf, query, chunk_rows=chunk_rows, missing=missing))
        assert sum(p.discarded for p in parts) == dropped
        assert np.array_equal(np.concatenate([p.values for p in parts]), want, equal_nan=True)
    if missing == "discard":
        assert np.isfinite(want).all() and 1e300 in want
    else:
        assert np.isnan(want).sum() == 5 and not np.isinf(want).any()


def test_a_numeric_beyond_float8_reads_as_infinity(nf) -> None:
    frame = data.read(nf, "SELECT id, n FROM nf WHERE id IN (104, 105, 106) ORDER BY id")
    assert frame.arrays["n"].tolist() == [math.inf, -math.inf, 1e300]
    assert not frame.nulls["n"].any()


def test_missing_must_be_known(nf) -> None:
    with pytest.raises(InvalidParameter, match="missing"):
        data.read_matrix(nf, "SELECT x FROM nf", missing="zero")
