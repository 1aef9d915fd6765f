"""openGauss's own regression outputs for its classifiers, reproduced end to end through the shim:
db4ai_gd_train_predict (logistic m1, svm m2, the multiclass ecoli models), db4ai_gd_houses (the
logistic and svm models) and db4ai_svm_kernels (moons with the three kernels).

Predictions, iteration counts and hyperparameter rows are openGauss's exactly. Scores follow
db4ai's documented semantic (the stored model on all processed rows): where openGauss's coincide
(a tolerance stop, so the stored weights are the ones it scored, on one batch or batches of equal
size) they are openGauss's values; all of them are checked against numpy on the stored weights
(tests/models/test_classifiers.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import db4ai
from tests.models.conftest import houses

DATA = Path(__file__).parent / "data"
SVM_NAMES = ["batch_size", "decay", "learning_rate", "max_iterations", "max_seconds", "optimizer", "tolerance", "seed",
             "verbose", "lambda", "kernel", "components", "gamma", "degree", "coef0"]
SVM_OIDS = [23, 701, 701, 23, 23, 1043, 701, 23, 16, 701, 1043, 23, 701, 23, 701]
GD_OIDS = [23, 701, 701, 23, 23, 1043, 701, 23, 16]


@pytest.fixture
def shim(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        yield conn


def normalized_houses(conn) -> None:
    houses(conn, "db4ai_houses")
    conn.execute("""
        ALTER TABLE db4ai_houses ADD COLUMN tax_n float8, ADD COLUMN bath_n float8, ADD COLUMN size_n float8;
        UPDATE db4ai_houses SET
          tax_n = (tax - (SELECT min(tax) FROM db4ai_houses))::float8 / (SELECT max(tax) - min(tax) FROM db4ai_houses),
          bath_n = (bath - (SELECT min(bath) FROM db4ai_houses)) / (SELECT max(bath) - min(bath) FROM db4ai_houses),
          size_n = (size - (SELECT min(size) FROM db4ai_houses))::float8 / (SELECT max(size) - min(size) FROM db4ai_houses)
    """)


def accuracy(conn, model: str, features: str, target: str, table: str) -> float:
    return conn.execute(f"""SELECT avg(CASE WHEN p = t THEN 1.0 ELSE 0.0 END)::float8 FROM (
        SELECT PREDICT BY {model} (FEATURES {features}) AS p, {target} AS t FROM {table}) AS s""").fetchone()[0]


def warehouse_rows(conn, like: str):
    return conn.execute("""
        SELECT modelname, processedtuples, discardedtuples, iterations, outputtype, modeltype,
               hyperparametersnames, hyperparametersoids::int[], hyperparametersvalues, trainingscoresname,
               trainingscoresvalue
          FROM db4ai.gs_model_warehouse WHERE modelname LIKE %s ORDER BY modelname""", (like,)).fetchall()


def test_gd_train_predict_logistic_m1(shim):
    houses(shim, "db4ai_houses")
    shim.execute("ALTER TABLE db4ai_houses ADD COLUMN pred boolean")
    shim.execute("CREATE MODEL m1 using logistic_regression FEATURES bedroom, bath TARGET price < 100000 "
                 "FROM db4ai_houses WITH seed = 1")
    got = shim.execute("SELECT id, price, PREDICT BY m1 (FEATURES bedroom, bath) from db4ai_houses ORDER BY id").fetchall()
    expected = "t f t f f t f t f f t f f f f"
    assert [r[2] for r in got] == [c == "t" for c in expected.split()]
    assert shim.execute("SELECT db4ai.predict_model_sql('m1', '{bedroom,bath}') IS NOT NULL").fetchone()[0]
    shim.execute("UPDATE db4ai_houses SET pred = PREDICT BY m1 (FEATURES bedroom, bath)")
    assert [r[0] for r in shim.execute("SELECT pred FROM db4ai_houses ORDER BY id")] == [r[2] for r in got]
    shim.execute("DROP MODEL m1")


def test_gd_train_predict_svm_m2(shim):
    houses(shim, "db4ai_houses")
    # openGauss's int / int is a float division; PostgreSQL needs the cast to train and predict on its values
    shim.execute("CREATE MODEL m2 using svm_classification FEATURES price::float8 / (SELECT max(price) from db4ai_houses) "
                 "TARGET (size > 2000 AND bath > 2) as large_house FROM db4ai_houses "
                 "with batch_size=1, lambda=10, tolerance=default, seed = 1, max_iterations=100")
    got = shim.execute("SELECT id, PREDICT BY m2(FEATURES price::float8 / (SELECT max(price) from db4ai_houses)) "
                       "AS large_house FROM db4ai_houses ORDER BY id").fetchall()
    assert [r[1] for r in got] == [r[0] == 7 for r in got]


def test_gd_houses_classifiers(shim):
    normalized_houses(shim)
    shim.execute("""CREATE MODEL houses_logregr_ngd USING logistic_regression
       FEATURES tax, bath, size TARGET price < 100000
       FROM db4ai_houses WITH seed = 1, optimizer='ngd', learning_rate=10.0""")
    assert f"{accuracy(shim, 'houses_logregr_ngd', 'tax, bath, size', 'price < 100000', 'db4ai_houses'):.15f}" \
        == "0.866666666666667"
    shim.execute("""CREATE MODEL houses_logregr_gd USING logistic_regression
       FEATURES tax_n, bath_n, size_n TARGET price < 100000
       FROM db4ai_houses WITH seed = 2, learning_rate=1.0""")
    first5 = shim.execute("SELECT PREDICT BY houses_logregr_gd (FEATURES tax_n, bath_n, size_n) AS prediction, "
                          "price < 100000 AS target FROM db4ai_houses ORDER BY id LIMIT 5").fetchall()
    assert first5 == [(True, True), (False, True), (True, True), (False, True), (False, False)]
    shim.execute("""CREATE MODEL houses_svm_ngd USING svm_classification
       FEATURES tax, bath, size TARGET price < 100000
       FROM db4ai_houses WITH seed = 10, batch_size=5, optimizer='ngd',
            learning_rate=10.0, lambda=50""")
    assert f"{accuracy(shim, 'houses_svm_ngd', 'tax, bath, size', 'price < 100000', 'db4ai_houses'):.15f}" \
        == "0.933333333333333"
    shim.execute("""CREATE MODEL houses_svm_gd USING svm_classification
       FEATURES tax_n, bath_n, size_n TARGET price < 100000
       FROM db4ai_houses WITH seed = 10, batch_size=3,
            learning_rate=1.0, lambda=50""")
    rows = warehouse_rows(shim, "houses_%")
    gd_names = SVM_NAMES[:9]
    assert [r[:10] for r in rows] == [
        ("houses_logregr_gd", 15, 0, 45, 16, "logistic_regression", gd_names, GD_OIDS,
         ["1000", "0.95", "1", "100", "0", "gd", "0.0005", "2", "false"], ["accuracy", "f1", "precision", "recall", "loss"]),
        ("houses_logregr_ngd", 15, 0, 44, 16, "logistic_regression", gd_names, GD_OIDS,
         ["1000", "0.95", "10", "100", "0", "ngd", "0.0005", "1", "false"], ["accuracy", "f1", "precision", "recall", "loss"]),
        ("houses_svm_gd", 15, 0, 100, 16, "svm_classification", SVM_NAMES, SVM_OIDS,
         ["3", "0.95", "1", "100", "0", "gd", "0.0005", "10", "false", "50", "linear", "0", "0.5", "2", "1"],
         ["accuracy", "f1", "precision", "recall", "loss"]),
        ("houses_svm_ngd", 15, 0, 100, 16, "svm_classification", SVM_NAMES, SVM_OIDS,
         ["5", "0.95", "10", "100", "0", "ngd", "0.0005", "10", "false", "50", "linear", "0", "0.5", "2", "1"],
         ["accuracy", "f1", "precision", "recall", "loss"]),
    ]
    scores = {r[0]: [f"{v:.6g}" for v in r[10]] for r in rows}
    # stopped on tolerance with one batch: the stored weights are the scored ones, the mean over rows
    # is the batch mean, so these are openGauss's numbers
    assert scores["houses_logregr_gd"] == ["0.8", "0.769231", "0.833333", "0.714286", "0.525489"]
    assert scores["houses_logregr_ngd"] == ["0.866667", "0.857143", "0.857143", "0.857143", "0.463442"]
    # the svm models ran to max_iterations: the counts are those of the stored weights (openGauss's
    # are of the pass before and agree here), the loss a mean over rows instead of a sum of batch means
    assert scores["houses_svm_gd"][:4] == ["0.933333", "0.933333", "0.875", "1"]
    assert scores["houses_svm_ngd"][:4] == ["0.933333", "0.933333", "0.875", "1"]


def load_moons(conn) -> None:
    conn.execute("CREATE TABLE moons (id bigserial, cls smallint, x real, y real)")
    with conn.cursor().copy("COPY moons (cls, x, y) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write((DATA / "moons.csv").read_text().replace(" ", ""))


def test_svm_kernels_moons(shim):
    load_moons(shim)
    assert shim.execute("SELECT count(*) FROM moons").fetchone()[0] == 200
    shim.execute("""CREATE MODEL moons_linear USING svm_classification
       FEATURES x, y TARGET cls
       FROM moons
	   WITH seed=54, batch_size=8, decay=1e-20,
            learning_rate=0.01215337, lambda=920.90725960,
			tolerance=0.06377824, max_iterations=2""")
    shim.execute("""CREATE MODEL moons_gaussian USING svm_classification
       FEATURES x, y TARGET cls
       FROM moons
	   WITH seed=1, batch_size=4, decay=0.80858937,
            learning_rate=0.16556385, lambda=274.28986109,
			tolerance=0.00714786, max_iterations=33,
			kernel='gaussian', gamma=0.96736585""")
    shim.execute("""CREATE MODEL moons_polynomial USING svm_classification
       FEATURES x, y TARGET cls
       FROM moons
	   WITH seed=1, batch_size=2, decay=0.87908244,
            learning_rate=0.40456318, lambda=53.75794302,
			tolerance=0.00003070, max_iterations=35,
			kernel='polynomial', degree=4, coef0=1.11311435""")
    rows = warehouse_rows(shim, "moons%")
    assert [r[:9] for r in rows] == [
        ("moons_gaussian", 200, 0, 32, 21, "svm_classification", SVM_NAMES, SVM_OIDS,
         ["4", "0.80858937", "0.16556385", "33", "0", "gd", "0.00714786", "1", "false", "274.28986109", "gaussian",
          "0", "0.96736585", "2", "1"]),
        ("moons_linear", 200, 0, 1, 21, "svm_classification", SVM_NAMES, SVM_OIDS,
         ["8", "1e-20", "0.01215337", "2", "0", "gd", "0.06377824", "54", "false", "920.9072596", "linear", "0", "0.5",
          "2", "1"]),
        ("moons_polynomial", 200, 0, 35, 21, "svm_classification", SVM_NAMES, SVM_OIDS,
         ["2", "0.87908244", "0.40456318", "35", "0", "gd", "3.07e-05", "1", "false", "53.75794302", "polynomial",
          "0", "0.5", "4", "1.11311435"]),
    ]
    acc = shim.execute("""
        SELECT (SUM(CASE WHEN t=p1 THEN 1 ELSE 0 END)::float8 / (SELECT COUNT(*) FROM moons)) AS acc_lin,
               (SUM(CASE WHEN t=p2 THEN 1 ELSE 0 END)::float8 / (SELECT COUNT(*) FROM moons)) AS acc_gauss,
               (SUM(CASE WHEN t=p3 THEN 1 ELSE 0 END)::float8 / (SELECT COUNT(*) FROM moons)) AS acc_poly
         FROM (SELECT cls AS t,
            PREDICT BY moons_linear (FEATURES x, y) AS p1,
            PREDICT BY moons_gaussian (FEATURES x, y) AS p2,
            PREDICT BY moons_polynomial (FEATURES x, y) AS p3
            FROM moons) AS s""").fetchone()
    assert acc == (0.89, 0.935, 1.0)
    scores = {r[0]: [f"{v:.6g}" for v in r[10]] for r in rows}
    # moons_linear and moons_gaussian stopped on tolerance: openGauss's counts; its loss is the sum of the
    # per-batch means of equal-size batches (25 of 8, 50 of 4), ours their mean
    assert scores["moons_linear"][:4] == ["0.89", "0.888889", "0.897959", "0.88"]
    assert scores["moons_gaussian"][:4] == ["0.935", "0.934673", "0.939394", "0.93"]
    assert f"{rows[1][10][4] * 25:.5g}" == "10.698"  # openGauss: 10.6976 (float sums of batch means)
    assert f"{rows[0][10][4] * 50:.5g}" == "7.7324"  # openGauss: 7.73244
    assert scores["moons_polynomial"][:4] == ["1", "1", "1", "1"]
    for model in ("moons_linear", "moons_gaussian", "moons_polynomial"):
        shim.execute(f"DROP MODEL {model}")
    assert shim.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 0


def load_ecoli(conn) -> None:
    conn.execute("CREATE TABLE db4ai_ecoli (id bigserial PRIMARY KEY, f1 real, f2 real, f3 real, f4 real, f5 real,"
                 " f6 real, f7 real, cat varchar)")
    with conn.cursor().copy("COPY db4ai_ecoli (f1, f2, f3, f4, f5, f6, f7, cat) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write((DATA / "ecoli.csv").read_text())


ECOLI_SVM = {  # id: prediction, from the expected output (every 10th row)
    10: "cp", 20: "cp", 30: "cp", 40: "cp", 50: "cp", 60: "cp", 70: "cp", 80: "cp", 90: "cp", 100: "cp", 110: "cp",
    120: "cp", 130: "cp", 140: "cp", 150: "im", 160: "im", 170: "im", 180: "im", 190: "imU", 200: "im", 210: "im",
    220: "im", 230: "imU", 240: "im", 250: "imU", 260: "om", 270: "om", 280: "pp", 290: "pp", 300: "pp", 310: "pp",
    320: "pp", 330: "pp"}
ECOLI_LOGREGR = {
    1: "cp", 11: "cp", 21: "cp", 31: "cp", 41: "cp", 51: "cp", 61: "cp", 71: "cp", 81: "cp", 91: "cp", 101: "cp",
    111: "cp", 121: "cp", 131: "cp", 141: "cp", 151: "im", 161: "im", 171: "im", 181: "im", 191: "im", 201: "im",
    211: "im", 221: "pp", 231: "imU", 241: "im", 251: "imU", 261: "pp", 271: "cp", 281: "cp", 291: "pp", 301: "cp",
    311: "pp", 321: "pp", 331: "cp"}


def test_multiclass_ecoli(shim):
    load_ecoli(shim)
    shim.execute("""CREATE MODEL ecoli_svmc USING multiclass
   FEATURES f1, f2, f3, f4, f5, f6, f7 TARGET cat
   FROM db4ai_ecoli WITH seed = 1, max_iterations=250, tolerance=1e-7,
		learning_rate=2.0, lambda=50""")
    got = shim.execute("""SELECT id, cat AS target, PREDICT BY ecoli_svmc (FEATURES f1, f2, f3, f4, f5, f6, f7) AS prediction
        FROM db4ai_ecoli WHERE MOD(id,10)=0 ORDER BY id""").fetchall()
    assert {r[0]: r[2] for r in got} == ECOLI_SVM
    acc = shim.execute("""SELECT COUNT(*)::numeric/(SELECT COUNT(*) FROM db4ai_ecoli) AS accuracy
        FROM (SELECT id, cat AS target, PREDICT BY ecoli_svmc (FEATURES f1, f2, f3, f4, f5, f6, f7) AS prediction
              FROM db4ai_ecoli) AS s WHERE prediction = target""").fetchone()[0]
    assert f"{acc:.15f}" == "0.860119047619048"
    shim.execute("""CREATE MODEL ecoli_logregr USING multiclass
   FEATURES f1, f2, f3, f4, f5, f6, f7 TARGET cat
   FROM db4ai_ecoli WITH seed = 1, max_iterations=250, tolerance=1e-7,
		learning_rate=30.0, classifier='logistic_regression'""")
    got = shim.execute("""SELECT id, PREDICT BY ecoli_logregr (FEATURES f1, f2, f3, f4, f5, f6, f7) AS prediction
        FROM db4ai_ecoli WHERE MOD(id,10)=1 ORDER BY id""").fetchall()
    assert dict(got) == ECOLI_LOGREGR
    rows = shim.execute("""SELECT modelname, modeltype, processedtuples, discardedtuples, outputtype, hyperparametersnames,
                                  hyperparametersvalues
                             FROM gs_model_warehouse WHERE modelname LIKE 'ecoli%' ORDER BY modelname""").fetchall()
    names = SVM_NAMES + ["classifier"]
    assert rows == [
        ("ecoli_logregr", "multiclass", 336, 0, 1043, names,
         ["1000", "0.95", "30", "250", "0", "gd", "1e-07", "1", "false", "0.01", "linear", "0", "0.5", "2", "1",
          "logistic_regression"]),
        ("ecoli_svmc", "multiclass", 336, 0, 1043, names,
         ["1000", "0.95", "2", "250", "0", "gd", "1e-07", "1", "false", "50", "linear", "0", "0.5", "2", "1",
          "svm_classification"]),
    ]
    shim.execute("DROP MODEL ecoli_svmc")
    shim.execute("DROP MODEL ecoli_logregr")


def test_gd_train_predict_explain_stores_nothing(shim):
    houses(shim, "db4ai_houses")
    for algorithm, tail in (
        ("logistic_regression", "FEATURES bedroom, bath TARGET price < 100000 FROM db4ai_houses WITH seed=1"),
        ("logistic_regression", "FEATURES bedroom, bath as renamed_bath TARGET price < 100000 as target_price "
                                "FROM db4ai_houses WITH seed=1"),
        ("svm_classification", "FEATURES f1, f2 TARGET price > 100000 FROM (SELECT AVG(bath) as f1, SUM(bath) as f2, "
                               "AVG(price) as price FROM db4ai_houses GROUP BY bedroom HAVING bedroom < 15) AS s "
                               "WITH seed=1"),
        ("svm_classification", "FEATURES bedroom + bath, tax*1.2 as normalized_tax TARGET price < 100000 "
                               "FROM db4ai_houses WITH seed=1"),
    ):
        plan = [r[0] for r in shim.execute(f"EXPLAIN VERBOSE CREATE MODEL m USING {algorithm} {tail}")]
        assert plan[0] == f"Train Model - {algorithm}"
        assert plan[1].startswith("  ->  ")
    assert shim.execute("SELECT count(*) FROM gs_model_warehouse").fetchone()[0] == 0
