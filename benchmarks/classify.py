"""The classifiers on ``bench_classify`` (``--rows`` rows × 10 float features, a bool label):
logistic_regression, svm_classification (linear) and svm_classification (gaussian kernel, openGauss's
default 128 random features), each CREATE MODEL with 10 passes after the first (``max_iterations =
10``, ``tolerance`` small enough that all run) and batch_size 1000.

* training against the ADBC read of the same rows (the training query; goal: at most 1.5x) and
  against what a user would do by hand: ``pandas.read_sql`` + scikit-learn's ``SGDClassifier``, 10
  epochs (log loss / hinge; for the kernel ``RBFSampler`` with 128 components first); goal: at least
  3x faster, shown as db4ai / (pandas + scikit-learn) <= 0.33;
* PREDICT BY through the shim and the generated ``db4ai.<model>_pred`` against the same decision
  written by hand in SQL (``count(*) FILTER (WHERE <prediction>)``; goal: at most 1.3x). The
  gaussian model's expression has 128 cosines of 10 products each per row, so it is timed on the
  first 100,000 rows.
"""

from __future__ import annotations

import math
import os
import warnings

import psycopg
from psycopg import sql

import db4ai
from benchmarks._harness import BenchContext, Measurement
from db4ai import models, warehouse
from db4ai.dialect import parse_script

GROUP = "classify"
TABLE = "bench_classify"
N_FEATURES = 10
FEATURES = ", ".join(f"x{i}" for i in range(1, N_FEATURES + 1))
ADBC = "ADBC read of the training query"
PREDICT_ROWS_KERNEL = 100_000

#: name -> (algorithm, extra WITH items, scikit-learn loss, random features)
CASES = {
    "logistic_regression": ("logistic_regression", "", "log_loss", False),
    "svm linear": ("svm_classification", ", lambda = 0.01", "hinge", False),
    "svm gaussian": ("svm_classification", ", kernel = 'gaussian', gamma = 0.5", "hinge", True),
}


def create_classify_data(conn: psycopg.Connection, rows: int, table: str = TABLE, seed: float = 0.37) -> None:
    """``table(id, x1..x10 float8, label bool)``: a noisy linear boundary, seeded; kept when it
    already has ``rows`` rows."""
    ident = sql.Identifier(table)
    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]:
        if conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0] == rows:
            return
        conn.execute(sql.SQL("DROP TABLE {}").format(ident))
    columns = sql.SQL(", ").join(sql.SQL("random() AS {}").format(sql.Identifier(f"x{i}"))
                                 for i in range(1, N_FEATURES + 1))
    with conn.transaction():
        conn.execute("SELECT setseed(%s)", (seed,))
        conn.execute(sql.SQL("CREATE TABLE {t} AS SELECT g::bigint AS id, {cols}"
                             " FROM generate_series(1, {n}) AS g").format(t=ident, cols=columns, n=sql.Literal(rows)))
        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN label bool").format(ident))
        conn.execute(sql.SQL("UPDATE {} SET label = x1 + 2 * x2 - x3 + 0.5 * x4 - x5 + 0.3 * (random() - 0.5) > 0.8")
                     .format(ident))
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(ident))
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(ident))


def _by_hand(dsn: str, query: str, loss: str, kernel: bool) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.kernel_approximation import RBFSampler
    from sklearn.linear_model import SGDClassifier

    with psycopg.connect(dsn) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about connections that are not SQLAlchemy
        frame = pd.read_sql(query, conn)
    X = frame[[f"f{i}" for i in range(1, N_FEATURES + 1)]].to_numpy(dtype=np.float64)
    y = frame["target"].to_numpy()
    if kernel:
        X = RBFSampler(gamma=0.5, n_components=128, random_state=1).fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 10 epochs do not converge by scikit-learn's measure
        SGDClassifier(loss=loss, max_iter=10, tol=None, random_state=1).fit(X, y)


def _margin_sql(weights: list[float], inputs: list[str]) -> str:
    return " + ".join(f"{x} * {w!r}::float8" for x, w in zip(inputs, weights[:-1])) + f" + {weights[-1]!r}::float8"


def _hand_written(conn: psycopg.Connection, model: str, name: str) -> str:
    """The model's decision written by hand: the margin over the (random) features, then the rule."""
    data = warehouse.load(conn, model).data
    weights = [float(v) for v in data.arrays["weights"]]
    inputs = [f"x{i}" for i in range(1, N_FEATURES + 1)]
    if "kernel_offsets" in data.arrays:
        W, b = data.arrays["kernel_weights"], data.arrays["kernel_offsets"]
        scale = repr(math.sqrt(2.0 / len(b)))
        inputs = [f"(cos({_margin_sql([*map(float, W[:, c]), float(b[c])], inputs[:N_FEATURES])}) * {scale}::float8)"
                  for c in range(len(b))]
    margin = _margin_sql(weights, inputs)
    if name == "logistic_regression":
        return f"1.0::float8 / (1.0::float8 + exp(-({margin}))) >= 0.5::float8"
    return f"{margin} > 0::float8"


def run(ctx: BenchContext) -> list[Measurement]:
    from benchmarks.read import _adbc

    out: list[Measurement] = []
    with ctx.connect() as conn:
        create_classify_data(conn, ctx.rows)
    _adbc(ctx.dsn, "SELECT 1 AS warm_up")  # load the driver before timing it
    tag = os.getpid()
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        query = None
        for name, (algorithm, extra, loss, kernel) in CASES.items():
            model = f"bench_classify_{name.replace(' ', '_')}_{tag}"
            statement = (f"CREATE MODEL {model} USING {algorithm} FEATURES {FEATURES} TARGET label FROM {TABLE} "
                         f"WITH max_iterations = 10, batch_size = 1000, tolerance = 1e-12, seed = 1{extra}")
            if query is None:
                query = models.training_query(plain, parse_script(statement)[0])
                t_read = ctx.best_of(lambda q=query: _adbc(ctx.dsn, q))
                out.append(Measurement(GROUP, ADBC, t_read, extra={"rows": ctx.rows, "features": N_FEATURES}))

            def create(statement: str = statement, model: str = model) -> None:
                shim.execute(f"DROP MODEL IF EXISTS {model}")
                shim.execute(statement)

            try:
                t_create = ctx.best_of(create)
                iterations, scores = plain.execute(
                    "SELECT iterations, trainingscoresvalue FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                    (model,)).fetchone()
                hand_name = f"pandas.read_sql + SGDClassifier {name} (10 epochs)"
                t_hand = ctx.best_of(lambda q=query, lo=loss, ke=kernel: _by_hand(ctx.dsn, q, lo, ke))
                out += [
                    Measurement(GROUP, hand_name, t_hand),
                    Measurement(GROUP, f"CREATE MODEL {name} vs read", t_create, reference=ADBC, goal=1.5,
                                extra={"iterations": iterations, "accuracy": scores[0]}),
                    Measurement(GROUP, f"CREATE MODEL {name} vs pandas+sklearn", t_create, reference=hand_name,
                                goal=1 / 3),
                ]
                out += _predict(ctx, shim, plain, model, name, kernel)
            finally:
                shim.execute(f"DROP MODEL IF EXISTS {model}")
    return out


def _predict(ctx: BenchContext, shim: psycopg.Connection, plain: psycopg.Connection, model: str, name: str,
             kernel: bool) -> list[Measurement]:
    function = plain.execute("SELECT predict_function FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                             (model,)).fetchone()[0]
    where = f" WHERE id <= {PREDICT_ROWS_KERNEL}" if kernel else ""
    queries = {
        "hand": (plain, f"SELECT count(*) FILTER (WHERE {_hand_written(plain, model, name)}) FROM {TABLE}{where}"),
        "shim": (shim, f"SELECT count(*) FILTER (WHERE PREDICT BY {model} (FEATURES {FEATURES})) FROM {TABLE}{where}"),
        "function": (plain, f'SELECT count(*) FILTER (WHERE db4ai."{function}"({FEATURES})) FROM {TABLE}{where}'),
    }
    counts = {key: conn.execute(q).fetchone()[0] for key, (conn, q) in queries.items()}
    assert len(set(counts.values())) == 1, counts  # the three compute the same predictions
    times = {key: ctx.best_of(lambda c=conn, q=q: c.execute(q).fetchone()) for key, (conn, q) in queries.items()}
    hand = f"hand-written SQL {name}"
    rows = min(ctx.rows, PREDICT_ROWS_KERNEL) if kernel else ctx.rows
    return [
        Measurement(GROUP, hand, times["hand"], extra={"rows": rows, "positives": counts["hand"]}),
        Measurement(GROUP, f"PREDICT BY {name} (shim)", times["shim"], reference=hand, goal=1.3),
        Measurement(GROUP, f"db4ai.<model>_pred {name}", times["function"], reference=hand, goal=1.3),
    ]
