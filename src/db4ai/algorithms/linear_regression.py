"""linear_regression: least squares trained by openGauss's GD loop (algorithms/linregr.cpp).

Per batch of n rows (features x with a constant 1.0 bias appended as the last column, target y):
gradient ``Xᵀ(Xw − y)`` and test loss ``Σ(x·w − y)² / (2n)``. Both are functions of a few sums
over the batch's rows, so each batch is reduced once, when the rows are read, to

* ``G = XᵀX`` and ``h = Xᵀy``: the gradient is affine in w, ``G w − h``;
* its mean row ``m`` of ``[x, y]`` and centred scatter matrix ``C`` of ``[x, y]``: with
  ``v = [β, −1]`` the residual sum of squares is ``vᵀCv + n (m·v + bias)²``, which avoids the
  cancellation of the textbook ``wᵀGw − 2wᵀh + yᵀy``.

Every pass then costs O(batches · d²) instead of O(rows · d) (DESIGN §5). When batches are so
small that these matrices would outweigh the rows themselves (batch_size < 2·(d+2), d weights),
the rows are kept instead (:class:`~db4ai.algorithms.gd.RowBatches` with the squared loss).

The model predicts ``x·w + bias`` converted to the TARGET's type as openGauss does (integer
targets truncate toward zero, bool is ``<> 0``).

``optimizer = 'normal_equations'`` (a db4ai addition to openGauss's gd / ngd) solves least squares
exactly in one aggregate scan inside the database instead: :mod:`db4ai.algorithms.least_squares`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, cast

import numpy as np

from . import gd, gd_input, least_squares
from .base import Algorithm, TargetKind, Trained, TrainingData
from .hyperparameters import GD_SUPERVISED, with_values
from .linear_model import LinearModel
from .optim import NGD, Optimizer, Scales

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

NAME = "linear_regression"
#: openGauss's GD set; the optimizer also accepts db4ai's normal_equations (least_squares.OPTIMIZER).
HYPERPARAMETERS = with_values(GD_SUPERVISED, "optimizer", ("gd", "ngd", "normal_equations"))


#: ``(x·w − y)² / 2`` per row: gradient ``Xᵀ(Xw − y)`` (linregr.cpp).
SQUARED = gd.Loss(gd.SQUARED)


class GramBatches:
    """Per-batch sufficient statistics of linear least squares (an :class:`~db4ai.algorithms.optim.Objective`)."""

    def __init__(self, n_features: int, *, track_scales: bool):
        self.n_weights = n_features + 1
        self.weight_shape = (self.n_weights,)
        self._k = n_features
        self._gram: list[np.ndarray] = []
        self._xty: list[np.ndarray] = []
        self._mean: list[np.ndarray] = []
        self._scatter: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._scales = gd.ScaleTracker(n_features) if track_scales else None

    def add(self, values: np.ndarray, batch_size: int) -> None:
        """Rows ``[target, x1..xk]`` of whole batches (only the last call may end with a partial one)."""
        n = len(values)
        step = max(1, gd.BLOCK_ROWS // batch_size) * batch_size
        for lo in range(0, n, step):
            block = values[lo : lo + step]
            full = len(block) // batch_size
            whole = full * batch_size
            if full:
                self._add_batches(block[:whole].reshape(full, batch_size, self._k + 1))
            if len(block) > whole:
                self._add_batches(block[whole:].reshape(1, len(block) - whole, self._k + 1))
            if self._scales is not None:
                self._scales.add(block, gd.batch_ends(len(block), batch_size))

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

    def finish(self) -> GramBatches:
        d = self.n_weights
        self._G = np.concatenate(self._gram) if self._gram else np.empty((0, d, d))
        self._h = np.concatenate(self._xty) if self._xty else np.empty((0, d))
        self._M = np.concatenate(self._mean) if self._mean else np.empty((0, d))
        self._C = np.concatenate(self._scatter) if self._scatter else np.empty((0, d, d))
        self.sizes = np.concatenate(self._sizes) if self._sizes else np.empty(0, dtype=np.int64)
        del self._gram, self._xty, self._mean, self._scatter, self._sizes
        return self

    def scales(self) -> Scales:
        if self._scales is None:
            raise RuntimeError("ngd scales were not tracked")
        return self._scales.result()

    def train_pass(self, order: np.ndarray, w: np.ndarray, optimizer: Optimizer, first: bool) -> np.ndarray:
        if first and optimizer.kind == NGD:
            self._ngd = self.scales()
        ngd = getattr(self, "_ngd", None) or Scales(np.empty((0, self.n_weights)), np.empty(0))
        gd.kernels().train_gram(self._G, self._h, self.sizes, order, w, optimizer.kind, optimizer.learning_rate, first,
                           ngd.s_end, ngd.n_end, optimizer.scale, optimizer.scale_rate)
        return w

    def squared_errors(self, w: np.ndarray) -> np.ndarray:
        """Σ(x·w − y)² of every batch."""
        v = np.concatenate(([-1.0], w[: self._k]))  # over [y, x]
        quad = np.einsum("bij,i,j->b", self._C, v, v)
        offset = self._M @ v + w[self._k]
        return np.maximum(quad, 0.0) + self.sizes * offset * offset

    def batch_losses(self, w: np.ndarray) -> np.ndarray:
        return self.squared_errors(w) / self.sizes / 2.0


Batches = GramBatches | gd.RowBatches


def uses_gram(batch_size: int, n_features: int) -> bool:
    """Gram statistics cost 2·(d+1)² numbers per batch; rows cost batch_size·(d+1)."""
    return batch_size >= 2 * (n_features + 2)


def make_batches(
    n_features: int, batch_size: int, *, track_scales: bool, gram: bool | None = None,
    memory_limit: int = gd.ROW_MEMORY_LIMIT,
) -> Batches:
    """The batch store for this batch size: Gram statistics, or the rows when batches are tiny."""
    if uses_gram(batch_size, n_features) if gram is None else gram:
        return GramBatches(n_features, track_scales=track_scales)
    return gd.RowBatches(n_features, SQUARED, memory_limit=memory_limit)


def build_batches(chunks: Iterable[np.ndarray], n_features: int, batch_size: int, *, track_scales: bool, gram: bool | None = None,
                  memory_limit: int = gd.ROW_MEMORY_LIMIT) -> tuple[Batches, int]:
    """Batches of the rows (target in column 0) and the number of rows."""
    builder = gd.BatchBuilder(make_batches(n_features, batch_size, track_scales=track_scales, gram=gram,
                                           memory_limit=memory_limit), batch_size)
    for chunk in chunks:
        builder.add(chunk)
    return builder.finish(), builder.rows  # type: ignore[return-value]


def squared_error(batches: Batches, w: np.ndarray) -> float:
    """Σ(x·w − y)² over all rows, for either store."""
    if isinstance(batches, GramBatches):
        return float(batches.squared_errors(w).sum())
    return batches.scores(w)[0]


# -- the model (weights, stored or solved) ------------------------------------------------------


def load(data: ModelData) -> LinearModel:
    if least_squares.stored(data):
        return least_squares.load(data)
    return LinearModel(np.asarray(data.arrays["weights"], dtype=np.float64))


# -- training -----------------------------------------------------------------------------------------


def _solver(data: TrainingData) -> ModuleType | None:
    """The least-squares module when the optimizer selects it, else None."""
    return least_squares if data.hyperparameters["optimizer"] == least_squares.OPTIMIZER else None


def statement(data: TrainingData) -> str | None:
    """The SQL statement training runs (normal_equations); None: GD reads the query's rows."""
    solver = _solver(data)
    return None if solver is None else solver.statement(data)


def train(data: TrainingData) -> Trained:
    """openGauss's GD/NGD loop over the rows of ``data``, or the exact solution in SQL."""
    solver = _solver(data)
    if solver is not None:
        return solver.train(data)
    hp = data.hyperparameters
    track = hp["optimizer"] == "ngd"
    batch_size = int(hp["batch_size"])
    store = gd.read_batches(data, lambda k: make_batches(k, batch_size, track_scales=track))
    return fit(data, cast(Batches, store))  # make_batches' stores finish as themselves


def fit(data: TrainingData, batches: Batches) -> Trained:
    """Train on batches already read; ``mse`` is the true mean squared error of the kept weights."""
    result = gd.run(data, batches)
    with np.errstate(over="ignore", invalid="ignore"):
        mse = squared_error(batches, result.weights) / data.rows
    return Trained(
        model=LinearModel(result.weights),
        iterations=result.iterations,
        scores={"mse": mse},
        log=result.passes,
        diverged=not np.all(np.isfinite(result.weights)),
    )


ALGORITHM = Algorithm(
    name=NAME,
    target=TargetKind.CONTINUOUS,
    hyperparameters=HYPERPARAMETERS,
    check_input=gd_input.continuous_input,
    train=train,
    load=load,
    statement=statement,
)

__all__ = [
    "ALGORITHM",
    "HYPERPARAMETERS",
    "NAME",
    "SQUARED",
    "GramBatches",
    "LinearModel",
    "build_batches",
    "fit",
    "make_batches",
    "squared_error",
    "uses_gram",
]
