"""PyTorch datasets over a query (needs the ``torch`` extra).

:class:`TorchDataset` yields float batches ``(rows, columns)`` of a query's rows; use
``DataLoader(dataset, batch_size=None)``. Rows with a NULL or a value that is not
finite are left out (as in ``read_matrix``).
Each DataLoader worker opens its own connection and reads its own part of the rows, so all of
them together yield every row exactly once per epoch:

* Plain mode (one process, no shuffling): worker ``w`` of ``n`` reads the chunks ``w, w + n, ...``
  of the query (ctid page ranges of a table, row-number groups of any other query).
* Planned mode (``shuffle``, ``drop_tail``, ``cache_dir``, or several ``torch.distributed`` ranks):
  the rows are split over ranks x workers as :mod:`db4ai.data._blocks` describes, which gives
  DistributedSampler's semantics: call ``set_epoch(epoch)`` before each epoch; the same seed and
  epoch give the same order on every rank; each rank reads disjoint row ranges; ``drop_tail``
  gives every rank the same number of rows (and batches). Shuffling permutes blocks of
  ``chunk_rows`` rows and the rows inside each block, then mixes ``shuffle_window`` blocks at a
  time. The rank and world size come from the initialized process group, else ``RANK`` /
  ``WORLD_SIZE``, else 0 / 1, read when the dataset is made. Workers get the epoch when they
  start: use ``persistent_workers=False`` (the default) with ``set_epoch``.

Workers read in separate transactions: use a snapshot (immutable) or a table nobody writes to
while training. ``cache_dir`` keeps the blocks of a snapshot query as files shared by every rank
and worker of the machine, so epochs after the first read no rows from the database.

:class:`SequenceDataset` and :func:`pad_collate` do the same for ordered sequences (see
:func:`db4ai.data.sequences`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import numpy as np
import psycopg
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..dialect import postgres_text
from ..errors import InvalidParameter
from . import _blocks
from ._reader import _matrices, stream_part
from ._sequences import SequenceBatch, pad, sequence_items, sequences
from .feeder import BatchFeeder


def distributed_position(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(rank, world size): as given, else the process group's, else ``RANK``/``WORLD_SIZE``, else (0, 1)."""
    if rank is None and world_size is None:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            rank, world_size = dist.get_rank(), dist.get_world_size()
        elif "WORLD_SIZE" in os.environ:
            rank, world_size = int(os.environ.get("RANK", "0")), int(os.environ["WORLD_SIZE"])
        else:
            rank, world_size = 0, 1
    if rank is None or world_size is None:
        raise InvalidParameter("give both rank and world_size, or neither")
    if not 0 <= rank < world_size:
        raise InvalidParameter(f"rank must be in [0, {world_size}), not {rank}")
    return int(rank), int(world_size)


def _worker() -> tuple[int, int]:
    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


class TorchDataset(IterableDataset[torch.Tensor]):
    """Batches of ``query``'s rows as tensors, split between ranks and DataLoader workers.

    ``dsn``: where to connect (each worker connects itself). ``dtype``: tensor type (default
    float32). ``batch_size``: rows per item (the last one per worker may be shorter).
    ``chunk_rows``: rows per read unit (a chunk, or a block in planned mode). See the module
    docstring for ``shuffle``, ``seed``, ``drop_tail``, ``rank``/``world_size``, ``cache_dir``.
    """

    def __init__(self, dsn: str, query: str, *, batch_size: int = 1024, chunk_rows: int = 65536,
                 dtype: torch.dtype = torch.float32, shuffle: bool = False, seed: int = 0,
                 drop_tail: bool = False, rank: int | None = None, world_size: int | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, shuffle_window: int = 8):
        super().__init__()
        if batch_size < 1 or chunk_rows < 1 or shuffle_window < 1:
            raise InvalidParameter("batch_size, chunk_rows and shuffle_window must be at least 1")
        if seed < 0:
            raise InvalidParameter(f"seed must not be negative, not {seed}")
        self.dsn = dsn
        self.query = query
        self.batch_size = batch_size
        self.chunk_rows = chunk_rows
        self.dtype = dtype
        self.shuffle = shuffle
        self.seed = seed
        self.drop_tail = drop_tail
        self.rank, self.world_size = distributed_position(rank, world_size)
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.shuffle_window = shuffle_window
        self.epoch = 0
        self._rows: int | None = None

    @property
    def planned(self) -> bool:
        return self.world_size > 1 or self.shuffle or self.drop_tail or self.cache_dir is not None

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration yields (DistributedSampler.set_epoch).

        Called in the main process before the DataLoader starts its workers, it also counts the
        rows once there, so that the workers do not each count them again."""
        self.epoch = int(epoch)
        if self.planned:
            self._count()

    def __len__(self) -> int:
        """Batches this rank yields per epoch (planned mode; counts the rows once)."""
        if not self.planned:
            raise TypeError("len() of a TorchDataset needs planned mode (shuffle, drop_tail, cache_dir or ranks)")
        return _blocks.rank_batches(self._count(), self.rank, self.world_size, self.batch_size, drop_tail=self.drop_tail)

    def _count(self) -> int:
        if self._rows is None:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                self._rows = self._reader(conn).n_rows
        return self._rows

    def _reader(self, conn: psycopg.Connection) -> _blocks.BlockReader:
        return _blocks.BlockReader(conn, postgres_text(self.query), self.chunk_rows, cache_dir=self.cache_dir)

    def __iter__(self) -> Iterator[torch.Tensor]:
        worker, workers = _worker()
        batches = self._planned(worker, workers) if self.planned else self._plain(worker, workers)
        with closing(batches):  # type: ignore[type-var]
            for batch in batches:
                yield torch.from_numpy(np.ascontiguousarray(batch)).to(self.dtype)

    def _plain(self, worker: int, workers: int) -> Iterator[np.ndarray]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            frames = stream_part(conn, self.query, worker, workers, chunk_rows=self.chunk_rows)
            matrices = _matrices(frames)
            # Close the read before the connection when the consumer stops early.
            with closing(BatchFeeder(lambda: matrices, self.batch_size, prefetch=0).__iter__()) as batches:
                yield from batches

    def _planned(self, worker: int, workers: int) -> Iterator[np.ndarray]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            reader = self._reader(conn)
            n_rows = self._rows if self._rows is not None else reader.n_rows
            pieces = _blocks.plan(n_rows, self.chunk_rows, rank=self.rank, world=self.world_size, worker=worker,
                                  workers=workers, batch_size=self.batch_size, shuffle=self.shuffle,
                                  seed=self.seed, epoch=self.epoch, drop_tail=self.drop_tail)
            rows = self._rows_of(reader, pieces)
            if self.shuffle:
                rows = self._mixed(rows, worker)
            with closing(rows):  # type: ignore[type-var]
                yield from _consecutive(rows, self.batch_size)

    def _rows_of(self, reader: _blocks.BlockReader, pieces: Sequence[_blocks.Piece]) -> Iterator[np.ndarray]:
        """Each piece's rows in the epoch's order."""
        by_block = {p.block: p for p in pieces}
        blocks = reader.blocks([p.block for p in pieces])
        with closing(blocks):  # type: ignore[type-var]
            for block, values in blocks:
                piece = by_block[block]
                order = _blocks.row_order(block, len(values), shuffle=self.shuffle, seed=self.seed, epoch=self.epoch)
                yield values[piece.lo:piece.hi] if order is None else values[order[piece.lo:piece.hi]]

    def _mixed(self, pieces: Iterator[np.ndarray], worker: int) -> Iterator[np.ndarray]:
        """Rows of ``shuffle_window`` pieces at a time, permuted together (seeded per epoch, rank, worker)."""
        window: list[np.ndarray] = []
        number = 0
        with closing(pieces):  # type: ignore[type-var]
            for piece in pieces:
                window.append(piece)
                if len(window) == self.shuffle_window:
                    yield self._permuted(window, worker, number)
                    window, number = [], number + 1
        if window:
            yield self._permuted(window, worker, number)

    def _permuted(self, window: list[np.ndarray], worker: int, number: int) -> np.ndarray:
        rows = np.concatenate(window) if len(window) > 1 else window[0]
        rng = np.random.default_rng([self.seed, self.epoch, 2, self.rank, worker, number])
        return rows[rng.permutation(len(rows))]


def _consecutive(parts: Iterator[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Batches of ``batch_size`` consecutive rows across parts (the last one may be shorter)."""
    pending: list[np.ndarray] = []
    count = 0
    for part in parts:
        i = 0
        while i < len(part):
            take = part[i:i + batch_size - count]
            i += len(take)
            pending.append(take)
            count += len(take)
            if count == batch_size:
                yield pending[0] if len(pending) == 1 else np.concatenate(pending)
                pending, count = [], 0
    if count:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


# -- sequences --------------------------------------------------------------------------------


def batch_tensors(batch: SequenceBatch, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """A SequenceBatch as tensors: ``values``, ``mask`` (bool), ``lengths`` (int64), ``keys`` (a list)."""
    values = torch.from_numpy(np.ascontiguousarray(batch.values))
    return {"values": values if dtype is None else values.to(dtype), "mask": torch.from_numpy(batch.mask),
            "lengths": torch.from_numpy(batch.lengths), "keys": batch.keys.tolist()}


def pad_collate(items: Sequence[dict[str, Any]], *, pad_value: float = 0) -> dict[str, Any]:
    """DataLoader ``collate_fn`` for single sequences (``{"key", "values"}`` dicts, as
    ``SequenceDataset(batch_size=None)`` yields): pads to the longest, with mask and lengths."""
    keys = [item["key"] for item in items]
    values = [item["values"].numpy() if isinstance(item["values"], torch.Tensor) else np.asarray(item["values"])
              for item in items]
    return batch_tensors(pad(np.array(keys, dtype=object), values, pad_value=pad_value))


class SequenceDataset(IterableDataset[dict[str, Any]]):
    """:func:`db4ai.data.sequences` as a PyTorch dataset, keys split between workers (and ranks).

    With ``batch_size`` it yields padded batches as dicts of tensors (use
    ``DataLoader(ds, batch_size=None)``); with ``batch_size=None`` single sequences
    ``{"key", "values"}`` for ``DataLoader(ds, batch_size=n, collate_fn=pad_collate)``. Keys go to
    readers in groups of ``chunk_keys`` consecutive keys, round robin over ranks x workers.
    """

    def __init__(self, dsn: str, query: str, *, key: str, order_by: str | Sequence[str] | None = None,
                 max_length: int | None = None, batch_size: int | None = 32, bucket: bool = False,
                 bucket_batches: int = 50, keep: str = "first", pad_value: float = 0, chunk_keys: int = 1024,
                 dtype: torch.dtype | None = None, rank: int | None = None, world_size: int | None = None):
        super().__init__()
        self.dsn = dsn
        self.query = query
        self.options: dict[str, Any] = dict(key=key, order_by=order_by, max_length=max_length, keep=keep,
                                            chunk_keys=chunk_keys)
        self.batching: dict[str, Any] = dict(bucket=bucket, bucket_batches=bucket_batches, pad_value=pad_value)
        self.batch_size = batch_size
        self.dtype = dtype
        self.rank, self.world_size = distributed_position(rank, world_size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker, workers = _worker()
        part, parts = self.rank * workers + worker, self.world_size * workers
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            if self.batch_size is None:
                items = sequence_items(conn, self.query, part=part, parts=parts, **self.options)
                with closing(items):  # type: ignore[type-var]
                    for key, values in items:
                        t = torch.from_numpy(values)
                        yield {"key": key, "values": t if self.dtype is None else t.to(self.dtype)}
                return
            batches = sequences(conn, self.query, batch_size=self.batch_size, part=part, parts=parts,
                                **self.options, **self.batching)
            with closing(batches):  # type: ignore[type-var]
                for batch in batches:
                    yield batch_tensors(batch, self.dtype)


__all__ = ["SequenceDataset", "TorchDataset", "batch_tensors", "distributed_position", "pad_collate"]
