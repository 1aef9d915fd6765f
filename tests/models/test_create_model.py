"""CREATE MODEL end to end: openGauss's own regression results, the independent reference loop,
openGauss's error texts, and that failed or interrupted trainings leave nothing behind."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from db4ai import models
from db4ai.dialect import parse_script
from db4ai.errors import DataError, FeatureError, InvalidParameter, ObjectExists, TrainingWarning

from tests.models.conftest import houses, synthetic
from tests.models.reference import train_reference


def cm(text: str):
    (stmt,) = parse_script(text)
    return stmt


def leftovers(conn):
    """Rows and functions a model leaves behind."""
    return conn.execute("""
        SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse), (SELECT count(*) FROM db4ai.gs_model_training_log),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname LIKE '%%_pred')
    """).fetchone()


def normalized_houses(conn):
    houses(conn, "db4ai_houses")
    # openGauss's int / int is a float division; PostgreSQL needs the casts
    conn.execute("""
        ALTER TABLE db4ai_houses ADD COLUMN tax_n float8, ADD COLUMN bath_n float8, ADD COLUMN size_n float8;
        UPDATE db4ai_houses SET
          tax_n = (tax - (SELECT min(tax) FROM db4ai_houses))::float8 / (SELECT max(tax) - min(tax) FROM db4ai_houses),
          bath_n = (bath - (SELECT min(bath) FROM db4ai_houses)) / (SELECT max(bath) - min(bath) FROM db4ai_houses),
          size_n = (size - (SELECT min(size) FROM db4ai_houses))::float8 / (SELECT max(size) - min(size) FROM db4ai_houses)
    """)


# -- openGauss's own regression outputs -----------------------------------------------------------------

def test_opengauss_regress_gd_train_predict_m3(mdb):
    """src/test/regress/output/db4ai_gd_train_predict.source: model m3 and its predictions."""
    houses(mdb, "db4ai_houses")
    models.create_model(mdb, cm("CREATE MODEL m3 using linear_regression FEATURES tax, bath TARGET price "
                                "FROM db4ai_houses with optimizer=ngd, seed = 1"))
    expr = models.prediction_sql(mdb, "m3", ["tax", "bath"])
    got = [r[0] for r in mdb.execute(f"SELECT {expr} FROM db4ai_houses ORDER BY id").fetchall()]
    assert got == [88805, 118979, 75963, 114924, 125062, 105927, 168085, 90833, 136777, 178231, 112911, 131821,
                   165164, 161769, 100062]


def test_opengauss_regress_gd_houses(mdb):
    """src/test/regress/output/db4ai_gd_houses.source: the two linear_regression models.

    houses_linregr_gd trains on 15 single-row batches visited in rand48 order, so matching its
    residuals checks the batch order too. openGauss's mse sums the batch MSEs of the last pass
    (= 2 x its logged loss); db4ai's mse column is the true MSE instead.
    """
    normalized_houses(mdb)
    models.create_model(mdb, cm("""CREATE MODEL houses_linregr_ngd USING linear_regression
       FEATURES tax, bath, size TARGET price
       FROM db4ai_houses WITH seed = 1, optimizer='ngd',
            learning_rate=2.0"""))
    models.create_model(mdb, cm("""CREATE MODEL houses_linregr_gd USING linear_regression
       FEATURES feat_n TARGET price
       FROM (SELECT price, ARRAY[tax_n, bath_n, size_n] AS feat_n FROM db4ai_houses) AS s
       WITH seed = 1, batch_size=1, learning_rate=1.0"""))
    rows = mdb.execute("""
        SELECT modelname, processedtuples, discardedtuples, iterations, outputtype, hyperparametersvalues,
               (SELECT 2 * loss FROM db4ai.gs_model_training_log l WHERE l.modelname = w.modelname AND pass = 100)
        FROM db4ai.gs_model_warehouse w ORDER BY modelname""").fetchall()
    assert [r[:6] for r in rows] == [
        ("houses_linregr_gd", 15, 0, 100, 23, ["1", "0.95", "1", "100", "0", "gd", "0.0005", "1", "false"]),
        ("houses_linregr_ngd", 15, 0, 100, 23, ["1000", "0.95", "2", "100", "0", "ngd", "0.0005", "1", "false"]),
    ]
    assert f"{rows[0][6]:.6g}" == "1.36468e+10" and f"{rows[1][6]:.6g}" == "1.11119e+09"
    expr = models.prediction_sql(mdb, "houses_linregr_gd", ["ARRAY[tax_n, bath_n, size_n]"])
    residuals = mdb.execute(f"""
        SELECT id, abs(target - prediction) AS residual
        FROM (SELECT id, price AS target, {expr} AS prediction FROM db4ai_houses) AS s
        ORDER BY residual DESC LIMIT 3""").fetchall()
    assert residuals == [(8, 65880), (7, 58779), (13, 44699)]


# -- the independent reference loop ---------------------------------------------------------------------

@pytest.mark.parametrize("optimizer, rate, tolerance", [("gd", 0.05, 1e-4), ("ngd", 0.5, 1e-6)])
def test_weights_equal_the_reference_with_null_rows(mdb, optimizer, rate, tolerance):
    X, y, null = synthetic(mdb, n=431, nulls=True)
    text = (f"CREATE MODEL m USING linear_regression FEATURES x1, x2, x3, flag TARGET y FROM points "
            f"WITH batch_size = 37, optimizer = {optimizer}, learning_rate = {rate}, decay = 0.9, "
            f"max_iterations = 60, tolerance = {tolerance}, seed = 12345")
    models.create_model(mdb, cm(text))
    weights, iterations, losses = train_reference(
        X[~null], y[~null], batch_size=37, learning_rate=rate, decay=0.9, max_iterations=60, tolerance=tolerance,
        optimizer=optimizer, seed=12345)
    row = mdb.execute("SELECT coefficients, iterations, processedtuples, discardedtuples, trainingscoresvalue[1],"
                      " feature_names, feature_oids::int[], outputtype FROM db4ai.gs_model_warehouse").fetchone()
    np.testing.assert_allclose(row[0], weights, rtol=1e-9)
    assert row[1] == iterations and row[2:4] == (int((~null).sum()), int(null.sum()))
    assert row[5:] == (["x1", "x2", "x3", "flag"], [701, 701, 701, 16], 701)
    mse = np.mean((np.column_stack([X[~null], np.ones((~null).sum())]) @ weights - y[~null]) ** 2)
    assert row[4] == pytest.approx(mse, rel=1e-6)  # stored as float4
    log = mdb.execute("SELECT pass, loss FROM db4ai.gs_model_training_log ORDER BY pass").fetchall()
    assert log[0] == (0, None) and [r[1] for r in log[1:]] == losses


def test_max_iterations_and_seed_zero(mdb):
    synthetic(mdb, n=100)
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM points "
                                "WITH max_iterations = 2, tolerance = 1e-12, learning_rate = 0.01"))
    names, values, iterations = mdb.execute(
        "SELECT hyperparametersnames, hyperparametersvalues, iterations FROM db4ai.gs_model_warehouse").fetchone()
    seed = int(values[names.index("seed")])
    assert seed > 0 and iterations == 2
    from db4ai import warehouse
    assert warehouse.load(mdb, "m").data.hyperparameters["seed"] == seed


def test_verbose_reports_each_pass(mdb):
    synthetic(mdb, n=60)
    notices = []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary))
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1, x2 TARGET y FROM points "
                                "WITH verbose = true, max_iterations = 3, batch_size = 20, seed = 4, learning_rate = 0.1"))
    assert [n.split(":")[0] for n in notices] == ["ITERATION 1", "ITERATION 2", "ITERATION 3"]
    assert " delta_loss=- tolerance=0.001 accuracy=-1.000 tuples=60 coef=[" in notices[0]
    coefficients = mdb.execute("SELECT coefficients FROM db4ai.gs_model_warehouse").fetchone()[0]
    assert notices[-1].endswith("coef=[" + ", ".join("%.16g" % w for w in coefficients) + "]")


def test_diverging_training_warns_and_stores(mdb):
    houses(mdb)
    notices = []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary))
    with pytest.warns(TrainingWarning, match='model "m": Training warning: weights are out of range'):
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES tax, size TARGET price FROM houses"
                                    " WITH learning_rate = 10, seed = 1"))
    assert notices == ["Training warning: weights are out of range, try again with another hyperparameter configuration"]
    assert leftovers(mdb)[0] == 1
    explained = mdb.execute("SELECT db4ai.gs_explain_model('m')").fetchone()[0]
    assert explained.endswith("warning: training diverged (weights out of range); predictions are not meaningful\n")


def test_a_converging_training_gives_no_warning(mdb):
    import warnings
    synthetic(mdb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1, x2 TARGET y FROM points"
                                    " WITH optimizer = 'ngd', seed = 1"))
    assert "warning" not in mdb.execute("SELECT db4ai.gs_explain_model('m')").fetchone()[0]


def test_create_or_replace_keeps_the_old_model_until_the_new_one_is_stored(mdb):
    import dataclasses
    synthetic(mdb)
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM points WITH seed = 1"))
    old = mdb.execute("SELECT coefficients, predict_function FROM db4ai.gs_model_warehouse").fetchone()
    failing = dataclasses.replace(cm("CREATE MODEL m USING linear_regression FEATURES x1, nosuch TARGET y FROM points"),
                                  replace=True)
    with pytest.raises(psycopg.errors.UndefinedColumn):
        models.create_model(mdb, failing)
    assert mdb.execute("SELECT coefficients, predict_function FROM db4ai.gs_model_warehouse").fetchone() == old
    replacing = dataclasses.replace(cm("CREATE MODEL m USING linear_regression FEATURES x1, x2 TARGET y FROM points"
                                       " WITH seed = 1"), replace=True)
    models.create_model(mdb, replacing)
    coefficients, function = mdb.execute("SELECT coefficients, predict_function FROM db4ai.gs_model_warehouse").fetchone()
    assert len(coefficients) == 3 and function == "m_pred" and leftovers(mdb)[0] == 1
    assert mdb.execute("SELECT db4ai.m_pred(1, 1)").fetchone()[0] == pytest.approx(sum(coefficients))


def test_int_and_bool_and_numeric_inputs(mdb):
    mdb.execute("CREATE TABLE t AS SELECT i::int2 AS a, (i % 3 = 0) AS b, (i * 0.5)::numeric AS c, i::int8 AS d,"
                " (2 * i + 1)::float4 AS y FROM generate_series(1, 40) AS i")
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES a, b, c, d TARGET y FROM t "
                                "WITH seed = 1, max_iterations = 1"))
    assert mdb.execute("SELECT feature_oids::int[], outputtype, processedtuples FROM db4ai.gs_model_warehouse"
                       ).fetchone() == ([21, 16, 1700, 20], 700, 40)


# -- errors (openGauss texts) and what they leave behind ---------------------------------------------------

@pytest.mark.parametrize("text, error, message", [
    ("CREATE MODEL m USING linear_regression FEATURES * TARGET price FROM houses", InvalidParameter,
     "FEATURES clause cannot be *"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET * FROM houses", InvalidParameter,
     "TARGET clause cannot be *"),
    ("CREATE MODEL m USING linear_regression FROM houses", InvalidParameter,
     "Supervised ML algorithms require FEATURES clause"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot FROM houses", InvalidParameter,
     "Supervised ML algorithms require TARGET clause"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price, lot FROM houses", InvalidParameter,
     "Target clause only supports one expression"),
    ("CREATE MODEL m USING kmeans FEATURES size TARGET price FROM houses", InvalidParameter,
     "Unsupervised ML algorithms cannot have TARGET clause"),
    ("CREATE MODEL m USING xgboost FEATURES size TARGET price FROM houses", InvalidParameter,
     "Invalid ML algorithm 'xgboost'"),
    ("CREATE MODEL m USING xgboost_binary_logistic FEATURES size, id::varchar TARGET price FROM houses", FeatureError,
     "Oid type 1043 not yet supported"),
    ("CREATE MODEL m USING linear_regression FEATURES size, lot TARGET price FROM houses WITH batch_size = 0",
     InvalidParameter, "Hyperparameter batch_size must be in the range [1,1048575]"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM houses WITH optimizer = nogd",
     InvalidParameter, "Invalid hyperparameter value for optimizer. Valid values are: gd, ngd, normal_equations."),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM houses WITH verbose = ttrue",
     InvalidParameter, "Hyperparameter verbose is not a valid string for boolean (i.e. 'true' or 'false')"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM houses WITH max_iterations = 'a'",
     InvalidParameter, "Hyperparameter max_iterations must be an integer"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM houses WITH nosuch = 1",
     InvalidParameter, "Invalid hyperparameter nosuch"),
    ("CREATE MODEL m USING linear_regression FEATURES size, id::varchar TARGET price FROM houses", FeatureError,
     "Oid type 1043 not yet supported"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price::text FROM houses", FeatureError,
     "Oid type 25 not yet supported"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET to_jsonb(price) FROM houses", FeatureError,
     "Datatype of target not supported"),
    ("CREATE MODEL m USING linear_regression FEATURES ARRAY[size, lot]::float8[], tax TARGET price FROM houses",
     FeatureError, "Input array cannot be combined with other features"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM (SELECT * FROM houses WHERE false) AS e",
     DataError, "Input data is empty"),
    ("CREATE MODEL m USING linear_regression FEATURES size TARGET NULL::int FROM houses", DataError,
     "Input data is empty"),
])
def test_errors_leave_nothing_behind(mdb, text, error, message):
    houses(mdb)
    before = leftovers(mdb)
    with pytest.raises(error) as info:
        models.create_model(mdb, cm(text))
    assert str(info.value) == message
    assert leftovers(mdb) == before == (0, 0, 0)


def test_duplicate_model_name(mdb):
    houses(mdb)
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES size TARGET price FROM houses"
                                " WITH optimizer = 'ngd'"))
    before = leftovers(mdb)
    with pytest.raises(ObjectExists) as info:
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM houses"))
    assert str(info.value) == 'The model name "m" already exists in gs_model_warehouse.'
    assert leftovers(mdb) == before


def test_bad_column_is_postgresql_error_and_leaves_nothing(mdb):
    houses(mdb)
    with pytest.raises(psycopg.errors.UndefinedColumn):
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES nosuch TARGET price FROM houses"))
    assert leftovers(mdb) == (0, 0, 0)


def test_statement_timeout_leaves_nothing(mdb):
    houses(mdb)
    mdb.execute("SET statement_timeout = '50ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES size TARGET price "
                                    "FROM (SELECT size, price, pg_sleep(0.02) FROM houses) AS slow"))
    mdb.execute("RESET statement_timeout")
    assert leftovers(mdb) == (0, 0, 0)


def test_keyboard_interrupt_during_training_leaves_nothing(mdb):
    synthetic(mdb, n=100)

    def interrupt(record):
        if record.pass_no == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM points"),
                            on_pass=interrupt)
    assert leftovers(mdb) == (0, 0, 0)
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM points"))
    assert leftovers(mdb)[0] == 1  # the connection is still usable and the name still free


def test_lost_connection_during_training_leaves_nothing(mdb, db_dsn):
    synthetic(mdb, n=100)
    with psycopg.connect(db_dsn, autocommit=True) as victim:
        pid = victim.info.backend_pid

        def terminate(record):
            if record.pass_no == 2:
                mdb.execute("SELECT pg_terminate_backend(%s::int4)", (pid,))  # Citus adds an int8 overload

        with pytest.raises(psycopg.OperationalError):
            models.create_model(victim, cm("CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM points"),
                                on_pass=terminate)
    assert leftovers(mdb) == (0, 0, 0)


def test_non_superusers_create_models_and_only_owners_drop(mdb, make_role):
    houses(mdb)
    mdb.execute("GRANT SELECT ON houses TO PUBLIC")
    alice, bob = make_role("alice"), make_role("bob")
    with psycopg.connect(alice.dsn, autocommit=True) as a, psycopg.connect(bob.dsn, autocommit=True) as b:
        models.create_model(a, cm("CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM houses"
                                  " WITH optimizer = ngd"))
        expr = models.prediction_sql(b, "m", ["tax"])
        assert len(b.execute(f"SELECT {expr} FROM houses").fetchall()) == 15
        from db4ai.errors import PrivilegeError
        with pytest.raises(PrivilegeError, match="must be owner of model m"):
            models.drop_model(b, "m")
        models.drop_model(a, "m")
    assert leftovers(mdb) == (0, 0, 0)


# -- EXPLAIN CREATE MODEL -------------------------------------------------------------------------------

def test_explain_create_model_shows_the_input_plan_and_stores_nothing(mdb):
    houses(mdb)
    lines = models.explain_create_model(mdb, cm(
        "EXPLAIN CREATE MODEL m USING linear_regression FEATURES bedroom, bath TARGET price FROM houses"))
    assert lines[0] == "Train Model - linear_regression"
    assert lines[1].startswith("  ->  Seq Scan on houses  (cost=")
    verbose = models.explain_create_model(mdb, cm(
        "EXPLAIN VERBOSE CREATE MODEL m USING linear_regression FEATURES bedroom, bath AS b TARGET price FROM houses"))
    assert verbose[1].startswith("  ->  Seq Scan on public.houses")
    assert verbose[2].strip().startswith("Output: price, bedroom, bath")
    assert leftovers(mdb) == (0, 0, 0)
    with pytest.raises(InvalidParameter, match="FEATURES clause cannot be"):
        models.explain_create_model(mdb, cm("EXPLAIN CREATE MODEL m USING linear_regression FEATURES * TARGET price FROM houses"))


def test_snapshot_ids_are_recorded(mdb):
    if mdb.execute("SELECT to_regprocedure('db4ai.create_snapshot(name, name, text[], name, text)')").fetchone()[0] is None:
        pytest.skip("the snapshot module is not installed in this build")
    houses(mdb)
    mdb.execute("SELECT * FROM db4ai.create_snapshot(NULL, 'hs', ARRAY['SELECT * FROM houses'])")
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM hs@1.0.0"
                                " WITH optimizer = 'ngd'"))
    ids = mdb.execute("SELECT snapshot_ids FROM db4ai.gs_model_warehouse").fetchone()[0]
    assert ids == [mdb.execute("SELECT id FROM db4ai.snapshot WHERE name = 'hs@1.0.0'").fetchone()[0]]


def test_expressions_aliases_and_percent_signs(mdb):
    synthetic(mdb, n=50)
    models.create_model(mdb, cm("CREATE MODEL m USING linear_regression FEATURES id % 7 AS r, x1 * 2 TARGET y / 10 "
                                "FROM points AS p WITH max_iterations = 1"))
    assert mdb.execute("SELECT feature_names, outputtype, processedtuples FROM db4ai.gs_model_warehouse").fetchone() == (
        ["r", "x1 * 2"], 701, 50)


def test_purge_waits_for_a_training_that_reads_the_snapshot_then_refuses(mdb, db_dsn):
    """PURGE during a CREATE MODEL from its snapshot: it waits for the model, then the model pins it."""
    import threading
    from db4ai.errors import DependencyError
    from db4ai import snapshots  # noqa: F401 - the statement form is tested in the shim tests

    synthetic(mdb)
    mdb.execute("SELECT db4ai.create_snapshot('public', 'pts', '{\"SELECT * FROM points\"}')")
    training, release = threading.Event(), threading.Event()

    def on_pass(record):
        training.set()
        assert release.wait(30)

    outcome: dict = {}

    def purge():
        with psycopg.connect(db_dsn, autocommit=True) as other:
            try:
                other.execute("SELECT db4ai.purge_snapshot('public', 'pts@1.0.0')")
                outcome["purge"] = "purged"
            except psycopg.Error as exc:
                outcome["purge"] = exc

    trainer = threading.Thread(target=lambda: models.create_model(
        mdb, cm('CREATE MODEL m USING linear_regression FEATURES x1 TARGET y FROM "pts@1.0.0" WITH seed = 1,'
                ' max_iterations = 2'), on_pass=on_pass))
    trainer.start()
    assert training.wait(30)
    purger = threading.Thread(target=purge)
    purger.start()
    purger.join(1.0)
    assert purger.is_alive(), "PURGE must wait while the training reads the snapshot"
    release.set()
    trainer.join(30)
    purger.join(30)
    assert isinstance(outcome["purge"], psycopg.errors.DependentObjectsStillExist)
    assert 'model "m" was trained on it' in str(outcome["purge"])
    assert mdb.execute("SELECT count(*) FROM db4ai.snapshot WHERE name = 'pts@1.0.0'").fetchone() == (1,)
    assert mdb.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone() == (0,)
    del DependencyError
