"""Server-side packing of a chunk of rows into one binary array per column, and its decoding.

For each chunk the server runs ``array_send(array_agg(col))`` per column: PostgreSQL's
binary array form is a fixed header followed by (int32 length, value) pairs, so numpy views
the whole column at once. NULLs cannot stay in the array without breaking the fixed stride:
they are replaced by zero (``array_replace``) and their 1-based positions travel separately
(``array_positions``). Array columns are aggregated into one 2-D array of the rows whose
array is present and NULL-free; the other rows are flagged.

The packed chunk query reads ``r``: the caller's rows under positional names ``c0..cN``
plus, per array column, a state ``s<i>`` (0 ok, 1 NULL, 2 holds a NULL, 3 not 1-D).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from psycopg import sql

from ..errors import FeatureError
from ._frame import ARRAY_ERROR, Frame
from ._types import Column, codec, native_dtype

_ARRAY_STATE = ("CASE WHEN {c} IS NULL THEN 1 WHEN array_ndims({c}) IS DISTINCT FROM 1 THEN 3"
                " WHEN array_position({c}, NULL) IS NOT NULL THEN 2 ELSE 0 END")


def names(columns: Sequence[Column]) -> list[sql.Identifier]:
    return [sql.Identifier(f"c{i}") for i in range(len(columns))]


def row_source(columns: Sequence[Column], source: sql.Composable, extra: sql.Composable | None = None
               ) -> sql.Composed:
    """``SELECT q.*, <array states>[, extra] FROM (source) AS q(c0, ...)``."""
    items: list[sql.Composable] = [sql.SQL("q.*")]
    for i, col in enumerate(columns):
        if col.kind == "float_array":
            c = sql.SQL("q.{}").format(sql.Identifier(f"c{i}"))
            items.append(sql.SQL(_ARRAY_STATE + " AS {s}").format(c=c, s=sql.Identifier(f"s{i}")))
    if extra is not None:
        items.append(extra)
    return sql.SQL("SELECT {items} FROM ({source}) AS q({names})").format(
        items=sql.SQL(", ").join(items), source=source, names=sql.SQL(", ").join(names(columns)))


# numeric -> float8 without "value out of range": beyond float8's range (NaN compares greater than
# every numeric, and stays NaN) a numeric becomes an infinity of its sign, as float() does in Python.
_NUMERIC_FLOAT8 = ("CASE WHEN abs({c}) > 1.7976931348623157e308 AND {c} <> 'NaN'"
                   " THEN sign({c})::float8 * 'Infinity'::float8 ELSE {c}::float8 END")


def aggregates(columns: Sequence[Column]) -> sql.Composed:
    """The select list that packs the rows of ``r``: count, then per column its arrays."""
    items: list[sql.Composable] = [sql.SQL("count(*)")]
    for i, col in enumerate(columns):
        cd = codec(col)
        c = sql.SQL("r.{}::{}").format(sql.Identifier(f"c{i}"), sql.SQL(cd.sql_type))
        if col.kind == "numeric":
            c = sql.SQL("(" + _NUMERIC_FLOAT8 + ")").format(c=sql.SQL("r.{}").format(sql.Identifier(f"c{i}")))
        if col.kind == "float_array":
            s = sql.SQL("r.{}").format(sql.Identifier(f"s{i}"))
            items.append(sql.SQL("array_send(array_agg({c}) FILTER (WHERE {s} = 0))").format(c=c, s=s))
            items.append(sql.SQL("array_send(array_positions(array_agg({s} <> 0), true))").format(s=s))
            items.append(sql.SQL("bool_or({s} = 3)").format(s=s))
        else:
            # Identical array_agg calls are computed once by PostgreSQL.
            items.append(sql.SQL("array_send(array_replace(array_agg({c}), NULL, {z}::{t}))").format(
                c=c, z=sql.SQL(cd.zero), t=sql.SQL(cd.sql_type)))
            items.append(sql.SQL("array_send(array_positions(array_agg({c}), NULL))").format(c=c))
    return sql.SQL(", ").join(items)


def chunk_query(columns: Sequence[Column], source: sql.Composable) -> sql.Composed:
    """One packed row for all rows of ``source``."""
    return sql.SQL("SELECT {aggs} FROM ({rows}) AS r").format(
        aggs=aggregates(columns), rows=row_source(columns, source))


def grouped_query(columns: Sequence[Column], source: sql.Composable, chunk_rows: int,
                  part: int = 0, parts: int = 1) -> sql.Composed:
    """One packed row per ``chunk_rows`` consecutive rows of an arbitrary query, in order;
    with ``parts > 1`` only the chunks whose number is ``part`` modulo ``parts``.

    ``row_number() OVER ()`` numbers rows in the query's output order. A hash aggregate keeps
    each group's rows in arrival order (also when it spills: a group's rows are either all
    aggregated in memory or all written to the same spill file in order); a sort-based one
    would not, as PostgreSQL's sort is not stable. Grouping by the chunk number cast to
    ``xid``, a type that can be hashed but not sorted, leaves the planner no other choice.
    """
    extra = sql.SQL("(row_number() OVER () - 1) / {} AS g").format(sql.Literal(chunk_rows))
    where: sql.Composable = sql.SQL("")
    if parts > 1:
        where = sql.SQL(" WHERE r.g % {} = {}").format(sql.Literal(parts), sql.Literal(part))
    return sql.SQL("SELECT {aggs} FROM ({rows}) AS r{where} GROUP BY r.g::text::xid ORDER BY min(r.g)").format(
        aggs=aggregates(columns), rows=row_source(columns, source, extra), where=where)


def _elements(buf: bytes | None, wire: str, ndim: int) -> np.ndarray:
    """The values of a binary array (``array_send`` output) without NULLs, as a strided view."""
    if buf is None:
        return np.zeros(0, dtype=wire)
    header = np.frombuffer(buf, dtype=">i4", count=3)
    if header[0] == 0:
        return np.zeros(0, dtype=wire)
    if header[0] != ndim or header[1] != 0:  # pragma: no cover - guarded by the query
        raise AssertionError(f"unexpected binary array: ndim={header[0]} hasnull={header[1]}")
    pairs = np.dtype([("len", ">i4"), ("v", wire)])
    return np.frombuffer(buf, dtype=pairs, offset=12 + 8 * ndim)["v"]


def _dims(buf: bytes | None) -> tuple[int, ...]:
    if buf is None:
        return (0, 0)
    ndim = int(np.frombuffer(buf, dtype=">i4", count=1)[0])
    if ndim == 0:
        return (0, 0)
    return tuple(int(d) for d in np.frombuffer(buf, dtype=">i4", count=2 * ndim, offset=12)[::2])


def _mask(buf: bytes | None, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    positions = _elements(buf, ">i4", 1)
    if positions.size:
        mask[positions.astype(np.intp) - 1] = True
    return mask


def decode(columns: Sequence[Column], row: Sequence[object]) -> Frame:
    """The Frame of one packed row (see :func:`aggregates` for its layout)."""
    n = int(row[0])  # type: ignore[call-overload]
    arrays: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    pos = 1
    for col in columns:
        cd = codec(col)
        if col.kind == "float_array":
            values, positions, bad = row[pos], row[pos + 1], row[pos + 2]
            pos += 3
            if bad:
                raise FeatureError(ARRAY_ERROR, detail=f'column "{col.name}" holds an array that is empty or not 1-dimensional',
                                   hint="every array must be a non-empty 1-D float array")
            mask = _mask(positions, n)  # type: ignore[arg-type]
            dims = _dims(values)  # type: ignore[arg-type]
            if dims[0] != n - int(mask.sum()):  # pragma: no cover - guarded by the query
                raise AssertionError("array rows do not match the NULL mask")
            if len(dims) != 2:
                raise FeatureError(ARRAY_ERROR, detail=f'column "{col.name}"')
            out = np.zeros((n, dims[1]), dtype=np.float64)
            if dims[0]:
                out[~mask] = _elements(values, cd.wire, 2).reshape(dims)  # type: ignore[arg-type]
            arrays[col.name] = out
            nulls[col.name] = mask
        else:
            values, positions = row[pos], row[pos + 1]
            pos += 2
            arrays[col.name] = _elements(values, cd.wire, 1).astype(native_dtype(cd))  # type: ignore[arg-type]
            nulls[col.name] = _mask(positions, n)  # type: ignore[arg-type]
    return Frame(tuple(columns), arrays, nulls, n)
