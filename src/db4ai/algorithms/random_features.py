"""svm_classification's kernels: openGauss's random feature maps, reproduced bit for bit.

openGauss maps the input features x (before the bias is appended) into D random features at
training and at prediction time (executor/kernel.cpp, matrix.cpp, include/db4ai/matrix.h):

* gaussian (random Fourier features, Rahimi & Recht 2007): weights W (F×D) drawn N(0, √(2γ)) by
  Box–Muller from glibc's ``drand48_r`` seeded with ``seed`` (each pair of uniforms u1 > FLT_EPSILON,
  u2 gives ``mag·cos(2π·u2)`` then ``mag·sin(2π·u2)``, row-major), offsets b (D) uniform on [0, 2π)
  from ``drand48_r`` seeded with ``seed + 1``; ``z = cos(x·W + b) · √(2/D)``.
* polynomial (random Maclaurin features, Kar & Karnick 2012): per component, draw u until
  ``rep = (int) log2(1/u)`` is in [1, degree]; coefficient ``√(C(d,rep)·coef0^(d−rep)·2^(rep+1))``;
  ``rep`` rows of ±1 weights (Bernoulli 0.5 from a fresh ``drand48_r(seed)``, −1 when u < 0.5);
  ``z_r = (Π over its rows of w·x) · coef_r · √(1/D)``.

D (``components``) = 0 means ``max(128, 2·F)``. The draws use Python's ``math`` (the C library's
log, sqrt, cos, sin, pow, log2), so they are the numbers openGauss draws on the same platform; the
transforms are compiled loops that sum in openGauss's order. The same numbers are printed into the
PREDICT BY expression, which PostgreSQL evaluates with the same C library functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import expr

FLT_EPSILON = 1.1920928955078125e-07


class Drand48:
    """glibc's ``srand48_r`` / ``drand48_r``: X ← (0x5DEECE66D·X + 0xB) mod 2⁴⁸, result X / 2⁴⁸."""

    def __init__(self, seed: int):
        self._x = ((seed & 0xFFFFFFFF) << 16) | 0x330E

    def next(self) -> float:
        self._x = (0x5DEECE66D * self._x + 0xB) & ((1 << 48) - 1)
        return self._x / float(1 << 48)  # exact: 48 bits fit a double's mantissa


def gaussian_matrix(rows: int, columns: int, mu: float, sigma: float, seed: int) -> np.ndarray:
    """matrix_init_random_gaussian: Box–Muller pairs, row-major."""
    rnd = Drand48(seed)
    two_pi = 2.0 * math.pi
    out: list[float] = []
    total = rows * columns
    while len(out) < total:
        u1 = rnd.next()
        while u1 <= FLT_EPSILON:
            u1 = rnd.next()
        u2 = rnd.next() * two_pi
        mag = sigma * math.sqrt(-2.0 * math.log(u1))
        out.append(mag * math.cos(u2) + mu)
        if len(out) < total:
            out.append(mag * math.sin(u2) + mu)
    return np.array(out, dtype=np.float64).reshape(rows, columns)


def uniform_matrix(rows: int, columns: int, low: float, high: float, seed: int) -> np.ndarray:
    """matrix_init_random_uniform: ``low + (high − low)·u``."""
    rnd = Drand48(seed)
    span = high - low
    return np.array([low + span * rnd.next() for _ in range(rows * columns)], dtype=np.float64).reshape(rows, columns)


def bernoulli_matrix(rows: int, columns: int, p: float, low: float, high: float, seed: int) -> np.ndarray:
    """matrix_init_random_bernoulli: ``low`` when u < p, else ``high``."""
    rnd = Drand48(seed)
    return np.array([low if rnd.next() < p else high for _ in range(rows * columns)],
                    dtype=np.float64).reshape(rows, columns)


def maclaurin_coefficients(degree: int, coef0: float) -> list[float]:
    """matrix_init_maclaurin_coefs: ``√(C(d,k)·coef0^(d−k)·2^(k+1))`` for k = 0..degree (0 when coef0 = 0)."""
    out = []
    for k in range(degree + 1):
        coef = 0.0
        if coef0 > 0:
            coef = float(math.comb(degree, k)) * math.pow(coef0, degree - k)
        out.append(math.sqrt(coef * float(1 << (k + 1))))
    return out


def default_components(components: int, n_inputs: int) -> int:
    return components if components != 0 else max(128, 2 * n_inputs)


@dataclass(frozen=True)
class Gaussian:
    """Random Fourier features: ``z = cos(x·W + b) · √(2/D)``."""

    weights: np.ndarray  # (F, D)
    offsets: np.ndarray  # (D,)

    @classmethod
    def draw(cls, n_inputs: int, components: int, gamma: float, seed: int) -> Gaussian:
        d = default_components(components, n_inputs)
        weights = gaussian_matrix(n_inputs, d, 0.0, math.sqrt(2.0 * gamma), seed)
        offsets = uniform_matrix(d, 1, 0.0, 2.0 * math.pi, (seed + 1) & 0xFFFFFFFF).reshape(d)
        return cls(weights, offsets)

    @property
    def components(self) -> int:
        return len(self.offsets)

    @property
    def scale(self) -> float:
        return math.sqrt(2.0 / self.components)

    def transform(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The features of the rows of ``x`` (written into ``out`` when given)."""
        from .gd_kernels import gaussian_features

        return _by_rows(lambda part, o: gaussian_features(part, self.weights, self.offsets, self.scale, o), x,
                        self.components, out)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"kernel_weights": self.weights, "kernel_offsets": self.offsets}

    def nodes(self, inputs: list[expr.Node]) -> list[expr.Node]:
        """Each random feature as an expression over the inputs, summed as matrix_mult does."""
        scale = expr.num(self.scale)
        return [expr.mul(expr.fn("cos", expr.dot(inputs, [float(v) for v in self.weights[:, c]],
                                                   float(self.offsets[c]))), scale)
                for c in range(self.components)]


@dataclass(frozen=True)
class Polynomial:
    """Random Maclaurin features: ``z_r = Π(rows of W)·x · coef_r · √(1/D)``."""

    weights: np.ndarray  # (Σ reps, F) of ±1
    reps: np.ndarray  # (D,) int32: rows of ``weights`` each component multiplies
    coefs: np.ndarray  # (D,)

    @classmethod
    def draw(cls, n_inputs: int, components: int, degree: int, coef0: float, seed: int) -> Polynomial:
        d = default_components(components, n_inputs)
        rnd = Drand48(seed)
        maclaurin = maclaurin_coefficients(degree, coef0)
        reps = np.empty(d, dtype=np.int32)
        coefs = np.empty(d)
        for r in range(d):
            rep = 0
            while True:  # do { ... } while (rep == 0 || rep > degree), `continue` skipping u == 0
                u = rnd.next()
                if u != 0:
                    rep = int(math.log2(1.0 / u))
                if not (rep == 0 or rep > degree):
                    break
            reps[r] = rep
            coefs[r] = maclaurin[rep]
        weights = bernoulli_matrix(int(reps.sum()), n_inputs, 0.5, -1.0, 1.0, seed)
        return cls(weights, reps, coefs)

    @property
    def components(self) -> int:
        return len(self.reps)

    @property
    def scale(self) -> float:
        return math.sqrt(1.0 / self.components)

    def transform(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The features of the rows of ``x`` (written into ``out`` when given)."""
        from .gd_kernels import polynomial_features

        reps = self.reps.astype(np.int64)
        return _by_rows(lambda part, o: polynomial_features(part, self.weights, reps, self.coefs, self.scale, o),
                        x, self.components, out)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"kernel_weights": self.weights, "kernel_reps": self.reps, "kernel_coefs": self.coefs}

    def nodes(self, inputs: list[expr.Node]) -> list[expr.Node]:
        """Each random feature: the product of its projections (±x summed in order), then its
        coefficient, then the scale, multiplied left to right as openGauss does."""
        projections = [_signed_sum(inputs, row) for row in self.weights]
        out: list[expr.Node] = []
        at = 0
        for rep, coef in zip(self.reps, self.coefs, strict=True):
            factors = projections[at : at + int(rep)]
            at += int(rep)
            out.append(expr.mul(*factors, expr.num(float(coef)), expr.num(self.scale)))
        return out


#: Rows per share when a chunk is mapped on several cores (the compiled maps release the GIL).
SHARE_ROWS = 8192


def _by_rows(transform: Callable[[np.ndarray, np.ndarray], None], x: np.ndarray, width: int,
             out: np.ndarray | None = None) -> np.ndarray:
    """The (rows, width) features ``transform(rows, out)`` writes (into ``out`` when given), on up
    to 4 cores for large chunks (rows are independent, so the result is the same)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if out is None:
        out = np.empty((len(x), width))
    workers = min(4, os.cpu_count() or 1, len(x) // SHARE_ROWS)
    if workers < 2:
        transform(x, out)
        return out
    bounds = np.linspace(0, len(x), workers + 1).astype(int)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db4ai-kernel") as pool:
        list(pool.map(lambda lo, hi: transform(x[lo:hi], out[lo:hi]), bounds[:-1], bounds[1:]))
    return out


def _signed_sum(inputs: list[expr.Node], signs: np.ndarray) -> expr.Node:
    """``Σ ±x_f`` in order (a weight of ±1 multiplies exactly, so ``x·(−1)`` is ``−x``)."""
    node: expr.Node | None = None
    for value, sign in zip(inputs, signs, strict=True):
        if node is None:
            node = value if sign > 0 else expr.neg(value)
        else:
            node = expr.add(node, value) if sign > 0 else expr.sub(node, value)
    assert node is not None
    return node


Kernel = Gaussian | Polynomial


def load(arrays: dict[str, np.ndarray]) -> Kernel | None:
    """The kernel stored with a model (None: linear)."""
    if "kernel_offsets" in arrays:
        return Gaussian(np.asarray(arrays["kernel_weights"], dtype=np.float64),
                        np.asarray(arrays["kernel_offsets"], dtype=np.float64))
    if "kernel_reps" in arrays:
        return Polynomial(np.asarray(arrays["kernel_weights"], dtype=np.float64),
                          np.asarray(arrays["kernel_reps"], dtype=np.int32),
                          np.asarray(arrays["kernel_coefs"], dtype=np.float64))
    return None


__all__ = ["Drand48", "Gaussian", "Kernel", "Polynomial", "load", "maclaurin_coefficients"]
