"""The xgboost_* algorithms: openGauss's regression test db4ai_xgboost_train_predict reproduced, and
PREDICT BY in SQL checked against XGBoost's own ``Booster.predict`` (the independent reference)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest

import db4ai
from db4ai.errors import DataError, FeatureError, InvalidParameter

xgb = pytest.importorskip("xgboost", reason="the xgboost extra is not installed (pip install 'db4ai[xgboost]')")

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
OBJECTIVES = {  # algorithm -> (XGBoost objective, target column of the random table)
    "xgboost_regression_logistic": ("reg:logistic", "y01"),
    "xgboost_binary_logistic": ("binary:logistic", "y01"),
    "xgboost_regression_squarederror": ("reg:squarederror", "yreal"),
    "xgboost_regression_gamma": ("reg:gamma", "ypos"),
}


@pytest.fixture
def shim(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        yield conn


def leftovers(conn):
    return conn.execute("""
        SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse), (SELECT count(*) FROM db4ai.gs_model_training_log),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname LIKE '%%_pred')
    """).fetchone()


def rain(conn) -> None:
    conn.execute("""CREATE TABLE db4ai_rain (id INT, Location VARCHAR(20), MinTemp FLOAT, MaxTemp FLOAT, Rainfall FLOAT,
        WindGustSpeed INT, WindSpeed9am INT, WindSpeed3pm INT, Humidity9am INT, Humidity3pm INT, Pressure9am FLOAT,
        Pressure3pm FLOAT, Cloud9am INT, Cloud3pm INT, Temp9am FLOAT, Temp3pm FLOAT, RainToday INT, RainTomorrow INT)""")
    with conn.cursor().copy("COPY db4ai_rain FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write((DATA / "rain.txt").read_text())


# -- openGauss's db4ai_xgboost_train_predict -------------------------------------------------------------------

WRONG = [  # the test's WITH clauses and openGauss's answers, in its order
    ("n_iter=-1", "Hyperparameter n_iter must be in the range [1,10000]"),
    ("batch_size=0", "Hyperparameter batch_size must be in the range [1,1048575]"),
    ("max_depth=-1", "Hyperparameter max_depth must be in the range [0,2147483647]"),
    ("min_child_weight=-1", "Hyperparameter min_child_weight must be in the range [0,2147483647]"),
    ("eta=-0.1", "Hyperparameter eta must be in the range [0,1]"),
    ("seed=-1", "Hyperparameter seed must be in the range [0,2147483647]"),
    ("nthread=-1", "Hyperparameter nthread must be in the range [0,100]"),
    ("nthread=101", "Hyperparameter nthread must be in the range [0,100]"),
    ("booster=10", "Hyperparameter booster must be a string"),
    ("tree_method=10", "Hyperparameter tree_method must be a string"),
    ("verbosity=10", "Hyperparameter verbosity must be in the range [0,3]"),
    ("n_iter='a_wrong_parameter'", "Hyperparameter n_iter must be an integer"),
    ("batch_size='a_wrong_parameter'", "Hyperparameter batch_size must be an integer"),
    ("max_depth='a_wrong_parameter'", "Hyperparameter max_depth must be an integer"),
    ("min_child_weight='a_wrong_parameter'", "Hyperparameter min_child_weight must be an integer"),
    ("seed='a_wrong_parameter'", "Hyperparameter seed must be an integer"),
    ("eta='a_wrong_parameter'", "Hyperparameter eta must be a floating point number"),
    ("nthread='a_wrong_parameter'", "Hyperparameter nthread must be an integer"),
    ("verbosity='a_wrong_parameter'", "Hyperparameter verbosity must be an integer"),
    # and the enumerations' values (openGauss's validate text)
    ("booster='gbforest'", "Invalid hyperparameter value for booster. Valid values are: gbtree, gblinear, dart."),
    (
        "tree_method='fast'",
        "Invalid hyperparameter value for tree_method. Valid values are: auto, exact, approx, hist, gpu_hist.",
    ),
    (
        "eval_metric='logloss'",
        "Invalid hyperparameter value for eval_metric. Valid values are: rmse, rmsle, map, mae, auc, aucpr.",
    ),
]


def test_opengauss_errors_leave_nothing_behind(shim):
    rain(shim)
    for clause, message in [
        ("FEATURES * TARGET price", "FEATURES clause cannot be *"),
        ("FEATURES Temp9am,Temp3pm TARGET *", "TARGET clause cannot be *"),
        ("", "Supervised ML algorithms require FEATURES clause"),
    ]:
        with pytest.raises(db4ai.Error) as err:
            shim.execute(f"CREATE MODEL m using xgboost_binary_logistic {clause} FROM db4ai_rain")
        assert str(err.value) == message
    for setting, message in WRONG:
        with pytest.raises(InvalidParameter) as err:
            shim.execute(
                "CREATE MODEL m USING xgboost_binary_logistic FEATURES rainfall, temp9am TARGET raintoday"
                f" FROM db4ai_rain WITH {setting}"
            )
        assert str(err.value) == message, setting
    assert leftovers(shim) == (0, 0, 0)


def test_opengauss_predictions_scores_and_explain(shim):
    rain(shim)
    common = "n_iter=10, batch_size=1000000, booster='gbtree', tree_method='exact', nthread=4, seed=3141"
    cases = [
        ("m1", "xgboost_binary_logistic", "raintomorrow", ", eval_metric='auc'", "0.2"),
        ("m2", "xgboost_regression_logistic", "raintomorrow", ", eval_metric='auc'", "0.2"),
        ("m3", "xgboost_regression_squarederror", "raintomorrow", ", eval_metric='auc'", "0.2"),
        ("m4", "xgboost_regression_gamma", "raintomorrow + 1", "", "1.1"),
    ]
    for name, algorithm, target, metric, expected in cases:
        shim.execute(
            f"CREATE MODEL {name} USING {algorithm} FEATURES raintoday TARGET {target} FROM db4ai_rain WITH {common}{metric}"
        )
        rows = shim.execute(
            f"SELECT id, round(PREDICT BY {name} (FEATURES raintoday)::numeric, 1)::text AS pred FROM db4ai_rain ORDER BY id"
        ).fetchall()
        assert rows == [(i, expected) for i in range(1, 21)], name
        assert shim.execute(f"SELECT PREDICT BY {name} (FEATURES raintoday) FROM db4ai_rain WHERE id < 0").fetchall() == []
        row = shim.execute(
            "SELECT processedtuples, discardedtuples, iterations, outputtype, hyperparametersnames,"
            " hyperparametersvalues, trainingscoresname FROM db4ai.gs_model_warehouse WHERE modelname = %s",
            (name,),
        ).fetchone()
        assert row[:4] == (20, 0, 10, 701)
        assert row[4] == [
            "n_iter",
            "batch_size",
            "max_depth",
            "min_child_weight",
            "gamma",
            "eta",
            "nthread",
            "verbosity",
            "seed",
            "booster",
            "tree_method",
            "eval_metric",
        ]
        assert row[5] == [
            "10",
            "1000000",
            "5",
            "1",
            "0",
            "0.3",
            "4",
            "1",
            "3141",
            "gbtree",
            "exact",
            "auc" if metric else "rmse",
        ]
        assert row[6] == ["auc" if metric else "rmse"]
        explain = shim.execute(f"SELECT gs_explain_model('{name}')").fetchone()[0]
        assert f"Algorithm: {algorithm}\n" in explain and "Return type: Float64\n" in explain
        assert "\nmodel size: " in explain and "trees: 10\n" in explain
        assert "importance (gain): {}" in explain  # raintoday is constant: no split
    # openGauss's score: the metric of the last round (auc of a constant prediction is 0.5)
    assert shim.execute("SELECT trainingscoresvalue FROM db4ai.gs_model_warehouse WHERE modelname = 'm1'").fetchone() == (
        [0.5],
    )


EXPLAINED = [  # openGauss's EXPLAIN statements and the Output line of its plan (None: plain EXPLAIN)
    ("xgboost_binary_logistic", "FEATURES rainfall, temp9am TARGET raintoday", None),
    ("xgboost_binary_logistic", "FEATURES rainfall, temp9am TARGET raintoday", "raintoday, rainfall, temp9am"),
    ("xgboost_binary_logistic", "FEATURES rainfall, temp9am TARGET raintoday != 0",
     "(raintoday <> 0), rainfall, temp9am"),
    *[(algorithm, "FEATURES rainfall, temp9am, windgustspeed::float as transformed_windgust TARGET raintoday",
       "raintoday, rainfall, temp9am, (windgustspeed)::double precision")
      for algorithm in ("xgboost_binary_logistic", "xgboost_regression_logistic", "xgboost_regression_squarederror",
                        "xgboost_regression_gamma")],
]


def test_explain_create_model_stores_nothing(shim):
    """openGauss's seven EXPLAIN [VERBOSE] CREATE MODEL statements: its plan lines (costs aside, PostgreSQL
    estimates its own), and nothing stored."""
    rain(shim)
    for algorithm, tail, output in EXPLAINED:
        verbose = "" if output is None else " VERBOSE"
        plan = [r[0] for r in shim.execute(f"EXPLAIN{verbose} CREATE MODEL m USING {algorithm} {tail} FROM db4ai_rain")]
        scan = "Seq Scan on db4ai_rain" if output is None else "Seq Scan on public.db4ai_rain"
        assert [line.split("  (cost=")[0] for line in plan] == [
            f"Train Model - {algorithm}", f"  ->  {scan}", *([] if output is None else [f"        Output: {output}"])
        ]
    assert leftovers(shim) == (0, 0, 0)


# -- SQL predictions equal Booster.predict ---------------------------------------------------------------------


def random_table(conn, n: int = 10000, seed: int = 7) -> np.ndarray:
    """Features a, b, c (float8, int4, numeric) with NULLs, targets for every objective; returns the features
    as XGBoost sees them (NaN where NULL)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 3, n)
    b = rng.integers(-5, 6, n).astype(float)  # includes -1: a number, never missing
    c = np.round(rng.uniform(-2, 2, n), 3)
    for col in (a, b, c):
        col[rng.random(n) < 0.1] = np.nan
    signal = np.nan_to_num(a) + 0.5 * np.nan_to_num(b) - np.nan_to_num(c) ** 2
    y01 = (signal + rng.normal(0, 1, n) > 0).astype(float)
    yreal = signal + rng.normal(0, 0.5, n)
    ypos = np.exp(0.2 * signal) + rng.uniform(0.01, 0.5, n)
    conn.execute("CREATE TABLE r (id int, a float8, b int4, c numeric, y01 float8, yreal float8, ypos float8)")
    with conn.cursor().copy("COPY r FROM STDIN") as copy:
        for i in range(n):
            copy.write_row(
                [
                    i,
                    None if np.isnan(a[i]) else a[i],
                    None if np.isnan(b[i]) else int(b[i]),
                    None if np.isnan(c[i]) else f"{c[i]:.3f}",
                    y01[i],
                    yreal[i],
                    ypos[i],
                ]
            )
    return np.column_stack([a, b, c])


@pytest.mark.parametrize("booster", ["gbtree", "gblinear", "dart"])
def test_sql_predictions_equal_booster_predict(shim, booster):
    X = random_table(shim)
    for algorithm, (objective, target) in OBJECTIVES.items():
        name = "m_" + algorithm.removeprefix("xgboost_")
        shim.execute(
            f"CREATE MODEL {name} USING {algorithm} FEATURES a, b, c TARGET {target} FROM r"
            f" WITH booster = '{booster}', n_iter = 6, max_depth = 4, batch_size = 10000, seed = 5"
        )
        sql_pred = np.array([v for (v,) in shim.execute(f"SELECT PREDICT BY {name} (FEATURES a, b, c) FROM r ORDER BY id")])
        booster_obj = db4ai.load_model(shim, name)
        assert isinstance(booster_obj, xgb.Booster)
        reference = booster_obj.predict(xgb.DMatrix(X.astype(np.float32), missing=np.nan))
        np.testing.assert_allclose(sql_pred, reference, rtol=1e-6, atol=1e-6, err_msg=f"{booster} {objective}")
        assert booster_obj.num_boosted_rounds() == 6
    # the generated function predicts the same, from psql
    function = shim.execute(
        "SELECT predict_function FROM db4ai.gs_model_warehouse WHERE modelname = 'm_regression_gamma'"
    ).fetchone()[0]
    by_function = [v for (v,) in shim.execute(f"SELECT db4ai.{function}(a, b, c) FROM r ORDER BY id LIMIT 50")]
    by_predict = [
        v for (v,) in shim.execute("SELECT PREDICT BY m_regression_gamma (FEATURES a, b, c) FROM r ORDER BY id LIMIT 50")
    ]
    assert by_function == by_predict


def test_thousands_of_trees_stay_valid_sql(shim):
    """6000 trees (6 batches of 1000 rounds): their sum, one long chain of + in SQL, exhausted PostgreSQL's
    stack when the function was inlined; grouped sums keep it shallow. The float8 sum equals the exact sum
    of XGBoost's leaves (its leaf indices, pred_leaf) through the link; Booster.predict sums in float32,
    whose rounding over 6000 terms is the only difference from it."""
    X = random_table(shim, n=1200)
    shim.execute(
        "CREATE MODEL many USING xgboost_regression_gamma FEATURES a, b, c TARGET ypos FROM r"
        " WITH n_iter = 1000, batch_size = 200, max_depth = 1, eta = 0.01, seed = 2"
    )
    sql_pred = np.array([v for (v,) in shim.execute("SELECT PREDICT BY many (FEATURES a, b, c) FROM r ORDER BY id")])
    booster = db4ai.load_model(shim, "many")
    assert booster.num_boosted_rounds() == 6000
    dmatrix = xgb.DMatrix(X.astype(np.float32), missing=np.nan)
    trees = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]["gradient_booster"]["model"]["trees"]
    leaves = booster.predict(dmatrix, pred_leaf=True).astype(int)  # (rows, trees): the leaf each row reaches
    width = max(len(tree["split_conditions"]) for tree in trees)
    table = np.zeros((len(trees), width))  # a leaf's value is in split_conditions (float32)
    for k, tree in enumerate(trees):
        table[k, : len(tree["split_conditions"])] = np.asarray(tree["split_conditions"], dtype=np.float32)
    exact = np.exp(np.log(0.5) + table[np.arange(len(trees)), leaves].sum(axis=1))
    np.testing.assert_allclose(sql_pred, exact, rtol=1e-12)
    np.testing.assert_allclose(sql_pred, booster.predict(dmatrix), rtol=6000 * 2.0**-24)


def test_batches_add_rounds_to_one_booster_as_xgboost_would(shim):
    """openGauss's loop: each batch of batch_size rows (scan order) adds n_iter rounds to the booster; the
    reference runs XGBoost itself on the same batches."""
    X = random_table(shim, n=5000)
    y = np.array([v for (v,) in shim.execute("SELECT yreal FROM r ORDER BY id")])
    shim.execute("CREATE TABLE r_ordered AS SELECT * FROM r ORDER BY id")
    shim.execute(
        "CREATE MODEL mb USING xgboost_regression_squarederror FEATURES a, b, c TARGET yreal FROM r_ordered"
        " WITH batch_size = 2000, n_iter = 3, max_depth = 3, min_child_weight = 40, seed = 1"
    )
    params = {
        "objective": "reg:squarederror",
        "base_score": 0.5,
        "max_depth": 3,
        "min_child_weight": 40,
        "gamma": 0.0,
        "eta": 0.3,
        "nthread": 1,
        "verbosity": 1,
        "seed": 1,
        "booster": "gbtree",
        "eval_metric": "rmse",
    }
    reference = None
    for lo in range(0, 5000, 2000):
        part = xgb.DMatrix(X[lo : lo + 2000].astype(np.float32), label=y[lo : lo + 2000].astype(np.float32), missing=np.nan)
        history: dict = {}
        reference = xgb.train(
            params,
            part,
            num_boost_round=3,
            xgb_model=reference,
            evals=[(part, "train")],
            evals_result=history,
            verbose_eval=False,
        )
    assert reference.num_boosted_rounds() == 9
    ours = db4ai.load_model(shim, "mb")
    everything = xgb.DMatrix(X.astype(np.float32), missing=np.nan)
    np.testing.assert_array_equal(ours.predict(everything), reference.predict(everything))
    row = shim.execute(
        "SELECT iterations, trainingscoresvalue[1] FROM db4ai.gs_model_warehouse WHERE modelname = 'mb'"
    ).fetchone()
    assert row[0] == 3
    assert row[1] == pytest.approx(history["train"]["rmse"][-1], rel=1e-6)  # the last round, on the last batch
    # min_child_weight is applied (openGauss's misspelling ignored it): a weaker limit grows other trees
    shim.execute(
        "CREATE MODEL mw USING xgboost_regression_squarederror FEATURES a, b, c TARGET yreal FROM r_ordered"
        " WITH batch_size = 2000, n_iter = 3, max_depth = 3, min_child_weight = 0, seed = 1"
    )
    assert not np.array_equal(db4ai.load_model(shim, "mw").predict(everything), ours.predict(everything))
    logged = shim.execute("SELECT count(*) FROM db4ai.gs_model_training_log WHERE modelname = 'mb'").fetchone()[0]
    assert logged == 9  # one line per boosting round
    # gs_explain_model: the trees and each feature's gain importance, under the FEATURES names
    explain = shim.execute("SELECT gs_explain_model('mb')").fetchone()[0]
    gains = ours.get_score(importance_type="gain")
    assert "trees: 9\n" in explain
    assert "importance (gain): {" + ", ".join(f"{n}: {gains[f]:.10f}" for n, f in zip("abc", ("f0", "f1", "f2"), strict=True)
                                      if f in gains).replace(", ", ",") + "}" in explain


def test_rounds_are_reported_and_an_interrupt_stops_training(db_dsn):
    """Each boosting round reaches on_pass (from XGBoost's callback, as the round ends); an exception there
    comes out as itself (not as an XGBoost error) and stores nothing; the score is the last round's."""
    from db4ai import models
    from db4ai.dialect import parse_script

    statement = "CREATE MODEL m USING xgboost_regression_squarederror FEATURES a, b, c TARGET yreal FROM r WITH n_iter = 8"
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        random_table(conn, n=500)
        seen: list[tuple[int, float]] = []

        def stop_at_round_3(record):
            seen.append((record.pass_no, record.loss))
            if record.pass_no == 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            models.create_model(conn, parse_script(statement)[0], on_pass=stop_at_round_3)
        assert [n for n, _ in seen] == [0, 1, 2, 3]
        assert leftovers(conn) == (0, 0, 0)
        losses: list[float] = []
        models.create_model(conn, parse_script(statement)[0], on_pass=lambda record: losses.append(record.loss))
        assert len(losses) == 8 and losses[:4] == [loss for _, loss in seen]  # no sampling: the same rounds
        stored = conn.execute("SELECT trainingscoresvalue[1] FROM db4ai.gs_model_warehouse").fetchone()[0]
        assert stored == pytest.approx(losses[-1])


def test_only_null_is_missing(shim):
    """-1 is a number (openGauss passed it to XGBoost as the missing marker); NULL takes the default branch."""
    shim.execute(
        "CREATE TABLE t AS SELECT g AS id, CASE WHEN g % 3 = 0 THEN -1.0 WHEN g % 3 = 1 THEN 1.0 END::float8 AS x,"
        " CASE WHEN g % 3 = 0 THEN 5.0 WHEN g % 3 = 1 THEN 1.0 ELSE 3.0 END AS y FROM generate_series(1, 300) g"
    )
    shim.execute(
        "CREATE MODEL m USING xgboost_regression_squarederror FEATURES x TARGET y FROM t"
        " WITH n_iter = 50, max_depth = 2, min_child_weight = 0"
    )
    got = dict(
        shim.execute(
            "SELECT v, round(PREDICT BY m (FEATURES v)::numeric, 2)::float8 FROM"
            " (VALUES (-1.0::float8), (1.0), (NULL), ('NaN')) AS s(v)"
        ).fetchall()
    )
    assert got[-1.0] == pytest.approx(5.0, abs=0.01) and got[1.0] == pytest.approx(1.0, abs=0.01)
    assert got[None] == pytest.approx(3.0, abs=0.01)  # trained on NULL rows as missing values
    assert shim.execute("SELECT processedtuples, discardedtuples FROM db4ai.gs_model_warehouse").fetchone() == (300, 0)


def test_data_errors_are_clean(shim):
    shim.execute(
        "CREATE TABLE t AS SELECT g::float8 AS x, (g % 2)::float8 AS y, 2.0::float8 AS bad,"
        " 1.0::float8 AS one FROM generate_series(1, 50) g"
    )
    with pytest.raises(DataError, match=r"^The dataset only contains pos or neg samples for auc or aucpr$"):
        shim.execute("CREATE MODEL m USING xgboost_binary_logistic FEATURES x TARGET one FROM t WITH eval_metric = 'auc'")
    with pytest.raises(DataError, match=r"^label must be in .* for logistic regression"):
        shim.execute("CREATE MODEL m USING xgboost_binary_logistic FEATURES x TARGET bad FROM t")
    with pytest.raises(DataError, match=r"^Training data is empty, please check the input data.$"):
        shim.execute(
            "CREATE MODEL m USING xgboost_regression_gamma FEATURES x TARGET y FROM (SELECT * FROM t WHERE false) AS e"
        )
    with pytest.raises(InvalidParameter, match=r"gpu_hist.*CUDA"):
        shim.execute("CREATE MODEL m USING xgboost_binary_logistic FEATURES x TARGET y FROM t WITH tree_method = 'gpu_hist'")
    with pytest.raises(FeatureError, match=r"^Oid type 1022 not yet supported$"):
        shim.execute("CREATE MODEL m USING xgboost_binary_logistic FEATURES ARRAY[x] TARGET y FROM t")
    assert leftovers(shim) == (0, 0, 0)


def test_without_the_extra_the_error_names_it(db_dsn):
    script = (
        "import sys; sys.modules['xgboost'] = None\n"  # what Python does when a package is absent
        "import db4ai\n"
        f"conn = db4ai.connect({db_dsn!r}, autocommit=True)\n"
        "conn.execute('CREATE TABLE t AS SELECT g::float8 AS x, (g % 2)::float8 AS y FROM generate_series(1, 9) g')\n"
        "try:\n"
        "    conn.execute('CREATE MODEL m USING xgboost_binary_logistic FEATURES x TARGET y FROM t')\n"
        "except db4ai.FeatureError as e:\n"
        "    print(e, '|', e.hint)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == (
        "the xgboost_* algorithms need the xgboost package, which is not installed | pip install 'db4ai[xgboost]'"
    ), done.stderr
    with psycopg.connect(db_dsn) as conn:
        assert leftovers(conn) == (0, 0, 0)


def test_evaluate_model_on_a_bool_target(shim):
    """EVALUATE MODEL compares the probabilities with the bool target as 0/1, as training read it."""
    X = random_table(shim, n=2000)
    shim.execute("CREATE VIEW labelled AS SELECT a, b, c, y01 > 0 AS hit FROM r")
    shim.execute("CREATE MODEL mh USING xgboost_binary_logistic FEATURES a, b, c TARGET y01 > 0 AS hit FROM r WITH n_iter = 5")
    metrics = {name: value for name, value, *_ in shim.execute("EVALUATE MODEL mh FROM labelled").fetchall()}
    y = np.array([v for (v,) in shim.execute("SELECT y01 FROM r ORDER BY id")])
    p = db4ai.load_model(shim, "mh").predict(xgb.DMatrix(X.astype(np.float32), missing=np.nan)).astype(np.float64)
    assert metrics["rows"] == 2000
    assert metrics["mse"] == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-6)
