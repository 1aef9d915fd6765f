"""read / stream / read_matrix / stream_matrix: the public readers.

A read runs inside one transaction: its own REPEATABLE READ transaction when the
connection is idle (so all chunks see one snapshot), else the caller's transaction. For
its duration it turns off synchronized sequential scans and parallel query, so that the
scan order of a query is the same on every pass, and it restores them afterwards.

Which path a query takes (the first that applies):

1. a scan of a Citus distributed table or of a snapshot stored in one, in the read's own
   transaction: shard by shard from the worker nodes (:mod:`._shards`);
2. a plain scan of one table: ctid page ranges packed on the server, on ``parallel``
   connections sharing one snapshot (:mod:`._source`, :mod:`._packed`);
3. any other query of scalar columns, in the read's own transaction, that the planner expects
   to return at least ``ARROW_MIN_ROWS`` rows: streamed through ADBC (:mod:`._arrow`);
4. anything else: row-number groups packed on the server, on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from ..dialect import postgres_text
from ..errors import FeatureError, InvalidParameter
from . import _arrow, _packed, _shards
from ._cache import Cache, CacheKey, cache_key
from ._frame import ARRAY_ERROR, MISSING, Frame, Matrix, concat, empty_frame, to_matrix
from ._parallel import interleave, prefetched, resolve_parallel, snapshot_sharing
from ._source import TableScan, Tid, table_scan
from ._types import Column, _subquery, describe_sql

# Below this many rows (the planner's estimate) opening an ADBC connection (about 50 ms, most of
# it loading the server's type catalog) costs more than streaming through ADBC saves.
ARROW_MIN_ROWS = 100_000

# Session settings of a read: a stable scan order on every pass.
_SETTINGS = {
    "synchronize_seqscans": "off",
    "max_parallel_workers_per_gather": "0",
}


def _apply(conn: psycopg.Connection, settings: dict[str, str]) -> dict[str, str]:
    """Set ``settings`` for the current transaction; return the previous values."""
    names = list(settings)
    with conn.cursor() as cur:
        old = cur.execute(sql.SQL("SELECT current_setting(n) FROM unnest(%s::text[]) AS n"), (names,)).fetchall()
        cur.execute(sql.SQL("SELECT set_config(n, v, true) FROM unnest(%s::text[], %s::text[]) AS s(n, v)"),
                    (names, [settings[n] for n in names]))
    return {n: o[0] for n, o in zip(names, old, strict=True)}


@contextmanager
def _closing(it: Iterator[object]) -> Iterator[None]:
    """Close ``it`` on exit when it can be closed (generators)."""
    try:
        yield
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


@contextmanager
def _read_transaction(conn: psycopg.Connection) -> Iterator[bool]:
    """The transaction a read runs in; yields True when it is the read's own."""
    own = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if own:
            conn.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        old = _apply(conn, _SETTINGS)
        try:
            yield own
        finally:
            if conn.info.transaction_status == TransactionStatus.INTRANS:
                _apply(conn, old)


def _check_columns(columns: tuple[Column, ...]) -> None:
    if not columns:
        raise InvalidParameter("the query returns no columns", hint="select at least one column")
    seen: set[str] = set()
    for col in columns:
        if col.name in seen:
            raise InvalidParameter(f'column name "{col.name}" appears more than once in the query',
                                   hint="give every selected column a distinct name (AS ...)")
        seen.add(col.name)


def _array_error(columns: tuple[Column, ...], exc: psycopg.Error) -> FeatureError:
    arrays = [c.name for c in columns if c.kind == "float_array"]
    where = ", ".join(f'"{a}"' for a in arrays)
    return FeatureError(ARRAY_ERROR,
                        detail=f"column {where} holds arrays of different shapes ({exc.diag.message_primary})",
                        hint="all arrays of a feature column must be 1-D and have the same length")


def _range_frames(conn: psycopg.Connection, columns: tuple[Column, ...], scan: TableScan,
                  ranges: Sequence[tuple[Tid, Tid]]) -> Generator[Frame, None, None]:
    """One Frame per ctid range (empty ones included), in order."""
    stmt = scan.chunks(ranges, lambda source: _packed.chunk_query(columns, source))
    with conn.cursor(binary=True) as cur:
        for row in cur.stream(stmt):
            yield _packed.decode(columns, row)


def _table_frames(conn: psycopg.Connection, columns: tuple[Column, ...], scan: TableScan,
                  chunk_rows: int, parallel: int, own: bool, part: tuple[int, int]
                  ) -> Generator[Frame, None, None]:
    tasks = scan.ranges(chunk_rows)[part[0]::part[1]]  # the same ranges for every caller of a split read
    if parallel > 1 and own and scan.shareable and len(tasks) > 1:
        extra = min(parallel, len(tasks)) - 1
        with snapshot_sharing(conn, extra, lambda c: _apply(c, _SETTINGS)) as others:
            yield from interleave([conn, *others], tasks,
                                  lambda c, mine: _range_frames(c, columns, scan, mine))
        return
    if tasks:
        yield from _range_frames(conn, columns, scan, tasks)


def _query_frames(conn: psycopg.Connection, columns: tuple[Column, ...], query: str,
                  chunk_rows: int, part: tuple[int, int]) -> Generator[Frame, None, None]:
    stmt = _packed.grouped_query(columns, _subquery(query), chunk_rows, *part)
    with conn.cursor(binary=True) as cur:
        for row in cur.stream(stmt):
            yield _packed.decode(columns, row)


def _estimated_rows(conn: psycopg.Connection, query: str) -> float:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(_subquery(query)))
        return float(cur.fetchone()[0][0]["Plan"]["Plan Rows"])  # type: ignore[index]


def _arrow_frames(conn: psycopg.Connection, columns: tuple[Column, ...], query: str,
                  chunk_rows: int) -> Generator[Frame, None, None]:
    """Through ADBC; by row-number groups on ``conn`` when ADBC cannot read the query."""
    frames = _arrow.frames(conn, query, columns, chunk_rows, _SETTINGS)
    try:
        first = next(frames)
    except StopIteration:
        return
    except _arrow.Unavailable:  # e.g. a temporary table of the caller's session
        yield from _query_frames(conn, columns, query, chunk_rows, (0, 1))
        return
    yield first
    yield from frames


def _database_frames(conn: psycopg.Connection, query: str, columns: tuple[Column, ...],
                     chunk_rows: int, parallel: int, part: tuple[int, int] = (0, 1)) -> Iterator[Frame]:
    """Frames from the database; ``part = (i, n)`` keeps chunks i, i + n, ... only."""
    with _read_transaction(conn) as own:
        with conn.transaction():  # a savepoint: a failed rewrite must not spoil the read
            shards = _shards.shard_plan(conn, query, columns) if own else None
            scan = table_scan(conn, query, columns) if shards is None else None
            arrow = (shards is None and scan is None and own and part == (0, 1) and _arrow.usable(columns)
                     and _estimated_rows(conn, query) >= ARROW_MIN_ROWS)
        if shards is not None:
            frames: Iterator[Frame] = _shards.frames(conn, shards, columns, chunk_rows, parallel, part)
        elif scan is not None:
            frames = _table_frames(conn, columns, scan, chunk_rows, parallel, own, part)
        elif arrow:
            frames = _arrow_frames(conn, columns, query, chunk_rows)
        else:
            frames = _query_frames(conn, columns, query, chunk_rows, part)
        try:
            with _closing(frames):
                for frame in frames:
                    if len(frame):
                        yield frame
        except psycopg.errors.ArraySubscriptError as exc:
            raise _array_error(columns, exc) from exc


def _frames(conn: psycopg.Connection, query: str, chunk_rows: int, parallel: int | None,
            cache: Cache | None) -> tuple[tuple[Column, ...], Iterator[Frame]]:
    if chunk_rows < 1:
        raise InvalidParameter(f"chunk_rows must be at least 1, not {chunk_rows}")
    parallel = resolve_parallel(conn, parallel)
    query = postgres_text(query)  # accept name@version as the shim does
    key: CacheKey | None = cache_key(conn, query) if cache is not None else None
    if cache is not None and key is not None:
        cached = cache.frames(key)
        if cached is not None:
            return cache.columns(key), cached  # type: ignore[return-value]
    columns = describe_sql(conn, query)
    _check_columns(columns)
    frames = _database_frames(conn, query, columns, chunk_rows, parallel)
    if cache is not None and key is not None:
        frames = cache.record(key, columns, frames)
    return columns, frames


def stream(conn: psycopg.Connection, query: str, *, chunk_rows: int = 65536, parallel: int | None = None,
           cache: Cache | None = None, prefetch: int = 2) -> Iterator[Frame]:
    """The rows of ``query`` as Frames of about ``chunk_rows`` rows, in scan order.

    Peak memory is about two chunks plus ``prefetch`` (three per connection with ``parallel``).
    A table query is cut into ctid ranges that can hold at most ``chunk_rows`` rows whatever the
    page layout (whole pages at the most tuples a page can hold); any other query into exact
    ``chunk_rows`` row groups. Rows come from one snapshot of the database (per worker node for a
    Citus distributed table: see :mod:`._shards`). ``parallel``: connections (None: the
    ``db4ai.parallel`` setting, else automatic; see :func:`resolve_parallel`). ``prefetch``: chunks
    a background thread reads ahead while the caller works on the current one (0: read in the
    caller's thread). Frames read from the cache are read-only. Close an abandoned stream
    (``it.close()``) before using the connection again: it holds the read's transaction.
    """
    _, frames = _frames(conn, query, chunk_rows, parallel, cache)
    return prefetched(frames, prefetch) if prefetch > 0 else frames


def read(conn: psycopg.Connection, query: str, *, parallel: int | None = None, cache: Cache | None = None,
         chunk_rows: int = 65536) -> Frame:
    """All rows of ``query`` as one Frame."""
    columns, frames = _frames(conn, query, chunk_rows, parallel, cache)
    return concat(list(frames), columns)


def _check_missing(missing: str) -> None:
    if missing not in MISSING:
        raise InvalidParameter(f"missing must be one of {', '.join(MISSING)}, not {missing!r}",
                               hint='"discard" drops rows with NULL or non-finite values; "nan" keeps NULL and NaN as NaN')


def stream_matrix(conn: psycopg.Connection, query: str, *, chunk_rows: int = 65536,
                  cache: Cache | None = None, parallel: int | None = None, prefetch: int = 2,
                  missing: str = "discard") -> Iterator[Matrix]:
    """The rows of ``query`` as float64 matrices, chunk by chunk, in scan order.

    ``discarded`` counts the rows of that chunk left out: rows with a NULL, NaN or infinite
    value (a numeric beyond float8's range counts as infinite). ``missing="nan"`` keeps NULL
    and NaN scalars as NaN instead, for algorithms that treat them as missing values (rows
    with an infinity, or with a NULL array or array element, are still left out). The read and
    the conversion to float64 run ``prefetch`` chunks ahead in a background thread (0: in the
    caller's thread), so that what the caller does with a chunk (building training batches)
    overlaps the read.
    """
    _check_missing(missing)
    _, frames = _frames(conn, query, chunk_rows, parallel, cache)
    matrices = _matrices(frames, missing)
    return prefetched(matrices, prefetch) if prefetch > 0 else matrices


def _matrices(frames: Iterator[Frame], missing: str = "discard") -> Iterator[Matrix]:
    """Matrices of frames; an array column must keep the width of its first non-NULL chunk."""
    width: int | None = None
    with _closing(frames):
        for frame in frames:
            matrix = to_matrix(frame, width, missing)
            if width is None and len(matrix):
                width = matrix.values.shape[1] - sum(1 for c in frame.columns if c.kind != "float_array")
            yield matrix


def stream_part(conn: psycopg.Connection, query: str, part: int, parts: int, *,
                chunk_rows: int = 65536) -> Iterator[Frame]:
    """The chunks ``part, part + parts, ...`` of ``stream(conn, query)``: ``parts`` callers with
    distinct ``part`` read every row exactly once between them (no cache, one connection each).
    The query's row order must be deterministic (any table query, snapshot or ORDER BY query)."""
    if not 0 <= part < parts:
        raise InvalidParameter(f"part must be in [0, {parts}), not {part}")
    if chunk_rows < 1:
        raise InvalidParameter(f"chunk_rows must be at least 1, not {chunk_rows}")
    query = postgres_text(query)
    columns = describe_sql(conn, query)
    _check_columns(columns)
    return _database_frames(conn, query, columns, chunk_rows, 1, (part, parts))


def read_matrix(conn: psycopg.Connection, query: str, *, cache: Cache | None = None, parallel: int | None = None,
                chunk_rows: int = 65536, missing: str = "discard") -> Matrix:
    """All rows of ``query`` as one float64 matrix (rows with NULL or non-finite values dropped
    and counted; ``missing`` as in :func:`stream_matrix`)."""
    _check_missing(missing)
    columns, frames = _frames(conn, query, chunk_rows, parallel, cache)
    parts = list(_matrices(frames, missing))
    if not parts:
        return to_matrix(empty_frame(columns))
    if len(parts) == 1:
        return parts[0]
    filled = [p.values for p in parts if len(p)] or [parts[0].values]
    values = np.concatenate(filled)
    return Matrix(np.ascontiguousarray(values), sum(p.discarded for p in parts), columns)
