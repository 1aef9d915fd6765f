"""The openGauss gradient-descent training loop and its two optimizers (gd, ngd).

This follows openGauss's ``gd_run`` / ``exec_gd_batch`` (executor/optimize/gd/gd.cpp) and the
optimizers in ``optimizer_gd.cpp`` / ``optimizer_ngd.cpp`` step for step, so that a model
trained on the same rows with the same hyperparameters carries the same weights:

* pass 0 only trains, visiting the batches in scan order;
* every later pass first scores each batch with the weights frozen at the end of the previous
  pass (``W``), then trains on it, visiting the batches in a random order;
* the learning rate is multiplied by ``decay`` after every pass;
* after pass ``it > 0`` the run stops when ``|prev_loss - loss| < tolerance`` (absolute), and
  then that pass's updates are discarded (the stored weights are the ones just scored);
  otherwise ``W`` takes the new weights and the run stops on ``max_seconds`` or after pass
  ``max_iterations``. ``iterations`` counts the passes > 0 whose weights were kept.
* the total loss is accumulated in single precision, as openGauss's ``float loss`` field is.

Batch order: openGauss keeps all batches in memory when they fit its ``work_mem`` cache and
then, in every pass > 0, draws the next batch with ``lrand48_r() % remaining`` from a generator
seeded once with ``srand48_r(seed)``, moving the last remaining batch into the drawn slot
(shuffle_cache.cpp). :class:`Rand48` and :func:`batch_order` reproduce exactly that, so the
batch order (and with it the weights) is openGauss's. (When openGauss's cache cannot hold all
batches it falls back to a partial shuffle through a replacement cache, which depends on
``work_mem``; that order is not reproduced.)

The loop only needs an :class:`Objective` (per-batch test losses, and one pass of updates over
the batches in a given order, compiled: :mod:`db4ai.algorithms.gd_kernels`); algorithms provide
it, so new ones slot in without touching the loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .gd_codes import GD, NGD

DBL_MAX = 1.7976931348623157e308


class Objective(Protocol):
    """What the loop needs from an algorithm's training data (batches in scan order)."""

    weight_shape: tuple[int, ...]  # (features + bias,), or (models, features + bias) for one-vs-all
    sizes: np.ndarray  # rows per batch, int64, scan order

    def batch_losses(self, w: np.ndarray) -> np.ndarray:
        """openGauss's test loss of every batch at ``w`` (frozen for the pass)."""
        ...

    def train_pass(self, order: np.ndarray, w: np.ndarray, optimizer: Optimizer, first: bool) -> np.ndarray:
        """Train on the batches in ``order`` (one step each) from ``w``, updating it in place and
        returning it; ``first``: pass 0 (ngd learns its scales)."""
        ...


@dataclass(frozen=True)
class Scales:
    """What ngd's pass 0 learns from the rows, as of the end of each batch.

    openGauss walks every row of a batch before computing its gradient: for each feature j,
    ``q = x_j²``; if ``q > s_j`` the weight is rescaled ``w_j *= s_j / q`` and ``s_j = q``; then,
    if ``s_j > 0``, ``N += q / s_j``. Over one batch the rescalings telescope to
    ``w_j *= s_j(start) / s_j(end)`` (0 when ``s_j(start) = 0``), and ``s``/``N`` depend on the
    data only, so they are computed once, vectorised: ``s_end[b]`` is the running maximum of
    ``x²`` up to the end of batch ``b`` and ``n_end[b]`` the running sum of ``q / s``.
    """

    s_end: np.ndarray  # (batches, n_weights)
    n_end: np.ndarray  # (batches,)


# -- random batch order ------------------------------------------------------------------------

class Rand48:
    """glibc's ``srand48_r`` / ``lrand48_r``: X ← (0x5DEECE66D·X + 0xB) mod 2⁴⁸, result X >> 17.

    The 48-bit state lives in a one-element array so that the compiled :func:`batch_order` draws
    from it directly.
    """

    def __init__(self, seed: int):
        self.state = np.array([((seed & 0xFFFFFFFF) << 16) | 0x330E], dtype=np.uint64)

    def next(self) -> int:
        x = (0x5DEECE66D * int(self.state[0]) + 0xB) & ((1 << 48) - 1)
        self.state[0] = x
        return x >> 17


def batch_order(rng: Rand48, n_batches: int) -> np.ndarray:
    """One pass's batch order as openGauss's shuffle cache draws it (one draw per batch): batch
    ``lrand48_r() % remaining`` is next, and the last remaining batch moves into its slot."""
    from . import gd_kernels  # compiled; loaded when training starts

    return gd_kernels.batch_order(rng.state, n_batches)


# -- optimizers ----------------------------------------------------------------------------------



@dataclass
class Optimizer:
    """``gd`` or ``ngd``: the learning rate and ngd's state, as arrays the compiled passes update.

    * ``gd`` (mini-batch): w ← w − (lr / n_b) · g.
    * ``ngd`` (Ross, Mineiro & Langford 2013, "Normalized online learning", as adapted by
      openGauss): per-weight scales ``s`` and a rate ``N`` learned in pass 0, then
      ``g_j ← g_j · (1/N) / s_j`` (0 when ``s_j = 0``) and ``w ← w − lr · g`` without dividing by
      the batch size.

    The learning rate is multiplied by ``decay`` after every pass.
    """

    kind: int
    learning_rate: float
    decay: float
    scale: np.ndarray  # ngd: s_j per weight
    scale_rate: np.ndarray  # ngd: N (one element)

    def end_pass(self) -> None:
        self.learning_rate *= self.decay


def make_optimizer(name: str, learning_rate: float, decay: float, n_weights: int) -> Optimizer:
    """The optimizer named by the ``optimizer`` hyperparameter."""
    kinds = {"gd": GD, "ngd": NGD}
    if name not in kinds:
        raise ValueError(f"unknown optimizer {name!r}")
    return Optimizer(kinds[name], learning_rate, decay, np.zeros(n_weights), np.zeros(1))


# -- the loop ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassRecord:
    """One pass of the loop, as logged in ``db4ai.gs_model_training_log``."""

    pass_no: int
    loss: float | None  # total test loss of the frozen weights (None in pass 0)
    delta_loss: float | None  # |prev_loss - loss| (None in passes 0 and 1)
    learning_rate: float | None  # the rate used during this pass (None: an algorithm without one)
    elapsed: float  # seconds since training started
    weights: np.ndarray  # W after the pass (the weights that are kept)
    stop: str | None  # "tolerance" | "max_iterations" | "max_seconds" | None


@dataclass(frozen=True)
class TrainResult:
    weights: np.ndarray
    iterations: int
    loss: float  # the last pass's total loss (0.0 when only pass 0 ran)
    passes: tuple[PassRecord, ...]
    stop: str


def train(
    objective: Objective,
    optimizer: Optimizer,
    *,
    max_iterations: int,
    tolerance: float,
    max_seconds: int,
    seed: int,
    start: float | None = None,
    on_pass: Callable[[PassRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TrainResult:
    """Run openGauss's loop; ``start`` is when training began (for ``max_seconds``)."""
    start = clock() if start is None else start
    rng = Rand48(seed)
    kept = np.zeros(objective.weight_shape)  # W: the model weights
    w = kept.copy()  # the optimizer's weights
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="db4ai-test") as pool:
        return _loop(objective, optimizer, pool, rng, kept, w, max_iterations, tolerance, max_seconds, start,
                     on_pass, clock)


def _quiet_losses(objective: Objective, w: np.ndarray) -> np.ndarray:
    """Test losses on the pool's thread: numpy's error state is per thread, and a diverging run's
    inf/NaN is reported by the orchestration (openGauss's NOTICE), not as numpy warnings."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return objective.batch_losses(w)


def pass_stop(it: int, prev_loss: float, total: float, tolerance: float, elapsed: Callable[[], float],
              max_seconds: int, max_iterations: int) -> tuple[str | None, bool]:
    """openGauss's rule after pass ``it`` (loss ``total``): why the run stops (None: it goes on), and
    whether the pass's weights are kept. A tolerance stop discards the pass's updates; otherwise the
    weights are kept and the run stops on ``max_seconds`` (``elapsed()``, read only then) or after
    pass ``max_iterations``."""
    if it > 0 and abs(prev_loss - total) < tolerance:
        return "tolerance", False
    if max_seconds > 0 and elapsed() >= max_seconds:
        return "max_seconds", True
    return ("max_iterations" if it == max_iterations else None), True


def _loop(objective: Objective, optimizer: Optimizer, pool: ThreadPoolExecutor, rng: Rand48, kept: np.ndarray,
          w: np.ndarray, max_iterations: int, tolerance: float, max_seconds: int, start: float,
          on_pass: Callable[[PassRecord], None] | None, clock: Callable[[], float]) -> TrainResult:
    from .gd_kernels import float_total

    n_batches = len(objective.sizes)
    prev_loss = DBL_MAX
    iterations = 0
    passes: list[PassRecord] = []
    stop_reason = "max_iterations"
    for it in range(max_iterations + 1):
        rate = optimizer.learning_rate
        order = np.arange(n_batches) if it == 0 else batch_order(rng, n_batches)
        total = 0.0
        if it == 0:
            w = objective.train_pass(order, w, optimizer, True)
        else:
            # Each batch is tested with W before it trains; W does not change within a pass, so the
            # tests run alongside the training (the compiled loops release the GIL), then their
            # losses are added in the order openGauss visits the batches.
            tested = pool.submit(_quiet_losses, objective, kept)
            w = objective.train_pass(order, w, optimizer, False)
            total = float_total(tested.result(), order)
        optimizer.end_pass()
        stop, keep = pass_stop(it, prev_loss, total, tolerance, lambda: clock() - start, max_seconds, max_iterations)
        if keep:
            kept = w.copy()
            if it > 0:
                iterations += 1
        record = PassRecord(
            pass_no=it,
            loss=total if it > 0 else None,
            delta_loss=abs(prev_loss - total) if it > 1 else None,
            learning_rate=rate,
            elapsed=clock() - start,
            weights=kept,
            stop=stop,
        )
        passes.append(record)
        if on_pass is not None:
            on_pass(record)
        prev_loss = total if it > 0 else DBL_MAX
        if stop is not None:
            stop_reason = stop
            break
    last = passes[-1].loss
    return TrainResult(
        weights=kept,
        iterations=iterations,
        loss=last if last is not None else 0.0,
        passes=tuple(passes),
        stop=stop_reason,
    )


def format_weights(weights: np.ndarray) -> str:
    """openGauss's matrix_print: ``[w1, w2, ...]`` with ``%.16g`` for a vector, ``[[...],\n[...]]``
    for a matrix (one-vs-all: a row per class).

    Like openGauss, more than 31 entries (rows of a matrix) show the first 16, ``...`` and the 14
    from position n-15 on (its loop never reaches the very last one).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 2:
        items = ["[" + ", ".join(g16(float(v)) for v in row) + "]" for row in w]
        sep = ",\n"
    else:
        items = [g16(float(v)) for v in w]
        sep = ", "
    n = len(items)
    if n > 31:
        return "[" + sep.join(items[:16]) + sep + "..." + sep + sep.join(items[n - 15 : n - 1]) + "]"
    return "[" + sep.join(items) + "]"


def g16(v: float) -> str:
    """C's ``%.16g`` (glibc's nan, -nan, inf, -inf)."""
    if math.isnan(v):
        return "nan" if math.copysign(1.0, v) > 0 else "-nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.16g}"


def verbose_line(record: PassRecord, tolerance: float, tuples: int, *, accuracy: float = -1.0) -> str:
    """openGauss's per-pass NOTICE text (accuracy is -1 for regression)."""
    delta = "-" if record.delta_loss is None else g16(record.delta_loss)
    return (
        f"ITERATION {record.pass_no}: test_loss={record.loss or 0.0:.6f} delta_loss={delta} "
        f"tolerance={tolerance:.3f} accuracy={accuracy:.3f} tuples={tuples} coef={format_weights(record.weights)}"
    )


__all__ = [
    "GD",
    "NGD",
    "Objective",
    "Optimizer",
    "PassRecord",
    "Rand48",
    "Scales",
    "TrainResult",
    "batch_order",
    "format_weights",
    "g16",
    "make_optimizer",
    "pass_stop",
    "train",
    "verbose_line",
]
