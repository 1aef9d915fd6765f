"""PREDICT BY inside PostgreSQL: the shim's rewrite and the per-model SQL function against the same
linear expression written by hand (DESIGN §5: prediction must run at hand-written speed).

Each query is ``SELECT sum(<prediction>) FROM <table>`` so that only the prediction is timed, not
the transfer of rows. Goal: both db4ai paths within 1.3x of the hand-written expression.
"""

from __future__ import annotations

import os

import db4ai

try:
    from ._harness import BenchContext, Measurement
except ImportError:  # run from inside benchmarks/ as a plain module
    from _harness import BenchContext, Measurement  # type: ignore[no-redef]

GROUP = "predict"
FEATURES = ("x1", "x2", "x3", "x4")


def run(ctx: BenchContext) -> list[Measurement]:
    model = f"bench_predict_{os.getpid()}"
    table = ctx.table
    features = ", ".join(FEATURES)
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        shim.execute(f"DROP MODEL IF EXISTS {model}")
        shim.execute(f"CREATE MODEL {model} USING linear_regression FEATURES {features} TARGET y FROM {table} "
                     "WITH optimizer = ngd, max_iterations = 5, seed = 1")
        try:
            weights, function = plain.execute(
                "SELECT coefficients, predict_function FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                (model,)).fetchone()
            by_hand = " + ".join(f"{f} * {w!r}::float8" for f, w in zip(FEATURES, weights)) + f" + {weights[-1]!r}::float8"
            queries = {
                "hand-written expression": (plain, f"SELECT sum({by_hand}) FROM {table}"),
                "PREDICT BY (shim)": (shim, f"SELECT sum(PREDICT BY {model} (FEATURES {features})) FROM {table}"),
                "SQL function db4ai.<model>_pred": (plain, f'SELECT sum(db4ai."{function}"({features})) FROM {table}'),
            }
            results = {name: conn.execute(q).fetchone()[0] for name, (conn, q) in queries.items()}
            reference = results["hand-written expression"]
            for name, value in results.items():  # all three compute the same sum
                assert abs(value - reference) <= 1e-9 * max(1.0, abs(reference)), (name, value, reference)
            times = {name: ctx.best_of(lambda c=conn, q=q: c.execute(q).fetchone()) for name, (conn, q) in queries.items()}
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
    return [
        Measurement(GROUP, "hand-written expression", times["hand-written expression"],
                    extra={"rows": ctx.rows}),
        Measurement(GROUP, "PREDICT BY (shim)", times["PREDICT BY (shim)"], reference="hand-written expression",
                    goal=1.3),
        Measurement(GROUP, "SQL function db4ai.<model>_pred", times["SQL function db4ai.<model>_pred"],
                    reference="hand-written expression", goal=1.3),
    ]
