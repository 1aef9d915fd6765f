"""PREDICT BY and name@version inside ordinary SQL; typed nodes; round trips; parity."""

from __future__ import annotations

import pytest
import sqlglot
import sqlglot.expressions as exp

from db4ai.dialect import DB4AI, Position, PredictCall, Query, parse_script, render_query
from db4ai.dialect import _nodes as nodes
from db4ai.errors import ParseError


def query(text: str) -> Query:
    [stmt] = parse_script(text)
    assert isinstance(stmt, Query)
    return stmt


def fake_predict(call: PredictCall) -> str:
    """A recognisable stand-in for the SQL the model layer would produce."""
    return f"{call.model}_fn({', '.join(call.features)})"


def render(text: str) -> str:
    return render_query(query(text), fake_predict)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a bare SELECT-list item is named <model>_pred; an alias (with or without AS) wins
        ("SELECT PREDICT BY m (FEATURES a, b) FROM t", 'SELECT (m_fn(a, b)) AS "m_pred" FROM t'),
        ("SELECT PREDICT BY m (FEATURES a) AS x, PREDICT BY m (FEATURES a) y FROM t", "SELECT (m_fn(a)) AS x, (m_fn(a)) y FROM t"),
        ('select predict by "M" (features a) from t', 'select (M_fn(a)) AS "M_pred" from t'),
        ("SELECT Predict By Model1 (Features a) FROM t", 'SELECT (model1_fn(a)) AS "model1_pred" FROM t'),
        # anywhere an expression may stand
        ("SELECT id FROM t WHERE PREDICT BY m (FEATURES a) > 0.5", "SELECT id FROM t WHERE (m_fn(a)) > 0.5"),
        ("SELECT PREDICT BY m (FEATURES a, b) * 2 + 1 FROM t", "SELECT (m_fn(a, b)) * 2 + 1 FROM t"),
        (
            "SELECT CASE WHEN PREDICT BY m (FEATURES a) THEN 'yes' ELSE 'no' END FROM t",
            "SELECT CASE WHEN (m_fn(a)) THEN 'yes' ELSE 'no' END FROM t",
        ),
        ("UPDATE t SET p = PREDICT BY m (FEATURES a, b + 1), q = 2 WHERE id = 1", "UPDATE t SET p = (m_fn(a, b + 1)), q = 2 WHERE id = 1"),
        (
            "SELECT * FROM (SELECT PREDICT BY m (FEATURES a) FROM t) s WHERE s.m_pred",
            'SELECT * FROM (SELECT (m_fn(a)) AS "m_pred" FROM t) s WHERE s.m_pred',
        ),
        ("SELECT round(PREDICT BY m (FEATURES a)::numeric, 2) FROM t", "SELECT round((m_fn(a))::numeric, 2) FROM t"),
        ("SELECT 1 FROM t ORDER BY PREDICT BY m (FEATURES a) DESC", "SELECT 1 FROM t ORDER BY (m_fn(a)) DESC"),
        (
            "INSERT INTO r SELECT id, PREDICT BY m (FEATURES a) FROM t RETURNING *",
            'INSERT INTO r SELECT id, (m_fn(a)) AS "m_pred" FROM t RETURNING *',
        ),
        # nested PREDICT BY: the inner one is rendered inside the outer one's features
        (
            "SELECT PREDICT BY m (FEATURES PREDICT BY n (FEATURES x), y) FROM t",
            'SELECT (m_fn((n_fn(x)), y)) AS "m_pred" FROM t',
        ),
        # user text outside PREDICT BY is kept character for character
        (
            "SELECT /* keep; */ PREDICT BY m (FEATURES %s), $$x;y$$,  predict(a) FROM t WHERE b = %(b)s",
            'SELECT /* keep; */ (m_fn(%s)) AS "m_pred", $$x;y$$,  predict(a) FROM t WHERE b = %(b)s',
        ),
    ],
)
def test_predict_by_rendering(text: str, expected: str) -> None:
    assert render(text) == expected


def test_predict_call_details() -> None:
    calls: list[PredictCall] = []
    q = query("SELECT 1,\n  PREDICT BY m (FEATURES a + 1, (SELECT v FROM s@1 LIMIT 1), 'x')\nFROM t")
    render_query(q, lambda call: calls.append(call) or "0")
    assert calls == [PredictCall("m", ("a + 1", '(SELECT v FROM "s@1" LIMIT 1)', "'x'"), Position(2, 3))]
    assert [type(p) for p in q.predicts] == [nodes.PredictBy]


def test_predicts_are_listed_in_source_order() -> None:
    q = query("SELECT PREDICT BY a (FEATURES 1) FROM t WHERE PREDICT BY b (FEATURES PREDICT BY c (FEATURES 2)) > 0")
    assert [p.this.name for p in q.predicts] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * FROM s@1.0.0", 'SELECT * FROM "s@1.0.0"'),
        ("SELECT * FROM s @ 2 x JOIN public.s@train y ON x.id = y.id", 'SELECT * FROM "s@2" x JOIN public."s@train" y ON x.id = y.id'),
        ("SELECT * FROM public . S1 @ 1.0", 'SELECT * FROM public . "s1@1.0"'),
        ("SELECT * FROM \"S\"@'rev 1', s@\"Q\"", 'SELECT * FROM "S@rev 1", "s@Q"'),
        ("SELECT * FROM t WHERE id IN (SELECT id FROM s@1 WHERE a @> b)", 'SELECT * FROM t WHERE id IN (SELECT id FROM "s@1" WHERE a @> b)'),
        ("WITH c AS (SELECT * FROM s@1) SELECT * FROM c, LATERAL (SELECT 1 FROM s@2) l", 'WITH c AS (SELECT * FROM "s@1") SELECT * FROM c, LATERAL (SELECT 1 FROM "s@2") l'),
        ("UPDATE t SET a = s.a FROM s@1.0.0 s WHERE t.id = s.id", 'UPDATE t SET a = s.a FROM "s@1.0.0" s WHERE t.id = s.id'),
        ("DELETE FROM t USING s@1 AS s WHERE t.id = s.id", 'DELETE FROM t USING "s@1" AS s WHERE t.id = s.id'),
        ("INSERT INTO t SELECT * FROM s@3.1", 'INSERT INTO t SELECT * FROM "s@3.1"'),
        ("CREATE TABLE c AS SELECT * FROM s@1", 'CREATE TABLE c AS SELECT * FROM "s@1"'),
    ],
)
def test_versioned_relations_become_quoted_view_names(text: str, expected: str) -> None:
    q = query(text)
    assert q.tree is not None and q.predicts == ()
    assert render(text) == expected


def test_at_operators_without_versioned_relations_are_plain_queries() -> None:
    for text in ("SELECT a @> b, c <@ d, e @@ f FROM t", "SELECT @ -5", 'SELECT * FROM "s@1.0.0"'):
        assert query(text).tree is None


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("SELECT PREDICT BY m (FEATURES a FROM t", 'syntax error at or near "FROM"', 33),
        ("SELECT PREDICT BY s.m (FEATURES a) FROM t", "model name cannot be qualified", 19),
        ("SELECT PREDICT BY m () FROM t", "Innput features for the model not specified", 22),
        ("SELECT PREDICT BY m (FEATURES) FROM t", "Innput features for the model not specified", 30),
        ("SELECT PREDICT BY m FEATURES a FROM t", 'syntax error at or near "FEATURES"', 21),
        ("SELECT PREDICT BY m (FEATURES a, ) FROM t", 'syntax error at or near ")"', 34),
        ("SELECT * FROM s@1 WHERE", "syntax error at end of input", 24),
        ("SELECT * FROM s@1..2", 'invalid snapshot version "1..2"', 17),
    ],
)
def test_query_errors(text: str, message: str, col: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_script(f"SELECT 0;\n{text}")
    assert (info.value.message, info.value.line, info.value.col) == (message, 2, col)


def test_columns_and_functions_named_like_db4ai_words() -> None:
    text = (
        "SELECT predict(a), predict, t.predict, model, target, features, sample, snapshot, explain,"
        " PREDICT BY m (FEATURES predict, model) FROM s@1 AS predict"
    )
    q = query(text)
    select = q.tree
    assert isinstance(select, exp.Select)
    call = select.expressions[0]
    assert isinstance(call, exp.Anonymous) and call.name == "predict"
    assert [c.name for c in select.expressions[1:9]] == [
        "predict", "predict", "model", "target", "features", "sample", "snapshot", "explain",
    ]  # fmt: skip
    assert render(text) == (
        "SELECT predict(a), predict, t.predict, model, target, features, sample, snapshot, explain,"
        ' (m_fn(predict, model)) AS "m_pred" FROM "s@1" AS predict'
    )


DB4AI_STATEMENTS = [
    "CREATE MODEL m USING linear_regression FEATURES a, b * 2 AS bb TARGET c AS target FROM s@1.0.0 JOIN u ON TRUE WITH batch_size = 10, decay = 0.5, seed = DEFAULT, optimizer = ngd, verbose = TRUE, max_seconds = -1",
    "EXPLAIN VERBOSE CREATE MODEL m USING kmeans FEATURES * FROM t",
    'DROP MODEL IF EXISTS "M"',
    "CREATE SNAPSHOT public.s@'v 1' FROM @1.0.0 COMMENT IS 'c' USING (UPDATE AS i SET a = 1 FROM t@2 AS o WHERE i.x = o.x; INSERT (a, b) VALUES (1, 2); ALTER ADD a INT, DROP b; DELETE)",
    'CREATE SNAPSHOT "S"@train AS SELECT * FROM t',
    "SAMPLE SNAPSHOT s@1.0.0 STRATIFY BY a, \"B\" AS _train AT RATIO 0.8 COMMENT IS 'c', AS _test AT RATIO 0.2",
    "SPLIT SNAPSHOT s@1.0.0 AS _train AT RATIO 0.8, AS _test AT RATIO 0.2",
    "PUBLISH SNAPSHOT x.s@1.0.0",
    "SELECT PREDICT BY m (FEATURES a, b) AS p FROM \"S\"@1 AS t WHERE PREDICT BY m (FEATURES 1) * 2 + 1 > CASE WHEN PREDICT BY n (FEATURES c) THEN 1 END",
    "UPDATE t SET p = PREDICT BY m (FEATURES a) FROM s@1.0.0 AS x WHERE t.id = x.id",
]

EXPECTED_ROOT = [
    nodes.CreateModel, nodes.Explain, nodes.DropModel, nodes.CreateSnapshot, nodes.CreateSnapshot,
    nodes.SampleSnapshot, nodes.SampleSnapshot, nodes.SnapshotCommand, exp.Select, exp.Update,
]  # fmt: skip


@pytest.mark.parametrize(("text", "root"), list(zip(DB4AI_STATEMENTS, EXPECTED_ROOT)))
def test_typed_nodes_and_round_trip(text: str, root: type) -> None:
    tree = sqlglot.parse_one(text, read="db4ai")
    assert type(tree) is root
    assert not list(tree.find_all(exp.Command))
    generated = tree.sql(dialect=DB4AI)
    assert generated == text
    assert sqlglot.parse_one(generated, read="db4ai") == tree


def test_round_trip_through_the_script_layer_keeps_meaning() -> None:
    [first] = parse_script("create snapshot S from @ 1.0.0 using (insert into snapshot select 1; alter snapshot add x int, drop y)")
    again = sqlglot.parse_one(first.text, read="db4ai").sql(dialect=DB4AI)
    [second] = parse_script(again)
    assert again == "CREATE SNAPSHOT S FROM @1.0.0 USING (INSERT select 1; ALTER add x int, drop y)"
    assert (first.name, first.from_version, first.commands) == (second.name, second.from_version, second.commands)


# Ordinary statements sqlglot can parse: the DB4AI dialect must read them exactly like the
# stock postgres dialect does (same tree, same output).
PARITY = [
    "SELECT a @> b, a <@ b, a @@ b, j ->> 'k', x::INT FROM t WHERE y IS NOT NULL",
    "SELECT predict, sample FROM model AS target",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
    "INSERT INTO t (a, b) VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING a",
    "UPDATE t SET a = s.a FROM s WHERE t.id = s.id",
    "DELETE FROM t USING s WHERE t.id = s.id",
    "CREATE TABLE t (id INT PRIMARY KEY, model TEXT, features DOUBLE PRECISION[], target BOOLEAN)",
    "ALTER TABLE t ADD COLUMN sample TEXT",
    "SELECT COUNT(*) FILTER(WHERE a > 1) OVER (PARTITION BY b ORDER BY c) FROM t",
    "SELECT * FROM t AS x(a, b) CROSS JOIN LATERAL UNNEST(x.a) AS u",
]


@pytest.mark.parametrize("text", PARITY)
def test_parity_with_stock_postgres(text: str) -> None:
    stock = sqlglot.parse_one(text, read="postgres")
    ours = sqlglot.parse_one(text, read="db4ai")
    assert ours == stock
    assert ours.sql(dialect="postgres") == stock.sql(dialect="postgres")


# --- unqualified openGauss catalog names (DESIGN §1: gs_explain_model / gs_model_warehouse) ---

from db4ai.dialect import parse_script as _parse, render_query as _render  # noqa: E402


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("select gs_explain_model('m')", "select db4ai.gs_explain_model('m')"),
        ('select "gs_explain_model"(\'m\')', 'select db4ai."gs_explain_model"(\'m\')'),
        ("SELECT * FROM gs_model_warehouse", "SELECT * FROM db4ai.gs_model_warehouse"),
        ("select modelname from GS_MODEL_WAREHOUSE w", "select modelname from db4ai.GS_MODEL_WAREHOUSE w"),
        ("select db4ai.gs_explain_model('m')", "select db4ai.gs_explain_model('m')"),
        ("select w.gs_model_warehouse from t w", "select w.gs_model_warehouse from t w"),
        ('select "GS_explain_model"(1), gs_explain_model', 'select "GS_explain_model"(1), gs_explain_model'),
        ("select predict by m (features a) from gs_model_warehouse",
         'select (1) AS "m_pred" from db4ai.gs_model_warehouse'),
    ],
)
def test_catalog_names_resolve_to_db4ai(sql, expected):
    (q,) = _parse(sql)
    assert _render(q, lambda call: "1") == expected
    assert q.verbatim == (sql == expected)
