"""kmeans (10 centroids, openGauss's defaults otherwise: Random++ seeding, L2_Squared, at most 10
iterations) on ``bench_points`` (8-D arrays around 10 separated centres).

* CREATE MODEL against the ADBC read of the same rows (goal: at most 2x: clustering costs little
  on top of reading) and against pandas.read_sql + scikit-learn's KMeans (goal: faster, < 1x);
* the objective against scikit-learn's inertia on the same rows (goal: within 1%);
* PREDICT BY (the shim) and the generated SQL function against the same nearest-centroid query
  written by hand, ``SELECT sum(CASE least(d1..d10) WHEN d1 THEN 1 ... END)`` with each
  ``dj = (p[1] - cj1)^2 + ...`` (goal: at most 1.5x).
"""

from __future__ import annotations

import os

import numpy as np

import db4ai

try:
    from ._harness import BenchContext, Measurement
    from ._points import TABLE, adbc_points, create_points, pandas_points
except ImportError:  # run from inside benchmarks/ as a plain module
    from _harness import BenchContext, Measurement  # type: ignore[no-redef]
    from _points import TABLE, adbc_points, create_points, pandas_points  # type: ignore[no-redef]

GROUP = "kmeans"
K = 10
READ = "ADBC read of the points"
HAND = "pandas.read_sql + KMeans"
PREDICT_HAND = "nearest centroid by hand in SQL"


def hand_written(centroids: np.ndarray, table: str) -> str:
    """The nearest-centroid query as one would write it by hand."""
    dists = [" + ".join(f"(p[{j + 1}] - {float(c[j])!r})^2" for j in range(len(c))) for c in centroids]
    whens = " ".join(f"WHEN {d} THEN {i + 1}" for i, d in enumerate(dists))
    return f"SELECT sum(CASE least({', '.join(dists)}) {whens} END) FROM {table}"


def run(ctx: BenchContext) -> list[Measurement]:
    from sklearn.cluster import KMeans

    model = f"bench_kmeans_{os.getpid()}"
    statement = f"CREATE MODEL {model} USING kmeans FEATURES p FROM {TABLE} WITH num_centroids = {K}, seed = 1"
    query = f"SELECT p FROM {TABLE}"
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        create_points(plain, ctx.rows)
        adbc_points(ctx.dsn, "SELECT ARRAY[1.0]::float8[] AS warm_up")
        fits: dict[str, float] = {}

        def create() -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            shim.execute(statement)

        def by_hand() -> None:
            fits["sklearn"] = float(KMeans(n_clusters=K, random_state=0).fit(pandas_points(plain, query)).inertia_)

        try:
            t_read = ctx.best_of(lambda: adbc_points(ctx.dsn, query))
            t_hand = ctx.best_of(by_hand)
            t_create = ctx.best_of(create)
            objective, centroids, function = plain.execute(
                "SELECT trainingscoresvalue[1], modeldata, predict_function FROM db4ai.gs_model_warehouse"
                " WHERE modelname = %s", (model,)).fetchone()
            from db4ai import warehouse

            centres = warehouse.decode(centroids).arrays["centroids"]
            queries = {
                PREDICT_HAND: (plain, hand_written(centres, TABLE)),
                "PREDICT BY (shim)": (shim, f"SELECT sum(PREDICT BY {model} (FEATURES p)) FROM {TABLE}"),
                "SQL function db4ai.<model>_pred": (plain, f'SELECT sum(db4ai."{function}"(p)) FROM {TABLE}'),
            }
            sums = {name: conn.execute(q).fetchone()[0] for name, (conn, q) in queries.items()}
            assert len(set(sums.values())) == 1, sums  # the same centroid for every point
            times = {name: ctx.best_of(lambda c=conn, q=q: c.execute(q).fetchone()) for name, (conn, q) in queries.items()}
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
    extra = {"rows": ctx.rows, "centroids": K}
    return [
        Measurement(GROUP, READ, t_read, extra=extra),
        Measurement(GROUP, HAND, t_hand),
        Measurement(GROUP, "CREATE MODEL kmeans vs read", t_create, reference=READ, goal=2.0),
        Measurement(GROUP, "CREATE MODEL kmeans vs pandas+sklearn", t_create, reference=HAND, goal=1.0),
        Measurement(GROUP, "objective / scikit-learn inertia", objective / fits["sklearn"], unit="ratio", goal=1.01,
                    extra={"objective": objective, "sklearn": fits["sklearn"]}),
        Measurement(GROUP, PREDICT_HAND, times[PREDICT_HAND]),
        Measurement(GROUP, "PREDICT BY (shim)", times["PREDICT BY (shim)"], reference=PREDICT_HAND, goal=1.5),
        Measurement(GROUP, "SQL function db4ai.<model>_pred", times["SQL function db4ai.<model>_pred"],
                    reference=PREDICT_HAND, goal=1.5),
    ]
