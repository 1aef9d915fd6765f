"""pca (4 components) on ``bench_points`` (1M x 8 arrays by default): CREATE MODEL against the ADBC
read of the same rows (goal: at most 2x) and against pandas.read_sql + scikit-learn's PCA (goal:
faster, < 1x). Two settings: ``batch_size = 100000`` with openGauss's other defaults (100 passes at
most, tolerance 0.0005), and openGauss's defaults (``batch_size = 1000``) for information: every
batch is one sequential update of the power iteration, so small batches cost Python time per batch.
"""

from __future__ import annotations

import os

import db4ai

try:
    from ._harness import BenchContext, Measurement
    from ._points import TABLE, adbc_points, create_points, pandas_points
except ImportError:  # run from inside benchmarks/ as a plain module
    from _harness import BenchContext, Measurement  # type: ignore[no-redef]
    from _points import TABLE, adbc_points, create_points, pandas_points  # type: ignore[no-redef]

GROUP = "pca"
READ = "ADBC read of the points"
HAND = "pandas.read_sql + PCA"


def run(ctx: BenchContext) -> list[Measurement]:
    from sklearn.decomposition import PCA

    model = f"bench_pca_{os.getpid()}"
    query = f"SELECT p FROM {TABLE}"
    statements = {
        "CREATE MODEL pca, batch_size 100000": f"CREATE MODEL {model} USING pca FEATURES p FROM {TABLE}"
                                               " WITH number_components = 4, batch_size = 100000, seed = 1",
        "CREATE MODEL pca, batch_size 1000 (default)": f"CREATE MODEL {model} USING pca FEATURES p FROM {TABLE}"
                                                       " WITH number_components = 4, seed = 1",
    }
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        create_points(plain, ctx.rows)
        adbc_points(ctx.dsn, "SELECT ARRAY[1.0]::float8[] AS warm_up")

        def create(statement: str) -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            shim.execute(statement)

        try:
            t_read = ctx.best_of(lambda: adbc_points(ctx.dsn, query))
            t_hand = ctx.best_of(lambda: PCA(n_components=4, random_state=0).fit(pandas_points(plain, query)))
            times = {name: ctx.best_of(lambda s=s: create(s)) for name, s in statements.items()}
            iterations = plain.execute("SELECT iterations FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                                       (model,)).fetchone()[0]
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
    out = [Measurement(GROUP, READ, t_read, extra={"rows": ctx.rows, "components": 4}), Measurement(GROUP, HAND, t_hand)]
    first, default = statements
    out += [Measurement(GROUP, f"{first} vs read", times[first], reference=READ, goal=2.0),
            Measurement(GROUP, f"{first} vs pandas+sklearn", times[first], reference=HAND, goal=1.0),
            Measurement(GROUP, default, times[default], reference=READ, extra={"passes after the first": iterations})]
    return out
