"""Held-out evaluation: db4ai.evaluate_model from plain SQL and EVALUATE MODEL through the shim,
computed in PostgreSQL and checked against scikit-learn's metrics on the same predictions."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from sklearn import metrics

import db4ai
from db4ai import models
from db4ai.errors import FeatureError, ObjectNotFound
from tests.models.conftest import houses


@pytest.fixture
def shim(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        yield conn


def as_dict(rows):
    return {r[0]: r[1] for r in rows if r[0] != "confusion"}


def confusion(rows):
    return {(r[2], r[3]): r[1] for r in rows if r[0] == "confusion"}


def split_houses(conn):
    houses(conn, "houses_all")
    conn.execute("SELECT * FROM db4ai.create_snapshot(NULL, 'houses', '{\"SELECT * FROM houses_all\"}')")
    conn.execute("SELECT * FROM db4ai.split_snapshot(NULL, 'houses@1.0.0', '{_train,_test}', '{.6,.4}')")


def test_regression_metrics_match_scikit_learn(shim, db_dsn):
    split_houses(shim)
    shim.execute("CREATE MODEL price USING linear_regression FEATURES tax, bath, size TARGET price "
                 "FROM houses_train@1.0.0 WITH optimizer = 'ngd', learning_rate = 2.0, seed = 1")
    with psycopg.connect(db_dsn, autocommit=True) as plain:  # from psql: a plain function call
        rows = plain.execute("SELECT * FROM db4ai.evaluate_model('price', 'houses_test@1.0.0')").fetchall()
        truth_pred = plain.execute('SELECT price, db4ai.price_pred(tax, bath, size) FROM "houses_test@1.0.0"').fetchall()
    assert [r[0] for r in rows] == ["rows", "mse", "rmse", "mae", "r2"] and all(r[2] is None for r in rows)
    y, p = np.array(truth_pred, dtype=float).T
    got = as_dict(rows)
    assert got["rows"] == len(y) == 6
    assert got["mse"] == pytest.approx(metrics.mean_squared_error(y, p), rel=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, p)), rel=1e-12)
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, p), rel=1e-12)
    assert got["r2"] == pytest.approx(metrics.r2_score(y, p), rel=1e-9)
    # the same through the shim's statement, on the snapshot shorthand
    assert shim.execute("EVALUATE MODEL price FROM houses_test@1.0.0").fetchall() == rows
    assert models.evaluate(shim, "price", "public.houses_test@1.0.0") == rows
    assert models.evaluate(shim, "price", '"houses_test@1.0.0"') == rows


def test_binary_classification_metrics_and_confusion_table(shim):
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=(n, 2))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.7, size=n) > 0.3, "yes", "no")
    shim.execute("CREATE TABLE t (id int, x1 float8, x2 float8, label text)")
    with shim.cursor().copy("COPY t FROM STDIN") as copy:
        for i in range(n):
            copy.write_row((i, float(x[i, 0]), float(x[i, 1]), str(label[i])))
    shim.execute("CREATE VIEW train AS SELECT * FROM t WHERE id < 300")
    shim.execute("CREATE VIEW test AS SELECT * FROM t WHERE id >= 300")
    shim.execute("CREATE MODEL c USING logistic_regression FEATURES x1, x2 TARGET label FROM train WITH seed = 2")
    categories = models.warehouse.load(shim, "c").data.settings["categories"]
    rows = shim.execute("EVALUATE MODEL c FROM test").fetchall()
    pairs = shim.execute("SELECT label, PREDICT BY c (FEATURES x1, x2) FROM test").fetchall()
    y, p = zip(*pairs)
    positive = categories[1]  # the second class, as openGauss counts positives
    got = as_dict(rows)
    assert got["rows"] == 100
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, p))
    assert got["precision"] == pytest.approx(metrics.precision_score(y, p, pos_label=positive))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, p, pos_label=positive))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, p, pos_label=positive))
    table = metrics.confusion_matrix(y, p, labels=["no", "yes"])
    assert confusion(rows) == {(a, b): float(table[i, j]) for i, a in enumerate(["no", "yes"])
                               for j, b in enumerate(["no", "yes"])}


def test_multiclass_metrics_are_macro_averages(shim):
    rng = np.random.default_rng(5)
    n = 300
    c = rng.integers(0, 3, size=n)
    centres = np.array([[0.0, 0.0], [2.0, 1.0], [0.0, 2.5]])
    x = centres[c] + rng.normal(scale=0.9, size=(n, 2))
    shim.execute("CREATE TABLE t (x1 float8, x2 float8, c int2)")
    with shim.cursor().copy("COPY t FROM STDIN") as copy:
        for i in range(n):
            copy.write_row((float(x[i, 0]), float(x[i, 1]), int(c[i])))
    shim.execute("CREATE MODEL m USING multiclass FEATURES x1, x2 TARGET c FROM t WITH seed = 2, max_iterations = 30")
    rows = shim.execute("EVALUATE MODEL m FROM t").fetchall()
    y, p = zip(*shim.execute("SELECT c, PREDICT BY m (FEATURES x1, x2) FROM t").fetchall())
    got = as_dict(rows)
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, p))
    for name in ("precision", "recall", "f1"):
        score = getattr(metrics, f"{name}_score")(y, p, average="macro", zero_division=np.nan)
        assert got[name] == pytest.approx(score), name
    labels = sorted(set(y) | set(p))
    table = metrics.confusion_matrix(y, p, labels=labels)
    assert confusion(rows) == {(str(a), str(b)): float(table[i, j]) for i, a in enumerate(labels)
                               for j, b in enumerate(labels)}
    # training on all rows: the training accuracy of the stored model is the evaluation's
    train_accuracy = shim.execute("SELECT trainingscoresvalue[1] FROM gs_model_warehouse").fetchone()[0]
    assert train_accuracy == pytest.approx(got["accuracy"], rel=1e-6)


def test_undefined_precision_is_null_and_null_rows_are_left_out(shim):
    shim.execute("CREATE TABLE t (x float8, y bool)")
    shim.execute("INSERT INTO t SELECT i, i > 10 FROM generate_series(1, 20) AS i")
    shim.execute("CREATE MODEL s USING svm_classification FEATURES x TARGET y FROM t WITH seed = 1")
    shim.execute("CREATE TABLE negatives (x float8, y bool)")
    shim.execute("INSERT INTO negatives VALUES (-1e6, false), (-2e6, false), (NULL, false), (3, NULL)")
    got = as_dict(shim.execute("EVALUATE MODEL s FROM negatives").fetchall())
    assert got == {"rows": 2, "accuracy": 1.0, "precision": None, "recall": None, "f1": None}


def test_evaluation_errors(shim):
    houses(shim)
    shim.execute("CREATE MODEL m USING logistic_regression FEATURES tax, bath TARGET price < 100000 FROM houses "
                 "WITH seed = 1")
    with pytest.raises(ObjectNotFound, match="^No model found with name nosuch$"):
        shim.execute("EVALUATE MODEL nosuch FROM houses")
    with pytest.raises(psycopg.errors.UndefinedTable, match='relation "nosuch@1.0.0" does not exist'):
        shim.execute("EVALUATE MODEL m FROM nosuch@1.0.0")
    with pytest.raises(psycopg.errors.UndefinedColumn) as info:
        shim.execute("EVALUATE MODEL m FROM houses")  # the target is an expression without alias
    assert str(info.value).startswith('relation houses has no column "price < 100000"')
    assert "give expressions an alias" in info.value.diag.message_hint
    shim.execute("CREATE VIEW labelled AS SELECT *, price < 100000 AS \"price < 100000\" FROM houses")
    assert as_dict(shim.execute("EVALUATE MODEL m FROM labelled").fetchall())["rows"] == 15
    shim.execute("CREATE MODEL a USING logistic_regression FEATURES tax AS t, bath TARGET price < 100000 AS cheap "
                 "FROM houses WITH seed = 1")
    with pytest.raises(psycopg.errors.UndefinedColumn, match='has no column "t", "cheap"'):
        shim.execute("SELECT * FROM db4ai.evaluate_model('a', 'houses')")
    # a model without a stored target (an unsupervised one, or one stored before evaluation existed)
    shim.execute("""INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner, modeldata, outputtype)
                    SELECT 'old', modelowner, modeldata, outputtype FROM db4ai.gs_model_warehouse WHERE modelname = 'm'""")
    with pytest.raises(FeatureError, match='model "old" cannot be evaluated'):
        shim.execute("EVALUATE MODEL old FROM houses")
