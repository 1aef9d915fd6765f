"""Epoch plans for data-parallel training: which rows each (rank, worker) reads, in what order.

The rows of a query (rows with a NULL left out, as everywhere in db4ai.data) are numbered in
the query's order and cut into blocks of ``block_rows`` consecutive rows. An epoch orders them:
the blocks in a permutation drawn from ``(seed, epoch)`` and the rows of each block in one drawn
from ``(seed, epoch, block)`` (or all in query order without shuffling). Every rank computes the
same order, so the ranks can split it without talking to each other (DistributedSampler's
semantics at block granularity): rank ``r`` of ``R`` takes the ``r``-th of ``R`` contiguous
slices of that order (sizes differ by at most one row; with ``drop_tail`` the last
``n mod R`` positions are dropped so all ranks get the same number of rows and batches). A rank's
slice is cut between its DataLoader workers at batch boundaries, so a rank yields the same
batches whatever its number of workers. Each (rank, worker) reads only the blocks its slice
touches: whole blocks, except at most two shared with a neighbour at the slice's ends.

Blocks travel as in :mod:`._packed` (one binary array per column and block), numbered on the
server with ``row_number() OVER ()``; they can be kept in a directory (``cache_dir``) of
``.npy`` files shared by every process of the machine, for queries that only read snapshots
(immutable), so later epochs and other ranks read them from disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from ..errors import InvalidParameter
from . import _packed
from ._cache import cache_key
from ._frame import to_matrix
from ._reader import _array_error, _check_columns, _read_transaction
from ._types import Column, _subquery, describe_sql


@dataclass(frozen=True)
class Piece:
    """Positions ``[lo, hi)`` of block ``block``'s rows, in the block's epoch order."""

    block: int
    lo: int
    hi: int


def _rng(*entropy: int) -> np.random.Generator:
    return np.random.default_rng([int(e) for e in entropy])


def block_order(n_blocks: int, *, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    """The epoch's order of the blocks."""
    if not shuffle:
        return np.arange(n_blocks)
    return _rng(seed, epoch, 0).permutation(n_blocks)


def row_order(block: int, size: int, *, shuffle: bool, seed: int, epoch: int) -> np.ndarray | None:
    """The epoch's order of the rows of one block (None: query order)."""
    if not shuffle:
        return None
    return _rng(seed, epoch, 1, block).permutation(size)


def rank_range(n_rows: int, rank: int, world: int, *, drop_tail: bool) -> tuple[int, int]:
    """Rank ``rank``'s contiguous slice ``[start, stop)`` of the epoch order."""
    base, extra = divmod(n_rows, world)
    if drop_tail:
        return rank * base, (rank + 1) * base
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def worker_range(start: int, stop: int, worker: int, workers: int, batch_size: int) -> tuple[int, int]:
    """Worker ``worker``'s part of a rank's slice, cut at multiples of ``batch_size``."""
    batches = -(-(stop - start) // batch_size)
    first, last = worker * batches // workers, (worker + 1) * batches // workers
    return min(stop, start + first * batch_size), min(stop, start + last * batch_size)


def pieces(n_rows: int, block_rows: int, order: np.ndarray, start: int, stop: int) -> list[Piece]:
    """The parts of blocks (in epoch order) that cover positions ``[start, stop)``."""
    out: list[Piece] = []
    offset = 0
    for block in order:
        size = min(block_rows, n_rows - int(block) * block_rows)
        lo, hi = max(start - offset, 0), min(stop - offset, size)
        if lo < hi:
            out.append(Piece(int(block), lo, hi))
        offset += size
        if offset >= stop:
            break
    return out


def plan(n_rows: int, block_rows: int, *, rank: int = 0, world: int = 1, worker: int = 0, workers: int = 1,
         batch_size: int = 1, shuffle: bool = False, seed: int = 0, epoch: int = 0,
         drop_tail: bool = False) -> list[Piece]:
    """What (rank, worker) reads in an epoch, in order (see the module docstring)."""
    n_blocks = -(-n_rows // block_rows)
    start, stop = rank_range(n_rows, rank, world, drop_tail=drop_tail)
    start, stop = worker_range(start, stop, worker, workers, batch_size)
    return pieces(n_rows, block_rows, block_order(n_blocks, shuffle=shuffle, seed=seed, epoch=epoch), start, stop)


def rank_batches(n_rows: int, rank: int, world: int, batch_size: int, *, drop_tail: bool) -> int:
    """Batches rank ``rank`` yields per epoch (all its workers together)."""
    start, stop = rank_range(n_rows, rank, world, drop_tail=drop_tail)
    return -(-(stop - start) // batch_size)


# -- reading blocks ---------------------------------------------------------------------------


def _kept_rows(columns: Sequence[Column], query: str) -> sql.Composed:
    """The query's rows without NULLs (and without arrays that are NULL or hold one); arrays of
    the wrong shape stay, so that decoding reports them."""
    names = _packed.names(columns)
    checks: list[sql.Composable] = [sql.SQL("f IS NOT NULL")]
    for i, col in enumerate(columns):
        if col.kind == "float_array":
            state = sql.SQL(_packed._ARRAY_STATE).format(c=sql.SQL("f.{}").format(names[i]))
            checks.append(sql.SQL("({}) IN (0, 3)").format(state))
    return sql.SQL("SELECT f.* FROM ({q}) AS f({names}) WHERE {checks}").format(
        q=_subquery(query), names=sql.SQL(", ").join(names), checks=sql.SQL(" AND ").join(checks))


class BlockReader:
    """Blocks of ``block_rows`` NULL-free rows of ``query`` (PostgreSQL text) as float64 matrices."""

    def __init__(self, conn: psycopg.Connection, query: str, block_rows: int, *, cache_dir: str | None = None):
        if block_rows < 1:
            raise InvalidParameter(f"chunk_rows must be at least 1, not {block_rows}")
        self.conn = conn
        self.query = query
        self.block_rows = block_rows
        self.columns = describe_sql(conn, query)
        _check_columns(self.columns)
        self.from_database = 0  # blocks read from the database / from the cache directory
        self.from_cache = 0
        self.directory = self._directory(cache_dir) if cache_dir is not None else None
        self._n_rows: int | None = None

    def _directory(self, cache_dir: str) -> Path | None:
        key = cache_key(self.conn, self.query)
        if key is None:
            return None  # not only snapshots: may change between reads, never cached
        ident = json.dumps([key.database, key.role, key.query, key.snapshots, self.block_rows,
                            [(c.name, c.type_oid) for c in self.columns]])
        path = Path(cache_dir) / hashlib.sha256(ident.encode()).hexdigest()[:32]
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def n_rows(self) -> int:
        """Rows of the query without NULLs (counted once; kept in the cache directory)."""
        if self._n_rows is None:
            meta = self.directory / "rows.json" if self.directory is not None else None
            if meta is not None and meta.is_file():
                self._n_rows = int(json.loads(meta.read_text())["rows"])
            else:
                with _read_transaction(self.conn):
                    row = self.conn.execute(sql.SQL("SELECT count(*) FROM ({}) AS k").format(
                        _kept_rows(self.columns, self.query))).fetchone()
                self._n_rows = int(row[0])  # type: ignore[index]
                if meta is not None:
                    _write_atomically(meta, json.dumps({"rows": self._n_rows}).encode())
        return self._n_rows

    def blocks(self, numbers: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        """``(block, rows)`` for each block number, in the order given."""
        cached = {b for b in numbers if self._path(b) is not None and self._path(b).is_file()}  # type: ignore[union-attr]
        missing = [b for b in numbers if b not in cached]
        fetched = self._fetch(missing) if missing else iter(())
        try:
            for b in numbers:
                if b in cached:
                    self.from_cache += 1
                    yield b, np.load(self._path(b), allow_pickle=False)  # type: ignore[arg-type]
                else:
                    got, values = next(fetched)
                    if got != b:  # pragma: no cover - guarded by the query's ORDER BY
                        raise AssertionError(f"block {got} arrived instead of {b}")
                    self.from_database += 1
                    path = self._path(b)
                    if path is not None:
                        _write_npy(path, values)
                    yield b, values
        finally:
            close = getattr(fetched, "close", None)
            if close is not None:
                close()

    def _path(self, block: int) -> Path | None:
        return None if self.directory is None else self.directory / f"b{block}.npy"

    def _fetch(self, numbers: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
        """The blocks from the database in the order given: one statement, one packed row each."""
        columns = self.columns
        extra = sql.SQL("(row_number() OVER () - 1) / {} AS g").format(sql.Literal(self.block_rows))
        rows = _packed.row_source(columns, _kept_rows(columns, self.query), extra)
        # GROUP BY a type that hashes but does not sort keeps each block's rows in arrival order
        # (see _packed.grouped_query).
        stmt = sql.SQL("SELECT min(r.g), {aggs} FROM ({rows}) AS r WHERE r.g = ANY({wanted})"
                       " GROUP BY r.g::text::xid ORDER BY array_position({wanted}, min(r.g))").format(
            aggs=_packed.aggregates(columns), rows=rows, wanted=sql.Literal([int(n) for n in numbers]))
        with _read_transaction(self.conn), self.conn.cursor(binary=True) as cur:
            try:
                for row in cur.stream(stmt):
                    frame = _packed.decode(columns, row[1:])
                    yield int(row[0]), to_matrix(frame).values
            except psycopg.errors.ArraySubscriptError as exc:
                raise _array_error(columns, exc) from exc


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` so that other processes see the whole file or none of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_npy(path: Path, values: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, values, allow_pickle=False)
    _write_atomically(path, buf.getvalue())
