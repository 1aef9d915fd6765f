"""The texts the dialect produces are valid PostgreSQL: run them on the real server."""

from __future__ import annotations

import psycopg

from db4ai.dialect import CreateModel, CreateSnapshot, PredictCall, Query, parse_script, render_query

from tests.dialect.corpus import ORDINARY


def test_ordinary_corpus_runs_statement_by_statement(db: psycopg.Connection) -> None:
    """Every slice is exactly one complete statement (wrong boundaries would fail here)."""
    script = "".join(f"-- {i};\n{stmt};\n" for i, stmt in enumerate(ORDINARY))
    statements = parse_script(script)
    assert len(statements) == len(ORDINARY)
    with db.cursor() as cur:
        for stmt in statements:
            if stmt.text.startswith("COPY"):
                with cur.copy(stmt.text) as copy:
                    rows = list(copy.rows())
                assert rows == [("1",)]
            else:
                cur.execute(stmt.text)
        cur.execute("SELECT predict(41), atomic_f(-1)")
        assert cur.fetchone() == (42, 2)


def _linear(call: PredictCall) -> str:
    """Stand-in model: 10 * the sum of the features (each parenthesised, as documented)."""
    return "10 * (" + " + ".join(f"({f})" for f in call.features) + ")"


def test_rendered_queries_run(db: psycopg.Connection) -> None:
    db.execute("CREATE TABLE base (id int, a float8, b float8)")
    db.execute("INSERT INTO base VALUES (1, 1, 2), (2, 3, 4), (3, 5, 6)")
    db.execute('CREATE VIEW "s@1.0.0" AS SELECT * FROM base')
    db.execute('CREATE SCHEMA "My Schema"')
    db.execute('CREATE VIEW "My Schema"."S@train" AS SELECT * FROM base WHERE id < 3')
    script = """
        SELECT id, PREDICT BY m (FEATURES a, b) FROM s@1.0.0 ORDER BY id;
        SELECT x.id, PREDICT BY m (FEATURES x.a * 2) AS p
          FROM "My Schema"."S"@train x JOIN s @ 1.0.0 y ON x.id = y.id
         WHERE PREDICT BY m (FEATURES y.b) > 25 ORDER BY 1;
        SELECT count(*) FROM base WHERE id IN (SELECT id FROM s@1.0.0 WHERE CASE WHEN PREDICT BY m (FEATURES a) > 20 THEN true END);
        UPDATE base SET b = PREDICT BY m (FEATURES PREDICT BY n (FEATURES s.a), 1) FROM s@1.0.0 s WHERE base.id = s.id AND s.id = 1
          RETURNING base.b
    """
    results = []
    with db.cursor() as cur:
        for stmt in parse_script(script):
            assert isinstance(stmt, Query) and stmt.tree is not None
            cur.execute(render_query(stmt, _linear))
            results.append(([d.name for d in cur.description], cur.fetchall()))
    assert results == [
        (["id", "m_pred"], [(1, 30.0), (2, 70.0), (3, 110.0)]),
        (["id", "p"], [(2, 60.0)]),
        (["count"], [(2,)]),
        (["b"], [(110.0,)]),  # m(n(a) = 10 * 1, 1) = 10 * (10 + 1)
    ]


def test_model_and_snapshot_fragments_run(db: psycopg.Connection) -> None:
    db.execute("CREATE TABLE base (id int, a float8, b float8, label bool)")
    db.execute("INSERT INTO base VALUES (1, 1, 2, true), (2, 3, 4, false)")
    db.execute('CREATE VIEW "s@1.0.0" AS SELECT * FROM base')
    model, snapshot = parse_script(
        "CREATE MODEL m USING logistic_regression FEATURES a, b * 2 AS b2, (SELECT max(a) FROM s@1.0.0) top"
        " TARGET NOT label AS target FROM s@1.0.0 JOIN (SELECT id FROM base) k USING (id);\n"
        "CREATE SNAPSHOT s@2.0.0 AS SELECT id, a FROM s @ 1.0.0 WHERE a > 1"
    )
    assert isinstance(model, CreateModel) and isinstance(snapshot, CreateSnapshot)
    items = [*model.target, *model.features]
    select = ", ".join(f"{item.sql} AS {item.alias}" if item.alias else item.sql for item in items)
    rows = db.execute(f"SELECT {select} FROM {model.from_sql} ORDER BY 2").fetchall()
    assert rows == [(False, 1.0, 4.0, 3.0), (True, 3.0, 8.0, 3.0)]
    assert snapshot.query_sql is not None
    assert db.execute(snapshot.query_sql).fetchall() == [(2, 3.0)]
