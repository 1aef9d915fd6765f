"""CREATE MODEL, EXPLAIN CREATE MODEL and DROP MODEL -> typed statements."""

from __future__ import annotations

import pytest

from db4ai.dialect import DEFAULT, CreateModel, DropModel, Position, SelectItem, SnapshotRef, parse_script
from db4ai.errors import ParseError


def one(text: str):
    [stmt] = parse_script(text)
    return stmt


def test_create_model_full_form() -> None:
    text = (
        "CREATE MODEL House_Price USING Linear_Regression\n"
        "  FEATURES size, bedrooms * 2 AS beds2, (SELECT avg(x) FROM y) avg_x, \"Floor\" AS \"F\"\n"
        "  TARGET price::float8 AS target\n"
        "  FROM houses h JOIN public.areas@1.0.0 a ON h.area = a.id\n"
        "  WITH batch_size = 10, Decay = 0.5, max_seconds = -1, learning_rate = 1e3, tolerance = .0005,\n"
        "       optimizer = NGD, kernel = 'Gaussian', verbose = TRUE, seed = DEFAULT, lambda = -2.5"
    )
    stmt = one(text)
    assert stmt == CreateModel(
        text=text,
        position=Position(1, 1),
        name="house_price",
        algorithm="linear_regression",
        features=(
            SelectItem("size"),
            SelectItem("bedrooms * 2", "beds2"),
            SelectItem("(SELECT avg(x) FROM y)", "avg_x"),
            SelectItem('"Floor"', "F"),
        ),
        target=(SelectItem("price::float8", "target"),),
        features_star=False,
        target_star=False,
        from_sql='houses h JOIN public."areas@1.0.0" a ON h.area = a.id',
        params=(
            ("batch_size", 10),
            ("decay", 0.5),
            ("max_seconds", -1),
            ("learning_rate", 1000.0),
            ("tolerance", 0.0005),
            ("optimizer", "ngd"),
            ("kernel", "Gaussian"),
            ("verbose", True),
            ("seed", DEFAULT),
            ("lambda", -2.5),
        ),
        snapshots=(SnapshotRef("public", "areas", "1.0.0"),),
    )
    assert type(dict(stmt.params)["batch_size"]) is int
    assert type(dict(stmt.params)["learning_rate"]) is float


def test_create_model_minimal_and_stars() -> None:
    stmt = one("create model km using kmeans from t")
    assert (stmt.name, stmt.features, stmt.target, stmt.from_sql, stmt.params) == ("km", None, None, "t", ())
    stmt = one("CREATE MODEL m USING svm_classification FEATURES * TARGET * FROM t")
    assert (stmt.features, stmt.features_star, stmt.target, stmt.target_star) == ((), True, (), True)


def test_create_model_quoted_names_and_words_as_columns() -> None:
    stmt = one('CREATE MODEL "MyModel" USING logistic_regression FEATURES features, model, predict TARGET target FROM "Data"')
    assert stmt.name == "MyModel"
    assert [f.sql for f in stmt.features] == ["features", "model", "predict"]
    assert stmt.target == (SelectItem("target"),)
    assert stmt.from_sql == '"Data"'


def test_create_model_from_list_forms() -> None:
    stmt = one(
        "CREATE MODEL m USING pca FEATURES a FROM (SELECT a FROM s@2 WHERE b > 1) q, s @ train t2, "
        "\"S\"@'rev 1' LEFT JOIN u ON true"
    )
    assert stmt.from_sql == '(SELECT a FROM "s@2" WHERE b > 1) q, "s@train" t2, "S@rev 1" LEFT JOIN u ON true'
    assert stmt.snapshots == (SnapshotRef(None, "s", "2"), SnapshotRef(None, "s", "train"), SnapshotRef(None, "S", "rev 1"))


def test_repeated_snapshot_is_listed_once() -> None:
    stmt = one("CREATE MODEL m USING pca FROM s@1 a JOIN s@1 b USING (id)")
    assert stmt.snapshots == (SnapshotRef(None, "s", "1"),)


@pytest.mark.parametrize(
    ("prefix", "options"),
    [("EXPLAIN", ""), ("explain verbose", "verbose"), ("EXPLAIN ANALYZE VERBOSE", "ANALYZE VERBOSE"), ("EXPLAIN (FORMAT JSON, COSTS OFF)", "(FORMAT JSON, COSTS OFF)")],
)
def test_explain_create_model(prefix: str, options: str) -> None:
    stmt = one(f"{prefix} CREATE MODEL m USING kmeans FEATURES a FROM t WITH num_centroids = 3")
    assert isinstance(stmt, CreateModel)
    assert (stmt.explain, stmt.explain_options, stmt.name, stmt.params) == (True, options, "m", (("num_centroids", 3),))


@pytest.mark.parametrize(
    ("text", "name", "if_exists"),
    [("DROP MODEL m", "m", False), ("drop model if exists \"M x\"", "M x", True), ("DROP MODEL Abc CASCADE", "abc", False)],
)
def test_drop_model(text: str, name: str, if_exists: bool) -> None:
    assert one(text) == DropModel(text, Position(1, 1), name=name, if_exists=if_exists)


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("CREATE MODEL s.m USING x FROM t", "model name cannot be qualified", 14),
        ("DROP MODEL public.m", "model name cannot be qualified", 12),
        ("CREATE MODEL m USING x FEATURES a FROM t WHERE b > 1", 'syntax error at or near "WHERE"', 42),
        ("CREATE MODEL m FEATURES a FROM t", 'syntax error at or near "FEATURES"', 16),
        ("CREATE MODEL m USING x FEATURES a TARGET b", "syntax error at end of input", 43),
        ("CREATE MODEL m USING x FROM t WITH lr = 1 + 2", 'syntax error at or near "+"', 43),
        ("CREATE MODEL m USING x FROM t WITH lr = - 'a'", "syntax error at or near \"'a'\"", 43),
        ("CREATE MODEL m USING x FROM t WITH = 1", 'syntax error at or near "="', 36),
        ("CREATE MODEL m USING x FEATURES PREDICT BY n (FEATURES a) FROM t", "PREDICT BY is not supported in CREATE MODEL", 33),
        ("CREATE MODEL m USING x FEATURES a, FROM t", 'syntax error at or near "FROM"', 36),
        ("CREATE MODEL m USING x TARGET FROM t", 'syntax error at or near "FROM"', 31),
        ("DROP MODEL", "syntax error at end of input", 11),
        ("EXPLAIN CREATE MODEL m USING x", "syntax error at end of input", 31),
        ("CREATE MODEL m USING x FEATURES x @ y FROM t", 'syntax error at or near "@y"', 1),  # found by the fuzzer
    ],
)
def test_model_statement_errors(text: str, message: str, col: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_script(f"SELECT 1;\n{text};\nSELECT 2")
    assert (info.value.message, info.value.line, info.value.col) == (message, 2, col)


@pytest.mark.parametrize("prefix", ["CREATE OR REPLACE MODEL", "create or replace model", "Create  Or\n Replace MODEL"])
def test_create_or_replace_model(prefix: str) -> None:
    text = f"{prefix} m USING linear_regression FEATURES a TARGET b FROM s@1.0.0 WITH seed = 1"
    stmt = one(text)
    assert stmt.replace is True
    assert stmt == CreateModel(
        text=text, position=Position(1, 1), name="m", algorithm="linear_regression",
        features=(SelectItem("a"),), target=(SelectItem("b"),), features_star=False, target_star=False,
        from_sql='"s@1.0.0"', params=(("seed", 1),), snapshots=(SnapshotRef(None, "s", "1.0.0"),), replace=True,
    )
    assert one("CREATE MODEL m USING linear_regression FROM t").replace is False
    explained = one(f"EXPLAIN {prefix} m USING linear_regression FEATURES a TARGET b FROM t")
    assert explained.explain and explained.replace


def test_create_or_replace_model_round_trips() -> None:
    from db4ai.dialect._dialect import DB4AI  # noqa: F401 - registers the dialect
    import sqlglot

    text = "CREATE OR REPLACE MODEL m USING linear_regression FEATURES a TARGET b FROM t WITH seed = 1"
    assert sqlglot.transpile(text, read="db4ai", write="db4ai") == [text]


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("CREATE OR REPLACE MODEL s.m USING x FROM t", "model name cannot be qualified", 25),
        ("CREATE OR REPLACE MODEL m FROM t", 'syntax error at or near "FROM"', 27),
        ("CREATE OR MODEL m USING x FROM t", None, None),  # not ours: PostgreSQL's parser reports it
    ],
)
def test_create_or_replace_model_errors(text: str, message: str | None, col: int | None) -> None:
    if message is None:
        [stmt] = parse_script(text)
        assert not isinstance(stmt, CreateModel)
        return
    with pytest.raises(ParseError) as info:
        parse_script(text)
    assert (info.value.message, info.value.line, info.value.col) == (message, 1, col)


def test_items_know_the_column_they_name() -> None:
    stmt = one('CREATE MODEL m USING svm_classification FEATURES Tax, "Bath", h.size, x + 1, y AS "Q" '
               "TARGET price < 1 FROM houses h")
    assert [f.output_name for f in stmt.features] == ["tax", "Bath", "size", "x + 1", "Q"]
    assert stmt.target[0].output_name == "price < 1"


@pytest.mark.parametrize("text, name, relation", [
    ("EVALUATE MODEL m FROM houses_test@1.0.0", "m", '"houses_test@1.0.0"'),
    ('evaluate model "Price" from public.t;', "Price", "public.t"),
    ("EVALUATE MODEL m FROM s.h @ 1.1.0", "m", 's."h@1.1.0"'),
    ('EVALUATE MODEL m FROM "a b"', "m", '"a b"'),
])
def test_evaluate_model(text: str, name: str, relation: str) -> None:
    from db4ai.dialect import EvaluateModel

    stmt = one(text)
    assert isinstance(stmt, EvaluateModel) and (stmt.name, stmt.relation_sql) == (name, relation)
    assert stmt.text == text.rstrip(";")


@pytest.mark.parametrize("text, message", [
    ("EVALUATE MODEL m", "syntax error at end of input"),
    ("EVALUATE MODEL m FROM t WHERE x > 1", 'syntax error at or near "WHERE"'),
    ("EVALUATE MODEL s.m FROM t", "model name cannot be qualified"),
    ("EVALUATE MODEL m FROM (SELECT 1) AS q", 'syntax error at or near "("'),
])
def test_evaluate_model_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_script(text)
    assert info.value.message == message


def test_evaluate_is_still_a_word_elsewhere() -> None:
    [stmt] = parse_script("SELECT evaluate, model FROM evaluate")
    assert stmt.verbatim
