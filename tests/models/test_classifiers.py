"""logistic_regression, svm_classification and multiclass against independent references: the
naive openGauss loop (tests/models/reference.py), numpy scores of the stored weights, libc's
drand48, scikit-learn's metrics; their error texts, explain lines, verbose NOTICEs, target types
and PREDICT BY through the shim and the generated function from plain SQL."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import re

import numpy as np
import psycopg
import pytest

import db4ai
from db4ai import models, warehouse
from db4ai.algorithms import classifier, gd_kernels, random_features
from db4ai.dialect import parse_script
from db4ai.errors import DataError, FeatureError, InvalidParameter
from tests.models.conftest import houses
from tests.models.reference import train_classifier_reference


def cm(text: str):
    (stmt,) = parse_script(text)
    return stmt


def leftovers(conn):
    return conn.execute("""
        SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse), (SELECT count(*) FROM db4ai.gs_model_training_log),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname LIKE '%%_pred')
    """).fetchone()


@pytest.fixture
def shim(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        yield conn


def blobs(conn, n=400, classes=3, seed=5, table="pts"):
    """A table (id, x1, x2, x3 float8, c int4 class, label text, yes bool) of Gaussian blobs in id order."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, classes, size=n)
    centres = rng.normal(scale=2.0, size=(classes, 3))
    X = centres[c] + rng.normal(size=(n, 3))
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, c int4, label text,"
                 " yes bool)")
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for i in range(n):
            copy.write_row((i, *map(float, X[i]), int(c[i]), f"class {c[i]}", bool(c[i] == 1)))
    return X, c


def stored(conn, name):
    return warehouse.load(conn, name).data


# -- the training loop against the naive reference -------------------------------------------------------

@pytest.mark.parametrize("algorithm, loss, optimizer, rate, batch", [
    ("logistic_regression", "logistic", "gd", 0.5, 37),
    ("logistic_regression", "logistic", "ngd", 2.0, 50),
    ("svm_classification", "hinge", "gd", 0.1, 29),
    ("svm_classification", "hinge", "ngd", 0.5, 400),
])
def test_binary_weights_equal_the_reference(mdb, algorithm, loss, optimizer, rate, batch):
    X, c = blobs(mdb, n=300)
    models.create_model(mdb, cm(
        f"CREATE MODEL m USING {algorithm} FEATURES x1, x2, x3 TARGET yes FROM pts WITH batch_size = {batch}, "
        f"optimizer = {optimizer}, learning_rate = {rate}, decay = 0.9, max_iterations = 40, tolerance = 1e-5, "
        f"seed = 77{', lambda = 0.3' if loss == 'hinge' else ''}"))
    y = (c == 1).astype(float) if loss == "logistic" else np.where(c == 1, 1.0, -1.0)
    weights, iterations, losses = train_classifier_reference(
        X, y, loss=loss, batch_size=batch, learning_rate=rate, decay=0.9, max_iterations=40, tolerance=1e-5,
        optimizer=optimizer, seed=77, lam=0.3)
    row = mdb.execute("SELECT coefficients, iterations FROM db4ai.gs_model_warehouse").fetchone()
    np.testing.assert_array_equal(row[0], weights[0])  # bit for bit: the same operations in the same order
    assert row[1] == iterations
    assert [r[0] for r in mdb.execute("SELECT loss FROM db4ai.gs_model_training_log WHERE pass > 0 ORDER BY pass")] \
        == losses


@pytest.mark.parametrize("classifier_name, loss, optimizer", [
    ("svm_classification", "hinge", "gd"), ("logistic_regression", "logistic", "ngd"), ("svm_classification", "hinge", "ngd")])
def test_one_vs_all_weights_equal_the_reference(mdb, classifier_name, loss, optimizer):
    X, c = blobs(mdb, n=250, classes=4)
    models.create_model(mdb, cm(
        f"CREATE MODEL m USING multiclass FEATURES x1, x2, x3 TARGET c FROM pts WITH batch_size = 32, "
        f"optimizer = {optimizer}, learning_rate = 0.4, max_iterations = 25, tolerance = 1e-6, seed = 3, "
        f"lambda = 0.2, classifier = '{classifier_name}'"))
    # classes are numbered in order of first appearance
    order = list(dict.fromkeys(c.tolist()))
    number = np.array([order.index(v) for v in c], dtype=float)
    weights, iterations, _ = train_classifier_reference(
        X, number, loss=loss, batch_size=32, learning_rate=0.4, decay=0.95, max_iterations=25, tolerance=1e-6,
        optimizer=optimizer, seed=3, lam=0.2, classes=4)
    data = stored(mdb, "m")
    np.testing.assert_array_equal(data.arrays["weights"], weights)
    assert data.settings["categories"] == [str(v) for v in order]
    assert mdb.execute("SELECT iterations FROM db4ai.gs_model_warehouse").fetchone()[0] == iterations


# -- scores of the stored model, against numpy and scikit-learn -----------------------------------------

def numpy_margins(X, weights):
    return np.column_stack([X, np.ones(len(X))]) @ np.atleast_2d(weights).T


def test_binary_scores_describe_the_stored_weights(mdb):
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
    )

    X, c = blobs(mdb, n=500, classes=2, seed=11)
    models.create_model(mdb, cm("CREATE MODEL lr USING logistic_regression FEATURES x1, x2, x3 TARGET label FROM pts "
                                "WITH batch_size = 64, max_iterations = 7, seed = 2, learning_rate = 0.3"))
    models.create_model(mdb, cm("CREATE MODEL sv USING svm_classification FEATURES x1, x2, x3 TARGET label FROM pts "
                                "WITH batch_size = 64, max_iterations = 7, seed = 2, learning_rate = 0.3"))
    first = f"class {c[0]}"
    truth = np.array([f"class {v}" != first for v in c])  # the second class seen is the positive one
    for name in ("lr", "sv"):
        data = stored(mdb, name)
        assert data.settings["categories"] == [first, f"class {1 - int(c[0])}"]
        m = numpy_margins(X, data.arrays["weights"])[:, 0]
        if name == "lr":
            p = 1.0 / (1.0 + np.exp(-m))
            predicted = p >= 0.5
            loss = log_loss(truth, p, labels=[False, True])
        else:
            predicted = m > 0
            loss = np.mean(np.maximum(0.0, 1.0 - m * np.where(truth, 1.0, -1.0)))
        scores = dict(mdb.execute("SELECT unnest(trainingscoresname), unnest(trainingscoresvalue) "
                                  "FROM db4ai.gs_model_warehouse WHERE modelname = %s", (name,)).fetchall())
        expected = {"accuracy": accuracy_score(truth, predicted), "f1": f1_score(truth, predicted),
                    "precision": precision_score(truth, predicted), "recall": recall_score(truth, predicted),
                    "loss": loss}
        assert list(scores) == ["accuracy", "f1", "precision", "recall", "loss"]
        for key, value in expected.items():
            assert scores[key] == pytest.approx(value, rel=1e-6), (name, key)  # float4
        # the stored model's own predictions in SQL agree with numpy on every row
        sql = models.prediction_sql(mdb, name, ["x1", "x2", "x3"])
        got = [r[0] for r in mdb.execute(f"SELECT {sql} FROM pts ORDER BY id")]
        assert got == [first if not v else f"class {1 - int(c[0])}" for v in predicted]


def test_binary_scores_omit_what_is_undefined():
    confusion = np.array([[10, 0], [5, 0]])  # never predicts the positive class
    assert classifier.binary_scores(confusion, 3.0, 15) == {"accuracy": 10 / 15, "recall": 0.0, "loss": 0.2}
    confusion = np.array([[10, 2], [0, 0]])  # no positive rows: precision 0, recall undefined
    assert classifier.binary_scores(confusion, 3.0, 12) == {"accuracy": 10 / 12, "precision": 0.0, "loss": 0.25}


def test_multiclass_scores_are_macro_averages_of_the_stored_model(mdb):
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    X, c = blobs(mdb, n=400, classes=4, seed=8)
    models.create_model(mdb, cm("CREATE MODEL m USING multiclass FEATURES x1, x2, x3 TARGET label FROM pts "
                                "WITH batch_size = 50, max_iterations = 5, seed = 2, learning_rate = 0.2, lambda = 0.1"))
    data = stored(mdb, "m")
    categories = data.settings["categories"]
    truth = np.array([categories.index(f"class {v}") for v in c])
    margins = numpy_margins(X, data.arrays["weights"])
    # openGauss's rule: float sigmoid scores, the first strictly highest above 0 wins
    scores_f4 = (1.0 / (1.0 + np.exp(-margins))).astype(np.float32).astype(np.float64)
    predicted = np.zeros(len(X), dtype=int)
    for i, row in enumerate(scores_f4):
        top = 0.0
        for k, r in enumerate(row):
            if r > top:
                top, predicted[i] = r, k
    scores = dict(mdb.execute("SELECT unnest(trainingscoresname), unnest(trainingscoresvalue) "
                              "FROM db4ai.gs_model_warehouse").fetchall())
    hinge = np.maximum(0.0, 1.0 - margins * np.where(truth[:, None] == np.arange(4), 1.0, -1.0)).sum(axis=1).mean()
    expected = {"accuracy": accuracy_score(truth, predicted),
                "f1": f1_score(truth, predicted, average="macro", zero_division=np.nan),
                "precision": precision_score(truth, predicted, average="macro", zero_division=np.nan),
                "recall": recall_score(truth, predicted, average="macro", zero_division=np.nan),
                "loss": hinge}
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, rel=1e-6), key
    sql = models.prediction_sql(mdb, "m", ["x1", "x2", "x3"])
    got = [r[0] for r in mdb.execute(f"SELECT {sql} FROM pts ORDER BY id")]
    assert got == [categories[k] for k in predicted]


def test_one_vs_all_ties_keep_the_first_class():
    # float scores: 1/(1+e^-20) and 1/(1+e^-30) both round to 1.0f, so the first of them wins
    assert gd_kernels.ova_class(np.array([-1.0, 20.0, 30.0])) == 1
    assert gd_kernels.ova_class(np.array([-800.0, -900.0])) == 0  # every score 0: the first class
    assert gd_kernels.ova_class(np.array([np.nan, 0.5])) == 1


def test_ova_argmax_in_sql_matches_the_compiled_rule(mdb):
    rng = np.random.default_rng(1)
    cases = [[-1.0, 20.0, 30.0], [-800.0, -900.0], [float("nan"), 0.5], [0.0, 0.0, -0.0], [1e-300, -1e-300],
             [-103.9, -103.95, -104.5], [17.3, 17.4, 16.0], [float("inf"), float("-inf")], [-745.2, -120.0]]
    cases += rng.normal(scale=30, size=(40, 5)).tolist()
    got = mdb.execute("SELECT db4ai_internal._ova_argmax(m) FROM unnest(%s::float8[][]) WITH ORDINALITY AS u(v, i),"
                      " LATERAL (SELECT %s::float8[]) AS x(m) LIMIT 0", ([[0.0]], [0.0])).fetchall()
    assert got == []
    for margins in cases:
        sql = mdb.execute("SELECT db4ai_internal._ova_argmax(%s::float8[])", (margins,)).fetchone()[0]
        assert sql == gd_kernels.ova_class(np.array(margins, dtype=np.float64)) + 1, margins
    assert mdb.execute("SELECT db4ai_internal._ova_argmax(ARRAY[1, NULL]::float8[])").fetchone()[0] is None


def c_rule(kind: str, m: float) -> bool:
    """openGauss's decision in C: True for the second class."""
    if kind == "svm":
        return not (m <= 0)
    try:
        e = math.exp(-m)
    except OverflowError:
        e = math.inf
    return not (1.0 / (1.0 + e) < 0.5)


@pytest.mark.parametrize("kind", ["logistic", "svm"])
@pytest.mark.parametrize("categories, oid", [(("false", "true"), 16), (("no", "yes"), 25)])
def test_decision_at_the_threshold_follows_opengauss(mdb, kind, categories, oid):
    """The printed decision against C's on margins at and around 0 and at the extremes: logistic's
    sigmoid(0) = 0.5 is not < 0.5 (the second class), svm's ``x·w <= 0`` gives the first class;
    NaN gives the second class, a NULL input NULL, and nothing raises PostgreSQL's range errors."""
    binary = classifier.LOGISTIC if kind == "logistic" else classifier.SVM
    model = classifier.BinaryModel(binary, np.array([1.0, 0.0]), categories, 1, oid)
    tree = model.prediction(classifier.Signature(1, False, oid))
    margins = [0.0, -0.0, 1e-300, -1e-300, 5e-324, -5e-324, 1e-17, -1e-17, -2.2e-16, -3e-16, -4.5e-16, -1e-15, 1e-15,
               0.1, -0.1, 36.0, 37.0, -36.0, 709.0, -709.0, 710.0, -710.0, 746.0, -746.0, 1e308, -1e308,
               math.inf, -math.inf, math.nan]
    got = mdb.execute("""SELECT m, db4ai_internal._expr_sql(%s::jsonb -> 'expr', ARRAY['m'], ARRAY[701]::oid[], %s) FROM (SELECT 1) AS o,
                         LATERAL (SELECT NULL::float8 AS m) AS x""", (psycopg.types.json.Jsonb(tree), oid)).fetchone()
    sql = got[1]
    for m in margins:
        value = mdb.execute(f"SELECT {sql} FROM (SELECT %s::float8 AS m) AS s", (m,)).fetchone()[0]
        expected = categories[1] if c_rule(kind, m) else categories[0]
        assert str(value).lower()[:1] == expected[:1], (m, value)
    assert mdb.execute(f"SELECT {sql} FROM (SELECT NULL::float8 AS m) AS s").fetchone()[0] is None


# -- random features ------------------------------------------------------------------------------------

def test_drand48_is_glibc():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.drand48.restype = ctypes.c_double
    for seed in (1, 2, 54, 2147483647):
        libc.srand48(ctypes.c_long(seed))
        mine = random_features.Drand48(seed)
        assert [mine.next() for _ in range(100)] == [libc.drand48() for _ in range(100)]


def test_gaussian_features_follow_box_muller_and_the_formula():
    kernel = random_features.Gaussian.draw(3, 0, 0.7, 9)
    assert kernel.weights.shape == (3, 128) and kernel.offsets.shape == (128,)  # components 0: max(128, 2F)
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.drand48.restype = ctypes.c_double
    libc.srand48(ctypes.c_long(9))
    u = [libc.drand48() for _ in range(400)]
    first = math.sqrt(2 * 0.7) * math.sqrt(-2.0 * math.log(u[0]))
    assert kernel.weights[0, 0] == first * math.cos(2.0 * math.pi * u[1])
    assert kernel.weights[0, 1] == first * math.sin(2.0 * math.pi * u[1])
    libc.srand48(ctypes.c_long(10))
    assert kernel.offsets[0] == 2.0 * math.pi * libc.drand48()
    x = np.random.default_rng(0).normal(size=(20, 3))
    np.testing.assert_allclose(kernel.transform(x), np.sqrt(2 / 128) * np.cos(x @ kernel.weights + kernel.offsets),
                               rtol=1e-12, atol=1e-15)
    assert random_features.Gaussian.draw(200, 0, 0.7, 9).components == 400


def test_polynomial_features_follow_maclaurin():
    kernel = random_features.Polynomial.draw(2, 50, 4, 1.5, 3)
    assert kernel.components == 50 and set(np.unique(kernel.weights)) == {-1.0, 1.0}
    assert kernel.weights.shape == (int(kernel.reps.sum()), 2) and 1 <= kernel.reps.min() <= kernel.reps.max() <= 4
    coefs = random_features.maclaurin_coefficients(4, 1.5)
    assert coefs[2] == math.sqrt(math.comb(4, 2) * 1.5 ** 2 * 2 ** 3)
    np.testing.assert_array_equal(kernel.coefs, [coefs[r] for r in kernel.reps])
    x = np.random.default_rng(0).normal(size=(10, 2))
    projections = x @ kernel.weights.T
    ends = np.cumsum(kernel.reps)
    expected = np.stack([projections[:, e - r:e].prod(axis=1) for r, e in zip(kernel.reps, ends)], axis=1)
    np.testing.assert_allclose(kernel.transform(x), expected * kernel.coefs * math.sqrt(1 / 50), rtol=1e-12)


@pytest.mark.parametrize("kernel", ["gaussian", "polynomial"])
def test_kernel_predictions_in_sql_equal_the_compiled_ones(mdb, kernel):
    X, c = blobs(mdb, n=300, classes=2, seed=4)
    models.create_model(mdb, cm(f"CREATE MODEL k USING svm_classification FEATURES x1, x2, x3 TARGET c FROM pts "
                                f"WITH kernel = '{kernel}', components = 40, degree = 3, gamma = 0.3, seed = 6, "
                                "batch_size = 10, max_iterations = 20, lambda = 0.05"))
    data = stored(mdb, "k")
    kern = random_features.load(dict(data.arrays))
    assert kern is not None and kern.components == 40
    fresh = classifier.kernel_for({"kernel": kernel, "components": 40, "degree": 3, "gamma": 0.3, "coef0": 1.0,
                                   "seed": 6}, 3)
    np.testing.assert_array_equal(kern.arrays()["kernel_weights"], fresh.arrays()["kernel_weights"])
    Z = kern.transform(X)
    predicted = gd_kernels.classify(np.column_stack([np.zeros(len(Z)), Z]), np.atleast_2d(data.arrays["weights"]),
                                    gd_kernels.HINGE, False)
    categories = data.settings["categories"]
    sql = models.prediction_sql(mdb, "k", ["x1", "x2", "x3"])
    got = [r[0] for r in mdb.execute(f"SELECT {sql} FROM pts ORDER BY id")]
    assert got == [int(categories[k]) for k in predicted]
    accuracy = np.mean(np.array(got) == c)
    assert accuracy > 0.8
    assert mdb.execute("SELECT coefficients FROM db4ai.gs_model_warehouse").fetchone()[0] is None  # not linear in x
    explain = mdb.execute("SELECT db4ai.gs_explain_model('k')").fetchone()[0].splitlines()
    assert explain[-2].startswith("weights: {") and explain[-2].count(",") == 40
    assert explain[-1] == "categories: {" + ",".join(categories) + "}"


def test_kernel_with_an_array_feature_checks_the_array(shim):
    blobs(shim, n=120, classes=2, seed=1)
    shim.execute("CREATE MODEL k USING svm_classification FEATURES ARRAY[x1, x2] TARGET yes FROM pts "
                 "WITH kernel = 'gaussian', components = 8, seed = 3")
    assert shim.execute("SELECT db4ai.gs_explain_model('k')").fetchone()[0].count("\n") > 20
    assert shim.execute("SELECT PREDICT BY k (FEATURES NULL::float8[])").fetchone()[0] is None
    with pytest.raises(Exception, match="Input array must be 1-dimensional of 2 elements"):
        shim.execute("SELECT PREDICT BY k (FEATURES ARRAY[1.0, 2.0, 3.0]::float8[])")
    assert len(shim.execute("SELECT PREDICT BY k (FEATURES ARRAY[x1, x2]) FROM pts").fetchall()) == 120


# -- targets ----------------------------------------------------------------------------------------------

def test_target_types_and_classes_in_order_of_appearance(shim):
    shim.execute("CREATE TABLE t (x float8, v varchar, s int2, f float4, d date)")
    shim.execute("INSERT INTO t SELECT i, CASE WHEN i % 3 = 0 THEN 'yes' ELSE 'no' END, (i % 2)::int2 * 7,"
                 " (i % 2) + 0.5, DATE '2020-01-01' + (i % 2) FROM generate_series(1, 30) AS i")
    for target, oid, first in (("v", 1043, "no"), ("s", 21, "7"), ("f", 700, "1.5"), ("d", 1082, "2020-01-02")):
        shim.execute(f"CREATE MODEL m_{target} USING logistic_regression FEATURES x TARGET {target} FROM t "
                     "WITH max_iterations = 3, seed = 1")
        assert stored(shim, f"m_{target}").settings["categories"][0] == first
        assert shim.execute(f"SELECT outputtype FROM gs_model_warehouse WHERE modelname = 'm_{target}'").fetchone()[0] == oid
    row = shim.execute("SELECT PREDICT BY m_v (FEATURES x), PREDICT BY m_s (FEATURES x), PREDICT BY m_f (FEATURES x),"
                       " PREDICT BY m_d (FEATURES x) FROM t LIMIT 1")
    assert [d.type_code for d in row.description] == [1043, 23, 700, 1082]  # int2 predicts int4, as openGauss
    assert shim.execute("SELECT db4ai.gs_explain_model('m_s')").fetchone()[0].endswith("categories: {7,0}\n")


@pytest.mark.parametrize("algorithm", ["logistic_regression", "svm_classification"])
def test_binary_target_errors_leave_nothing_behind(shim, algorithm):
    shim.execute("CREATE TABLE t (x float8, v text, n int4, one text)")
    shim.execute("INSERT INTO t SELECT i, (i % 3)::text, i % 3, 'same' FROM generate_series(1, 30) AS i")
    for target, message in (("v", "too many target values for binary operator"),
                            ("n", "too many target values for binary operator"),
                            ("one", "At least two categories are needed"),
                            ("NULL::text", "Input data is empty")):
        with pytest.raises(DataError) as info:
            shim.execute(f"CREATE MODEL m USING {algorithm} FEATURES x TARGET {target} FROM t")
        assert str(info.value) == message
        assert leftovers(shim) == (0, 0, 0)


def test_multiclass_needs_two_classes_and_takes_any_type(shim):
    shim.execute("CREATE TABLE t (x float8, y float8, one text, ts timestamp)")
    shim.execute("INSERT INTO t SELECT i, i % 5, 'same', TIMESTAMP '2020-01-01' + (i % 3) * interval '1 hour'"
                 " FROM generate_series(1, 60) AS i")
    with pytest.raises(DataError, match="^At least two categories are needed$"):
        shim.execute("CREATE MODEL m USING multiclass FEATURES x TARGET one FROM t")
    assert leftovers(shim) == (0, 0, 0)
    shim.execute("CREATE MODEL m USING multiclass FEATURES x, y TARGET ts FROM t WITH seed = 1, max_iterations = 5")
    assert stored(shim, "m").settings["categories"] == ["2020-01-01 01:00:00", "2020-01-01 02:00:00",
                                                        "2020-01-01 00:00:00"]
    got = shim.execute("SELECT PREDICT BY m (FEATURES x, y) FROM t").fetchall()
    assert {type(r[0]).__name__ for r in got} == {"datetime"}
    with pytest.raises(psycopg.errors.FeatureNotSupported, match=r'invalid return type \(1114\) for model of name "m"'):
        shim.execute("SELECT db4ai.gs_explain_model('m')")  # openGauss explains only its listed types
    shim.execute("CREATE MODEL t2 USING multiclass FEATURES x, y TARGET ts::text FROM t WITH seed = 1, max_iterations = 5")
    explain = shim.execute("SELECT db4ai.gs_explain_model('t2')").fetchone()[0]
    assert explain.endswith('categories: {"2020-01-01 01:00:00","2020-01-01 02:00:00","2020-01-01 00:00:00"}\n')
    assert re.search(r"\nweights: \{\{[^{}]+\},\{[^{}]+\},\{[^{}]+\}\}\n", explain)
    assert "Return type: Text\n" in explain


# -- errors from openGauss's db4ai_gd_train_predict --------------------------------------------------------

GD_TRAIN_PREDICT_ERRORS = [
    ("CREATE MODEL m using logistic_regression FEATURES * TARGET price FROM db4ai_houses",
     "FEATURES clause cannot be *"),
    ("CREATE MODEL m using logistic_regression FEATURES size,lot TARGET * FROM db4ai_houses",
     "TARGET clause cannot be *"),
    ("CREATE MODEL m using logistic_regression FROM db4ai_houses", "Supervised ML algorithms require FEATURES clause"),
    ("CREATE MODEL m using logistic_regression FEATURES size,lot FROM db4ai_houses",
     "Supervised ML algorithms require TARGET clause"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with batch_size = 0, seed=1",
     "Hyperparameter batch_size must be in the range [1,1048575]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with decay = 0.0, seed=1",
     "Hyperparameter decay must be in the range (0,1.7976931e+308]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with learning_rate = 0.0, seed=1",
     "Hyperparameter learning_rate must be in the range (0,1.7976931e+308]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with max_iterations = 0, seed=1",
     "Hyperparameter max_iterations must be in the range [1,10000]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with max_seconds = -1, seed=1",
     "Hyperparameter max_seconds must be in the range [0,2147483647]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with optimizer = nogd, seed=1",
     "Invalid hyperparameter value for optimizer. Valid values are: gd, ngd."),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with tolerance = 0.0, seed=1",
     "Hyperparameter tolerance must be in the range (0,1.7976931e+308]"),
    ("CREATE MODEL m USING logistic_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with verbose = ttrue, seed=1",
     "Hyperparameter verbose is not a valid string for boolean (i.e. 'true' or 'false')"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with batch_size = 'a_wrong_parameter', seed=1",
     "Hyperparameter batch_size must be an integer"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with decay = 'a_wrong_parameter', seed=1",
     "Hyperparameter decay must be a floating point number"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with learning_rate = 'a_wrong_parameter', seed=1",
     "Hyperparameter learning_rate must be a floating point number"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with max_iterations = 'a_wrong_parameter', seed=1",
     "Hyperparameter max_iterations must be an integer"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price <100000 FROM db4ai_houses with max_seconds = 'a_wrong_parameter', seed=1",
     "Hyperparameter max_seconds must be an integer"),
    ("CREATE MODEL m USING svm_classification FEATURES size, lot TARGET price <100000 FROM db4ai_houses with lambda = 0.0, seed=1",
     "Hyperparameter lambda must be in the range (0,1.7976931e+308]"),
    ("CREATE MODEL m USING svm_classification FEATURES size, lot TARGET price <100000 FROM db4ai_houses with lambda = 'a_wrong_parameter', seed=1",
     "Hyperparameter lambda must be a floating point number"),
    ("CREATE MODEL m USING svm_classification FEATURES size, lot TARGET price <100000 FROM db4ai_houses with optimizer = 'a_wrong_parameter', seed=1",
     "Invalid hyperparameter value for optimizer. Valid values are: gd, ngd."),
    ("CREATE MODEL m USING svm_classification FEATURES size, lot TARGET price <100000 FROM db4ai_houses with tolerance = 'a_wrong_parameter', seed=1",
     "Hyperparameter tolerance must be a floating point number"),
    ("CREATE MODEL m USING svm_classification FEATURES size, lot TARGET price <100000 FROM db4ai_houses with verbose = 'a_wrong_parameter', seed=1",
     "Hyperparameter verbose is not a valid string for boolean (i.e. 'true' or 'false')"),
    ("CREATE model m_model_xgboost_0030 USING xgboost features treatment, trait_anxiety target second_attack FROM t_model_tab_0030",
     "Invalid ML algorithm 'xgboost'"),
    # the svm and multiclass hyperparameters beyond the regression files
    ("CREATE MODEL m USING svm_classification FEATURES size TARGET price < 100000 FROM db4ai_houses with kernel = 'rbf'",
     "Invalid hyperparameter value for kernel. Valid values are: linear, gaussian, polynomial."),
    ("CREATE MODEL m USING svm_classification FEATURES size TARGET price < 100000 FROM db4ai_houses with degree = 10",
     "Hyperparameter degree must be in the range [2,9]"),
    ("CREATE MODEL m USING svm_classification FEATURES size TARGET price < 100000 FROM db4ai_houses with gamma = 0",
     "Hyperparameter gamma must be in the range (0,1.7976931e+308]"),
    ("CREATE MODEL m USING svm_classification FEATURES size TARGET price < 100000 FROM db4ai_houses with coef0 = -1",
     "Hyperparameter coef0 must be in the range [0,1.7976931e+308]"),
    ("CREATE MODEL m USING svm_classification FEATURES size TARGET price < 100000 FROM db4ai_houses with components = 1.5",
     "Hyperparameter components must be an integer"),
    ("CREATE MODEL m USING multiclass FEATURES size TARGET bedroom FROM db4ai_houses with classifier = 'linear_regression'",
     "Invalid hyperparameter value for classifier. Valid values are: svm_classification, logistic_regression."),
    ("CREATE MODEL m USING logistic_regression FEATURES size TARGET price < 100000 FROM db4ai_houses with lambda = 1",
     "Invalid hyperparameter lambda"),
]


@pytest.mark.parametrize("text, message", GD_TRAIN_PREDICT_ERRORS)
def test_gd_train_predict_errors_leave_nothing_behind(shim, text, message):
    houses(shim, "db4ai_houses")
    with pytest.raises((InvalidParameter, FeatureError)) as info:
        shim.execute(text)
    assert str(info.value) == message
    assert leftovers(shim) == (0, 0, 0)


def test_feature_and_target_type_errors(shim):
    houses(shim, "db4ai_houses")
    for text, message in (
        ("CREATE MODEL m USING svm_classification FEATURES size::text TARGET price < 1 FROM db4ai_houses",
         "Oid type 25 not yet supported"),
        ("CREATE MODEL m USING multiclass FEATURES size TARGET to_jsonb(price) FROM db4ai_houses",
         "Datatype of target not supported"),
        ("CREATE MODEL m USING logistic_regression FEATURES ARRAY[size]::float8[], tax TARGET price < 1 FROM db4ai_houses",
         "Input array cannot be combined with other features"),
    ):
        with pytest.raises(FeatureError) as info:
            shim.execute(text)
        assert str(info.value) == message
    assert leftovers(shim) == (0, 0, 0)


# -- explain, verbose, the generated function ------------------------------------------------------------

def test_explain_lines_in_opengauss_layout(shim):
    houses(shim, "db4ai_houses")
    query = ("CREATE MODEL m USING svm_classification FEATURES tax, bath, size TARGET price < 100000 "
             "FROM db4ai_houses WITH seed = 10, batch_size = 5, optimizer = 'ngd', learning_rate = 10.0, lambda = 50")
    shim.execute(query)
    text = shim.execute("SELECT gs_explain_model('m')").fetchone()[0]
    lines = text.splitlines()
    assert lines[:4] == ["Name: m", "Algorithm: svm_classification", "Query: " + query, "Return type: Boolean"]
    assert lines[8:23] == ["batch_size: 5", "decay: 0.9500000000", "learning_rate: 10.0000000000",
                           "max_iterations: 100", "max_seconds: 0", "optimizer: ngd", "tolerance: 0.0005000000", "seed: 10",
                           "verbose: false", "lambda: 50.0000000000", "kernel: linear", "components: 0",
                           "gamma: 0.5000000000", "degree: 2", "coef0: 1.0000000000"]
    assert [line.split(":")[0] for line in lines[23:28]] == ["accuracy", "f1", "precision", "recall", "loss"]
    weights = shim.execute("SELECT coefficients FROM gs_model_warehouse").fetchone()[0]
    assert lines[28] == "weights: {" + ",".join(repr(w) for w in weights) + "}"
    assert lines[29:] == ["categories: {f,t}"]


def test_verbose_notices_report_the_accuracy_of_the_tested_weights(mdb):
    X, c = blobs(mdb, n=120, classes=2, seed=3)
    notices, kept = [], []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary))
    models.create_model(mdb, cm("CREATE MODEL m USING svm_classification FEATURES x1, x2, x3 TARGET yes FROM pts "
                                "WITH verbose = true, max_iterations = 4, batch_size = 16, seed = 4, learning_rate = 0.1"),
                        on_pass=lambda record: kept.append(record.weights.copy()))
    assert [n.split(":")[0] for n in notices] == ["ITERATION 1", "ITERATION 2", "ITERATION 3", "ITERATION 4"]
    truth = c == 1
    for k, notice in enumerate(notices, start=1):
        tested = kept[k - 1]  # pass k tests the weights kept after pass k-1
        margins = numpy_margins(X, tested)[:, 0]
        acc = np.mean((margins >= gd_kernels.FLT_MIN) == truth)
        assert f" accuracy={acc:.3f} tuples=120 coef=[" in notice
    assert notices[-1].endswith("coef=[" + ", ".join("%.16g" % w for w in kept[-1]) + "]")


def test_multiclass_verbose_accuracy_is_minus_one_as_in_opengauss(mdb):
    blobs(mdb, n=90, classes=3, seed=3)
    notices = []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary))
    models.create_model(mdb, cm("CREATE MODEL m USING multiclass FEATURES x1, x2 TARGET c FROM pts "
                                "WITH verbose = true, max_iterations = 2, seed = 4"))
    assert len(notices) == 2 and all(" accuracy=-1.000 tuples=90 coef=[[" in n for n in notices)
    assert notices[0].count("],\n[") == 2


def test_generated_function_predicts_from_plain_sql(shim, db_dsn):
    _, c = blobs(shim, n=200, classes=3, seed=9)
    shim.execute("CREATE MODEL mc USING multiclass FEATURES x1, x2, x3 TARGET label FROM pts WITH seed = 5")
    shim.execute("CREATE MODEL lg USING logistic_regression FEATURES x1, x2 TARGET yes FROM pts WITH seed = 5")
    through_shim = shim.execute("SELECT PREDICT BY mc (FEATURES x1, x2, x3), PREDICT BY lg (FEATURES x1, x2) "
                                "FROM pts ORDER BY id").fetchall()
    with psycopg.connect(db_dsn, autocommit=True) as plain:
        direct = plain.execute("SELECT db4ai.mc_pred(x1, x2, x3), db4ai.lg_pred(x1, x2) FROM pts ORDER BY id").fetchall()
        assert direct == through_shim
        assert plain.execute("SELECT db4ai.mc_pred(NULL, 1, 2)").fetchone()[0] is None
        # inlined: the plan shows the arithmetic, not a call of the generated function
        plan = "\n".join(r[0] for r in plain.execute("EXPLAIN VERBOSE SELECT db4ai.lg_pred(x1, x2) FROM pts"))
        assert "lg_pred" not in plan and "exp(" in plan
        plan = "\n".join(r[0] for r in plain.execute("EXPLAIN VERBOSE SELECT db4ai.mc_pred(x1, x2, x3) FROM pts"))
        assert "mc_pred" not in plan and "_ova_argmax" in plan
    assert sum(p == f"class {v}" for (p, _), v in zip(through_shim, c)) > 120  # a sensible model


def test_the_orchestration_knows_no_algorithm_by_name():
    """The three classifiers plugged into the interface: models.py, targets.py and warehouse.py
    name none of the registered algorithms (the registry is the one place that does)."""
    import inspect

    from db4ai import algorithms, targets

    for module in (models, targets, warehouse):
        source = inspect.getsource(module)
        assert [name for name in algorithms.REGISTRY if name in source] == [], module.__name__
    assert {name for name, r in algorithms.REGISTRY.items() if r.algorithm is not None} >= {
        "linear_regression", "logistic_regression", "svm_classification", "multiclass"}
