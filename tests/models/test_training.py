"""The training loop against an independent naive re-implementation of openGauss (tests/models/reference.py)."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from db4ai.algorithms import gd
from db4ai.algorithms import linear_regression as lr
from db4ai.algorithms.hyperparameters import GD_SUPERVISED, resolve
from db4ai.algorithms.optim import Rand48, batch_order, format_weights, verbose_line
from tests.models.arrays import ArrayTraining
from tests.models.reference import lrand48_stream, train_reference


def dataset(n=230, seed=1, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, 1.0]
    y = X @ [1.5, -0.7, 3.0] + 4.0 + rng.normal(scale=noise, size=n)
    return X, y


def fit(X, y, params, chunks=1, gram=None):
    values = np.column_stack([y, X])
    hp = resolve(GD_SUPERVISED, params)
    parts = np.array_split(values, chunks)
    batches, rows = lr.build_batches(parts, X.shape[1], hp["batch_size"], track_scales=hp["optimizer"] == "ngd",
                                     gram=gram)
    assert rows == len(y)
    return lr.fit(ArrayTraining(values, hp), batches)


def reference(X, y, params):
    hp = resolve(GD_SUPERVISED, params)
    return train_reference(X, y, batch_size=hp["batch_size"], learning_rate=hp["learning_rate"], decay=hp["decay"],
                           max_iterations=hp["max_iterations"], tolerance=hp["tolerance"],
                           optimizer=hp["optimizer"], seed=hp["seed"])


def assert_close(a, b, rel=1e-9):
    np.testing.assert_allclose(a, b, rtol=rel, atol=0)


def test_rand48_is_glibc():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.lrand48.restype = ctypes.c_long
    for seed in (1, 7, 123456789, 2147483647):
        libc.srand48(ctypes.c_long(seed))
        mine = Rand48(seed)
        assert [mine.next() for _ in range(50)] == [libc.lrand48() for _ in range(50)]


def test_batch_order_is_a_seeded_permutation():
    first = list(batch_order(Rand48(11), 40))
    assert sorted(first) == list(range(40)) and first != list(range(40))
    assert list(batch_order(Rand48(11), 40)) == first
    assert list(batch_order(Rand48(12), 40)) != first
    rng = Rand48(3)
    passes = [list(batch_order(rng, 9)) for _ in range(3)]
    assert all(sorted(p) == list(range(9)) for p in passes) and passes[0] != passes[1]
    stream, mine = lrand48_stream(3), Rand48(3)  # the reference's own generator draws the same numbers
    assert [next(stream) for _ in range(5)] == [mine.next() for _ in range(5)]


@pytest.mark.parametrize("optimizer, rate", [("gd", 0.05), ("ngd", 0.8)])
@pytest.mark.parametrize("batch_size", [40, 3, 230])
def test_weights_equal_the_reference(optimizer, rate, batch_size):
    X, y = dataset()
    params = [("batch_size", batch_size), ("optimizer", optimizer), ("learning_rate", rate), ("seed", 7),
              ("max_iterations", 40), ("tolerance", 1e-4), ("decay", 0.9)]
    ours = fit(X, y, params, chunks=3)
    weights, iterations, losses = reference(X, y, params)
    assert_close(ours.model.weights, weights)
    assert ours.iterations == iterations
    assert [p.loss for p in ours.log[1:]] == losses  # float32 totals, bit for bit here


def test_tolerance_stop_discards_the_last_pass():
    X, y = dataset()
    params = [("batch_size", 50), ("learning_rate", 0.05), ("seed", 3), ("max_iterations", 500), ("tolerance", 0.01)]
    ours = fit(X, y, params)
    weights, iterations, _ = reference(X, y, params)
    assert ours.log[-1].stop == "tolerance" and 0 < ours.iterations < 500
    assert ours.iterations == iterations == len(ours.log) - 2
    assert_close(ours.model.weights, weights)
    last = ours.log[-1]
    assert last.delta_loss < 0.01 and last.stop == "tolerance"
    # the stored weights are the ones that pass scored, i.e. those kept after the pass before
    assert_close(ours.model.weights, ours.log[-2].weights, rel=0)


def test_max_iterations_stop():
    X, y = dataset()
    params = [("batch_size", 64), ("optimizer", "ngd"), ("seed", 5), ("max_iterations", 3), ("tolerance", 1e-12)]
    ours = fit(X, y, params)
    weights, iterations, _ = reference(X, y, params)
    assert ours.log[-1].stop == "max_iterations" and ours.iterations == iterations == 3
    assert len(ours.log) == 4
    assert_close(ours.model.weights, weights)


def test_single_batch_is_deterministic_whatever_the_seed():
    X, y = dataset(n=120)
    a = fit(X, y, [("batch_size", 1000), ("seed", 1), ("learning_rate", 0.05)])
    b = fit(X, y, [("batch_size", 1000), ("seed", 99), ("learning_rate", 0.05)])
    np.testing.assert_array_equal(a.model.weights, b.model.weights)


@pytest.mark.parametrize("optimizer", ["gd", "ngd"])
def test_gram_and_row_batches_agree_and_chunking_does_not_matter(optimizer):
    X, y = dataset(n=301)
    params = [("batch_size", 20), ("optimizer", optimizer), ("learning_rate", 0.05 if optimizer == "gd" else 0.5),
              ("seed", 9), ("max_iterations", 30), ("tolerance", 1e-9)]
    base = fit(X, y, params, chunks=1, gram=True)
    assert_close(fit(X, y, params, chunks=1, gram=False).model.weights, base.model.weights, rel=1e-11)
    assert_close(fit(X, y, params, chunks=7, gram=True).model.weights, base.model.weights, rel=1e-11)
    assert_close(fit(X, y, params, chunks=13, gram=False).model.weights, base.model.weights, rel=1e-11)


@pytest.mark.parametrize("optimizer", ["gd", "ngd"])
def test_rows_spilled_to_disk_train_the_same(optimizer):
    X, y = dataset(n=157)
    values = np.column_stack([y, X])
    hp = resolve(GD_SUPERVISED, [("batch_size", 4), ("optimizer", optimizer), ("learning_rate", 0.05), ("seed", 2),
                                 ("max_iterations", 20)])
    kept, _ = lr.build_batches(np.array_split(values, 5), 3, 4, track_scales=optimizer == "ngd")
    spilled, _ = lr.build_batches(np.array_split(values, 5), 3, 4, track_scales=optimizer == "ngd",
                                  memory_limit=1000)
    assert isinstance(spilled, gd.RowBatches) and spilled.spilled and not kept.spilled
    spilled_fit = lr.fit(ArrayTraining(values, hp), spilled)
    assert_close(spilled_fit.model.weights, lr.fit(ArrayTraining(values, hp), kept).model.weights, rel=1e-12)
    weights, _, _ = reference(X, y, list(hp.items()))
    assert_close(spilled_fit.model.weights, weights)


def test_ngd_scales_equal_a_row_by_row_walk():
    X, _ = dataset(n=97)
    X[5, 1] = 0.0
    X[:3, 2] = 0.0  # a feature that starts at zero: its weight is reset when it first grows
    values = np.column_stack([np.zeros(len(X)), X])
    batches, _ = lr.build_batches(np.array_split(values, 4), 3, 10, track_scales=True, gram=True)
    scales = batches.scales()
    s, total, s_end, n_end = np.zeros(4), 0.0, [], []
    rows = np.column_stack([X, np.ones(len(X))])
    for i, row in enumerate(rows):
        for c, v in enumerate(row):
            q = v * v
            if q > s[c]:
                s[c] = q
            if s[c] > 0:
                total += q / s[c]
        if (i + 1) % 10 == 0 or i + 1 == len(rows):
            s_end.append(s.copy())
            n_end.append(total)
    np.testing.assert_array_equal(scales.s_end, np.array(s_end))
    assert_close(scales.n_end, np.array(n_end), rel=1e-13)


def test_converges_to_least_squares():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2000, 4))
    y = X @ [2.0, -1.0, 0.5, 3.0] + 1.5 + rng.normal(scale=0.3, size=2000)
    ours = fit(X, y, [("batch_size", 100), ("learning_rate", 0.2), ("decay", 0.9), ("max_iterations", 400),
                      ("tolerance", 1e-7), ("seed", 1)])
    sk = LinearRegression().fit(X, y)
    assert_close(ours.model.weights, np.append(sk.coef_, sk.intercept_), rel=1e-3)
    predicted = X @ ours.model.weights[:-1] + ours.model.weights[-1]
    np.testing.assert_allclose(predicted, sk.predict(X), rtol=0, atol=1e-3 * np.abs(y).mean())
    assert ours.scores["mse"] == pytest.approx(np.mean((sk.predict(X) - y) ** 2), rel=1e-3)


def test_mse_is_the_true_mean_squared_error_of_the_kept_weights():
    X, y = dataset()
    ours = fit(X, y, [("batch_size", 17), ("learning_rate", 0.05), ("seed", 2), ("max_iterations", 5)])
    w = ours.model.weights
    assert ours.scores["mse"] == pytest.approx(np.mean((X @ w[:-1] + w[-1] - y) ** 2), rel=1e-12)


def test_format_weights_like_opengauss_matrix_print():
    assert format_weights(np.array([1.5, -2.0, 1 / 3])) == "[1.5, -2, 0.3333333333333333]"
    assert format_weights(np.arange(31.0)).count(", ") == 30
    long = format_weights(np.arange(40.0))
    assert long == "[" + ", ".join([str(i) for i in range(16)] + ["..."] + [str(i) for i in range(25, 39)]) + "]"


def test_verbose_line_format():
    X, y = dataset(n=50)
    ours = fit(X, y, [("batch_size", 10), ("learning_rate", 0.05), ("seed", 2), ("max_iterations", 2)])
    first, second = ours.log[1], ours.log[2]
    line = verbose_line(first, 0.0005, 50)
    assert line.startswith(f"ITERATION 1: test_loss={first.loss:.6f} delta_loss=- tolerance=0.001 accuracy=-1.000 tuples=50 coef=[")
    assert verbose_line(second, 0.0005, 50).split()[3] == "delta_loss=%.16g" % second.delta_loss


def test_max_seconds_stops_after_the_pass_that_reaches_it():
    from db4ai.algorithms.optim import make_optimizer, train
    X, y = dataset(n=60)
    batches, _ = lr.build_batches([np.column_stack([y, X])], 3, 10, track_scales=False)
    ticks = iter(range(1000))
    result = train(batches, make_optimizer("gd", 0.05, 0.95, 4), max_iterations=100, tolerance=1e-12, max_seconds=5, seed=1,
                   start=0.0, clock=lambda: float(next(ticks)))
    assert result.stop == "max_seconds"
    assert result.iterations == len(result.passes) - 1 < 100
    # the clock is read twice per pass (stop check, log); the run stops once 5 "seconds" have passed
    assert result.passes[-1].elapsed >= 5 and result.passes[-2].stop is None
