"""pca: openGauss's batch power iteration (optimize/gd/optimizer_pca.cpp, algorithms/pca.cpp).

openGauss finds the leading ``k`` eigenvectors of ``XᵀX`` (uncentred: the rows are not mean-centred,
so projections are of the raw rows) inside its gradient-descent loop:

* ``W`` (features × k, ``k`` = number_components clamped to the feature count) starts uniform in
  [0, 1) from ``std::mt19937_64(seed ^ 0x274066DB9441E851)``, column by column, and is
  orthonormalised by openGauss's Gram–Schmidt (``matrix.h``): when a projection onto an earlier
  vector is negative, that earlier vector's sign flips, which decides the signs of the output;
* every batch B moves ``W += XᵦᵀXᵦW / |B|`` and orthonormalises again; on the way it records each
  component's share of ``Σ‖Xᵦwₑ‖²`` (its "relative proportion") and the running standard deviation
  of that share over all updates so far; their sum over the components is the batch's "error";
* the loop is the GD family's (:mod:`db4ai.algorithms.optim`): pass 0 trains in scan order, later passes visit
  the batches in openGauss's rand48 order; a batch's test loss is the error of the update before
  it, totals are kept in single precision, tolerance and max_iterations stop as for GD.

The stored ``loss`` score is that last pass's total: the sum, over the batches of the last pass, of
the summed standard deviations of the component shares. It measures how much the shares still
move, not a reconstruction error. db4ai adds what pca users expect: the variance each component
explains over all processed rows, ``wₑᵀ(XᵀX)wₑ / n``, and its ratio to ``trace(XᵀX) / n``.

Each batch is reduced once, when read, to its Gram matrix ``XᵦᵀXᵦ`` (when ``batch_size`` is at
least the feature count; otherwise the rows are kept), so a pass costs O(batches · d² · k).
Prediction is ``x · W`` as a float8[] of k values, an expression PostgreSQL inlines.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import expr
from ..errors import DataError
from . import gd, gd_input
from .base import Algorithm, InputColumn, Inputs, Signature, TargetKind, Trained, TrainingData
from .hyperparameters import INT4_MAX, Hyperparameter, Kind, float8_text
from .mt19937 import opengauss_stream
from .optim import DBL_MAX, PassRecord, Rand48, batch_order, g16, pass_stop

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable, Sequence

    from ..warehouse import ModelData

NAME = "pca"
FLOAT8_ARRAY = 1022

#: openGauss's pca_hyperparameter_definitions, in its order.
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter("number_components", Kind.INT4, 1, 1, True, INT4_MAX, True),
    Hyperparameter("batch_size", Kind.INT4, 1000, 1, True, 0x0FFFFF, True),
    Hyperparameter("max_iterations", Kind.INT4, 100, 1, True, 10000, True),
    Hyperparameter("max_seconds", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("tolerance", Kind.FLOAT8, 0.0005, 0.0, True, 1.7976931348623157e308, True),
    Hyperparameter("seed", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("verbose", Kind.BOOL, False),
)

#: Rows per block when Gram matrices are computed from the rows.
_BLOCK_ROWS = gd.BLOCK_ROWS


# -- openGauss's numerics -------------------------------------------------------------------------


def _two_sum(a: float, b: float) -> tuple[float, float]:
    s = a + b
    bv = s - a
    av = s - bv
    return s, (a - av) + (b - bv)


def _compensated(values: Iterable[float]) -> float:
    """A twoSum-accumulated sum plus its accumulated error, as openGauss adds shares and deviations."""
    total = correction = 0.0
    for v in values:
        total, err = _two_sum(total, float(v))
        correction += err
    return total + correction


def gram_schmidt(V: np.ndarray, k: int) -> None:
    """openGauss's matrix_gram_schmidt on the first ``k`` rows of ``V`` (one vector per row), in place.

    An earlier vector is scaled by its projection before being subtracted and then normalised
    again, so a negative projection flips its sign; a zero projection ends the inner loop.
    """
    first, magnitude = -1, 0.0
    while magnitude == 0.0:
        first += 1
        if first >= k:
            raise DataError("Gram-Schmidt: No vector of non-zero magnitude found")
        squared = float(V[first] @ V[first])
        if squared == 0.0:
            continue
        magnitude = math.sqrt(squared)
        V[first] *= 1.0 / magnitude
    for cv in range(first + 1, k):
        current = V[cv]
        for dv in range(first, cv):
            done = V[dv]
            projection = float(current @ done)
            if projection == 0.0:
                break
            done *= projection
            current -= done
            done *= 1.0 / math.sqrt(float(done @ done))
        current *= 1.0 / math.sqrt(float(current @ current))


@dataclass
class ShareStatistics:
    """openGauss's IncrementalStatistics of one component's share, updated one value at a time."""

    population: int = 0
    total: float = 0.0
    s: float = 0.0

    def add(self, value: float) -> None:
        increment = 0.0
        if self.population > 0:
            n = self.population
            increment = value * value / 1 + self.total * self.total / n - (value + self.total) ** 2 / (n + 1)
        self.total += value
        self.population += 1
        self.s += increment

    def std(self) -> float:
        variance = self.s / self.population if self.population > 0 else 0.0
        return 0.0 if variance < 0.0 else math.sqrt(variance)


class GramStore:
    """Per-batch ``XᵦᵀXᵦ`` (or the rows, for batches smaller than the feature count) and their total."""

    def __init__(self, n_features: int, batch_size: int):
        self.d = n_features
        self.gram_mode = batch_size >= n_features
        self._parts: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self.total = np.zeros((n_features, n_features))
        self.rows = 0

    def add(self, values: np.ndarray, batch_size: int) -> None:
        """Rows of whole batches in scan order (only the last call may end with a partial one)."""
        d = self.d
        step = max(1, _BLOCK_ROWS // batch_size) * batch_size
        for lo in range(0, len(values), step):
            block = np.ascontiguousarray(values[lo : lo + step], dtype=np.float64)
            self.total += block.T @ block
            self.rows += len(block)
            full = len(block) // batch_size
            whole = full * batch_size
            pieces = [block[:whole].reshape(full, batch_size, d)] if full else []
            if len(block) > whole:
                pieces.append(block[whole:].reshape(1, len(block) - whole, d))
            for z in pieces:
                self._sizes.append(np.full(len(z), z.shape[1], dtype=np.int64))
                if self.gram_mode:
                    self._parts.append(np.matmul(z.transpose(0, 2, 1), z))
                else:
                    self._parts.extend(list(z))

    def finish(self) -> GramStore:
        self.sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, dtype=np.int64)
        if self.gram_mode:
            self._grams = np.concatenate(self._parts) if self._parts else np.zeros((0, self.d, self.d))
        else:
            self._rows = self._parts
        del self._parts, self._sizes
        return self

    def products(self, b: int, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the components ``V`` (one per row): ``(XᵦᵀXᵦV ᵀ)ᵀ`` (the update direction) and ``‖Xᵦvₑ‖²``."""
        if self.gram_mode:
            VG = V @ self._grams[b]  # XᵀX is symmetric
            return VG, np.einsum("kd,kd->k", V, VG)
        XV = self._rows[b] @ V.T
        return XV.T @ self._rows[b], np.einsum("nk,nk->k", XV, XV)


class PowerIteration:
    """openGauss's optimizer state: the k components (rows of ``V``), each one's latest share of the
    batch's ``Σ‖Xᵦvₑ‖²`` and the running deviation of its share (:meth:`weights` lays them out as
    openGauss's d × (k+2) weight matrix)."""

    def __init__(self, d: int, k: int, seed: int):
        self.V = np.ascontiguousarray(opengauss_stream(seed).uniform(k * d).reshape(k, d))
        gram_schmidt(self.V, k)
        self.share = np.zeros(k)
        self.deviation = np.zeros(k)
        self.statistics = [ShareStatistics() for _ in range(k)]
        self.error = 0.0  # openGauss's hyperp->lambda: the error of the latest update

    def update(self, store: GramStore, b: int) -> None:
        V = self.V
        VG, squares = store.products(b, V)
        total = _compensated(squares)
        for e, statistics in enumerate(self.statistics):
            share = float(squares[e]) * (1.0 / total)  # twoDiv
            self.share[e] = share
            statistics.add(share)
            self.deviation[e] = statistics.std()
        self.error = _compensated(self.deviation)
        VG *= 1.0 / float(store.sizes[b])
        V += VG
        gram_schmidt(V, len(V))

    def weights(self) -> np.ndarray:
        """openGauss's weight matrix: the components as columns, then the shares, then the deviations."""
        k, d = self.V.shape
        out = np.zeros((d, k + 2))
        out[:, :k] = self.V.T
        out[:k, k] = self.share
        out[:k, k + 1] = self.deviation
        return out


def format_matrix(weights: np.ndarray) -> str:
    """openGauss's matrix_print of its weight matrix (d × (k+2)): its memory, column after column,
    printed as d rows of k+2 values; of more than 30 rows the first 16, then ``...``, then 14 rows
    read from where row d-15 starts (its loop skips ahead that way)."""
    rows, cols = weights.shape
    flat = weights.T.reshape(-1)
    out = ["["]
    at = r = 0
    while r < rows:
        if rows > 30 and 15 < r < rows - 15:
            out.append(",\n..." if cols > 1 else ", ...")
            r = rows - 15
            at = r * cols
            r += 1
            continue
        out.append((",\n[" if r > 0 else "[") if cols > 1 else (", " if r > 0 else ""))
        out.append(", ".join(g16(float(v)) for v in flat[at : at + cols]))
        at += cols
        if cols > 1:
            out.append("]")
        r += 1
    out.append("]")
    return "".join(out)


# -- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PCAModel:
    """Components (d × k), openGauss's per-component share and its deviation, and the explained variance."""

    components: np.ndarray
    proportions: np.ndarray
    deviations: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "components": np.ascontiguousarray(self.components, dtype=np.float64),
            "proportions": np.asarray(self.proportions, dtype=np.float64),
            "deviations": np.asarray(self.deviations, dtype=np.float64),
            "explained_variance": np.asarray(self.explained_variance, dtype=np.float64),
            "explained_variance_ratio": np.asarray(self.explained_variance_ratio, dtype=np.float64),
        }

    def settings(self) -> dict[str, Any]:
        return {"n_inputs": int(self.components.shape[0])}

    def coefficients(self) -> None:
        return None

    def details(self) -> list[str]:
        lines = []
        for e in range(self.components.shape[1]):
            coords = ",".join(float8_text(float(v)) for v in self.components[:, e])
            lines += [f"ID: {e + 1}", f"Coordinates: {{{coords}}}",
                      f"Relative proportion: {_fixed10(self.proportions[e])}",
                      f"Standard deviation of proportion: {_fixed10(self.deviations[e])}",
                      f"Explained variance: {_fixed10(self.explained_variance[e])}",
                      f"Explained variance ratio: {_fixed10(self.explained_variance_ratio[e])}"]
        return lines

    def prediction(self, signature: Signature) -> dict[str, Any]:
        n, k = self.components.shape
        values = expr.inputs(n, signature.array)
        body = expr.array(expr.dot(values, self.components[:, e]) for e in range(k))
        if signature.array:  # NULL array or NULL element: NULL; another shape: openGauss's error
            invalid = expr.array([expr.call("_input_array_error", expr.integer(n), expr.array_feature(1))])
            null = expr.null("float8[]")
            body = expr.case([(expr.is_null(expr.array_feature(1)), null), (expr.not_(expr.array_ok(1, n)), invalid),
                              (expr.holds_null(1), null)], body)
        return expr.prediction("float8[]", body)


def _fixed10(value: float) -> str:
    return f"{float(value):.10f}"


def load(data: ModelData) -> PCAModel:
    a = data.arrays
    return PCAModel(np.asarray(a["components"], dtype=np.float64), np.asarray(a["proportions"]),
                    np.asarray(a["deviations"]), np.asarray(a["explained_variance"]),
                    np.asarray(a["explained_variance_ratio"]))


# -- training -------------------------------------------------------------------------------------


def check_input(target: InputColumn | None, features: Sequence[InputColumn]) -> Inputs:
    """openGauss's GD input rules without a target: numeric scalars or one float array."""
    return gd_input.check_features(features)


def read(data: TrainingData) -> GramStore:
    batch_size = int(data.hyperparameters["batch_size"])
    builder: gd.BatchBuilder | None = None
    for values in data.chunks():
        if len(values) == 0:
            continue
        if builder is None:
            builder = gd.BatchBuilder(GramStore(values.shape[1], batch_size), batch_size)
        builder.add(values)
    if builder is None:
        raise DataError("Input data is empty")
    return builder.finish()  # type: ignore[return-value]


def train(data: TrainingData) -> Trained:
    """openGauss's loop (gd_run) with the pca optimizer over the batches of ``data``."""
    hp = data.hyperparameters
    store = read(data)
    d = store.d
    k = min(int(hp["number_components"]), d)
    max_iterations, max_seconds = int(hp["max_iterations"]), int(hp["max_seconds"])
    tolerance, seed, verbose = float(hp["tolerance"]), int(hp["seed"]), bool(hp["verbose"])
    power = PowerIteration(d, k, seed)
    kept = power.weights()
    rng = Rand48(seed)
    n_batches = len(store.sizes)
    prev_loss = DBL_MAX
    iterations = 0
    passes: list[PassRecord] = []
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for it in range(max_iterations + 1):
            order = range(n_batches) if it == 0 else batch_order(rng, n_batches)
            loss = np.float32(0.0)
            for b in order:
                if it > 0:
                    loss = np.float32(float(loss) + power.error)  # openGauss's float loss field
                power.update(store, b)
            total = float(loss)
            stop, keep = pass_stop(it, prev_loss, total, tolerance, lambda: time.monotonic() - data.start,
                                   max_seconds, max_iterations)
            if keep:
                kept = power.weights()
                if it > 0:
                    iterations += 1
            record = PassRecord(pass_no=it, loss=total if it > 0 else None,
                                delta_loss=abs(prev_loss - total) if it > 1 else None, learning_rate=None,
                                elapsed=time.monotonic() - data.start, weights=kept, stop=stop)
            passes.append(record)
            if verbose and it > 0:
                delta = "-" if record.delta_loss is None else g16(record.delta_loss)
                data.notice(f"ITERATION {it}: test_loss={total:.6f} delta_loss={delta} tolerance={tolerance:.3f} "
                            f"accuracy={-1.0:.3f} tuples={data.rows} coef={format_matrix(kept)}")
            data.progress(record)
            prev_loss = total if it > 0 else DBL_MAX
            if stop is not None:
                break
    components = kept[:, :k].copy()
    n = max(store.rows, 1)
    variance = np.einsum("de,df,fe->e", components, store.total, components) / n
    trace = float(np.trace(store.total)) / n
    model = PCAModel(components, kept[:k, k].copy(), kept[:k, k + 1].copy(), variance,
                     variance / trace if trace > 0 else np.zeros(k))
    return Trained(model=model, iterations=iterations, scores={"loss": total}, log=tuple(passes),
                   diverged=not np.all(np.isfinite(components)))


ALGORITHM = Algorithm(
    name=NAME,
    target=TargetKind.NONE,
    hyperparameters=HYPERPARAMETERS,
    check_input=check_input,
    train=train,
    load=load,
    output_oid=FLOAT8_ARRAY,
)

__all__ = [
    "ALGORITHM",
    "HYPERPARAMETERS",
    "NAME",
    "GramStore",
    "PCAModel",
    "PowerIteration",
    "ShareStatistics",
    "format_matrix",
    "gram_schmidt",
    "load",
    "train",
]
