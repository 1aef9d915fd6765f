"""The generator openGauss seeds k-means and pca with: C++'s std::mt19937_64 and uniform_real_distribution."""

from __future__ import annotations

import numpy as np

from db4ai.algorithms.mt19937 import INTERNAL_SEED, MT19937_64, opengauss_stream


def test_mt19937_64_matches_the_cpp_standard():
    """[rand.predef]: the 10000th output of a default-constructed (seed 5489) mt19937_64 is 9981545732273789042."""
    values = MT19937_64(5489).integers(10000)
    assert int(values[0]) == 14514284786278117030  # libstdc++'s first output for the default seed
    assert int(values[-1]) == 9981545732273789042


def test_doubles_are_generate_canonical_and_peeking_consumes_nothing():
    a, b = MT19937_64(42), MT19937_64(42)
    raw = a.integers(5)
    u = b.peek(5)
    assert np.array_equal(u, raw.astype(np.float64) / 2.0**64) and np.all((u >= 0) & (u < 1))
    b.skip(2)
    assert np.array_equal(b.uniform(3), u[2:])
    c = MT19937_64(7)
    first = c.uniform(1000)
    d = MT19937_64(7)
    assert np.array_equal(np.concatenate([d.uniform(311), d.uniform(2), d.uniform(687)]), first)  # across refills


def test_opengauss_mixes_the_seed():
    assert np.array_equal(opengauss_stream(1).integers(3), MT19937_64(1 ^ INTERNAL_SEED).integers(3))
