"""PREDICT BY through the shim (db4ai.connect) in SELECT, WHERE and UPDATE SET, and DROP MODEL."""

from __future__ import annotations

import math

import psycopg
import pytest

import db4ai
from db4ai.errors import FeatureError, ObjectNotFound

from tests.models.conftest import synthetic

FEATURES = "x1, x2, x3, flag"


def expected(conn, model, int_target):
    """Predictions computed in Python from the stored weights, summed left to right like the SQL."""
    w = conn.execute("SELECT coefficients FROM db4ai.gs_model_warehouse WHERE modelname = %s", (model,)).fetchone()[0]
    out = {}
    for i, x1, x2, x3, flag in conn.execute("SELECT id, x1, x2, x3, flag FROM points").fetchall():
        if x2 is None:
            out[i] = None
            continue
        total = x1 * w[0] + x2 * w[1] + x3 * w[2] + int(flag) * w[3] + w[4]
        out[i] = int(math.trunc(total)) if int_target else total
    return out


@pytest.fixture
def shim(mdb, db_dsn):
    synthetic(mdb, n=300, nulls=True)
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        for name, target in (("mf", "y"), ("mi", "yi")):
            cur = conn.execute(f"CREATE MODEL {name} USING linear_regression FEATURES {FEATURES} TARGET {target} "
                               "FROM points WITH learning_rate = 0.05, batch_size = 50, max_iterations = 30, seed = 3")
            assert cur.statusmessage == "MODEL CREATED. PROCESSED 1"
        yield conn


def test_predict_in_select_list(shim):
    cur = shim.execute(f"SELECT id, PREDICT BY mi (FEATURES {FEATURES}), PREDICT BY mf (FEATURES {FEATURES}) AS f "
                       "FROM points ORDER BY id")
    assert [d.name for d in cur.description] == ["id", "mi_pred", "f"]
    rows = cur.fetchall()
    want_i, want_f = expected(shim, "mi", True), expected(shim, "mf", False)
    assert {r[0]: r[1] for r in rows} == want_i
    assert {r[0]: r[2] for r in rows} == want_f
    assert any(v is None for v in want_i.values())  # NULL features predict NULL
    assert cur.description[1].type_code == 23 and cur.description[2].type_code == 701


def test_predict_in_where_and_subquery(shim):
    want = expected(shim, "mf", False)
    n = shim.execute(f"SELECT count(*) FROM points WHERE PREDICT BY mf (FEATURES {FEATURES}) > 5").fetchone()[0]
    assert n == sum(1 for v in want.values() if v is not None and v > 5)
    ids = shim.execute(f"SELECT id FROM (SELECT id FROM points WHERE PREDICT BY mf (FEATURES {FEATURES}) < 0) AS s "
                       "ORDER BY id").fetchall()
    assert [r[0] for r in ids] == sorted(i for i, v in want.items() if v is not None and v < 0)


def test_predict_in_update_set(shim):
    shim.execute("ALTER TABLE points ADD COLUMN pred int4")
    cur = shim.execute(f"UPDATE points SET pred = PREDICT BY mi (FEATURES {FEATURES})")
    assert cur.rowcount == 300
    got = dict(shim.execute("SELECT id, pred FROM points").fetchall())
    assert got == expected(shim, "mi", True)


def test_predict_errors(shim):
    with pytest.raises(FeatureError, match="Invalid number of features for prediction, provided 2, expected 4"):
        shim.execute("SELECT PREDICT BY mf (FEATURES x1, x2) FROM points")
    shim.execute("DROP MODEL mf")
    with pytest.raises(ObjectNotFound, match="No model found with name mf"):
        shim.execute(f"SELECT PREDICT BY mf (FEATURES {FEATURES}) FROM points")


def test_drop_model_statement(shim):
    assert shim.execute("DROP MODEL mi").statusmessage == "DROP MODEL"
    notices = []
    shim.add_notice_handler(lambda d: notices.append(d.message_primary))
    shim.execute("DROP MODEL IF EXISTS mi")
    assert notices == ['model "mi" does not exist, skipping']
    with pytest.raises(ObjectNotFound, match='model "mi" does not exist'):
        shim.execute("DROP MODEL mi")


def test_sql_function_path_matches_the_shim(shim):
    fn = shim.execute("SELECT predict_function FROM db4ai.gs_model_warehouse WHERE modelname = 'mi'").fetchone()[0]
    rows = shim.execute(f'SELECT id, db4ai."{fn}"({FEATURES}), PREDICT BY mi (FEATURES {FEATURES}) FROM points'
                        ).fetchall()
    assert all(r[1] == r[2] for r in rows)


def test_plain_psycopg_drop_function(shim, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as plain:
        plain.execute("SELECT db4ai.drop_model('mi')")
        assert plain.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 1
