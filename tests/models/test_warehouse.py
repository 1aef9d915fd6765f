"""The warehouse (storage format, SQL prediction, gs_explain_model, DROP MODEL, ownership) with
hand-made models, independent of training."""

from __future__ import annotations

import math

import numpy as np
import psycopg
import pytest

from db4ai import warehouse
from db4ai.algorithms.base import Signature
from db4ai.algorithms.linear_regression import LinearModel
from db4ai.errors import DataError, FeatureError, InvalidParameter, ObjectExists, ObjectNotFound, PrivilegeError


HP_NAMES = ["batch_size", "decay", "learning_rate", "max_iterations", "max_seconds", "optimizer", "tolerance",
            "seed", "verbose"]
HP_VALUES = ["1000", "0.95", "0.8", "100", "0", "gd", "0.0005", "42", "false"]
HP_OIDS = [23, 701, 701, 23, 23, 1043, 701, 23, 16]


def record(name="m", weights=(1.5, -2.0, 0.25), oids=(701, 701), output=701, names=None, log=()):
    model = LinearModel(np.array(weights, dtype=float))
    array = tuple(oids) in ((1022,), (1021,))
    data = warehouse.ModelData(
        algorithm="linear_regression", arrays=model.arrays(),
        feature_names=tuple(names or [f"x{i}" for i in range(1, len(oids) + 1)]), feature_oids=tuple(oids),
        output_oid=output, hyperparameters={"seed": 42})
    return warehouse.ModelRecord(
        name=name, algorithm="linear_regression", query=f"CREATE MODEL {name} USING linear_regression\nFEATURES x1, x2 TARGET y FROM t",
        data=data, processed=15, discarded=2, preprocess_time=0.25, exec_time=0.001443, iterations=7,
        hyperparameter_names=HP_NAMES, hyperparameter_values=HP_VALUES, hyperparameter_oids=HP_OIDS,
        score_names=["mse"], score_values=[0.125], log=log, coefficients=model.coefficients(),
        prediction=model.prediction(Signature(len(weights) - 1, array, output)))


def count(conn, table="db4ai.gs_model_warehouse"):
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def functions(conn):
    return [r[0] for r in conn.execute(
        "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'db4ai'::regnamespace AND p.proname LIKE '%%_pred'"
        " ORDER BY 1").fetchall()]


# -- model data format ---------------------------------------------------------------------------------

def test_model_format_round_trip():
    data = record(weights=(1.5, -2.0, math.pi)).data
    data = warehouse.ModelData(**{**data.__dict__, "arrays": {**data.arrays, "ids": np.arange(6, dtype=np.int32).reshape(2, 3),
                                                               "mask": np.array([True, False])},
                                  "settings": {"kernel": "gaussian", "categories": ["a", "b"]}})
    blob = warehouse.encode(data)
    assert blob[:8] == b"DB4AIMDL" and blob[8] == 2
    back = warehouse.decode(blob)
    assert back.weights.tolist() == [1.5, -2.0, math.pi]
    assert back.arrays["ids"].tolist() == [[0, 1, 2], [3, 4, 5]] and back.arrays["ids"].dtype == np.int32
    assert back.arrays["mask"].tolist() == [True, False]
    assert back.settings == {"kernel": "gaussian", "categories": ["a", "b"]}
    assert (back.algorithm, back.feature_names, back.feature_oids, back.output_oid) == (
        "linear_regression", ("x1", "x2"), (701, 701), 701)


def test_format_version_1_is_still_read():
    """Models stored by db4ai 0.1 (one float8 weights array) load unchanged."""
    import json
    import struct
    header = json.dumps({"format": 1, "algorithm": "linear_regression", "n_weights": 3, "weights_dtype": "<f8",
                         "feature_names": ["x1", "x2"], "feature_oids": [701, 701], "output_oid": 701,
                         "hyperparameters": {"seed": 42}}).encode()
    blob = struct.pack("<8sBI", b"DB4AIMDL", 1, len(header)) + header + np.array([1.5, -2.0, 0.25], "<f8").tobytes()
    back = warehouse.decode(blob)
    assert back.weights.tolist() == [1.5, -2.0, 0.25] and back.settings == {} and back.hyperparameters == {"seed": 42}


def test_model_arrays_of_other_dtypes_are_refused():
    data = warehouse.ModelData("linear_regression", (), (), 701, arrays={"o": np.array(["x"], dtype=object)})
    with pytest.raises(DataError, match="cannot hold"):
        warehouse.encode(data)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:5], "too short"),
    (lambda b: b"PICKLE!!" + b[8:], "not a db4ai model"),
    (lambda b: b[:8] + bytes([3]) + b[9:], "format version 3"),
    (lambda b: b[:-8], "size"),
    (lambda b: b + b"\0", "size"),
    (lambda b: b[:13] + b"{" * 5 + b[18:], "corrupted"),
    (lambda b: b.replace(b'"<f8"', b'"|O8"'), "corrupted"),
])
def test_corrupted_model_data_is_rejected(mutate, message):
    blob = warehouse.encode(record().data)
    with pytest.raises(DataError, match=message):
        warehouse.decode(mutate(blob))


# -- storing ----------------------------------------------------------------------------------------------

def test_store_and_load(mdb):
    log = [warehouse.PassRow(0, None, None, 0.8, 0.01), warehouse.PassRow(1, 12.5, None, 0.76, 0.02),
           warehouse.PassRow(2, 12.25, 0.25, 0.722, 0.03)]
    warehouse.store(mdb, record(log=log))
    row = mdb.execute("""
        SELECT modelowner = (SELECT oid FROM pg_roles WHERE rolname = current_user), createtime IS NOT NULL,
               processedtuples, discardedtuples, iterations, outputtype, modeltype, hyperparametersnames,
               hyperparametersvalues, hyperparametersoids::int[], trainingscoresname, trainingscoresvalue,
               coefficients, feature_names, feature_oids::int[], predict_function, weight, query
        FROM db4ai.gs_model_warehouse""").fetchone()
    assert row[:7] == (True, True, 15, 2, 7, 701, "linear_regression")
    assert row[7:10] == (HP_NAMES, HP_VALUES, HP_OIDS)
    assert row[10:15] == (["mse"], [0.125], [1.5, -2.0, 0.25], ["x1", "x2"], [701, 701])
    assert row[15] == "m_pred" and row[16] is None and "\n" in row[17]
    assert mdb.execute("SELECT pass, loss, delta_loss FROM db4ai.gs_model_training_log ORDER BY pass").fetchall() == [
        (0, None, None), (1, 12.5, None), (2, 12.25, 0.25)]
    loaded = warehouse.load(mdb, "m")
    assert loaded.data.weights.tolist() == [1.5, -2.0, 0.25] and loaded.predict_function == "m_pred"


def test_duplicate_name_is_rejected_and_changes_nothing(mdb):
    warehouse.store(mdb, record())
    before = (count(mdb), count(mdb, "db4ai.gs_model_training_log"), functions(mdb))
    with pytest.raises(ObjectExists) as info:
        warehouse.store(mdb, record(weights=(9.0, 9.0, 9.0), log=[warehouse.PassRow(0, None, None, 0.8, 0.0)]))
    assert str(info.value) == 'The model name "m" already exists in gs_model_warehouse.'
    assert (count(mdb), count(mdb, "db4ai.gs_model_training_log"), functions(mdb)) == before
    assert warehouse.load(mdb, "m").data.weights.tolist() == [1.5, -2.0, 0.25]


# -- gs_explain_model ---------------------------------------------------------------------------------

def test_explain_layout(mdb):
    warehouse.store(mdb, record())
    text = mdb.execute("SELECT db4ai.gs_explain_model('m')").fetchone()[0]
    assert text == (
        "Name: m\n"
        "Algorithm: linear_regression\n"
        "Query: CREATE MODEL m USING linear_regression\nFEATURES x1, x2 TARGET y FROM t\n"
        "Return type: Float64\n"
        "Pre-processing time: 0.250000\n"
        "Execution time: 0.001443\n"
        "Processed tuples: 15\n"
        "Discarded tuples: 2\n"
        "batch_size: 1000\n"
        "decay: 0.9500000000\n"
        "learning_rate: 0.8000000000\n"
        "max_iterations: 100\n"
        "max_seconds: 0\n"
        "optimizer: gd\n"
        "tolerance: 0.0005000000\n"
        "seed: 42\n"
        "verbose: false\n"
        "mse: 0.1250000000\n"
        "weights: {1.5,-2,0.25}\n")


@pytest.mark.parametrize("output, label", [(16, "Boolean"), (21, "Int32"), (23, "Int32"), (20, "Int64"),
                                           (700, "Float32"), (701, "Float64"), (1700, "Numeric")])
def test_explain_return_types(mdb, output, label):
    warehouse.store(mdb, record(output=output))
    text = mdb.execute("SELECT db4ai.gs_explain_model('m')").fetchone()[0]
    assert text.splitlines()[4] == f"Return type: {label}"


def test_explain_unknown_output_type(mdb):
    warehouse.store(mdb, record(output=1042))  # bpchar: openGauss cannot explain it either
    with pytest.raises(psycopg.errors.FeatureNotSupported, match=r'invalid return type \(1042\) for model of name "m"'):
        mdb.execute("SELECT db4ai.gs_explain_model('m')")


def test_explain_missing_model_warns_then_fails(mdb):
    notices = []
    mdb.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.message_primary)))
    with pytest.raises(psycopg.errors.UndefinedObject) as info:
        mdb.execute("SELECT db4ai.gs_explain_model('nosuch')")
    assert info.value.diag.message_primary == "empty model obtained for EXPLAIN MODEL"
    assert notices == [("WARNING", 'There is no model called "nosuch".')]


def test_mixed_case_names_are_not_folded(mdb):
    warehouse.store(mdb, record(name="MixedCase"))
    assert mdb.execute("SELECT db4ai.gs_explain_model('MixedCase')").fetchone()[0].startswith("Name: MixedCase\n")
    with pytest.raises(psycopg.errors.UndefinedObject):
        mdb.execute("SELECT db4ai.gs_explain_model('mixedcase')")
    assert mdb.execute('SELECT db4ai."MixedCase_pred"(1, 2)').fetchone()[0] == 1.5 - 4 + 0.25
    warehouse.drop(mdb, "MixedCase")
    assert count(mdb) == 0 and functions(mdb) == []


# -- prediction ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("output, expected", [
    (701, [-1.6, 4.125, None]), (700, [-1.6, 4.125, None]), (1700, [-1.6, 4.125, None]),
    (23, [-1, 4, None]), (21, [-1, 4, None]), (20, [-1, 4, None]), (16, [True, True, None]),
])
def test_predictions_convert_to_the_target_type(mdb, output, expected):
    warehouse.store(mdb, record(output=output))
    mdb.execute("CREATE TABLE t (x1 float8, x2 int4)")
    mdb.execute("INSERT INTO t VALUES (0.1, 1), (1.25, -1), (NULL, 3)")
    shim = warehouse.prediction_sql(mdb, "m", ["x1", "x2 "])
    rows = mdb.execute(f"SELECT {shim}, db4ai.m_pred(x1, x2) FROM t ORDER BY x1 NULLS LAST").fetchall()
    got = [r[0] for r in rows]
    assert got[2] is None and expected[2] is None
    assert [float(v) if type(v).__name__ == "Decimal" else v for v in got[:2]] == pytest.approx(expected[:2], rel=1e-7)
    assert [r[1] for r in rows] == got  # the SQL function and the shim expression agree
    types = mdb.execute(f"SELECT pg_typeof({shim})::text, pg_typeof(db4ai.m_pred(x1, x2))::text FROM t LIMIT 1").fetchone()
    assert types[0] == types[1] == {701: "double precision", 700: "real", 1700: "numeric", 23: "integer",
                                    21: "integer", 20: "bigint", 16: "boolean"}[output]


def test_zero_prediction_is_false_for_bool_targets(mdb):
    warehouse.store(mdb, record(weights=(1.0, 1.0, 0.0), output=16))
    assert mdb.execute("SELECT db4ai.m_pred(1, -1), db4ai.m_pred(0.5, 0)").fetchone() == (False, True)


def test_prediction_truncates_toward_zero(mdb):
    warehouse.store(mdb, record(weights=(1.0, 0.0, 0.0), output=23))
    got = mdb.execute("SELECT db4ai.m_pred(x, 0) FROM unnest(ARRAY[1234.9, -1234.9, 0.99, -0.99]) AS x").fetchall()
    assert [r[0] for r in got] == [1234, -1234, 0, 0]


def test_bool_features_count_as_zero_and_one(mdb):
    warehouse.store(mdb, record(weights=(2.0, 10.0, 1.0), oids=(701, 16)))
    assert mdb.execute("SELECT db4ai.m_pred(1.5, true), db4ai.m_pred(1.5, false)").fetchone() == (14.0, 4.0)
    shim = warehouse.prediction_sql(mdb, "m", ["1.5", "true"])
    assert mdb.execute(f"SELECT {shim}").fetchone()[0] == 14.0


def test_weights_survive_the_sql_text_exactly(mdb):
    weights = (0.1, 1 / 3, -2.718281828459045e-7, 1e300)
    warehouse.store(mdb, record(weights=weights, oids=(701, 701, 701)))
    shim = warehouse.prediction_sql(mdb, "m", ["1", "0", "0"])
    assert mdb.execute(f"SELECT {shim} = 0.1::float8 + 1e300::float8, db4ai.m_pred(0, 1, 0)").fetchone() == (
        True, 1 / 3 + 1e300)


def test_inlined_function_plan(mdb):
    warehouse.store(mdb, record())
    mdb.execute("CREATE TABLE t (x1 float8, x2 float8)")
    plan = "\n".join(r[0] for r in mdb.execute("EXPLAIN VERBOSE SELECT db4ai.m_pred(x1, x2) FROM t").fetchall())
    assert "m_pred" not in plan and "x1" in plan  # PostgreSQL inlined the body


def test_prediction_errors(mdb):
    warehouse.store(mdb, record())
    with pytest.raises(FeatureError) as info:
        warehouse.prediction_sql(mdb, "m", ["1"])
    assert str(info.value) == "Invalid number of features for prediction, provided 1, expected 2"
    with pytest.raises(ObjectNotFound) as info:
        warehouse.prediction_sql(mdb, "nosuch", ["1", "2"])
    assert str(info.value) == "No model found with name nosuch"
    with pytest.raises(psycopg.errors.UndefinedObject, match="No model found with name nosuch"):
        mdb.execute("SELECT db4ai.predict_by_float8('nosuch', 1, 2)")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="provided 3, expected 2"):
        mdb.execute("SELECT db4ai.predict_by_float8('m', 1, 2, 3)")
    assert mdb.execute("SELECT db4ai.predict_by_float8('m', 1, 2)").fetchone()[0] == 1.5 - 4 + 0.25


def test_prediction_needs_features_and_a_predictable_type(mdb):
    from db4ai import models
    warehouse.store(mdb, record(output=1042))
    with pytest.raises(FeatureError) as info:
        models.prediction_sql(mdb, "m", [])
    assert str(info.value) == "Innput features for the model not specified"  # sic, openGauss's text
    with pytest.raises(FeatureError) as info:
        models.prediction_sql(mdb, "m", ["1", "2"])
    assert str(info.value) == "Cannot trigger prediction for model with oid 1042"
    assert warehouse.load(mdb, "m").predict_function is None and functions(mdb) == []


def test_array_feature_models(mdb):
    warehouse.store(mdb, record(weights=(1.0, 2.0, 3.0, 0.5), oids=(1022,)))
    assert mdb.execute("SELECT db4ai.m_pred(ARRAY[1, 1, 1]::float8[])").fetchone()[0] == 6.5
    shim = warehouse.prediction_sql(mdb, "m", ["ARRAY[1, 2, 3]::float4[]"])
    assert mdb.execute(f"SELECT {shim}, db4ai.m_pred(NULL)").fetchone() == (14.5, None)
    with pytest.raises(FeatureError, match="provided 2, expected 1"):
        warehouse.prediction_sql(mdb, "m", ["a", "b"])
    for bad in ("ARRAY[1, 2]::float8[]", "ARRAY[[1, 2, 3]]::float8[]", "'[0:2]={1,2,3}'::float8[]"):
        with pytest.raises(psycopg.errors.InvalidParameterValue,
                           match="Input array must be 1-dimensional of 3 elements, must not contain nulls"):
            mdb.execute(f"SELECT db4ai.m_pred({bad})")


def test_long_model_names_get_distinct_functions(mdb):
    a, b = "a" * 60 + "x", "a" * 60 + "y"
    warehouse.store(mdb, record(name=a))
    warehouse.store(mdb, record(name=b, weights=(0.0, 0.0, 7.0)))
    fa, fb = (warehouse.load(mdb, n).predict_function for n in (a, b))
    assert fa != fb and len(fa.encode()) <= 63 and fa.endswith("_pred")
    assert mdb.execute(f'SELECT db4ai."{fb}"(1, 1)').fetchone()[0] == 7.0


# -- DROP MODEL and ownership --------------------------------------------------------------------------

def test_drop_removes_row_function_and_log(mdb):
    warehouse.store(mdb, record(log=[warehouse.PassRow(0, None, None, 0.8, 0.0)]))
    warehouse.drop(mdb, "m")
    assert (count(mdb), count(mdb, "db4ai.gs_model_training_log"), functions(mdb)) == (0, 0, [])


def test_drop_missing_model(mdb):
    with pytest.raises(ObjectNotFound) as info:
        warehouse.drop(mdb, "nosuch")
    assert str(info.value) == 'model "nosuch" does not exist'
    notices = []
    mdb.add_notice_handler(lambda d: notices.append(d.message_primary))
    warehouse.drop(mdb, "nosuch", if_exists=True)
    assert notices == ['model "nosuch" does not exist, skipping']


def test_ownership_with_two_roles(mdb, make_role):
    alice, bob, carol = make_role("alice"), make_role("bob"), make_role("carol")
    mdb.execute(f'GRANT "{alice.name}" TO "{carol.name}"')
    with psycopg.connect(alice.dsn, autocommit=True) as a, psycopg.connect(bob.dsn, autocommit=True) as b, \
            psycopg.connect(carol.dsn, autocommit=True) as c:
        warehouse.store(a, record())  # non-superusers can store models (row level security checks the owner)
        warehouse.store(a, record(name="m2"))
        warehouse.store(a, record(name="m3"))
        owner = mdb.execute("SELECT modelowner::regrole::text FROM db4ai.gs_model_warehouse WHERE modelname = 'm'")
        assert owner.fetchone()[0] == alice.name
        # everyone may read, explain and predict
        assert b.execute("SELECT db4ai.gs_explain_model('m')").fetchone()[0].startswith("Name: m\n")
        assert b.execute("SELECT db4ai.m_pred(1, 1)").fetchone()[0] == -0.25
        assert b.execute(f"SELECT {warehouse.prediction_sql(b, 'm', ['1', '1'])}").fetchone()[0] == -0.25
        # only the owner (or a member of the owning role) may drop
        with pytest.raises(PrivilegeError) as info:
            warehouse.drop(b, "m")
        assert str(info.value) == "must be owner of model m" and info.value.sqlstate == "42501"
        assert b.execute("DELETE FROM db4ai.gs_model_warehouse").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("UPDATE db4ai.gs_model_warehouse SET coefficients = '{0,0,0}'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no storing models in someone else's name
            b.execute(f"INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner) VALUES ('x', '{alice.name}'::regrole)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("CREATE FUNCTION db4ai.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("INSERT INTO db4ai.gs_model_training_log VALUES ('m', 99, 0, 0, 0, 0)")
        assert count(mdb) == 3
        warehouse.drop(mdb, "m3")  # superusers may drop any model
        warehouse.drop(c, "m2")  # carol is a member of alice's role
        warehouse.drop(a, "m")
        assert count(mdb) == 0 and functions(mdb) == []


def test_install_is_idempotent_and_keeps_models(mdb):
    warehouse.store(mdb, record())
    mdb.execute("DROP TABLE db4ai.gs_model_training_log")  # pretend an older install without the log table
    from db4ai.install import expand_script, sql_dir
    script = expand_script(sql_dir() / "model" / "_all.sql")
    with mdb.transaction():
        mdb.execute(script.encode())
    with mdb.transaction():
        mdb.execute(script.encode())
    assert count(mdb) == 1 and count(mdb, "db4ai.gs_model_training_log") == 0
    assert mdb.execute("SELECT db4ai.m_pred(1, 1)").fetchone()[0] == -0.25


def test_names_longer_than_63_bytes_are_refused_not_truncated(mdb):
    """Truncation made DROP MODEL "mmm…Y" drop "mmm…X": every entry point refuses such names."""
    warehouse.store(mdb, record(name="m" * 63))
    for call in (lambda: warehouse.store(mdb, record(name="m" * 64)), lambda: warehouse.drop(mdb, "m" * 64),
                 lambda: warehouse.load(mdb, "m" * 64), lambda: warehouse.exists(mdb, "m" * 70)):
        with pytest.raises(InvalidParameter, match="model name too long"):
            call()
    for sql_call in ("SELECT db4ai.drop_model(%s)", "SELECT db4ai.gs_explain_model(%s)",
                     "SELECT db4ai.predict_model_sql(%s, '{1,2}')"):
        with pytest.raises(psycopg.errors.NameTooLong, match="model name too long"):
            mdb.execute(sql_call, ("m" * 64,))
    assert count(mdb) == 1
    warehouse.drop(mdb, "m" * 63)
    assert count(mdb) == 0


def test_a_model_whose_function_name_is_taken_is_refused_and_drop_stays_exact(mdb):
    """A long name's hashed function name could be taken by another model's "<name>_pred": refuse it."""
    long = "a" * 60 + "x"
    warehouse.store(mdb, record(name=long))
    taken = warehouse.load(mdb, long).predict_function
    squatter = taken[: -len("_pred")]
    with pytest.raises(ObjectExists, match="prediction function"):
        warehouse.store(mdb, record(name=squatter, oids=(701,), weights=(1.0, 0.0)))
    assert count(mdb) == 1 and functions(mdb) == [taken]
    warehouse.drop(mdb, long)
    assert count(mdb) == 0 and functions(mdb) == []


def test_model_names_with_control_characters_are_refused(mdb):
    with pytest.raises(InvalidParameter, match="invalid model name"):
        warehouse.store(mdb, record(name="a\x01b"))
    with pytest.raises(psycopg.errors.InvalidName):
        mdb.execute("SELECT db4ai.drop_model(%s)", ("a\x02b",))


def test_hand_written_rows_must_have_a_model_shape(mdb, make_role):
    """Any role may insert its own rows; a forged row without weights or bytes is refused."""
    import psycopg

    mallory = make_role("mallory")
    with psycopg.connect(mallory.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner, modeltype, outputtype)"
                " VALUES ('forged', (SELECT oid FROM pg_roles WHERE rolname = current_user), 'linear_regression', 701)"
            )
    assert mdb.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'forged%'").fetchone() == (0,)


def test_a_model_row_may_only_name_snapshots_its_owner_can_read(mdb, make_role):
    """Otherwise any role could block the PURGE of a snapshot it cannot even read."""
    import psycopg

    alice, bob = make_role("alice"), make_role("bob")
    with psycopg.connect(alice.dsn, autocommit=True) as a:
        a.execute("CREATE TABLE pts AS SELECT g AS x, 2.0 * g AS y FROM generate_series(1, 10) g")
        a.execute("SELECT db4ai.create_snapshot('public', 'pts', '{\"SELECT * FROM pts\"}')")
        sid = a.execute("SELECT id FROM db4ai.snapshot WHERE name = 'pts@1.0.0'").fetchone()[0]
    with psycopg.connect(bob.dsn, autocommit=True) as b:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            b.execute(
                "INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner, modeldata, coefficients, snapshot_ids)"
                " VALUES ('blocker', (SELECT oid FROM pg_roles WHERE rolname = current_user), '\\x00', '{1}', %s)",
                [[sid]],
            )
    with psycopg.connect(alice.dsn, autocommit=True) as a:
        assert a.execute("SELECT (db4ai.purge_snapshot('public', 'pts@1.0.0')).name").fetchone()[0] == "pts@1.0.0"


def test_generated_functions_take_the_feature_names_as_arguments(mdb):
    warehouse.store(mdb, record(names=["tax", "size"]))
    assert mdb.execute("SELECT db4ai.m_pred(size => 1, tax => 2)").fetchone()[0] == 1.5 * 2 - 2.0 + 0.25
    args = mdb.execute("SELECT pg_get_function_arguments('db4ai.m_pred'::regproc)").fetchone()[0]
    assert args == "tax double precision, size double precision"
    warehouse.drop(mdb, "m")
    warehouse.store(mdb, record(names=["same", "same"]))  # names that cannot be arguments: x1, x2
    args = mdb.execute("SELECT pg_get_function_arguments('db4ai.m_pred'::regproc)").fetchone()[0]
    assert args == "x1 double precision, x2 double precision"


def test_predict_by_through_the_shim_calls_the_inlined_function(mdb):
    warehouse.store(mdb, record())
    mdb.execute("CREATE TABLE t (x1 float8, x2 int4)")
    call = warehouse.predict_call_sql(mdb, "m", ["x1", "x2"])
    assert call == "db4ai.m_pred(CAST((x1) AS float8), CAST((x2) AS float8))"
    plan = "\n".join(r[0] for r in mdb.execute(f"EXPLAIN VERBOSE SELECT {call} FROM t").fetchall())
    assert "m_pred" not in plan


def test_install_over_a_0_1_database_gives_old_models_their_prediction(mdb):
    """Models stored by db4ai 0.1 have no prediction tree and an unnamed-argument function."""
    warehouse.store(mdb, record())
    mdb.execute("DROP FUNCTION db4ai.m_pred(float8, float8)")
    mdb.execute("CREATE FUNCTION db4ai.m_pred(float8, float8) RETURNS float8 LANGUAGE sql IMMUTABLE"
                " AS 'SELECT $1 * 1.5 + $2 * -2 + 0.25'")
    mdb.execute("UPDATE db4ai.gs_model_warehouse SET prediction = NULL, details = NULL")
    from db4ai.install import install
    install(mdb)
    assert mdb.execute("SELECT prediction IS NOT NULL FROM db4ai.gs_model_warehouse").fetchone() == (True,)
    assert mdb.execute("SELECT db4ai.m_pred(x1 => 1, x2 => 1)").fetchone()[0] == -0.25
    assert mdb.execute(f"SELECT {warehouse.prediction_sql(mdb, 'm', ['1', '1'])}").fetchone()[0] == -0.25


@pytest.mark.parametrize("node", [
    {"f": "pg_sleep", "a": [1]},
    {"call": "drop_model", "a": [1]},
    {"cast": "regclass", "a": 1},
    {"x": 3},
    {"x": "1); DROP TABLE t; --"},
    {"out": 1},
    {"nosuch": 1},
    {"+": 1},
    "1; SELECT 1",
])
def test_the_printer_refuses_anything_but_its_nodes(mdb, make_role, node):
    """Any role may insert model rows; the SECURITY DEFINER trigger prints only whitelisted nodes."""
    import json
    mallory = make_role("mallory")
    with psycopg.connect(mallory.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DataCorrupted, match="corrupted model: invalid prediction node"):
            conn.execute(
                "INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner, modeltype, outputtype, modeldata,"
                " feature_oids, prediction) VALUES ('forged', (SELECT oid FROM pg_roles WHERE rolname = current_user),"
                " 'linear_regression', 701, '\\x00', '{701,701}', %s::jsonb)",
                [json.dumps({"returns": "float8", "expr": {"+": [node, 1.0]}})])
    assert mdb.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'forged%'").fetchone() == (0,)
