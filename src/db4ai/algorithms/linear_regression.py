"""linear_regression: least squares trained by openGauss's GD loop (algorithms/linregr.cpp).

Per batch of n rows (features x with a constant 1.0 bias appended as the last column, target y):
gradient ``Xᵀ(Xw − y)`` and test loss ``Σ(x·w − y)² / (2n)``. Both are functions of a few sums
over the batch's rows, so each batch is reduced once, when the rows are read, to

* ``G = XᵀX`` and ``h = Xᵀy``: the gradient is affine in w, ``G w − h``;
* its mean row ``m`` of ``[x, y]`` and centred scatter matrix ``C`` of ``[x, y]``: with
  ``v = [β, −1]`` the residual sum of squares is ``vᵀCv + n (m·v + bias)²``, which avoids the
  cancellation of the textbook ``wᵀGw − 2wᵀh + yᵀy``.

Every pass then costs O(batches · d²) instead of O(rows · d) (DESIGN §5). When batches are so
small that these matrices would outweigh the rows themselves (batch_size < 2·(d+1), d weights),
the rows are kept instead and used directly (:class:`RowBatches`); beyond ``ROW_MEMORY_LIMIT``
they are spilled to a memory-mapped temporary file, so memory stays bounded either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np

from ..optim import PassRecord, Scales, TrainResult, make_optimizer, train
from . import gd_input
from .hyperparameters import GD_SUPERVISED, Value

NAME = "linear_regression"
HYPERPARAMETERS = GD_SUPERVISED
SCORES = ("mse",)


# -- batch statistics ------------------------------------------------------------------------------

#: Bytes of rows :class:`RowBatches` keeps in memory before spilling them to a temporary file.
ROW_MEMORY_LIMIT = 1 << 30

#: Rows handled per vectorised step: keeps temporaries small (allocating large fresh arrays costs
#: more than the arithmetic on them).
_BLOCK_ROWS = 32768


class _ScaleTracker:
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

    def result(self) -> Scales:
        return Scales(s_end=np.array(self.s_end), n_end=np.array(self.n_end))


def _batch_ends(rows: int, batch_size: int) -> np.ndarray:
    ends = np.arange(batch_size, rows + 1, batch_size)
    return ends if rows % batch_size == 0 else np.append(ends, rows)


class _Batches:
    """What both batch stores share: per-batch losses from squared errors, and the ngd scales."""

    sizes: np.ndarray
    _scales: "_ScaleTracker | None"

    def squared_errors(self, w: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def batch_losses(self, w: np.ndarray) -> np.ndarray:
        return self.squared_errors(w) / self.sizes / 2.0

    def scales(self) -> Scales:
        if self._scales is None:
            raise RuntimeError("ngd scales were not tracked")
        return self._scales.result()


class GramBatches(_Batches):
    """Per-batch sufficient statistics of linear least squares (an :class:`~db4ai.optim.Objective`)."""

    def __init__(self, n_features: int, *, track_scales: bool):
        self.n_weights = n_features + 1
        self._k = n_features
        self._gram: list[np.ndarray] = []
        self._xty: list[np.ndarray] = []
        self._mean: list[np.ndarray] = []
        self._scatter: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._scales = _ScaleTracker(n_features) if track_scales else None

    def add(self, values: np.ndarray, batch_size: int) -> None:
        """Rows ``[target, x1..xk]`` of whole batches (only the last call may end with a partial one)."""
        n = len(values)
        step = max(1, _BLOCK_ROWS // batch_size) * batch_size
        for lo in range(0, n, step):
            block = values[lo : lo + step]
            full = len(block) // batch_size
            whole = full * batch_size
            if full:
                self._add_batches(block[:whole].reshape(full, batch_size, self._k + 1))
            if len(block) > whole:
                self._add_batches(block[whole:].reshape(1, len(block) - whole, self._k + 1))
            if self._scales is not None:
                self._scales.add(block, _batch_ends(len(block), batch_size))

    def _add_batches(self, z: np.ndarray) -> None:
        """``z``: (batches, rows, 1+k) of ``[y, x]``."""
        count, rows, width = z.shape
        k = width - 1
        mean = z.mean(axis=1)
        centred = z - mean[:, None, :]
        scatter = np.matmul(centred.transpose(0, 2, 1), centred)  # of [y, x]
        my, mx = mean[:, 0], mean[:, 1:]
        gram = np.empty((count, k + 1, k + 1))
        gram[:, :k, :k] = scatter[:, 1:, 1:] + rows * mx[:, :, None] * mx[:, None, :]
        gram[:, :k, k] = rows * mx
        gram[:, k, :k] = rows * mx
        gram[:, k, k] = rows
        xty = np.empty((count, k + 1))
        xty[:, :k] = scatter[:, 1:, 0] + rows * mx * my[:, None]
        xty[:, k] = rows * my
        self._gram.append(gram)
        self._xty.append(xty)
        self._mean.append(mean)
        self._scatter.append(scatter)
        self._sizes.append(np.full(count, rows, dtype=np.int64))

    def finish(self) -> "GramBatches":
        d = self.n_weights
        self._G = np.concatenate(self._gram) if self._gram else np.empty((0, d, d))
        self._h = np.concatenate(self._xty) if self._xty else np.empty((0, d))
        self._M = np.concatenate(self._mean) if self._mean else np.empty((0, d))
        self._C = np.concatenate(self._scatter) if self._scatter else np.empty((0, d, d))
        self.sizes = np.concatenate(self._sizes) if self._sizes else np.empty(0, dtype=np.int64)
        del self._gram, self._xty, self._mean, self._scatter, self._sizes
        return self

    # Objective
    def gradient(self, b: int, w: np.ndarray) -> np.ndarray:
        return self._G[b] @ w - self._h[b]

    def squared_errors(self, w: np.ndarray) -> np.ndarray:
        """Σ(x·w − y)² of every batch."""
        v = np.concatenate(([-1.0], w[: self._k]))  # over [y, x]
        quad = np.einsum("bij,i,j->b", self._C, v, v)
        offset = self._M @ v + w[self._k]
        return np.maximum(quad, 0.0) + self.sizes * offset * offset



class RowBatches(_Batches):
    """The rows themselves, for batches too small for :class:`GramBatches` to pay off.

    Rows are kept as ``[y, x1..xk]``; past ``memory_limit`` bytes they go to an unnamed temporary
    file that is memory-mapped, so the operating system pages them in per pass instead of the
    process holding them all.
    """

    def __init__(self, n_features: int, *, track_scales: bool, memory_limit: int = ROW_MEMORY_LIMIT):
        self.n_weights = n_features + 1
        self._k = n_features
        self._parts: list[np.ndarray] = []
        self._bytes = 0
        self._rows = 0
        self._limit = memory_limit
        self._file: IO[bytes] | None = None
        self._scales = _ScaleTracker(n_features) if track_scales else None
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
            step = _BLOCK_ROWS * batch_size
            for lo in range(0, len(values), step):
                block = values[lo : lo + step]
                self._scales.add(block, _batch_ends(len(block), batch_size))

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

    def gradient(self, b: int, w: np.ndarray) -> np.ndarray:
        rows = self._V[self._starts[b] : self._ends[b]]
        x = rows[:, 1:]
        r = x @ w[: self._k] + w[self._k] - rows[:, 0]
        g = np.empty(self.n_weights)
        g[: self._k] = x.T @ r
        g[self._k] = r.sum()
        return g

    def squared_errors(self, w: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.sizes))
        step = max(1, _BLOCK_ROWS // self._batch_size) * self._batch_size  # whole batches per block
        for lo in range(0, self._rows, step):
            rows = self._V[lo : lo + step]
            r = rows[:, 1:] @ w[: self._k] + w[self._k] - rows[:, 0]
            first = lo // self._batch_size
            out[first : first + -(-len(rows) // self._batch_size)] = np.add.reduceat(
                r * r, np.arange(0, len(rows), self._batch_size)
            )
        return out



Batches = GramBatches | RowBatches


def uses_gram(batch_size: int, n_features: int) -> bool:
    """Gram statistics cost 2·(d+1)² numbers per batch; rows cost batch_size·(d+1)."""
    return batch_size >= 2 * (n_features + 2)


class BatchBuilder:
    """Cuts a stream of row chunks (target first, then features) into batches in scan order."""

    def __init__(
        self,
        n_features: int,
        batch_size: int,
        *,
        track_scales: bool,
        gram: bool | None = None,
        memory_limit: int = ROW_MEMORY_LIMIT,
    ):
        use_gram = uses_gram(batch_size, n_features) if gram is None else gram
        self.batches: Batches = (
            GramBatches(n_features, track_scales=track_scales)
            if use_gram
            else RowBatches(n_features, track_scales=track_scales, memory_limit=memory_limit)
        )
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
            self.batches.add(joined, bs)
            self._carry = None
        whole = (len(values) // bs) * bs
        if whole:
            self.batches.add(values[:whole], bs)
        if len(values) > whole:
            self._carry = values[whole:].copy()

    def finish(self) -> Batches:
        if self._carry is not None:
            self.batches.add(self._carry, self.batch_size)
        self._carry = None
        return self.batches.finish()


def build_batches(
    chunks: Iterable[np.ndarray],
    n_features: int,
    batch_size: int,
    *,
    track_scales: bool,
    gram: bool | None = None,
    memory_limit: int = ROW_MEMORY_LIMIT,
) -> tuple[Batches, int]:
    """Batches of the rows (target in column 0) and the number of rows."""
    builder = BatchBuilder(n_features, batch_size, track_scales=track_scales, gram=gram, memory_limit=memory_limit)
    for chunk in chunks:
        builder.add(chunk)
    return builder.finish(), builder.rows


# -- training --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    weights: np.ndarray  # feature weights then the bias
    iterations: int
    scores: dict[str, float]
    result: TrainResult


def fit(
    batches: Batches,
    hyperparameters: dict[str, Value],
    *,
    start: float | None = None,
    on_pass: Callable[[PassRecord], None] | None = None,
) -> Fit:
    """Train with the openGauss loop; ``mse`` is the true mean squared error of the kept weights."""
    hp = hyperparameters
    optimizer = make_optimizer(str(hp["optimizer"]), float(hp["learning_rate"]), float(hp["decay"]), batches)
    # A learning rate too large for unscaled data diverges to inf/NaN, as in openGauss; the caller
    # reports that (openGauss's "weights are out of range" NOTICE) instead of numpy warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = train(
            batches,
            optimizer,
            max_iterations=int(hp["max_iterations"]),
            tolerance=float(hp["tolerance"]),
            max_seconds=int(hp["max_seconds"]),
            seed=int(hp["seed"]),
            start=start,
            on_pass=on_pass,
        )
        rows = int(batches.sizes.sum())
        mse = float(batches.squared_errors(result.weights).sum() / rows)
    return Fit(weights=result.weights, iterations=result.iterations, scores={"mse": mse}, result=result)


def check_input(target: gd_input.InputColumn, features: Sequence[gd_input.InputColumn]) -> bool:
    """openGauss's input checks for a continuous target; True for one float array feature."""
    gd_input.check_continuous_target(target)
    return gd_input.check_features(features)


__all__ = [
    "HYPERPARAMETERS",
    "NAME",
    "SCORES",
    "BatchBuilder",
    "Fit",
    "GramBatches",
    "RowBatches",
    "build_batches",
    "check_input",
    "fit",
    "uses_gram",
]
