"""linear_regression WITH optimizer = 'normal_equations' and db4ai.linregr: exact least squares from
one parallel aggregate, checked against numpy's lstsq and statsmodels' OLS on the same rows."""

from __future__ import annotations

import re
import warnings

import numpy as np
import psycopg
import pytest
import statsmodels.api as sm
from psycopg import sql

from db4ai import algorithms, models, warehouse
from db4ai.algorithms.least_squares import LeastSquaresModel
from db4ai.dialect import parse_script
from db4ai.errors import DataError, FeatureError

from tests.models.conftest import synthetic

NE = "WITH optimizer = 'normal_equations'"
FORCE_PARALLEL = ("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
                  " SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = {}")


def cm(text: str):
    (stmt,) = parse_script(text)
    return stmt


def table(conn: psycopg.Connection, name: str, X: np.ndarray, y: np.ndarray) -> None:
    """``name(x1..xk float8, y float8)`` holding the rows of X and y (NaN becomes NULL)."""
    cols = sql.SQL(", ").join(sql.SQL("{} float8").format(sql.Identifier(f"x{i + 1}")) for i in range(X.shape[1]))
    conn.execute(sql.SQL("CREATE TABLE {} ({}, y float8)").format(sql.Identifier(name), cols))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))) as copy:
        for row, t in zip(X, y, strict=True):
            copy.write_row([None if np.isnan(v) else float(v) for v in (*row, t)])


def stored(conn: psycopg.Connection, name: str) -> LeastSquaresModel:
    model = algorithms.load("linear_regression").load(warehouse.load(conn, name).data)
    assert isinstance(model, LeastSquaresModel)
    return model


def ols(X: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about rank deficiency, numpy about 0/0
        return sm.OLS(y, np.column_stack([X, np.ones(len(X))])).fit()


def lstsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]


def assert_statistics(model: LeastSquaresModel, X: np.ndarray, y: np.ndarray, rtol: float = 1e-8) -> None:
    """Standard errors, t statistics, p-values, r², adjusted r² and the condition number are statsmodels'."""
    ref = ols(X, y)
    np.testing.assert_allclose(model.std_errors, ref.bse, rtol=rtol)
    np.testing.assert_allclose(model.t_stats, ref.tvalues, rtol=rtol)
    np.testing.assert_allclose(model.p_values, ref.pvalues, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose([model.r2, model.adj_r2], [ref.rsquared, ref.rsquared_adj], rtol=rtol)
    assert model.rank == np.linalg.matrix_rank(np.column_stack([X, np.ones(len(X))]))
    np.testing.assert_allclose(model.mse, ref.ssr / len(y), rtol=rtol)


def well_conditioned(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 2.0, 0.5, 3.0] + [0.5, -1.0, 2.0, 10.0]
    y = X @ [1.5, -0.7, 3.0, 0.02] + 4.0 + rng.normal(scale=2.0, size=n)  # x4 barely matters: a mid-range p-value
    return X, y


# -- exactness ------------------------------------------------------------------------------------------

def test_coefficients_equal_lstsq_and_statistics_equal_statsmodels(mdb):
    X, y = well_conditioned()
    table(mdb, "pts", X, y)
    models.create_model(mdb, cm(f"CREATE MODEL ne USING linear_regression FEATURES x1, x2, x3, x4 TARGET y FROM pts {NE}"))
    model = stored(mdb, "ne")
    np.testing.assert_allclose(model.weights, lstsq(X, y), rtol=1e-9)
    assert_statistics(model, X, y)
    np.testing.assert_allclose(model.condition_number, ols(X, y).condition_number, rtol=1e-8)
    assert model.solver == "cholesky" and model.rank == 5
    assert 1e-6 < model.p_values[3] < 0.9  # a p-value away from 0 and 1 was checked, not just underflows
    row = mdb.execute("SELECT processedtuples, discardedtuples, iterations, coefficients, trainingscoresname,"
                      " trainingscoresvalue FROM db4ai.gs_model_warehouse WHERE modelname = 'ne'").fetchone()
    assert row[:3] == (400, 0, 1)
    assert row[3] == list(model.weights)  # the coefficients column holds the same numbers
    assert row[4] == ["mse"] and row[5][0] == pytest.approx(model.mse, rel=1e-6)  # float4 column
    log = mdb.execute("SELECT pass, loss, delta_loss, learning_rate FROM db4ai.gs_model_training_log"
                      " WHERE modelname = 'ne'").fetchall()
    assert log == [(1, pytest.approx(model.mse / 2), None, None)]


def test_linregr_from_sql_returns_the_same_coefficients_and_the_summary_reads_them_back(mdb):
    X, y = well_conditioned(n=300, seed=5)
    table(mdb, "pts", X, y)
    models.create_model(mdb, cm(f"CREATE MODEL ne USING linear_regression FEATURES x1, x2, x3, x4 TARGET y FROM pts {NE}"))
    fit = mdb.execute("SELECT * FROM db4ai.linregr('pts', 'y', '{x1,x2,x3,x4}')").fetchone()
    summary = mdb.execute("SELECT * FROM db4ai.linregr_summary('ne')").fetchone()
    assert fit == summary  # every column: features, coefficients, statistics, counts
    model = stored(mdb, "ne")
    assert fit[1] == list(model.weights) and fit[2] == list(model.std_errors) and fit[4] == list(model.p_values)
    assert fit[0] == ["x1", "x2", "x3", "x4"] and fit[9:] == (5, "cholesky", 300, 0)


def test_same_results_with_zero_one_and_two_parallel_workers(mdb):
    X, y = well_conditioned(n=6000, seed=7)
    table(mdb, "pts", X, y)
    results = {}
    for workers in (0, 1, 2):
        mdb.execute(FORCE_PARALLEL.format(workers))
        text = f"CREATE MODEL ne{workers} USING linear_regression FEATURES x1, x2, x3, x4 TARGET y FROM pts {NE}"
        plan = "\n".join(models.explain_create_model(mdb, cm("EXPLAIN (ANALYZE, COSTS OFF) " + text)))
        if workers:
            assert f"Workers Planned: {workers}" in plan and "Partial HashAggregate" in plan, plan
            launched = int(re.search(r"Workers Launched: (\d+)", plan).group(1))  # type: ignore[union-attr]
            assert launched >= 1, plan
        else:
            assert "Gather" not in plan and "HashAggregate" in plan, plan
        models.create_model(mdb, cm(text))
        results[workers] = stored(mdb, f"ne{workers}")
        linregr = mdb.execute("SELECT coefficients FROM db4ai.linregr('pts', 'y', '{x1,x2,x3,x4}')").fetchone()[0]
        np.testing.assert_allclose(linregr, results[workers].weights, rtol=1e-12)
    for workers in (1, 2):
        np.testing.assert_allclose(results[workers].weights, results[0].weights, rtol=1e-12)
        np.testing.assert_allclose(results[workers].p_values, results[0].p_values, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(results[workers].r2, results[0].r2, rtol=1e-12)
    np.testing.assert_allclose(results[2].weights, lstsq(X, y), rtol=1e-9)
    assert mdb.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 3


def test_null_rows_are_discarded_and_counted_as_in_the_gd_path(mdb):
    X, y, null = synthetic(mdb, "points", n=700, nulls=True)
    models.create_model(mdb, cm(f"CREATE MODEL ne USING linear_regression FEATURES x1, x2, x3, flag TARGET y FROM points {NE}"))
    models.create_model(mdb, cm("CREATE MODEL gd USING linear_regression FEATURES x1, x2, x3, flag TARGET y FROM points"
                                " WITH max_iterations = 1"))
    counts = dict(mdb.execute("SELECT modelname, (processedtuples, discardedtuples)::text FROM db4ai.gs_model_warehouse").fetchall())
    assert counts["ne"] == counts["gd"] == f"({int((~null).sum())},{int(null.sum())})"
    model = stored(mdb, "ne")
    np.testing.assert_allclose(model.weights, lstsq(X[~null], y[~null]), rtol=1e-9)  # bool feature as 0/1
    assert_statistics(model, X[~null], y[~null])


def test_rank_deficient_features_give_the_minimum_norm_solution(mdb):
    X, y = well_conditioned(n=250, seed=11)
    table(mdb, "pts", X, y)
    # x1 twice, an affine combination of x2 and x3, and a constant: rank 5 of 8 unknowns
    features = "x1, x2, x3, x4, x1 AS x1b, 2 * x2 - x3 + 5 AS combo, 7 AS seven"
    models.create_model(mdb, cm(f"CREATE MODEL rd USING linear_regression FEATURES {features} TARGET y FROM pts {NE}"))
    design = np.column_stack([X, X[:, 0], 2 * X[:, 1] - X[:, 2] + 5, np.full(len(X), 7.0)])
    model = stored(mdb, "rd")
    assert model.solver == "pseudo-inverse" and model.rank == 5
    reference = lstsq(design, y)
    np.testing.assert_allclose(model.weights, reference, rtol=1e-9, atol=1e-9 * np.abs(reference).max())
    assert_statistics(model, design, y)
    assert model.condition_number > 1e6  # statsmodels: sqrt of the extreme eigenvalues, infinite when one is <= 0
    # the same predictions as the full-rank model of the independent features
    models.create_model(mdb, cm(f"CREATE MODEL fr USING linear_regression FEATURES x1, x2, x3, x4 TARGET y FROM pts {NE}"))
    a, b = mdb.execute("SELECT array_agg(PREDICT_RD ORDER BY i), array_agg(PREDICT_FR ORDER BY i) FROM (SELECT"
                       " row_number() OVER () AS i, db4ai.rd_pred(x1, x2, x3, x4, x1, 2 * x2 - x3 + 5, 7) AS PREDICT_RD,"
                       " db4ai.fr_pred(x1, x2, x3, x4) AS PREDICT_FR FROM pts) AS p").fetchone()
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_a_feature_that_is_always_zero_gets_weight_zero(mdb):
    X, y = well_conditioned(n=120, seed=2)
    table(mdb, "pts", X, y)
    models.create_model(mdb, cm(f"CREATE MODEL z USING linear_regression FEATURES x1, 0 AS zero, x2 TARGET y FROM pts {NE}"))
    model = stored(mdb, "z")
    assert model.weights[1] == 0 and model.rank == 3
    np.testing.assert_allclose(model.weights[[0, 2, 3]], lstsq(X[:, :2], y), rtol=1e-9)


def test_integer_numeric_and_boolean_columns_and_an_integer_target(mdb):
    rng = np.random.default_rng(4)
    n = 200
    a, b, c = rng.integers(-50, 50, n), rng.normal(size=n).round(6), rng.random(n) < 0.3
    target = np.trunc(3 * a - 2 * b + 5 * c + rng.normal(size=n) * 4).astype(int)
    mdb.execute("CREATE TABLE mixed (a int2, b numeric, c bool, t int4)")
    with mdb.cursor() as cur, cur.copy("COPY mixed FROM STDIN") as copy:
        for row in zip(a.tolist(), b.tolist(), c.tolist(), target.tolist(), strict=True):
            copy.write_row(row)
    models.create_model(mdb, cm(f"CREATE MODEL mx USING linear_regression FEATURES a, b, c TARGET t FROM mixed {NE}"))
    X = np.column_stack([a, b, c]).astype(float)
    model = stored(mdb, "mx")
    np.testing.assert_allclose(model.weights, lstsq(X, target.astype(float)), rtol=1e-9)
    assert_statistics(model, X, target.astype(float))
    # PREDICT BY keeps the int4 target's type (truncated), as for the GD models
    got = mdb.execute(f"SELECT array_agg({models.prediction_sql(mdb, 'mx', ['a', 'b', 'c'])}) FROM mixed").fetchone()[0]
    assert got == np.trunc(np.column_stack([X, np.ones(n)]) @ model.weights).astype(int).tolist()


def test_an_array_feature_contributes_its_elements(mdb):
    X, y = well_conditioned(n=150, seed=8)
    mdb.execute("CREATE TABLE arr (xs float8[], y float8)")
    with mdb.cursor() as cur, cur.copy("COPY arr FROM STDIN") as copy:
        for row, t in zip(X, y, strict=True):
            copy.write_row([row.tolist(), float(t)])
        copy.write_row([None, 1.0])
        copy.write_row([[1.0, None, 2.0, 3.0], 1.0])
    mdb.execute("INSERT INTO arr VALUES ('[0:3]={1,2,3,4}', NULL)")  # another lower bound, NULL target: discarded
    models.create_model(mdb, cm(f"CREATE MODEL ar USING linear_regression FEATURES xs TARGET y FROM arr {NE}"))
    model = stored(mdb, "ar")
    np.testing.assert_allclose(model.weights, lstsq(X, y), rtol=1e-9)
    assert mdb.execute("SELECT processedtuples, discardedtuples FROM db4ai.gs_model_warehouse").fetchone() == (150, 3)
    got = mdb.execute("SELECT db4ai.ar_pred(xs) FROM arr LIMIT 1").fetchone()[0]
    assert got == pytest.approx(float(np.append(X[0], 1.0) @ model.weights), rel=1e-12)
    fit = mdb.execute("SELECT coefficients FROM db4ai.linregr('arr', 'y', '{xs}')").fetchone()[0]
    assert fit == list(model.weights)


def test_explain_lines_and_ignored_hyperparameters(mdb):
    X, y = well_conditioned(n=100, seed=9)
    table(mdb, "pts", X, y)
    models.create_model(mdb, cm(f"CREATE MODEL a USING linear_regression FEATURES x1, x2 TARGET y FROM pts {NE}"))
    models.create_model(mdb, cm("CREATE MODEL b USING linear_regression FEATURES x1, x2 TARGET y FROM pts WITH"
                                " optimizer = normal_equations, batch_size = 1, max_iterations = 1, learning_rate = 9,"
                                " tolerance = 1e9, seed = 5"))
    assert stored(mdb, "a").weights.tolist() == stored(mdb, "b").weights.tolist()
    text = mdb.execute("SELECT db4ai.gs_explain_model('b')").fetchone()[0]
    lines = text.splitlines()
    assert lines[:2] == ["Name: b", "Algorithm: linear_regression"]
    assert "optimizer: normal_equations" in lines and "batch_size: 1" in lines and "seed: 5" in lines
    summary = mdb.execute("SELECT coefficients::text, std_errors::text, t_stats::text, p_values::text, r2::text,"
                          " adj_r2::text, condition_number::text FROM db4ai.linregr_summary('b')").fetchone()
    tail = lines[lines.index(f"weights: {summary[0]}"):]
    assert tail == [f"weights: {summary[0]}", f"std_errors: {summary[1]}", f"t_stats: {summary[2]}",
                    f"p_values: {summary[3]}", f"r2: {summary[4]}", f"adj_r2: {summary[5]}",
                    f"condition_number: {summary[6]}", "rank: 3", "solver: cholesky"]


def test_verbose_reports_the_one_pass(mdb):
    X, y = well_conditioned(n=50, seed=1)
    table(mdb, "pts", X, y)
    notices: list[str] = []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    models.create_model(mdb, cm("CREATE MODEL v USING linear_regression FEATURES x1 TARGET y FROM pts"
                                " WITH optimizer = normal_equations, verbose = true"))
    assert len(notices) == 1 and notices[0].startswith("ITERATION 1: test_loss=") and "tuples=50" in notices[0]


# -- errors ---------------------------------------------------------------------------------------------

def leftovers(conn: psycopg.Connection):
    return conn.execute("""
        SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse), (SELECT count(*) FROM db4ai.gs_model_training_log),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname LIKE '%%_pred'),
               (SELECT count(*) FROM pg_class)
    """).fetchone()


@pytest.mark.parametrize("source, features, error, message", [
    ("(SELECT * FROM pts WHERE false) AS e", "x1", DataError, "Input data is empty"),
    ("pts", "x1, NULL::float8", DataError, "Input data is empty"),
    ("(SELECT x1, 'NaN'::float8 AS x2, y FROM pts) AS s", "x1, x2", DataError,
     "the training data holds NaN or infinite values (or values too large to square)"),
    ("(SELECT x1, CASE WHEN x1 > 0 THEN 'Infinity'::float8 ELSE 0 END AS x2, y FROM pts) AS s", "x1, x2", DataError,
     "the training data holds NaN or infinite values (or values too large to square)"),
    ("pts", "x1::text", FeatureError, "Oid type 25 not yet supported"),
    ("(SELECT ARRAY[x1, x2] AS xs, y FROM pts UNION ALL SELECT ARRAY[1, 2, 3]::float8[], 1) AS s", "xs", FeatureError,
     "Input array must be 1-dimensional and must not contain nulls"),
    ("(SELECT ARRAY[[x1, x2]] AS xs, y FROM pts) AS s", "xs", FeatureError,
     "Input array must be 1-dimensional and must not contain nulls"),
])
def test_errors_leave_nothing_behind(mdb, source, features, error, message):
    X, y = well_conditioned(n=20)
    table(mdb, "pts", X, y)
    before = leftovers(mdb)
    with pytest.raises(error) as info:
        models.create_model(mdb, cm(f"CREATE MODEL bad USING linear_regression FEATURES {features} TARGET y FROM {source} {NE}"))
    assert str(info.value).splitlines()[0] == message
    assert leftovers(mdb) == before


# -- db4ai.linregr from SQL -----------------------------------------------------------------------------

def test_linregr_names_sources_as_sql_does(mdb):
    X, y = well_conditioned(n=60, seed=4)
    table(mdb, "pts", X, y)
    expected = mdb.execute("SELECT coefficients FROM db4ai.linregr('pts', 'y', '{x1,x2}')").fetchone()[0]
    np.testing.assert_allclose(expected, lstsq(X[:, :2], y), rtol=1e-9)
    mdb.execute('CREATE SCHEMA "Odd Schema"; CREATE TABLE "Odd Schema"."My Pts" AS'
                ' SELECT x1 AS "X one", x2 AS "x""2", y AS "Y" FROM pts')
    assert mdb.execute("""SELECT coefficients FROM db4ai.linregr('"Odd Schema"."My Pts"', 'Y', '{X one,"x\\"2"}')""").fetchone()[0] == expected
    mdb.execute('SET search_path = "Odd Schema", public')
    assert mdb.execute("""SELECT coefficients FROM db4ai.linregr('"My Pts"', 'Y', '{X one,"x\\"2"}')""").fetchone()[0] == expected
    mdb.execute("RESET search_path")
    mdb.execute("SELECT * FROM db4ai.create_snapshot('public', 'snap', '{\"SELECT x1, x2, y FROM pts\"}')")
    for name in ("snap@1.0.0", "public.snap@1.0.0", '"snap@1.0.0"', 'public."snap@1.0.0"'):
        assert mdb.execute("SELECT coefficients FROM db4ai.linregr(%s, 'y', '{x1,x2}')", (name,)).fetchone()[0] == expected


@pytest.mark.parametrize("source, target, features, error, message", [
    ("nosuch", "y", "{x1}", psycopg.errors.UndefinedTable, 'relation "nosuch" does not exist'),
    ("pts", "y", '{"x1; DROP TABLE pts; --"}', psycopg.errors.UndefinedColumn,
     'column "x1; DROP TABLE pts; --" does not exist in public.pts'),
    ("pts", "Y", "{x1}", psycopg.errors.UndefinedColumn, 'column "Y" does not exist in public.pts'),
    ("pts", "y", "{}", psycopg.errors.FeatureNotSupported, "At least one feature is required"),
    ("pts", "label", "{x1}", psycopg.errors.FeatureNotSupported, "Oid type 25 not yet supported"),
    ("pts", "y", "{x1,xs}", psycopg.errors.FeatureNotSupported, "Input array cannot be combined with other features"),
    ("pts", "y", "{x1,label}", psycopg.errors.FeatureNotSupported, "Oid type 25 not yet supported"),
    ("(SELECT 1)", "y", "{x1}", psycopg.errors.InvalidName, None),
])
def test_linregr_errors(mdb, source, target, features, error, message):
    X, y = well_conditioned(n=10)
    table(mdb, "pts", X, y)
    mdb.execute("ALTER TABLE pts ADD COLUMN label text, ADD COLUMN xs float8[]")
    before = leftovers(mdb)
    with pytest.raises(error) as info:
        mdb.execute("SELECT * FROM db4ai.linregr(%s, %s, %s)", (source, target, features))
    if message is not None:
        assert info.value.diag.message_primary == message
    assert leftovers(mdb) == before
    assert mdb.execute("SELECT count(*) FROM pts").fetchone()[0] == 10


def test_linregr_reads_with_the_callers_privileges(mdb, make_role):
    X, y = well_conditioned(n=10)
    table(mdb, "pts", X, y)
    role = make_role("reader")
    with psycopg.connect(role.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM db4ai.linregr('pts', 'y', '{x1}')")
    mdb.execute(sql.SQL("GRANT SELECT (x1, y) ON pts TO {}").format(sql.Identifier(role.name)))
    with psycopg.connect(role.dsn, autocommit=True) as conn:  # column privileges suffice
        assert conn.execute("SELECT rank FROM db4ai.linregr('pts', 'y', '{x1}')").fetchone()[0] == 2


def test_summary_of_a_gd_model_says_it_has_no_statistics(mdb):
    X, y = well_conditioned(n=20)
    table(mdb, "pts", X, y)
    models.create_model(mdb, cm("CREATE MODEL g USING linear_regression FEATURES x1 TARGET y FROM pts WITH max_iterations = 1"))
    with pytest.raises(psycopg.errors.FeatureNotSupported, match='model "g" has no inference statistics'):
        mdb.execute("SELECT * FROM db4ai.linregr_summary('g')")
    with pytest.raises(psycopg.errors.UndefinedObject, match='There is no model called "nosuch"'):
        mdb.execute("SELECT * FROM db4ai.linregr_summary('nosuch')")


# -- the SQL pieces against independent references ------------------------------------------------------

@pytest.mark.parametrize("df", [1, 2, 3, 10, 49, 50, 51, 1000, 999_999])
def test_t_pvalues_equal_scipy(mdb, df):
    from scipy import stats

    ts = [0.0, 1e-3, 0.5, 1.0, 1.96, 3.0, 8.0, 40.0, -2.5]
    got = mdb.execute("SELECT array_agg(db4ai_internal._t_pvalue(t, %s) ORDER BY i) FROM unnest(%s::float8[])"
                      " WITH ORDINALITY AS u(t, i)", (df, ts)).fetchone()[0]
    np.testing.assert_allclose(got, [2 * stats.t.sf(abs(t), df) for t in ts], rtol=1e-9, atol=1e-300)


def test_eigenvalues_equal_numpy(mdb):
    rng = np.random.default_rng(0)
    for d in (1, 2, 5, 9):
        a = rng.normal(size=(d + 3, d))
        g = a.T @ a
        got = mdb.execute("SELECT db4ai_internal._symmetric_eigenvalues(%s, %s)", (g.ravel().tolist(), d)).fetchone()[0]
        np.testing.assert_allclose(got, np.linalg.eigvalsh(g), rtol=1e-12, atol=1e-12 * np.abs(g).max())
