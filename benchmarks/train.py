"""CREATE MODEL linear_regression (ngd, 10 passes, batch 1000) against reading the same rows and
against what a user would do by hand (pandas.read_sql + scikit-learn's SGDRegressor, 10 epochs).

Goals: CREATE MODEL within 1.2x of db4ai.data.read_matrix of its training query on as many
connections (``--parallel``, default the automatic value: batch building overlaps the read, so
training costs little on top of it), and at least 3x faster than pandas + scikit-learn, shown
as db4ai / (pandas + scikit-learn) <= 0.33. CREATE MODEL is called as the shim calls it, with
the reader connections given explicitly.
"""

from __future__ import annotations

import os
import warnings

import db4ai
from db4ai import data, models
from db4ai.dialect import parse_script

try:
    from ._harness import BenchContext, Measurement
except ImportError:  # run from inside benchmarks/ as a plain module
    from _harness import BenchContext, Measurement  # type: ignore[no-redef]

GROUP = "train"
FEATURES = "x1, x2, x3, x4"


def run(ctx: BenchContext) -> list[Measurement]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import SGDRegressor

    model = f"bench_train_{os.getpid()}"
    statement = (f"CREATE MODEL {model} USING linear_regression FEATURES {FEATURES} TARGET y FROM {ctx.table} "
                 "WITH optimizer = ngd, max_iterations = 10, batch_size = 1000, seed = 1")
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        stmt = parse_script(statement)[0]
        query = models.training_query(plain, stmt)
        p = ctx.parallel or data.resolve_parallel(plain, None)

        def read() -> None:
            data.read_matrix(plain, query, parallel=p)

        def create() -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            models.create_model(plain, stmt, parallel=p)

        def by_hand() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas warns about non-SQLAlchemy connections
                frame = pd.read_sql(f"SELECT y, {FEATURES} FROM {ctx.table}", plain)
            X = frame[["x1", "x2", "x3", "x4"]].to_numpy(dtype=np.float64)
            SGDRegressor(max_iter=10, tol=None, random_state=1).fit(X, frame["y"].to_numpy())

        try:
            t_read = ctx.best_of(read)
            t_create = ctx.best_of(create)
            t_hand = ctx.best_of(by_hand)
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
    return [
        Measurement(GROUP, "db4ai.data.read_matrix (training query)", t_read, extra={"rows": ctx.rows, "parallel": p}),
        Measurement(GROUP, "pandas.read_sql + SGDRegressor (10 epochs)", t_hand),
        Measurement(GROUP, "CREATE MODEL ngd x10 vs read", t_create,
                    reference="db4ai.data.read_matrix (training query)", goal=1.2, extra={"parallel": p}),
        Measurement(GROUP, "CREATE MODEL ngd x10 vs pandas+sklearn", t_create,
                    reference="pandas.read_sql + SGDRegressor (10 epochs)", goal=1 / 3),
    ]
