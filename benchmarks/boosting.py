"""xgboost_binary_logistic on ``bench_classify`` (``--rows`` rows × 10 float features, a bool label; the
table of benchmarks/classify.py): 10 rounds of depth 5, all rows in one batch, the same XGBoost
parameters everywhere (``tree_method = 'hist'``, every core).

* CREATE MODEL against the ADBC read of the training query plus ``xgboost.train`` on those arrays
  (goal: at most 1.3x) and against ``pandas.read_sql`` plus ``xgboost.train`` (goal: faster, < 1);
* PREDICT BY in SQL (the trees as nested CASE, summed in PostgreSQL) against an ADBC read of the
  features plus ``Booster.predict`` (report; goal: at most 2x). Both compute the sum of the predicted
  probabilities, checked equal.

Skipped (no measurement) when the xgboost extra is not installed.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

import db4ai
from benchmarks._harness import BenchContext, Measurement
from benchmarks.classify import FEATURES, N_FEATURES, TABLE, create_classify_data
from db4ai import models
from db4ai.dialect import parse_script

GROUP = "xgboost"
ROUNDS, DEPTH = 10, 5
READ_TRAIN = "ADBC read + xgboost.train"
PANDAS_TRAIN = "pandas.read_sql + xgboost.train"
READ_PREDICT = "ADBC read + Booster.predict"


def _params() -> dict:
    return {"objective": "binary:logistic", "base_score": 0.5, "max_depth": DEPTH, "min_child_weight": 1, "gamma": 0.0,
            "eta": 0.3, "nthread": os.cpu_count() or 1, "verbosity": 1, "seed": 1, "booster": "gbtree",
            "tree_method": "hist", "eval_metric": "rmse"}


def _train(xgb, X: np.ndarray, y: np.ndarray) -> object:
    dtrain = xgb.DMatrix(X.astype(np.float32), label=y.astype(np.float32), missing=np.nan)
    return xgb.train(_params(), dtrain, num_boost_round=ROUNDS, evals=[(dtrain, "train")], verbose_eval=False)


def _adbc_train(xgb, dsn: str, query: str) -> object:
    from benchmarks.read import _adbc

    columns = _adbc(dsn, query)
    X = np.column_stack([columns[f"f{i}"].astype(np.float64) for i in range(1, N_FEATURES + 1)])
    return _train(xgb, X, columns["target"].astype(np.float64))


def _pandas_train(xgb, dsn: str, query: str) -> object:
    import pandas as pd
    import psycopg

    with psycopg.connect(dsn) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about connections that are not SQLAlchemy
        frame = pd.read_sql(query, conn)
    X = frame[[f"f{i}" for i in range(1, N_FEATURES + 1)]].to_numpy(dtype=np.float64)
    return _train(xgb, X, frame["target"].to_numpy(dtype=np.float64))


def _adbc_predict(dsn: str, booster) -> float:
    import xgboost as xgb

    from benchmarks.read import _adbc

    columns = _adbc(dsn, f"SELECT {FEATURES} FROM {TABLE}")
    X = np.column_stack([columns[f"x{i}"].astype(np.float32) for i in range(1, N_FEATURES + 1)])
    return float(booster.predict(xgb.DMatrix(X, missing=np.nan)).astype(np.float64).sum())


def run(ctx: BenchContext) -> list[Measurement]:
    try:
        import xgboost as xgb
    except ImportError:
        return []
    from benchmarks.read import _adbc

    with ctx.connect() as conn:
        create_classify_data(conn, ctx.rows)
    _adbc(ctx.dsn, "SELECT 1 AS warm_up")
    model = f"bench_xgboost_{os.getpid()}"
    statement = (f"CREATE MODEL {model} USING xgboost_binary_logistic FEATURES {FEATURES} TARGET label FROM {TABLE}"
                 f" WITH n_iter = {ROUNDS}, max_depth = {DEPTH}, batch_size = 1048575, tree_method = 'hist',"
                 f" nthread = 0, seed = 1")
    out: list[Measurement] = []
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        query = models.training_query(plain, parse_script(statement)[0])

        def create() -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            shim.execute(statement)

        try:
            t_read = ctx.best_of(lambda: _adbc(ctx.dsn, query))
            t_read_train = ctx.best_of(lambda: _adbc_train(xgb, ctx.dsn, query))
            t_pandas = ctx.best_of(lambda: _pandas_train(xgb, ctx.dsn, query))
            t_create = ctx.best_of(create)
            booster = db4ai.load_model(plain, model)
            sql_sum = f"SELECT sum(PREDICT BY {model} (FEATURES {FEATURES})) FROM {TABLE}"
            in_sql = shim.execute(sql_sum).fetchone()[0]
            by_library = _adbc_predict(ctx.dsn, booster)
            assert abs(in_sql - by_library) <= 1e-6 * ctx.rows, (in_sql, by_library)
            t_sql = ctx.best_of(lambda: shim.execute(sql_sum).fetchone())
            t_lib = ctx.best_of(lambda: _adbc_predict(ctx.dsn, booster))
            out += [
                Measurement(GROUP, "ADBC read of the training query", t_read, extra={"rows": ctx.rows}),
                Measurement(GROUP, READ_TRAIN, t_read_train, extra={"rounds": ROUNDS, "max_depth": DEPTH}),
                Measurement(GROUP, PANDAS_TRAIN, t_pandas),
                Measurement(GROUP, "CREATE MODEL xgboost_binary_logistic vs read+train", t_create, reference=READ_TRAIN,
                            goal=1.3),
                Measurement(GROUP, "CREATE MODEL xgboost_binary_logistic vs pandas+train", t_create,
                            reference=PANDAS_TRAIN, goal=1.0),
                Measurement(GROUP, READ_PREDICT, t_lib),
                Measurement(GROUP, "PREDICT BY in SQL (nested CASE)", t_sql, reference=READ_PREDICT, goal=2.0,
                            extra={"sum_of_probabilities": in_sql}),
            ]
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
    return out
