"""The gradient-descent family's per-row and per-batch loops, compiled with numba.

openGauss walks every batch row by row in C (gd.cpp, optimizer_gd.cpp, optimizer_ngd.cpp,
optimizer_ova.cpp, linregr.cpp, logregr.cpp, svm.cpp). These loops do the same, in the same order
of floating-point operations, so that a model trained on the same rows carries openGauss's
weights bit for bit and its iteration counts and predictions follow:

* a margin is ``((0 + w1·x1) + w2·x2) + ... + w_bias·1.0`` (matrix_mult_vector);
* a gradient sums ``x_ij · r_i`` over the batch's rows in scan order, one weight at a time
  (the transposed product), hinge's ``−y·x`` likewise, then scales by ``2·lambda``;
* ngd learns its scales row by row during pass 0 (for one-vs-all: once per class, sharing the
  scales and the accumulated rate, as openGauss's OVA optimizer shares its parent optimizer);
* a batch's test loss is openGauss's formula (cross-entropy with both logarithms, so a saturated
  sigmoid gives NaN as it does there), summed in row order and divided by the batch's rows.

Why compiled: openGauss's loop visits every batch of every pass, so with small batches (batch_size
10 on millions of rows) a Python step per batch costs minutes. numba compiles these plain loops
to machine code (LLVM, without fast-math, so no reassociation or fused multiply-add changes the
rounding) and caches the result on disk (``cache=True``); no compiler is needed at install time.

Weights are a (K, d) array: one row per binary model (K = 1, or one per class for one-vs-all),
bias last. Rows are ``[target, x1..xk]`` with the target already encoded: for binary models the
algorithm's two class values (logistic 0/1, svm −1/+1), for one-vs-all the class number.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .gd_codes import FLT_MIN, GD, HINGE, LOGISTIC, NGD, SQUARED

_RAND48_A = np.uint64(0x5DEECE66D)
_RAND48_C = np.uint64(0xB)
_RAND48_MASK = np.uint64((1 << 48) - 1)


@njit(cache=True, nogil=True)
def _margin(V: np.ndarray, i: int, w: np.ndarray, k: int) -> float:
    """x·w of row ``i`` with the bias (feature 1.0) last, summed as openGauss does."""
    m = 0.0
    for j in range(k):
        m += w[j] * V[i, j + 1]
    m += w[k] * 1.0
    return m


@njit(cache=True, nogil=True)
def _target(y: float, c: int, ova: bool, low: float, high: float) -> float:
    """The binary target of class model ``c`` (one-vs-all) or the row's own target."""
    if ova:
        return high if y == c else low
    return y


@njit(cache=True, nogil=True)
def _cross_entropy(p: float, t: float) -> float:
    """logreg_test's ``−(log(p)·t) − (1−t)·log(1−p)`` for one row. For the usual targets 0 and 1
    it is the one logarithm that is not multiplied by 0, and NaN where openGauss's 0·(−inf) is."""
    if t == 1.0:
        return np.nan if p == 1.0 else -np.log(p)
    if t == 0.0:
        return np.nan if p == 0.0 else -np.log(1.0 - p)
    return -(np.log(p) * t) - (1.0 - t) * np.log(1.0 - p)


@njit(cache=True, nogil=True)
def _row_loss(kind: int, m: float, t: float) -> float:
    """One row's share of openGauss's test loss (before dividing by the batch's rows)."""
    if kind == SQUARED:
        e = m - t
        return e * e
    if kind == LOGISTIC:
        return _cross_entropy(1.0 / (1.0 + np.exp(-m)), t)
    d = 1.0 - m * t
    return 0.0 if d < 0.0 else d  # matrix_positive: NaN stays NaN


@njit(cache=True, nogil=True)
def _softplus(v: float) -> float:
    """log(1 + e^v) without overflow."""
    if v > 0.0:
        return v + np.log1p(np.exp(-v))
    return np.log1p(np.exp(v))


@njit(cache=True, nogil=True)
def _score_loss(kind: int, m: float, t: float, high: float) -> float:
    """One row's loss for the stored model's score: as :func:`_row_loss`, but the cross-entropy is
    computed stably (openGauss's formula gives NaN once the sigmoid rounds to 0 or 1)."""
    if kind == LOGISTIC:
        return _softplus(-m) if t == high else _softplus(m)
    return _row_loss(kind, m, t)


@njit(cache=True, nogil=True)
def _positive(kind: int, m: float, strict: bool) -> bool:
    """Whether the model predicts the positive (second) class: logistic sigmoid ≥ 0.5; svm
    ``x·w > 0`` (``strict``: openGauss's test threshold ``x·w ≥ FLT_MIN``)."""
    if kind == LOGISTIC:
        return not (1.0 / (1.0 + np.exp(-m)) < 0.5)
    if strict:
        return not (m < FLT_MIN)
    return not (m <= 0.0)


@njit(cache=True, nogil=True)
def batch_test(V: np.ndarray, starts: np.ndarray, ends: np.ndarray, W: np.ndarray, kind: int, ova: bool,
               low: float, high: float, losses: np.ndarray) -> int:
    """openGauss's test of every batch with the frozen weights ``W``: fills ``losses`` (per batch,
    summed over the class models for one-vs-all) and returns the rows classified right by a binary
    model under openGauss's test rule (−1 for regression and one-vs-all, which keep no counts)."""
    k = V.shape[1] - 1
    correct = 0
    for b in range(len(starts)):
        n = ends[b] - starts[b]
        total = 0.0
        for c in range(W.shape[0]):
            s = 0.0
            for i in range(starts[b], ends[b]):
                m = _margin(V, i, W[c], k)
                t = _target(V[i, 0], c, ova, low, high)
                if kind == LOGISTIC:
                    p = 1.0 / (1.0 + np.exp(-m))
                    s += _cross_entropy(p, t)
                    positive = not (p < 0.5)
                else:
                    s += _row_loss(kind, m, t)
                    positive = not (m < FLT_MIN)
                if kind != SQUARED and not ova and positive == (t == high):
                    correct += 1
            if kind == SQUARED:
                total += s / n / 2.0
            else:
                total += s / n
        losses[b] = total
    if kind == SQUARED or ova:
        return -1
    return correct


@njit(cache=True, nogil=True)
def _ngd_learn(V: np.ndarray, lo: int, hi: int, w: np.ndarray, scale: np.ndarray, rate: np.ndarray) -> None:
    """ngd's pass-0 walk of a batch: per row and feature (bias included), grow the scale and
    rescale that weight, then add q/s to the rate (optimizer_ngd.cpp)."""
    k = V.shape[1] - 1
    for i in range(lo, hi):
        for c in range(k + 1):
            qx = V[i, c + 1] if c < k else 1.0
            qx *= qx
            if qx > scale[c]:
                w[c] *= scale[c] / qx
                scale[c] = qx
            if scale[c] > 0:
                rate[0] += qx / scale[c]


@njit(cache=True, nogil=True)
def _gradient(V: np.ndarray, lo: int, hi: int, w: np.ndarray, kind: int, lam: float, c: int, ova: bool,
              low: float, high: float, g: np.ndarray) -> None:
    """The batch gradient at ``w``, summed over rows in scan order (openGauss compute_gradients)."""
    k = V.shape[1] - 1
    g[:] = 0.0
    for i in range(lo, hi):
        m = _margin(V, i, w, k)
        t = _target(V[i, 0], c, ova, low, high)
        if kind == HINGE:
            if 1.0 - m * t > 0:
                for j in range(k):
                    g[j] -= t * V[i, j + 1]
                g[k] -= t * 1.0
        else:
            r = m - t if kind == SQUARED else 1.0 / (1.0 + np.exp(-m)) - t
            for j in range(k):
                g[j] += V[i, j + 1] * r
            g[k] += 1.0 * r
    if kind == HINGE:
        factor = lam * 2.0
        for j in range(k + 1):
            g[j] *= factor


@njit(cache=True, nogil=True)
def _step(w: np.ndarray, g: np.ndarray, optimizer: int, rate: float, rows: int, scale: np.ndarray,
          scale_rate: float) -> None:
    """gd: ``w −= g · (lr / rows)``; ngd: ``w −= (g · (1/N)/s) · lr``."""
    if optimizer == GD:
        factor = rate / rows
        for j in range(len(w)):
            w[j] -= g[j] * factor
    else:
        for j in range(len(w)):
            s = 0.0
            if scale[j] > 0:
                s = (1.0 / scale_rate) / scale[j]
            g[j] *= s
        for j in range(len(w)):
            w[j] -= g[j] * rate


@njit(cache=True, nogil=True)
def train_rows(V: np.ndarray, starts: np.ndarray, ends: np.ndarray, order: np.ndarray, W: np.ndarray,
               kind: int, lam: float, ova: bool, low: float, high: float, optimizer: int, rate: float,
               learn: bool, scale: np.ndarray, scale_rate: np.ndarray) -> None:
    """One pass of updates over the batches in ``order``, in place on ``W`` (and ngd's state)."""
    g = np.zeros(W.shape[1])
    for b in order:
        lo, hi = starts[b], ends[b]
        for c in range(W.shape[0]):
            w = W[c]
            if optimizer == NGD and learn:
                _ngd_learn(V, lo, hi, w, scale, scale_rate)
            _gradient(V, lo, hi, w, kind, lam, c, ova, low, high, g)
            _step(w, g, optimizer, rate, hi - lo, scale, scale_rate[0])


@njit(cache=True, nogil=True)
def train_gram(G: np.ndarray, h: np.ndarray, sizes: np.ndarray, order: np.ndarray, w: np.ndarray, optimizer: int,
               rate: float, first: bool, s_end: np.ndarray, n_end: np.ndarray, scale: np.ndarray,
               scale_rate: np.ndarray) -> None:
    """One pass over least-squares batches reduced to ``G = XᵀX``, ``h = Xᵀy`` (gradient ``G w − h``).

    ngd's pass-0 scales come precomputed per batch (``s_end``, ``n_end``): the row-by-row
    rescalings of a weight within a batch telescope to ``s(start) / s(end)``."""
    d = len(w)
    g = np.zeros(d)
    for b in order:
        if optimizer == NGD and first:
            for j in range(d):
                if s_end[b, j] > scale[j]:
                    w[j] *= scale[j] / s_end[b, j]
                scale[j] = s_end[b, j]
            scale_rate[0] = n_end[b]
        for j in range(d):
            acc = 0.0
            for i in range(d):
                acc += G[b, j, i] * w[i]
            g[j] = acc - h[b, j]
        _step(w, g, optimizer, rate, sizes[b], scale, scale_rate[0])


@njit(cache=True, nogil=True)
def batch_order(state: np.ndarray, n_batches: int) -> np.ndarray:
    """One pass's batch order as openGauss's shuffle cache draws it: ``lrand48_r() % remaining``,
    the last remaining batch moving into the drawn slot. ``state`` holds the 48-bit generator."""
    slots = np.arange(n_batches)
    order = np.empty(n_batches, dtype=np.int64)
    x = state[0]
    remaining = n_batches
    for p in range(n_batches):
        x = (_RAND48_A * x + _RAND48_C) & _RAND48_MASK
        k = np.int64(x >> np.uint64(17)) % remaining
        order[p] = slots[k]
        remaining -= 1
        if k < remaining:
            slots[k] = slots[remaining]
    state[0] = x
    return order


@njit(cache=True, nogil=True)
def float_total(tested: np.ndarray, order: np.ndarray) -> float:
    """The batch losses added in visiting order into a C float (openGauss's ``float loss``)."""
    loss = np.float32(0.0)
    for b in order:
        loss = np.float32(np.float64(loss) + tested[b])
    return float(loss)


@njit(cache=True, nogil=True)
def gaussian_features(x: np.ndarray, weights: np.ndarray, offsets: np.ndarray, scale: float,
                      out: np.ndarray) -> None:
    """``cos(x·W + b) · scale`` of each row into ``out``, x·W summed in openGauss's order (matrix_mult)."""
    n, f = x.shape
    d = len(offsets)
    for i in range(n):
        z = out[i]
        z[:] = 0.0
        for cx in range(f):  # z[c] += x[cx]·W[cx, c] in cx order for every c
            v = x[i, cx]
            for c in range(d):
                z[c] += v * weights[cx, c]
        for c in range(d):
            z[c] = np.cos(z[c] + offsets[c]) * scale


@njit(cache=True, nogil=True)
def polynomial_features(x: np.ndarray, weights: np.ndarray, reps: np.ndarray, coefs: np.ndarray,
                        scale: float, out: np.ndarray) -> None:
    """Per component the product of its ``reps`` projections ``w·x``, times its coefficient, times
    ``scale``, of each row into ``out`` (matrix_transform_kernel_polynomial)."""
    n, f = x.shape
    dims = weights.shape[0]
    projection = np.empty(dims)
    for i in range(n):
        for r in range(dims):
            s = 0.0
            for cx in range(f):
                s += weights[r, cx] * x[i, cx]
            projection[r] = s
        at = 0
        for c in range(len(reps)):
            v = 1.0
            for _ in range(reps[c]):
                v *= projection[at]
                at += 1
            out[i, c] = (v * coefs[c]) * scale


@njit(cache=True, nogil=True)
def sigmoid_float4(m: float) -> float:
    """openGauss's logistic score as multiclass compares it: ``(float4) 1/(1+exp(−m))``."""
    return float(np.float32(1.0 / (1.0 + np.exp(-m))))


@njit(cache=True, nogil=True)
def ova_class(margins: np.ndarray) -> int:
    """multiclass_predict: the first class whose float4 sigmoid score beats all before it, starting
    from 0 (openGauss always scores with logistic regression's predict here)."""
    best = 0
    top = 0.0
    for c in range(len(margins)):
        r = sigmoid_float4(margins[c])
        if r > top:
            top = r
            best = c
    return best


@njit(cache=True, nogil=True)
def stored_scores(V: np.ndarray, W: np.ndarray, kind: int, ova: bool, low: float, high: float,
                  confusion: np.ndarray) -> float:
    """Scores of the stored weights over all rows: fills ``confusion[true, predicted]`` (binary: 0
    negative, 1 positive; one-vs-all: class numbers) and returns the sum over rows of each row's
    loss (for one-vs-all, summed over the class models)."""
    k = V.shape[1] - 1
    total = 0.0
    margins = np.empty(W.shape[0])
    for i in range(V.shape[0]):
        y = V[i, 0]
        for c in range(W.shape[0]):
            margins[c] = _margin(V, i, W[c], k)
            total += _score_loss(kind, margins[c], _target(y, c, ova, low, high), high)
        if ova:
            confusion[int(y), ova_class(margins)] += 1
        elif kind != SQUARED:
            confusion[1 if y == high else 0, 1 if _positive(kind, margins[0], False) else 0] += 1
    return total


@njit(cache=True, nogil=True)
def classify(V: np.ndarray, W: np.ndarray, kind: int, ova: bool) -> np.ndarray:
    """Class numbers the stored model predicts for rows ``[y, x...]`` (tests and benchmarks)."""
    k = V.shape[1] - 1
    out = np.empty(V.shape[0], dtype=np.int64)
    for i in range(V.shape[0]):
        margins = np.empty(W.shape[0])
        for c in range(W.shape[0]):
            margins[c] = _margin(V, i, W[c], k)
        if ova:
            out[i] = ova_class(margins)
        else:
            out[i] = 1 if _positive(kind, margins[0], False) else 0
    return out


__all__ = [
    "FLT_MIN",
    "GD",
    "HINGE",
    "LOGISTIC",
    "NGD",
    "SQUARED",
    "batch_order",
    "batch_test",
    "classify",
    "float_total",
    "gaussian_features",
    "ova_class",
    "polynomial_features",
    "sigmoid_float4",
    "stored_scores",
    "train_gram",
    "train_rows",
]
