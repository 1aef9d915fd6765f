"""Ordered sequences (time series, token arrays) in padded batches with masks.

The rows of a query are grouped by ``key`` and ordered by ``order_by`` on the server: each key
becomes one row holding, per value column, its values as one binary array (``array_send`` of an
ordered ``array_agg``, cut at ``max_length`` there), which numpy views without per-row Python.
Two layouts are read:

* a row per time step: ``key``, the ``order_by`` columns and scalar value columns;
* a row per sequence (or several per key, concatenated in ``order_by`` order): ``key`` and value
  columns that are arrays (``float4[]``, ``int4[]``, ...); the server unnests them.

Keys come in the database's order of ``key`` (rows with a NULL key are left out, as pandas'
``groupby`` does). The client holds one key at a time, or one window of ``batch_size *
bucket_batches`` keys when bucketing: memory is bounded by keys, not by the table. A NULL
value inside a sequence is an error (say what it should be in the query, e.g. ``coalesce``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql

from ..dialect import postgres_text
from ..errors import FeatureError, InvalidParameter
from ._types import CODECS, Codec, _subquery, native_dtype


@dataclass(frozen=True)
class SequenceBatch:
    """Padded sequences: ``values`` is ``(B, T)`` for one value column, ``(B, T, F)`` for ``F``;
    ``mask[i, t]`` is True on real steps; ``lengths`` counts them (at most ``max_length``);
    ``keys`` holds each sequence's key. ``T`` is the batch's longest length."""

    keys: np.ndarray
    values: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)


def pad(keys: np.ndarray, seqs: Sequence[np.ndarray], *, pad_value: float = 0) -> SequenceBatch:
    """Sequences of shape ``(len,)`` or ``(len, F)`` padded into one batch."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    longest = int(lengths.max()) if len(seqs) else 0
    dtype = np.result_type(*[s.dtype for s in seqs]) if seqs else np.dtype(np.float64)
    tail = seqs[0].shape[1:] if seqs else ()
    values = np.full((len(seqs), longest, *tail), pad_value, dtype=dtype)
    for i, s in enumerate(seqs):
        values[i, :len(s)] = s
    mask = np.arange(longest)[None, :] < lengths[:, None]
    return SequenceBatch(keys, values, mask, lengths)


# -- the query --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    statement: sql.Composed
    columns: tuple[str, ...]  # value columns
    codecs: tuple[Codec, ...]


def _names(order_by: str | Sequence[str] | None) -> list[str]:
    if order_by is None:
        return []
    return [order_by] if isinstance(order_by, str) else list(order_by)


def _description(conn: psycopg.Connection, query: sql.Composable) -> list[tuple[str, int, int]]:
    """(name, type oid, element type oid or 0) of each column of ``query``."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(query))
        desc = [(d.name, int(d.type_code)) for d in cur.description or ()]
        cur.execute("SELECT t.oid::int8, t.typelem::int8 FROM pg_type t WHERE t.oid = ANY(%s::oid[]) AND t.typcategory = 'A'",
                    ([oid for _, oid in desc],))
        elements = {int(o): int(e) for o, e in cur.fetchall()}
    return [(name, oid, elements.get(oid, 0)) for name, oid in desc]


def _plan(conn: psycopg.Connection, query: str, key: str, order_by: list[str], max_length: int | None,
          keep: str, part: int, parts: int, chunk_keys: int) -> _Plan:
    source = _subquery(postgres_text(query))
    described = _description(conn, source)
    names = [d[0] for d in described]
    for wanted, what in [(key, "key")] + [(o, "order_by") for o in order_by]:
        if names.count(wanted) != 1:
            raise InvalidParameter(f'{what} column "{wanted}" is not {"unique in" if wanted in names else "in"} the query',
                                   hint=f"the query returns {', '.join(names)}")
    values = [d for d in described if d[0] != key and d[0] not in order_by]
    if not values:
        raise InvalidParameter("the query has no value columns besides the key and order_by columns")
    arrays = [d for d in values if d[2]]
    ident = sql.Identifier
    if arrays and len(arrays) != len(values):
        raise FeatureError("value columns must be all scalars (a row per step) or all arrays (a row per sequence)",
                           detail=f"arrays: {', '.join(d[0] for d in arrays)}")
    if arrays:  # unnest the arrays into steps, numbered so that they keep their order
        u = [sql.Identifier(f"v{i}") for i in range(len(values))]
        steps = sql.SQL("SELECT q.{k} AS k, {orders}u.* FROM ({src}) AS q CROSS JOIN LATERAL"
                        " unnest({arrays}) WITH ORDINALITY AS u({vs}, o_step)").format(
            k=ident(key), src=source,
            orders=sql.SQL("").join(sql.SQL("q.{} AS {}, ").format(ident(o), ident(f"o{i}")) for i, o in enumerate(order_by)),
            arrays=sql.SQL(", ").join(sql.SQL("q.{}").format(ident(d[0])) for d in values), vs=sql.SQL(", ").join(u))
        order_cols = [ident(f"o{i}") for i in range(len(order_by))] + [ident("o_step")]
    else:
        steps = sql.SQL("SELECT q.{k} AS k, {orders}{vs} FROM ({src}) AS q").format(
            k=ident(key), src=source,
            orders=sql.SQL("").join(sql.SQL("q.{} AS {}, ").format(ident(o), ident(f"o{i}")) for i, o in enumerate(order_by)),
            vs=sql.SQL(", ").join(sql.SQL("q.{} AS {}").format(ident(d[0]), ident(f"v{i}")) for i, d in enumerate(values)))
        order_cols = [ident(f"o{i}") for i in range(len(order_by))]
    element_types = {name: oid for name, oid, _ in _description(conn, steps)}
    codecs = []
    for i, (name, oid, _elem) in enumerate(values):
        step_oid = element_types[f"v{i}"]
        found = CODECS.get(step_oid)
        if found is None or found.kind == "float_array":
            raise FeatureError(f'value column "{name}" has an unsupported type (oid {oid})',
                               hint="sequence values are bool, int2/4/8, float4/8 or numeric, or 1-D arrays of them;"
                                    " cast the column in the query")
        codecs.append(found)
    order = sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(sql.SQL("s.{}").format(c) for c in order_cols)) \
        if order_cols else sql.SQL("")
    cut: sql.Composable
    if max_length is None:
        cut = sql.SQL("")
    elif keep == "first":
        cut = sql.SQL("[1:{}]").format(sql.Literal(max_length))
    else:
        cut = sql.SQL("[greatest(count(*) - {m} + 1, 1):count(*)]").format(m=sql.Literal(max_length))
    aggs = [sql.SQL("array_send((array_agg(s.{v}::{t}{order})){cut})").format(
        v=ident(f"v{i}"), t=sql.SQL(c.sql_type), order=order, cut=cut) for i, c in enumerate(codecs)]
    aggs_sql = sql.SQL(", ").join(aggs)
    if parts == 1:
        statement = sql.SQL("SELECT s.k, {aggs} FROM ({steps}) AS s WHERE s.k IS NOT NULL GROUP BY s.k ORDER BY s.k").format(
            aggs=aggs_sql, steps=steps)
    else:  # number the keys in order, keep groups part, part + parts, ... of chunk_keys keys
        statement = sql.SQL(
            "SELECT g.* FROM (SELECT s.k, {aggs}, row_number() OVER (ORDER BY s.k) - 1 AS i FROM ({steps}) AS s"
            " WHERE s.k IS NOT NULL GROUP BY s.k) AS g WHERE (g.i / {c}) % {n} = {p} ORDER BY g.i").format(
            aggs=aggs_sql, steps=steps, c=sql.Literal(chunk_keys), n=sql.Literal(parts), p=sql.Literal(part))
    return _Plan(statement, tuple(d[0] for d in values), tuple(codecs))


def _column(buf: bytes | None, codec: Codec, name: str, key: object) -> np.ndarray:
    """The values of one binary array (``array_send`` of a 1-D array)."""
    if buf is None:  # pragma: no cover - array_agg over at least one row is never NULL
        return np.zeros(0, dtype=native_dtype(codec))
    ndim, hasnull = np.frombuffer(buf, dtype=">i4", count=2)
    if hasnull:
        raise FeatureError(f'value column "{name}" holds a NULL in the sequence of key {key!r}',
                           hint="replace NULLs in the query (coalesce) or leave those rows out")
    if ndim == 0:
        return np.zeros(0, dtype=native_dtype(codec))
    pairs = np.dtype([("len", ">i4"), ("v", codec.wire)])
    return np.frombuffer(buf, dtype=pairs, offset=20)["v"].astype(native_dtype(codec))


def _check(max_length: int | None, keep: str, chunk_keys: int, part: int, parts: int) -> None:
    if max_length is not None and (isinstance(max_length, bool) or max_length < 1):
        raise InvalidParameter(f"max_length must be at least 1, not {max_length}")
    if keep not in ("first", "last"):
        raise InvalidParameter(f"keep must be 'first' or 'last', not {keep!r}")
    if chunk_keys < 1:
        raise InvalidParameter(f"chunk_keys must be at least 1, not {chunk_keys}")
    if not 0 <= part < parts:
        raise InvalidParameter(f"part must be in [0, {parts}), not {part}")


def sequence_items(conn: psycopg.Connection, query: str, *, key: str, order_by: str | Sequence[str] | None = None,
                   max_length: int | None = None, keep: str = "first", chunk_keys: int = 1024, part: int = 0,
                   parts: int = 1) -> Iterator[tuple[object, np.ndarray]]:
    """``(key, values)`` per sequence, in key order; values ``(len,)`` or ``(len, F)``.

    ``keep``: which steps a sequence longer than ``max_length`` keeps (``first`` or ``last``).
    ``part``/``parts``: only the keys of groups ``part, part + parts, ...`` of ``chunk_keys``
    consecutive keys (to split the keys between readers).
    """
    _check(max_length, keep, chunk_keys, part, parts)
    plan = _plan(conn, query, key, _names(order_by), max_length, keep, part, parts, chunk_keys)
    width = len(plan.columns)
    with conn.cursor(binary=True) as cur:
        for row in cur.stream(plan.statement, size=64):  # rows in chunks: less per-row protocol work
            k = row[0]
            cols = [_column(row[1 + j], plan.codecs[j], plan.columns[j], k) for j in range(width)]
            yield k, cols[0] if width == 1 else np.column_stack(cols).astype(np.result_type(*cols))


def sequences(conn: psycopg.Connection, query: str, *, key: str, order_by: str | Sequence[str] | None = None,
              max_length: int | None = None, batch_size: int = 32, bucket: bool = False, bucket_batches: int = 50,
              seed: int | None = None, keep: str = "first", pad_value: float = 0, chunk_keys: int = 1024,
              part: int = 0, parts: int = 1) -> Iterator[SequenceBatch]:
    """Batches of ``batch_size`` sequences of ``query`` grouped by ``key`` in ``order_by`` order,
    padded to the batch's longest (truncated at ``max_length``) with masks and true lengths.

    ``bucket``: within windows of ``batch_size * bucket_batches`` consecutive keys, batch
    sequences of similar length together (less padding); batches of a window come shortest
    first, or in an order drawn from ``seed``. See :func:`sequence_items` for the rest.
    """
    if isinstance(batch_size, bool) or batch_size < 1 or bucket_batches < 1:
        raise InvalidParameter("batch_size and bucket_batches must be at least 1")
    items = sequence_items(conn, query, key=key, order_by=order_by, max_length=max_length, keep=keep,
                           chunk_keys=chunk_keys, part=part, parts=parts)
    window = batch_size * (bucket_batches if bucket else 1)
    rng = np.random.default_rng(seed) if seed is not None else None
    pending: list[tuple[object, np.ndarray]] = []
    try:
        for item in items:
            pending.append(item)
            if len(pending) == window:
                yield from _batches(pending, batch_size, bucket, rng, pad_value)
                pending = []
        if pending:
            yield from _batches(pending, batch_size, bucket, rng, pad_value)
    finally:
        items.close()  # type: ignore[attr-defined]


def _batches(items: list[tuple[object, np.ndarray]], batch_size: int, bucket: bool,
             rng: np.random.Generator | None, pad_value: float) -> Iterator[SequenceBatch]:
    if bucket:
        items = sorted(items, key=lambda kv: len(kv[1]))  # stable: equal lengths keep key order
    starts = list(range(0, len(items), batch_size))
    if bucket and rng is not None:
        starts = [starts[i] for i in rng.permutation(len(starts))]
    for s in starts:
        chunk = items[s:s + batch_size]
        keys = np.empty(len(chunk), dtype=object)
        keys[:] = [k for k, _ in chunk]
        if all(isinstance(k, (int, np.integer)) for k in keys):
            keys = keys.astype(np.int64)
        yield pad(keys, [v for _, v in chunk], pad_value=pad_value)


__all__ = ["SequenceBatch", "pad", "sequence_items", "sequences"]
