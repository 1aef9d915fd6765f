"""Fixtures for db4ai.data: a table with every supported type, and a reference fetch.

The reference is psycopg's own binary ``fetchall`` (row by row, Python values): each array
db4ai.data returns must equal it value for value, with NULL masks.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal

import numpy as np
import psycopg
import pytest

from db4ai.data import Frame

ALL_TYPES = """
CREATE TABLE alltypes (id int8 PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
                       num numeric, b bool, a4 float4[], a8 float8[]);
-- Ordinary rows, each column NULL on its own period so that NULLs fall on chunk edges.
INSERT INTO alltypes
SELECT g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 37 % 65535 - 32767)::int2 END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 104729 % 2000000000 - 1000000000)::int4 END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE g::int8 * 3037000493 * (CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END) END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE (g / 7.0)::float4 END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE sin(g) * 1e6 END,
       CASE WHEN g % 17 = 0 THEN NULL ELSE (g * 1.25 - 100.125)::numeric END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE g % 3 = 1 END,
       CASE WHEN g % 9 = 0 THEN NULL WHEN g % 23 = 0 THEN ARRAY[1, NULL, 3]::float4[]
            ELSE ARRAY[g / 3.0, -g, g * 0.1]::float4[] END,
       CASE WHEN g % 8 = 0 THEN NULL WHEN g % 29 = 0 THEN ARRAY[NULL, NULL]::float8[]
            ELSE ARRAY[cos(g), g * 1e-3]::float8[] END
  FROM generate_series(1, 400) AS g;
-- Edge values.
INSERT INTO alltypes VALUES
  (1001, -32768, -2147483648, -9223372036854775808, '-Infinity', '-Infinity', '-1e300', false,
         '{-Infinity,0,1}', '{-1.7976931348623157e308,0}'),
  (1002, 32767, 2147483647, 9223372036854775807, 'Infinity', 'Infinity', '1e-300', true,
         '{Infinity,3.4028235e38,1.4e-45}', '{5e-324,Infinity}'),
  (1003, 0, 0, 0, 'NaN', 'NaN', 'NaN', true, '{NaN,-0,0}', '{NaN,-0}'),
  (1004, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (1005, 1, 1, 1, '-0', '-0', '-0', false, '{1e-38,2,3}', '{2.2250738585072014e-308,-0}'),
  (1006, -1, -1, -1, 1.17549435e-38, 4.9e-324, '123456789012345678901234567890.123456789', true,
         '{0.1,0.2,0.3}', '{0.1,0.2}');
ANALYZE alltypes;
"""


@pytest.fixture
def alltypes(db: psycopg.Connection) -> psycopg.Connection:
    """``db`` with table ``alltypes``: 406 rows, every supported type, NULLs and edge values."""
    db.execute(ALL_TYPES)
    return db


def reference(conn: psycopg.Connection, query: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of ``query`` fetched by psycopg (binary), one Python value each."""
    with conn.cursor(binary=True) as cur:
        cur.execute(query)
        return [d.name for d in cur.description], cur.fetchall()


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def _expected_scalar(value: object, dtype: np.dtype) -> object:
    if isinstance(value, Decimal):
        return float(value)  # numeric is read as float8 (correctly rounded both ways)
    if dtype == np.float32:
        return float(np.float32(value))
    return value


def assert_frame_matches(frame: Frame, names: list[str], rows: list[tuple]) -> None:
    """``frame`` holds exactly ``rows`` (same order), NULL masks included."""
    assert [c.name for c in frame.columns] == names
    assert len(frame) == len(rows)
    for j, name in enumerate(names):
        values, mask = frame.arrays[name], frame.nulls[name]
        assert mask.dtype == bool and mask.shape == (len(rows),)
        for i, row in enumerate(rows):
            ref = row[j]
            if isinstance(ref, list):  # a float array: NULL element -> the row is masked
                if any(v is None for v in ref):
                    assert mask[i], (name, i, ref)
                    assert not values[i].any()
                    continue
                assert not mask[i], (name, i, ref)
                assert values.shape[1] == len(ref)
                float4 = _is_float4_array(frame, name)
                for got, want in zip(values[i].tolist(), ref, strict=True):
                    want = float(np.float32(want)) if float4 else want
                    assert _same_float(got, want), (name, i, got, want)
                continue
            if ref is None:
                assert mask[i], (name, i)
                assert not np.asarray(values[i]).any(), (name, i, values[i])  # NULL reads as zero
                continue
            assert not mask[i], (name, i, ref)
            want = _expected_scalar(ref, values.dtype)
            got = values[i].item()
            if isinstance(want, float):
                assert _same_float(got, want), (name, i, got, want)
            else:
                assert got == want and type(got) is type(want), (name, i, got, want)


def _is_float4_array(frame: Frame, name: str) -> bool:
    return next(c for c in frame.columns if c.name == name).type_oid == 1021


def object_counts(conn: psycopg.Connection, expected: tuple | None = None) -> tuple:
    """Numbers of relations, prepared transactions and sessions on this database: leftovers show.

    With ``expected``, wait up to 5 s for it (a closed connection's backend exits a moment later).
    """
    query = ("SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_prepared_xacts),"
             " (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
             # Citus's own daemon and its connections come and go by themselves
             "  AND backend_type = 'client backend' AND application_name NOT LIKE 'citus\\_internal%')")
    deadline = time.monotonic() + 5
    while True:
        counts = conn.execute(query).fetchone()
        if expected is None or counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)
