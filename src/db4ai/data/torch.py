"""A PyTorch ``IterableDataset`` over a query (needs the ``torch`` extra).

Each DataLoader worker opens its own connection and reads the chunks ``w, w + n, ...`` of
the query (ctid page ranges of a table, or row-number groups of any other query), so the
workers together yield every row exactly once. Items are float batches ``(rows, columns)``
of consecutive rows from one worker; use ``DataLoader(dataset, batch_size=None)``. Rows
with a NULL or a value that is not finite are left out (as in ``read_matrix``). Workers read in separate transactions:
use a snapshot (immutable) or a table nobody writes to while training.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import numpy as np
import psycopg
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ._reader import _matrices, stream_part
from .feeder import BatchFeeder


class TorchDataset(IterableDataset[torch.Tensor]):
    """Batches of ``query``'s rows as tensors, split between DataLoader workers.

    ``dsn``: where to connect (each worker connects itself). ``dtype``: tensor type
    (default float32). ``batch_size``: rows per item (the last one per worker may be shorter).
    """

    def __init__(self, dsn: str, query: str, *, batch_size: int = 1024, chunk_rows: int = 65536,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.dsn = dsn
        self.query = query
        self.batch_size = batch_size
        self.chunk_rows = chunk_rows
        self.dtype = dtype

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = get_worker_info()
        part, parts = (info.id, info.num_workers) if info is not None else (0, 1)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            frames = stream_part(conn, self.query, part, parts, chunk_rows=self.chunk_rows)
            matrices = _matrices(frames)
            # Close the read before the connection when the consumer stops early.
            with closing(BatchFeeder(lambda: matrices, self.batch_size, prefetch=0).__iter__()) as batches:
                for batch in batches:
                    yield torch.from_numpy(np.ascontiguousarray(batch)).to(self.dtype)
