"""C++'s ``std::mt19937_64`` and ``std::uniform_real_distribution<double>(0, 1)``, vectorised.

openGauss seeds k-means and pca from ``std::mt19937_64(seed ^ 0x274066DB9441E851)`` and draws
doubles in [0, 1) with ``uniform_real_distribution``; reproducing its centroids and components
means reproducing that stream exactly. numpy has no 64-bit Mersenne Twister, so this is one:
the generator of the C++ standard (Matsumoto & Nishimura's MT19937-64), its state refilled 312
words at a time in three numpy steps, tempered in bulk. A double is libstdc++'s
``generate_canonical<double, 53>``: one 64-bit output converted to double (round to nearest)
and divided by 2⁶⁴, with a result that rounds up to 1.0 replaced by the largest double below 1.

Draws can be looked at before they are used (:meth:`MT19937_64.peek`), so that a caller that
consumes one draw per candidate until one is accepted can test a whole run of candidates at once
and then :meth:`skip` exactly the draws the C++ loop would have taken.
"""

from __future__ import annotations

import numpy as np

#: openGauss mixes every user seed with this constant (kmeans.cpp, optimizer_pca.cpp).
INTERNAL_SEED = 0x274066DB9441E851

_N, _M = 312, 156
_MATRIX_A = np.uint64(0xB5026F5AA96619E9)
_UPPER = np.uint64(0xFFFFFFFF80000000)
_LOWER = np.uint64(0x7FFFFFFF)
_ONE = np.uint64(1)
_MASK64 = (1 << 64) - 1
_BELOW_ONE = float(np.nextafter(1.0, 0.0))
_TWO64 = 2.0**64


def _mix(upper: np.ndarray, lower: np.ndarray, far: np.ndarray) -> np.ndarray:
    y = (upper & _UPPER) | (lower & _LOWER)
    return far ^ (y >> _ONE) ^ ((y & _ONE) * _MATRIX_A)


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ ((y >> np.uint64(29)) & np.uint64(0x5555555555555555))
    y = y ^ ((y << np.uint64(17)) & np.uint64(0x71D67FFFEDA60000))
    y = y ^ ((y << np.uint64(37)) & np.uint64(0xFFF7EEE000000000))
    return y ^ (y >> np.uint64(43))


class MT19937_64:
    """``std::mt19937_64`` seeded with one 64-bit value."""

    def __init__(self, seed: int):
        state = [seed & _MASK64]
        for i in range(1, _N):
            prev = state[-1]
            state.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & _MASK64)
        self._mt = np.array(state, dtype=np.uint64)
        self._buffer = np.empty(0, dtype=np.uint64)

    def _twist(self) -> np.ndarray:
        """The state after one twist (the next 312 outputs before tempering)."""
        mt = self._mt
        mt[:_M] = _mix(mt[:_M], mt[1 : _M + 1], mt[_M:])  # right-hand sides read the old words
        mt[_M : _N - 1] = _mix(mt[_M : _N - 1], mt[_M + 1 :], mt[: _N - _M - 1])  # uses new words 0..154
        mt[_N - 1 :] = _mix(mt[_N - 1 :], mt[:1], mt[_M - 1 : _M])
        return mt.copy()

    def _ensure(self, n: int) -> None:
        have = len(self._buffer)
        if have >= n:
            return
        fresh = np.concatenate([self._twist() for _ in range(-(-(n - have) // _N))])
        self._buffer = np.concatenate([self._buffer, _temper(fresh)])

    def peek_integers(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit outputs, not consumed."""
        self._ensure(n)
        return self._buffer[:n]

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` doubles in [0, 1) (``uniform_real_distribution<double>(0, 1)``), not consumed."""
        u = self.peek_integers(n).astype(np.float64) / _TWO64
        u[u >= 1.0] = _BELOW_ONE
        return u

    def skip(self, n: int) -> None:
        """Consume ``n`` outputs."""
        self._ensure(n)
        self._buffer = self._buffer[n:]

    def uniform(self, n: int) -> np.ndarray:
        """The next ``n`` doubles in [0, 1), consumed."""
        u = self.peek(n)
        self.skip(n)
        return u

    def integers(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit outputs, consumed."""
        out = self.peek_integers(n).copy()
        self.skip(n)
        return out


def opengauss_stream(seed: int) -> MT19937_64:
    """The generator openGauss builds from a user's ``seed`` hyperparameter."""
    return MT19937_64((seed ^ INTERNAL_SEED) & _MASK64)


__all__ = ["INTERNAL_SEED", "MT19937_64", "opengauss_stream"]
