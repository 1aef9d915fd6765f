"""An independent, deliberately naive re-implementation of openGauss's GD training loop.

Written from the openGauss sources (gd.cpp, optimizer_gd.cpp, optimizer_ngd.cpp,
shuffle_cache.cpp, linregr.cpp) with plain per-row and per-batch loops; it shares no code
with db4ai, so the tests that compare the two can fail.
"""

from __future__ import annotations

import math

import numpy as np

DBL_MAX = 1.7976931348623157e308


def lrand48_stream(seed: int):
    """glibc srand48_r(seed) then lrand48_r() forever."""
    x = ((seed & 0xFFFFFFFF) << 16) | 0x330E
    while True:
        x = (0x5DEECE66D * x + 0xB) % (1 << 48)
        yield x >> 17


def train_reference(
    X: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    learning_rate: float,
    decay: float,
    max_iterations: int,
    tolerance: float,
    optimizer: str,
    seed: int,
) -> tuple[np.ndarray, int, list[float]]:
    """(weights with bias last, iterations, per-pass float32 losses) as openGauss computes them."""
    n, k = X.shape
    d = k + 1
    rows = [[float(v) for v in X[i]] + [1.0] for i in range(n)]
    targets = [float(v) for v in y]
    batches = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    W = [0.0] * d
    w = [0.0] * d
    s = [0.0] * d
    scale_rate = 0.0
    learn = True
    rate = learning_rate
    prev_loss = DBL_MAX
    iterations = 0
    losses: list[float] = []
    rnd = lrand48_stream(seed)

    def dot(a, b):
        total = 0.0
        for u, v in zip(a, b):
            total += u * v
        return total

    for it in range(max_iterations + 1):
        loss = np.float32(0.0)
        if it == 0:
            order = list(range(len(batches)))
        else:
            slots = list(range(len(batches)))
            cached = len(slots)
            order = []
            while cached > 0:
                nxt = next(rnd) % cached
                order.append(slots[nxt])
                cached -= 1
                if nxt < cached:
                    slots[nxt] = slots[cached]
        for b in order:
            idx = batches[b]
            if it > 0:
                sq = 0.0
                for i in idx:
                    e = dot(rows[i], W) - targets[i]
                    sq += e * e
                batch_loss = sq / len(idx) / 2
                loss = np.float32(float(loss) + batch_loss)
            if optimizer == "ngd" and learn:
                for i in idx:
                    for c in range(d):
                        q = rows[i][c] * rows[i][c]
                        if q > s[c]:
                            w[c] *= s[c] / q
                            s[c] = q
                        if s[c] > 0:
                            scale_rate += q / s[c]
            g = [0.0] * d
            for i in idx:
                e = dot(rows[i], w) - targets[i]
                for c in range(d):
                    g[c] += rows[i][c] * e
            if optimizer == "ngd":
                for c in range(d):
                    g[c] *= (1.0 / scale_rate) / s[c] if s[c] > 0 else 0.0
                    w[c] -= rate * g[c]
            else:
                for c in range(d):
                    w[c] -= g[c] * (rate / len(idx))
        rate *= decay
        learn = False
        stop = it > 0 and abs(prev_loss - float(loss)) < tolerance
        if not stop:
            W = list(w)
            if it > 0:
                iterations += 1
            stop = it == max_iterations
        if it > 0:
            losses.append(float(loss))
        prev_loss = float(loss) if it > 0 else DBL_MAX
        if stop:
            break
    return np.array(W), iterations, losses


def train_classifier_reference(
    X: np.ndarray,
    y: np.ndarray,
    *,
    loss: str,
    batch_size: int,
    learning_rate: float,
    decay: float,
    max_iterations: int,
    tolerance: float,
    optimizer: str,
    seed: int,
    lam: float = 0.01,
    classes: int = 0,
) -> tuple[np.ndarray, int, list[float]]:
    """openGauss's loop for logistic regression (``loss="logistic"``, targets 0/1), svm (``"hinge"``,
    targets -1/+1) and, with ``classes`` > 0, one-vs-all over class numbers ``y`` (one model per class,
    trained one after the other on every batch, sharing the optimizer: its learning rate and, for
    ngd, its scales, whose pass-0 rate is accumulated once per class). Plain per-row loops from
    logregr.cpp, svm.cpp, optimizer_ova.cpp and multiclass.cpp. Returns the weights (one row per
    model), iterations and the per-pass float32 losses."""
    n, k = X.shape
    d = k + 1
    rows = [[float(v) for v in X[i]] + [1.0] for i in range(n)]
    labels = [float(v) for v in y]
    models = classes or 1
    low, high = (0.0, 1.0) if loss == "logistic" else (-1.0, 1.0)

    def target(i: int, c: int) -> float:
        if classes:
            return high if labels[i] == c else low
        return labels[i]

    def sigmoid(m: float) -> float:
        try:
            return 1.0 / (1.0 + math.exp(-m))
        except OverflowError:
            return 0.0

    def log(v: float) -> float:
        if v == 0.0:
            return -math.inf
        return math.log(v) if v > 0 else math.nan

    def dot(a, b):
        total = 0.0
        for u, v in zip(a, b):
            total += u * v
        return total

    batches = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    W = [[0.0] * d for _ in range(models)]
    w = [[0.0] * d for _ in range(models)]
    s = [0.0] * d
    scale_rate = 0.0
    learn = True
    rate = learning_rate
    prev_loss = DBL_MAX
    iterations = 0
    losses: list[float] = []
    rnd = lrand48_stream(seed)
    for it in range(max_iterations + 1):
        total_loss = np.float32(0.0)
        if it == 0:
            order = list(range(len(batches)))
        else:
            slots = list(range(len(batches)))
            cached = len(slots)
            order = []
            while cached > 0:
                nxt = next(rnd) % cached
                order.append(slots[nxt])
                cached -= 1
                if nxt < cached:
                    slots[nxt] = slots[cached]
        for b in order:
            idx = batches[b]
            if it > 0:
                batch_loss = 0.0
                for c in range(models):
                    acc = 0.0
                    for i in idx:
                        m = dot(rows[i], W[c])
                        t = target(i, c)
                        if loss == "logistic":
                            p = sigmoid(m)
                            acc += -(log(p) * t) - (1.0 - t) * log(1.0 - p)
                        else:
                            acc += max(0.0, 1.0 - m * t) if not math.isnan(m) else math.nan
                    batch_loss += acc / len(idx)
                total_loss = np.float32(float(total_loss) + batch_loss)
            for c in range(models):
                wc = w[c]
                if optimizer == "ngd" and learn:
                    for i in idx:
                        for col in range(d):
                            q = rows[i][col] * rows[i][col]
                            if q > s[col]:
                                wc[col] *= s[col] / q
                                s[col] = q
                            if s[col] > 0:
                                scale_rate += q / s[col]
                g = [0.0] * d
                for i in idx:
                    m = dot(rows[i], wc)
                    t = target(i, c)
                    if loss == "logistic":
                        r = sigmoid(m) - t
                        for col in range(d):
                            g[col] += rows[i][col] * r
                    elif 1.0 - m * t > 0:
                        for col in range(d):
                            g[col] -= t * rows[i][col]
                if loss == "hinge":
                    g = [v * (lam * 2.0) for v in g]
                if optimizer == "ngd":
                    for col in range(d):
                        g[col] *= (1.0 / scale_rate) / s[col] if s[col] > 0 else 0.0
                        wc[col] -= rate * g[col]
                else:
                    for col in range(d):
                        wc[col] -= g[col] * (rate / len(idx))
        rate *= decay
        learn = False
        stop = it > 0 and abs(prev_loss - float(total_loss)) < tolerance
        if not stop:
            W = [list(row) for row in w]
            if it > 0:
                iterations += 1
            stop = it == max_iterations
        if it > 0:
            losses.append(float(total_loss))
        prev_loss = float(total_loss) if it > 0 else DBL_MAX
        if stop:
            break
    return np.array(W), iterations, losses
