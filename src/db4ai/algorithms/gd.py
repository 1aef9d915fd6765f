"""What openGauss's gradient-descent family shares (linear_regression, logistic_regression, svm,
multiclass): reading the rows into batches in scan order, the ngd scales, a row store for any
per-row loss, and running the loop of :mod:`db4ai.optim` with openGauss's verbose NOTICEs.

An algorithm of the family provides a batch store (an :class:`~db4ai.optim.Objective`: per-batch
gradient and test loss). :class:`RowBatches` keeps the rows and takes a :class:`Loss`; a store may
instead reduce each batch to sufficient statistics when its loss allows (linear_regression's Gram
matrices). Rows beyond ``ROW_MEMORY_LIMIT`` bytes are spilled to a memory-mapped temporary file, so
memory stays bounded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Protocol

import numpy as np

from ..errors import DataError
from ..optim import PassRecord, Scales, TrainResult, make_optimizer, train, verbose_line
from .base import TrainingData

#: Bytes of rows :class:`RowBatches` keeps in memory before spilling them to a temporary file.
ROW_MEMORY_LIMIT = 1 << 30

#: Rows handled per vectorised step: keeps temporaries small (allocating large fresh arrays costs
#: more than the arithmetic on them).
BLOCK_ROWS = 32768


class BatchStore(Protocol):
    """Receives rows ``[y, x1..xk]`` of whole batches in scan order (only the last call may end with a
    partial one) and becomes an :class:`~db4ai.optim.Objective` when finished."""

    def add(self, values: np.ndarray, batch_size: int) -> None: ...

    def finish(self) -> "BatchStore": ...


class ScaleTracker:
    """Running ngd statistics over rows in scan order (see :class:`db4ai.optim.Scales`).

    Rows come as ``[target, x1..xk]``; the bias feature (always 1.0) contributes ``s = 1`` and
    exactly 1.0 to ``N`` per row, so it is added analytically.
    """

    def __init__(self, n_features: int):
        self.s = np.zeros(n_features)
        self.n = 0.0
        self.s_end: list[np.ndarray] = []
        self.n_end: list[float] = []

    def add(self, values: np.ndarray, ends: np.ndarray) -> None:
        """Rows in scan order; ``ends`` are batch end offsets within ``values``."""
        if len(values) == 0:
            return
        q = np.square(values[:, 1:]).T.copy()  # (k, rows): accumulate along contiguous rows
        running = np.maximum.accumulate(q, axis=1)
        np.maximum(running, self.s[:, None], out=running)
        share = np.divide(q, running, out=np.zeros_like(q), where=running > 0).sum(axis=0)
        share += 1.0  # the bias feature
        cumulative = np.cumsum(share)
        cumulative += self.n
        for end in ends:
            self.s_end.append(np.append(running[:, end - 1], 1.0))
            self.n_end.append(float(cumulative[end - 1]))
        self.s = running[:, -1].copy()
        self.n = float(cumulative[-1])

    def add_batches(self, values: np.ndarray, batch_size: int) -> None:
        """Rows of whole batches (the last may be partial), in blocks of bounded size."""
        step = max(1, BLOCK_ROWS // batch_size) * batch_size
        for lo in range(0, len(values), step):
            block = values[lo : lo + step]
            self.add(block, batch_ends(len(block), batch_size))

    def result(self) -> Scales:
        return Scales(s_end=np.array(self.s_end), n_end=np.array(self.n_end))


def batch_ends(rows: int, batch_size: int) -> np.ndarray:
    ends = np.arange(batch_size, rows + 1, batch_size)
    return ends if rows % batch_size == 0 else np.append(ends, rows)


class Loss(Protocol):
    """A per-row loss of the margin ``m = x·w`` (bias included) and the encoded target ``y``."""

    def residual(self, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``r`` such that a batch's gradient is ``Xᵀr`` (openGauss compute_gradients)."""
        ...

    def row_losses(self, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-row losses whose batch mean is openGauss's test loss of the batch."""
        ...


class RowBatches:
    """The rows themselves, batched in scan order, for any :class:`Loss`.

    Rows are kept as ``[y, x1..xk]``; past ``memory_limit`` bytes they go to an unnamed temporary
    file that is memory-mapped, so the operating system pages them in per pass instead of the
    process holding them all.
    """

    def __init__(self, n_features: int, loss: Loss, *, track_scales: bool, memory_limit: int = ROW_MEMORY_LIMIT):
        self.n_weights = n_features + 1
        self.loss = loss
        self._k = n_features
        self._parts: list[np.ndarray] = []
        self._bytes = 0
        self._rows = 0
        self._limit = memory_limit
        self._file: IO[bytes] | None = None
        self._scales = ScaleTracker(n_features) if track_scales else None
        self._batch_size = 1

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def add(self, values: np.ndarray, batch_size: int) -> None:
        self._batch_size = batch_size
        values = np.ascontiguousarray(values, dtype=np.float64)
        if self._file is None and self._bytes + values.nbytes > self._limit:
            self._file = tempfile.TemporaryFile(prefix="db4ai-rows-")
            for part in self._parts:
                part.tofile(self._file)
            self._parts = []
        if self._file is not None:
            values.tofile(self._file)
        else:
            self._parts.append(values)
            self._bytes += values.nbytes
        self._rows += len(values)
        if self._scales is not None:
            self._scales.add_batches(values, batch_size)

    def finish(self) -> "RowBatches":
        width = self._k + 1
        if self._file is not None:
            self._file.flush()
            self._V: np.ndarray = np.memmap(self._file, dtype=np.float64, mode="r", shape=(self._rows, width))
        else:
            self._V = np.concatenate(self._parts) if self._parts else np.empty((0, width))
        del self._parts
        n = self._rows
        self._starts = np.arange(0, n, self._batch_size)
        self._ends = np.minimum(self._starts + self._batch_size, n)
        self.sizes = (self._ends - self._starts).astype(np.int64)
        return self

    @property
    def values(self) -> np.ndarray:
        """All rows ``[y, x]`` in scan order (memory-mapped when spilled)."""
        return self._V

    def scales(self) -> Scales:
        if self._scales is None:
            raise RuntimeError("ngd scales were not tracked")
        return self._scales.result()

    def margins(self, rows: np.ndarray, w: np.ndarray) -> np.ndarray:
        return rows[:, 1:] @ w[: self._k] + w[self._k]

    def gradient(self, b: int, w: np.ndarray) -> np.ndarray:
        rows = self._V[self._starts[b] : self._ends[b]]
        r = self.loss.residual(self.margins(rows, w), rows[:, 0])
        g = np.empty(self.n_weights)
        g[: self._k] = rows[:, 1:].T @ r
        g[self._k] = r.sum()
        return g

    def blocks(self) -> "list[tuple[int, np.ndarray]]":
        """``(first batch, rows)`` blocks of whole batches, for vectorised passes over all rows."""
        step = max(1, BLOCK_ROWS // self._batch_size) * self._batch_size
        return [(lo // self._batch_size, self._V[lo : lo + step]) for lo in range(0, self._rows, step)]

    def batch_losses(self, w: np.ndarray) -> np.ndarray:
        sums = np.empty(len(self.sizes))
        for first, rows in self.blocks():
            losses = self.loss.row_losses(self.margins(rows, w), rows[:, 0])
            count = -(-len(rows) // self._batch_size)
            sums[first : first + count] = np.add.reduceat(losses, np.arange(0, len(rows), self._batch_size))
        return sums / self.sizes


class BatchBuilder:
    """Cuts a stream of row chunks (target first, then features) into batches in scan order."""

    def __init__(self, store: BatchStore, batch_size: int):
        self.store = store
        self.batch_size = batch_size
        self.rows = 0
        self._carry: np.ndarray | None = None

    def add(self, values: np.ndarray) -> None:
        """The next rows in scan order (any number)."""
        self.rows += len(values)
        bs = self.batch_size
        if self._carry is not None:
            head = values[: bs - len(self._carry)]
            values = values[len(head) :]
            joined = np.concatenate([self._carry, head])
            if len(joined) < bs:
                self._carry = joined
                return
            self.store.add(joined, bs)
            self._carry = None
        whole = (len(values) // bs) * bs
        if whole:
            self.store.add(values[:whole], bs)
        if len(values) > whole:
            self._carry = values[whole:].copy()

    def finish(self) -> BatchStore:
        if self._carry is not None:
            self.store.add(self._carry, self.batch_size)
        self._carry = None
        return self.store.finish()


def read_batches(data: TrainingData, make_store: Callable[[int], BatchStore]) -> BatchStore:
    """The training rows, batched in scan order into the store ``make_store(n_features)`` builds."""
    builder: BatchBuilder | None = None
    for values in data.chunks():
        if len(values) == 0:
            continue
        if builder is None:
            builder = BatchBuilder(make_store(values.shape[1] - 1), int(data.hyperparameters["batch_size"]))
        builder.add(values)
    if builder is None:
        raise DataError("Input data is empty")
    return builder.finish()


def run(
    data: TrainingData,
    objective: BatchStore,
    *,
    accuracy: Callable[[np.ndarray], float] | None = None,
) -> TrainResult:
    """openGauss's loop over the batches with the hyperparameters of the GD family.

    Each pass is reported to ``data.progress``; with ``verbose``, also as openGauss's NOTICE line
    (``accuracy`` of the kept weights for classifiers, -1 for regression).
    """
    hp = data.hyperparameters
    rows = data.rows
    tolerance = float(hp["tolerance"])

    def report(record: PassRecord) -> None:
        if hp["verbose"] and record.pass_no > 0:
            acc = -1.0 if accuracy is None else accuracy(record.weights)
            data.notice(verbose_line(record, tolerance, rows, accuracy=acc))
        data.progress(record)

    optimizer = make_optimizer(str(hp["optimizer"]), float(hp["learning_rate"]), float(hp["decay"]), objective)  # type: ignore[arg-type]
    # A learning rate too large for unscaled data diverges to inf/NaN, as in openGauss; the
    # orchestration reports that (openGauss's "weights are out of range" NOTICE).
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return train(
            objective,  # type: ignore[arg-type]
            optimizer,
            max_iterations=int(hp["max_iterations"]),
            tolerance=tolerance,
            max_seconds=int(hp["max_seconds"]),
            seed=int(hp["seed"]),
            start=data.start,
            on_pass=report,
        )


__all__ = [
    "BLOCK_ROWS",
    "ROW_MEMORY_LIMIT",
    "BatchBuilder",
    "BatchStore",
    "Loss",
    "RowBatches",
    "ScaleTracker",
    "batch_ends",
    "read_batches",
    "run",
]
