"""The least-squares aggregate on Citus: it runs on the workers and only partial states reach the
coordinator. Needs a Citus coordinator: ``DB4AI_TEST_CITUS_DSN`` (a superuser DSN; db4ai is installed
there, the test works in a schema of its own and drops it). ``../shared/tools/citus-cluster start``
starts one on this machine."""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
import statsmodels.api as sm
from psycopg import sql

from db4ai import algorithms, models, warehouse
from db4ai.dialect import parse_script
from db4ai.install import install

DSN = os.environ.get("DB4AI_TEST_CITUS_DSN")
pytestmark = pytest.mark.skipif(not DSN, reason="no Citus cluster: set DB4AI_TEST_CITUS_DSN to a coordinator's superuser DSN")


@pytest.fixture
def citus() -> Iterator[tuple[psycopg.Connection, str]]:
    """A connection to the coordinator with db4ai installed, working in a fresh schema."""
    assert DSN is not None
    schema = f"solver_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            install(conn)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(schema)))
        try:
            yield conn, schema
        finally:
            conn.execute("SELECT db4ai.drop_model(modelname, true) FROM db4ai.gs_model_warehouse WHERE modelname LIKE %s",
                         (f"{schema}%",))
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_the_moments_aggregate_runs_on_the_workers(citus):
    conn, schema = citus
    assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()[0] == 1
    rng = np.random.default_rng(12)
    n = 3000
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [2.0, 0.0, -1.0]
    y = X @ [0.7, -1.2, 2.0] + 3.0 + rng.normal(scale=0.5, size=n)
    conn.execute("CREATE TABLE pts (id int8, x1 float8, x2 float8, x3 float8, y float8)")
    conn.execute("SELECT create_distributed_table('pts', 'id')")
    with conn.cursor() as cur, cur.copy("COPY pts FROM STDIN") as copy:
        for i in range(n):
            copy.write_row([i, *map(float, X[i]), float(y[i])])
        copy.write_row([n, None, 1.0, 1.0, 1.0])  # discarded and counted
    assert conn.execute("SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'pts'::regclass").fetchone()[0] == 2

    name = f"{schema}_m"
    text = f"CREATE MODEL {name} USING linear_regression FEATURES x1, x2, x3 TARGET y FROM pts WITH optimizer = 'normal_equations'"
    plan = "\n".join(models.explain_create_model(conn, parse_script("EXPLAIN (VERBOSE, COSTS OFF) " + text)[0]))
    coordinator, _, tasks = plan.partition("->  Task")
    # the coordinator combines partial states from a Citus scan; it scans no table itself
    assert "Custom Scan (Citus Adaptive)" in coordinator and "coord_combine_agg" in coordinator, plan
    assert "Seq Scan" not in coordinator, plan
    # each worker task aggregates its shard and returns partial states only
    assert re.search(r"Query: SELECT .*worker_partial_agg\('regr_sxy", tasks), plan
    assert "HashAggregate" in tasks and re.search(r"Seq Scan on \S*pts_\d+", tasks), plan

    models.create_model(conn, parse_script(text)[0])
    model = algorithms.load("linear_regression").load(warehouse.load(conn, name).data)
    design = np.column_stack([X, np.ones(n)])
    np.testing.assert_allclose(model.weights, np.linalg.lstsq(design, y, rcond=None)[0], rtol=1e-9)
    ref = sm.OLS(y, design).fit()
    np.testing.assert_allclose(model.std_errors, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(model.p_values, ref.pvalues, rtol=1e-8, atol=1e-300)
    assert conn.execute("SELECT processedtuples, discardedtuples FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                        (name,)).fetchone() == (n, 1)
    fit = conn.execute("SELECT coefficients FROM db4ai.linregr('pts', 'y', '{x1,x2,x3}')").fetchone()[0]
    np.testing.assert_allclose(fit, model.weights, rtol=1e-12)
    models.drop_model(conn, name)
