"""What openGauss's gradient-descent family shares (linear_regression, logistic_regression, svm,
multiclass): reading the rows into batches in scan order, a row store for any of the family's
losses, the ngd scales of stores that do not keep rows, and running the loop of :mod:`db4ai.algorithms.optim`
with openGauss's verbose NOTICEs.

An algorithm of the family provides a batch store (an :class:`~db4ai.algorithms.optim.Objective`: per-batch
test losses and one pass of updates). :class:`RowBatches` keeps the rows and trains them with the
compiled loops of :mod:`~db4ai.algorithms.gd_kernels` for a :class:`Loss`; a store may instead
reduce each batch to sufficient statistics when its loss allows (linear_regression's Gram
matrices).

Memory: a row store holds its rows once, as float64 ``[target, x1..xk]`` (8·(k+1) bytes a row,
no per-batch objects); past ``ROW_MEMORY_LIMIT`` bytes they go to a memory-mapped temporary file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

import numpy as np

from ..errors import DataError
from .base import TrainingData
from .gd_codes import FLT_MIN, HINGE, LOGISTIC, SQUARED
from .optim import Optimizer, PassRecord, Scales, TrainResult, make_optimizer, train, verbose_line

if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType


#: Bytes of rows :class:`RowBatches` keeps in memory before spilling them to a temporary file.
ROW_MEMORY_LIMIT = 1 << 30

#: Rows handled per vectorised step: keeps temporaries small (allocating large fresh arrays costs
#: more than the arithmetic on them).
BLOCK_ROWS = 32768


def kernels() -> ModuleType:
    """The compiled loops (:mod:`db4ai.algorithms.gd_kernels`), loaded when a training needs them:
    numba and LLVM take about a second and 140 MB to load, which nothing but training should pay."""
    from . import gd_kernels

    return gd_kernels


class BatchStore(Protocol):
    """Receives rows ``[y, x1..xk]`` of whole batches in scan order (only the last call may end with a
    partial one) and becomes an :class:`~db4ai.algorithms.optim.Objective` when finished."""

    def add(self, values: np.ndarray, batch_size: int) -> None: ...

    def finish(self) -> BatchStore: ...


class ScaleTracker:
    """Running ngd statistics over rows in scan order (see :class:`db4ai.algorithms.optim.Scales`), for stores
    that do not keep the rows.

    Rows come as ``[target, x1..xk]``; the bias feature (always 1.0) contributes ``s = 1`` and
    exactly 1.0 to ``N`` per row, so it is added analytically. Per batch it keeps k+2 numbers, in
    arrays (one per block of rows), never an object per batch.
    """

    def __init__(self, n_features: int):
        self.s = np.zeros(n_features)
        self.n = 0.0
        self._s_end: list[np.ndarray] = []
        self._n_end: list[np.ndarray] = []

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
        s_end = np.ones((len(ends), running.shape[0] + 1))
        s_end[:, :-1] = running[:, ends - 1].T
        self._s_end.append(s_end)
        self._n_end.append(cumulative[ends - 1])
        self.s = running[:, -1].copy()
        self.n = float(cumulative[-1])

    def add_batches(self, values: np.ndarray, batch_size: int) -> None:
        """Rows of whole batches (the last may be partial), in blocks of bounded size."""
        step = max(1, BLOCK_ROWS // batch_size) * batch_size
        for lo in range(0, len(values), step):
            block = values[lo : lo + step]
            self.add(block, batch_ends(len(block), batch_size))

    def result(self) -> Scales:
        width = len(self.s) + 1
        s_end = np.concatenate(self._s_end) if self._s_end else np.empty((0, width))
        n_end = np.concatenate(self._n_end) if self._n_end else np.empty(0)
        return Scales(s_end=s_end, n_end=n_end)


def batch_ends(rows: int, batch_size: int) -> np.ndarray:
    ends = np.arange(batch_size, rows + 1, batch_size)
    return ends if rows % batch_size == 0 else np.append(ends, rows)


@dataclass(frozen=True)
class Loss:
    """One of the family's losses, as the compiled loops know them.

    ``kind``: :data:`SQUARED` (linear), :data:`LOGISTIC` or :data:`HINGE`
    (svm, gradient scaled by ``2·lam``). ``low``/``high``: the binary model's class values (logistic
    0/1, svm −1/+1). ``models`` > 0: one-vs-all with that many binary models, the target column
    holding the class number.
    """

    kind: int
    lam: float = 0.0
    low: float = 0.0
    high: float = 1.0
    models: int = 0


class RowBatches:
    """The rows themselves, batched in scan order, trained by the compiled loops for a :class:`Loss`.

    Rows are written once, in scan order, into one float64 array ``[y, x1..xk]`` reserved at
    ``memory_limit`` bytes: the operating system backs only the pages rows are written to, so the
    reservation costs nothing and the rows are never copied into a bigger array. Past the limit
    they go to an unnamed temporary file that is memory-mapped, so the operating system pages them
    in per pass instead of the process holding them all.
    """

    def __init__(self, n_features: int, loss: Loss, *, memory_limit: int = ROW_MEMORY_LIMIT):
        self.n_weights = n_features + 1
        self.loss = loss
        self.accuracy: float | None = None  # of the weights last tested (openGauss's verbose accuracy)
        self._k = n_features
        self._buffer = _reserve(memory_limit // (8 * (n_features + 1)), n_features + 1)
        self._rows = 0
        self._file: IO[bytes] | None = None
        self._batch_size = 1

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.loss.models, self.n_weights) if self.loss.models else (self.n_weights,)

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def add(self, values: np.ndarray, batch_size: int) -> None:
        self._batch_size = batch_size
        rows = self._rows + len(values)
        if self._file is None and rows > len(self._buffer):
            self._file = tempfile.TemporaryFile(prefix="db4ai-rows-")
            self._buffer[: self._rows].tofile(self._file)
            self._buffer = np.empty((0, self._k + 1))
        if self._file is not None:
            np.ascontiguousarray(values, dtype=np.float64).tofile(self._file)
        else:
            self._buffer[self._rows : rows] = values
        self._rows = rows

    def finish(self) -> RowBatches:
        width = self._k + 1
        if self._file is not None:
            self._file.flush()
            self._V: np.ndarray = np.asarray(np.memmap(self._file, dtype=np.float64, mode="r+",
                                                       shape=(self._rows, width)))
        else:
            self._V = self._buffer[: self._rows]
        del self._buffer
        n = self._rows
        self._starts = np.arange(0, n, self._batch_size, dtype=np.int64)
        self._ends = np.minimum(self._starts + self._batch_size, n)
        self.sizes = (self._ends - self._starts).astype(np.int64)
        return self

    @property
    def values(self) -> np.ndarray:
        """All rows ``[y, x]`` in scan order (memory-mapped when spilled)."""
        return self._V

    def _matrix(self, w: np.ndarray) -> np.ndarray:
        return w.reshape(-1, self.n_weights)

    def batch_losses(self, w: np.ndarray) -> np.ndarray:
        loss = self.loss
        out = np.empty(len(self.sizes))
        correct = kernels().batch_test(self._V, self._starts, self._ends, self._matrix(w), loss.kind, loss.models > 0,
                                       loss.low, loss.high, out)
        self.accuracy = None if correct < 0 else correct / max(self._rows, 1)
        return out

    def train_pass(self, order: np.ndarray, w: np.ndarray, optimizer: Optimizer, first: bool) -> np.ndarray:
        loss = self.loss
        kernels().train_rows(self._V, self._starts, self._ends, order, self._matrix(w), loss.kind,
                             loss.lam, loss.models > 0, loss.low, loss.high, optimizer.kind, optimizer.learning_rate,
                             first, optimizer.scale, optimizer.scale_rate)
        return w

    def scores(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        """``(Σ per-row loss, confusion[true, predicted])`` of weights ``w`` over all rows
        (binary: 0 negative, 1 positive; one-vs-all: class numbers)."""
        loss = self.loss
        size = max(loss.models, 2)
        confusion = np.zeros((size, size), dtype=np.int64)
        total = kernels().stored_scores(self._V, self._matrix(w), loss.kind, loss.models > 0, loss.low,
                                        loss.high, confusion)
        return total, confusion


def _reserve(rows: int, width: int) -> np.ndarray:
    """An uninitialised (rows, width) float64 array. A large one is a fresh mapping whose pages the
    operating system provides when first written; where it cannot be reserved (a strict
    overcommit policy), a smaller one is (rows then spill to a file sooner)."""
    while True:
        try:
            return np.empty((max(rows, 0), width))
        except MemoryError:
            if rows < 1024:
                raise
            rows //= 2


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


def read_batches(data: TrainingData, make_store: Callable[[int], BatchStore],
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> BatchStore:
    """The training rows, batched in scan order into the store ``make_store(n_features)`` builds;
    ``transform`` maps each chunk of rows ``[y, x]`` first (svm's kernels: ``[y, z]``)."""
    builder: BatchBuilder | None = None
    for values in data.chunks():
        if len(values) == 0:
            continue
        if transform is not None:
            values = transform(values)
        if builder is None:
            builder = BatchBuilder(make_store(values.shape[1] - 1), int(data.hyperparameters["batch_size"]))
        builder.add(values)
    if builder is None:
        raise DataError("Input data is empty")
    return builder.finish()


def run(data: TrainingData, objective: BatchStore) -> TrainResult:
    """openGauss's loop over the batches with the hyperparameters of the GD family.

    Each pass is reported to ``data.progress``; with ``verbose``, also as openGauss's NOTICE line,
    whose accuracy is the store's ``accuracy`` of the weights the pass tested (openGauss's test
    counts; -1 when the store keeps none: regression, one-vs-all).
    """
    hp = data.hyperparameters
    rows = data.rows
    tolerance = float(hp["tolerance"])

    def report(record: PassRecord) -> None:
        if hp["verbose"] and record.pass_no > 0:
            accuracy = getattr(objective, "accuracy", None)
            data.notice(verbose_line(record, tolerance, rows, accuracy=-1.0 if accuracy is None else accuracy))
        data.progress(record)

    shape = objective.weight_shape  # type: ignore[attr-defined]
    optimizer = make_optimizer(str(hp["optimizer"]), float(hp["learning_rate"]), float(hp["decay"]), shape[-1])
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
    "FLT_MIN",
    "HINGE",
    "LOGISTIC",
    "ROW_MEMORY_LIMIT",
    "SQUARED",
    "BatchBuilder",
    "BatchStore",
    "Loss",
    "RowBatches",
    "ScaleTracker",
    "batch_ends",
    "kernels",
    "read_batches",
    "run",
]
