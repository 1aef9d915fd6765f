"""db4ai.connect(): a psycopg connection that also runs DB4AI statements (DESIGN §1 Python)."""

from __future__ import annotations

import psycopg
import pytest

import db4ai

HOUSES = """
    CREATE TABLE houses (id int, tax int, bedroom int, bath float8, price int, size int, lot int);
    INSERT INTO houses VALUES
    (1,590,2,1,50000,770,22100),(2,1050,3,2,85000,1410,12000),(3,20,3,1,22500,1060,3500),
    (4,870,2,2,90000,1300,17500),(5,1320,3,2,133000,1500,30000),(6,1350,2,1,90500,820,25700),
    (7,2790,3,2.5,260000,2130,25000),(8,680,2,1,142500,1170,22000),(9,1840,3,2,160000,1500,19000),
    (10,3680,4,2,240000,2790,20000),(11,1660,3,1,87000,1030,17500),(12,1620,3,2,118600,1250,20000),
    (13,3100,3,2,140000,1760,38000),(14,2070,2,3,148000,1550,14000),(15,650,3,1.5,65000,1450,12000)
"""

CREATE = """CREATE MODEL price_model USING linear_regression
    FEATURES tax, bath, size TARGET price FROM houses
    WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 50, seed = 1"""


@pytest.fixture
def conn(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as c:
        c.execute(HOUSES)
        yield c


def test_connection_is_a_psycopg_connection(conn):
    assert isinstance(conn, psycopg.Connection)
    cur = conn.execute("select %s::int + 1 as n", [41])
    assert cur.fetchone() == (42,)
    assert cur.description[0].name == "n"


def test_create_model_status_and_no_result_set(conn):
    cur = conn.execute(CREATE)
    assert cur.statusmessage == "MODEL CREATED. PROCESSED 1"
    assert cur.description is None
    assert conn.execute("select count(*) from gs_model_warehouse where modelname = 'price_model'").fetchone() == (1,)


def test_predict_by_in_select_where_and_update(conn):
    conn.execute(CREATE)
    cur = conn.execute("SELECT id, PREDICT BY price_model (FEATURES tax, bath, size) FROM houses ORDER BY id")
    assert [c.name for c in cur.description] == ["id", "price_model_pred"]
    rows = cur.fetchall()
    assert len(rows) == 15 and all(isinstance(p, int) for _, p in rows)  # int target -> int predictions
    # the same prediction in WHERE and UPDATE SET agrees with the SELECT
    predicted = dict(rows)
    above = conn.execute(
        "SELECT id FROM houses WHERE PREDICT BY price_model (FEATURES tax, bath, size) > %s ORDER BY id", [100000]
    ).fetchall()
    assert [r[0] for r in above] == sorted(i for i, p in predicted.items() if p > 100000)
    conn.execute("ALTER TABLE houses ADD COLUMN guess int")
    cur = conn.execute("UPDATE houses SET guess = PREDICT BY price_model (FEATURES tax, bath, size)")
    assert cur.statusmessage == "UPDATE 15"
    assert dict(conn.execute("SELECT id, guess FROM houses").fetchall()) == predicted


def test_script_mixing_sql_and_db4ai_statements_ends_with_last_result(conn):
    cur = conn.execute(CREATE + "; SELECT 1 AS one; SELECT count(*) AS models FROM gs_model_warehouse")
    assert cur.fetchall() == [(1,)]
    assert cur.description[0].name == "models"


def test_explain_create_model_stores_nothing(conn):
    cur = conn.execute("EXPLAIN " + CREATE)
    lines = [r[0] for r in cur.fetchall()]
    assert lines[0] == "Train Model - linear_regression"
    assert any("Seq Scan on houses" in line for line in lines[1:])
    assert conn.execute("select count(*) from gs_model_warehouse").fetchone() == (0,)


def test_gs_explain_model_unqualified(conn):
    conn.execute(CREATE)
    text = conn.execute("SELECT gs_explain_model('price_model')").fetchone()[0]
    assert text.startswith("Name: price_model\nAlgorithm: linear_regression\nQuery: CREATE MODEL price_model")


def test_drop_model_tag_and_errors_are_db4ai_errors(conn):
    conn.execute(CREATE)
    with pytest.raises(db4ai.ObjectExists, match='The model name "price_model" already exists in gs_model_warehouse.'):
        conn.execute(CREATE)
    assert conn.execute("DROP MODEL price_model").statusmessage == "DROP MODEL"
    with pytest.raises(db4ai.ObjectNotFound, match='model "price_model" does not exist'):
        conn.execute("DROP MODEL price_model")
    assert conn.execute("DROP MODEL IF EXISTS price_model").statusmessage == "DROP MODEL"


def test_parse_errors_carry_the_position(conn):
    with pytest.raises(db4ai.ParseError) as info:
        conn.execute("SELECT 1;\nCREATE MODEL m USING linear_regression FEATURES a TARGET b FROM")
    assert info.value.line == 2


def test_model_inside_a_transaction_rolls_back_with_it(db_dsn):
    with db4ai.connect(db_dsn) as c:  # not autocommit: a transaction starts with the first statement
        c.execute(HOUSES)
        c.execute(CREATE)
        assert c.execute("select count(*) from gs_model_warehouse").fetchone() == (1,)
        c.rollback()
        assert c.execute("select count(*) from gs_model_warehouse").fetchone() == (0,)


def test_snapshot_statements_return_schema_and_name(conn):
    cur = conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    assert [c.name for c in cur.description] == ["schema", "name"]
    assert cur.fetchall() == [("public", "h@1.0.0")]
    cur = conn.execute("CREATE SNAPSHOT h FROM @1.0.0 USING (DELETE WHERE price > 200000; UPDATE SET tax = 0 WHERE id = 1)")
    assert cur.fetchall() == [("public", "h@1.1.0")]
    assert conn.execute("SELECT count(*), min(tax) FROM h@1.1.0").fetchone() == (13, 0)
    assert conn.execute("SELECT count(*) FROM h @ 1.0.0").fetchone() == (15,)
    assert conn.execute("PUBLISH SNAPSHOT h@1.1.0").fetchall() == [("public", "h@1.1.0")]
    assert conn.execute("ARCHIVE SNAPSHOT h@1.1.0").fetchall() == [("public", "h@1.1.0")]
    assert conn.execute("SELECT published, archived FROM db4ai.snapshot WHERE name = 'h@1.1.0'").fetchone() == (False, True)
    rows = conn.execute("SPLIT SNAPSHOT h@1.0.0 AS _train AT RATIO .8, AS _test AT RATIO .2").fetchall()
    assert rows == [("public", "h_train@1.0.0"), ("public", "h_test@1.0.0")]
    counts = conn.execute("SELECT (SELECT count(*) FROM h_train@1.0.0), (SELECT count(*) FROM h_test@1.0.0)").fetchone()
    assert counts == (12, 3)  # scikit-learn: n_test = ceil(0.2 * 15) = 3
    assert conn.execute("PURGE SNAPSHOT h@1.1.0").fetchall() == [("public", "h@1.1.0")]


def test_snapshot_errors_are_db4ai_errors_with_opengauss_text(conn):
    conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    with pytest.raises(db4ai.ObjectExists, match=r'snapshot public\."h@1\.0\.0" already exists'):
        conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    with pytest.raises(db4ai.ObjectNotFound, match=r'snapshot public\."h@9\.9\.9" does not exist'):
        conn.execute("PUBLISH SNAPSHOT h@9.9.9")


def test_purge_refuses_a_snapshot_a_model_was_trained_on(conn):
    conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    conn.execute("CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM h@1.0.0")
    with pytest.raises(db4ai.DependencyError, match=r'model "m" was trained on it'):
        conn.execute("PURGE SNAPSHOT h@1.0.0")
    conn.execute("DROP MODEL m")
    assert conn.execute("PURGE SNAPSHOT h@1.0.0").fetchall() == [("public", "h@1.0.0")]


def test_executemany_stream_and_server_cursors_rewrite_predict_by(conn):
    conn.execute(CREATE)
    conn.execute("ALTER TABLE houses ADD COLUMN guess int")
    with conn.cursor() as cur:
        cur.executemany("UPDATE houses SET guess = PREDICT BY price_model (FEATURES tax, bath, size) WHERE id = %s",
                        [(i,) for i in range(1, 16)])
    expected = conn.execute("SELECT id, PREDICT BY price_model (FEATURES tax, bath, size) FROM houses ORDER BY id").fetchall()
    assert conn.execute("SELECT id, guess FROM houses ORDER BY id").fetchall() == expected
    with conn.cursor() as cur:
        streamed = list(cur.stream("SELECT id, PREDICT BY price_model (FEATURES tax, bath, size) FROM houses ORDER BY id"))
    assert streamed == expected
    with conn.transaction(), conn.cursor(name="named") as cur:
        cur.execute("SELECT id, PREDICT BY price_model (FEATURES tax, bath, size) FROM houses ORDER BY id")
        assert cur.fetchall() == expected


def test_explain_formats_come_back_as_server_text(conn):
    import json

    lines = [r[0] for r in conn.execute("EXPLAIN (FORMAT JSON) " + CREATE).fetchall()]
    assert lines[0] == "Train Model - linear_regression"
    assert json.loads(lines[1])[0]["Plan"]["Relation Name"] == "houses"
    yaml = [r[0] for r in conn.execute("EXPLAIN (FORMAT YAML) " + CREATE).fetchall()]
    assert yaml[1].startswith("- Plan:")


def test_diverging_training_is_stored_with_the_opengauss_notice(conn):
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("CREATE MODEL wild USING linear_regression FEATURES tax, bath TARGET price::float8 FROM houses"
                 " WITH max_iterations = 5, seed = 3")
    assert "Training warning: weights are out of range, try again with another hyperparameter configuration" in notices
    assert conn.execute("SELECT count(*) FROM gs_model_warehouse WHERE modelname = 'wild'").fetchone() == (1,)


def test_connect_without_dsn_uses_the_embedded_server_set_up_for_db4ai(tmp_path, monkeypatch):
    monkeypatch.delenv("DB4AI_DSN", raising=False)
    monkeypatch.setenv("DB4AI_HOME", str(tmp_path))
    with db4ai.connect(autocommit=True) as c:  # a fresh embedded server: db4ai is installed on first use
        c.execute(HOUSES)
        c.execute("CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM houses")
        assert c.execute("SELECT count(*) FROM gs_model_warehouse").fetchone() == (1,)
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()


@pytest.mark.parametrize("source", [
    '"h@1.0.0"',                                              # the quoted view name, as psql users write it
    "(SELECT * FROM h@1.0.0 WHERE id > 2) AS sub",            # a subquery
    "houses_view",                                            # an ordinary view over the snapshot
])
def test_lineage_is_recorded_however_the_snapshot_is_named(conn, source):
    conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    conn.execute('CREATE VIEW houses_view AS SELECT * FROM "h@1.0.0"')
    conn.execute(f"CREATE MODEL m USING linear_regression FEATURES tax TARGET price FROM {source}")
    ids = conn.execute("SELECT snapshot_ids FROM gs_model_warehouse WHERE modelname = 'm'").fetchone()[0]
    assert ids == [conn.execute("SELECT id FROM db4ai.snapshot WHERE name = 'h@1.0.0'").fetchone()[0]]
    with pytest.raises(db4ai.DependencyError, match=r'model "m" was trained on it'):
        conn.execute("PURGE SNAPSHOT h@1.0.0")
    assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = '_db4ai_lineage'").fetchone() == (0,)


def test_split_takes_one_comment_for_all_parts(conn):
    conn.execute("CREATE SNAPSHOT h AS SELECT * FROM houses")
    with pytest.raises(db4ai.InvalidParameter, match="SPLIT SNAPSHOT stores one comment for all parts"):
        conn.execute("SPLIT SNAPSHOT h@1.0.0 AS _a AT RATIO .5 COMMENT IS 'one', AS _b AT RATIO .5 COMMENT IS 'two'")
    assert conn.execute("SELECT count(*) FROM db4ai.snapshot").fetchone() == (1,)
    conn.execute("SPLIT SNAPSHOT h@1.0.0 AS _a AT RATIO .5 COMMENT IS 'halves', AS _b AT RATIO .5")
    assert conn.execute("SELECT array_agg(comment ORDER BY name) FROM db4ai.snapshot WHERE parent_id IS NOT NULL").fetchone() == (
        ["halves", "halves"],)


def test_create_snapshot_distribute_by_is_checked_then_ignored(conn):
    rows = conn.execute("CREATE SNAPSHOT d DISTRIBUTE BY HASH(id) AS SELECT * FROM houses").fetchall()
    assert rows == [("public", "d@1.0.0")]
    assert conn.execute("SELECT commands FROM db4ai.snapshot WHERE name = 'd@1.0.0'").fetchone()[0] == [
        "SELECT *", "FROM houses", "DISTRIBUTE BY HASH(id)"]
    with pytest.raises(db4ai.Error, match="unable to map field"):
        conn.execute("CREATE SNAPSHOT e DISTRIBUTE BY HASH(nosuch) AS SELECT * FROM houses")
