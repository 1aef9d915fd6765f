"""BatchFeeder: consecutive-row batches for any training loop, with background prefetch.

Rows are consumed in scan order into consecutive batches of ``batch_size`` rows (the last
one may be shorter). With ``shuffle=True`` the ORDER OF BATCHES is permuted while rows
inside a batch stay in scan order (openGauss semantics): over the whole pass when the source
is one in-memory Matrix, else within consecutive windows of ``shuffle_window`` batches
(memory: one window). The permutations come from ``numpy.random.default_rng(seed)``, drawn
pass after pass, so a seed reproduces the whole sequence of passes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from typing import cast

import numpy as np

from ._frame import Matrix
from ._parallel import prefetched

Source = Matrix | np.ndarray | Iterable[Matrix] | Callable[[], Iterator[Matrix]]


class BatchFeeder:
    """Iterate batches (2-D float64 arrays) of a Matrix, matrices, or a stream factory.

    ``source``: a Matrix or 2-D array (held in memory); an iterable of Matrix (a list is
    re-iterable; a one-shot iterator gives one pass); or a callable returning a fresh
    iterator of Matrix per pass (e.g. ``lambda: stream_matrix(conn, q, cache=cache)``).
    ``prefetch``: batches prepared ahead by a background thread (0: no thread).
    ``first_pass_in_order``: keep scan order on the first pass (openGauss pass 0).
    After a complete pass, ``rows`` and ``discarded`` hold that pass's counts.
    """

    def __init__(self, source: Source, batch_size: int, *, shuffle: bool = False, seed: int | None = None,
                 prefetch: int = 2, shuffle_window: int = 64, first_pass_in_order: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if prefetch < 0 or shuffle_window < 1:
            raise ValueError("prefetch must be >= 0 and shuffle_window >= 1")
        self.source = source
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.prefetch = prefetch
        self.shuffle_window = shuffle_window
        self.first_pass_in_order = first_pass_in_order
        self.passes = 0
        self.rows = 0
        self.discarded = 0
        self._rng = np.random.default_rng(seed)

    # -- one pass --------------------------------------------------------------------------
    def __iter__(self) -> Generator[np.ndarray, None, None]:
        shuffle = self.shuffle and not (self.first_pass_in_order and self.passes == 0)
        rng = np.random.default_rng(self._rng.integers(2**63)) if shuffle else None
        batches = self._batches(rng)
        if self.prefetch:
            batches = prefetched(batches, self.prefetch)  # type: ignore[assignment]
        return self._counted(batches)

    def _counted(self, batches: Generator[np.ndarray, None, None]) -> Generator[np.ndarray, None, None]:
        with closing(batches):
            yield from batches
        self.passes += 1

    def _batches(self, rng: np.random.Generator | None) -> Generator[np.ndarray, None, None]:
        values = self._in_memory()
        if values is not None:
            self.rows, self.discarded = len(values), self._discarded_of(self.source)
            starts = np.arange(0, len(values), self.batch_size)
            if rng is not None:
                starts = rng.permutation(starts)
            for s in starts:
                yield values[s:s + self.batch_size]
            return
        batches = self._consecutive(self._matrices())
        if rng is None:
            yield from batches
            return
        window: list[np.ndarray] = []
        for batch in batches:
            window.append(batch)
            if len(window) == self.shuffle_window:
                yield from (window[i] for i in rng.permutation(len(window)))
                window = []
        yield from (window[i] for i in rng.permutation(len(window)))

    def _in_memory(self) -> np.ndarray | None:
        if isinstance(self.source, Matrix):
            return self.source.values
        if isinstance(self.source, np.ndarray):
            if self.source.ndim != 2:
                raise ValueError("a BatchFeeder array source must be 2-D (rows x columns)")
            return self.source
        return None

    @staticmethod
    def _discarded_of(source: object) -> int:
        return source.discarded if isinstance(source, Matrix) else 0

    def _matrices(self) -> Generator[Matrix, None, None]:
        source = self.source
        it: Iterator[Matrix] = source() if callable(source) else iter(cast(Iterable[Matrix], source))
        rows = discarded = 0
        try:
            for m in it:
                rows += len(m)
                discarded += m.discarded
                yield m
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        self.rows, self.discarded = rows, discarded

    def _consecutive(self, matrices: Generator[Matrix, None, None]) -> Generator[np.ndarray, None, None]:
        """Batches of consecutive rows across chunk boundaries."""
        b = self.batch_size
        pieces: list[np.ndarray] = []
        pending = 0
        with closing(matrices):
            for m in matrices:
                v = m.values
                i = 0
                while i < len(v):
                    take = v[i:i + b - pending]
                    i += len(take)
                    pieces.append(take)
                    pending += len(take)
                    if pending == b:
                        yield pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
                        pieces, pending = [], 0
        if pending:
            yield pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
