"""Snapshot statements -> typed statements, with openGauss's command arrays (spec §2)."""

from __future__ import annotations

import pytest

from db4ai.dialect import (
    CreateSnapshot,
    Position,
    SampleSnapshot,
    SampleSpec,
    SnapshotCommand,
    SnapshotRef,
    parse_script,
)
from db4ai.errors import ParseError


def one(text: str):
    [stmt] = parse_script(text)
    return stmt


def commands(using: str) -> tuple[str, ...]:
    stmt = one(f"CREATE SNAPSHOT s FROM @1.0.0 USING ({using})")
    assert isinstance(stmt, CreateSnapshot) and stmt.query_sql is None
    return stmt.commands


@pytest.mark.parametrize(
    ("using", "expected"),
    [
        (
            "UPDATE SNAPSHOT AS i SET a5 = o.a2 FROM t o WHERE i.pk = o.pk",
            ("UPDATE", "AS i", "SET a5 = o.a2", "FROM t o", "WHERE i.pk = o.pk"),
        ),
        ("INSERT VALUES(6,6), (7,7)", ("INSERT", "VALUES(6,6), (7,7)")),
        ("DELETE WHERE c1 = 1", ("DELETE", "WHERE c1 = 1")),
        ("ALTER ADD COLUMN num int", ("ALTER", "ADD COLUMN num int")),
        ("INSERT INTO SNAPSHOT SELECT a, b FROM t WHERE c", ("INSERT", "SELECT a, b FROM t WHERE c")),
        ("ALTER SNAPSHOT ADD a int, DROP b", ("ALTER", "ADD a int", "DROP b")),
        ("DELETE FROM SNAPSHOT USING t o WHERE snapshot.pk = o.pk", ("DELETE", "USING t o", "WHERE snapshot.pk = o.pk")),
        ("DELETE", ("DELETE",)),
        ("DELETE AS d USING t, u WHERE d.a = t.a", ("DELETE", "AS d", "USING t, u", "WHERE d.a = t.a")),
        ("INSERT (c1, c2) VALUES (1, 2)", ("INSERT", "(c1, c2) VALUES (1, 2)")),
        ("INSERT INTO SNAPSHOT (SELECT 1, 2)", ("INSERT", "(SELECT 1, 2)")),
        ("UPDATE SET a = 1, b = (SELECT max(x) FROM y WHERE z) WHERE c", ("UPDATE", "SET a = 1, b = (SELECT max(x) FROM y WHERE z)", "WHERE c")),
        (
            "ALTER ADD c numeric(10, 2) DEFAULT 0, DROP COLUMN IF EXISTS \"D\", ADD \"E\" text CHECK (\"E\" <> ',')",
            ("ALTER", "ADD c numeric(10, 2) DEFAULT 0", 'DROP COLUMN IF EXISTS "D"', "ADD \"E\" text CHECK (\"E\" <> ',')"),
        ),
        # lower case, extra nesting parentheses, empty commands, a trailing separator
        ("(;delete where a = 1;; update set b = 2;)", ("delete".upper(), "where a = 1", "UPDATE", "set b = 2")),
        # versioned relations inside commands become the view names PostgreSQL knows
        ("INSERT SELECT * FROM s@1.0.0 x; UPDATE SET a = 1 FROM other@2 o", ("INSERT", 'SELECT * FROM "s@1.0.0" x', "UPDATE", "SET a = 1", 'FROM "other@2" o')),
    ],
)
def test_using_commands_become_the_opengauss_array(using: str, expected: tuple[str, ...]) -> None:
    assert commands(using) == expected


def test_create_snapshot_from_version_full() -> None:
    text = "CREATE SNAPSHOT s1@2.0.0 from@1.0.0 comment is 'inherits from@1.0' using (INSERT VALUES(6,6), (7,7); DELETE WHERE c1 = 1)"
    assert one(text) == CreateSnapshot(
        text,
        Position(1, 1),
        schema=None,
        name="s1",
        version="2.0.0",
        comment="inherits from@1.0",
        from_version="1.0.0",
        commands=("INSERT", "VALUES(6,6), (7,7)", "DELETE", "WHERE c1 = 1"),
    )


def test_create_snapshot_as_keeps_raw_query_text() -> None:
    text = "CREATE SNAPSHOT \"My Schema\".Cars@'v 1' COMMENT IS 'it''s' AS\n  select  *  from t1 -- keep\n  where x = 'a;b'"
    stmt = one(text)
    assert (stmt.schema, stmt.name, stmt.version, stmt.comment) == ("My Schema", "cars", "v 1", "it's")
    assert stmt.query_sql == "select  *  from t1 -- keep\n  where x = 'a;b'"
    assert (stmt.from_version, stmt.commands) == (None, ())


def test_create_snapshot_as_renders_versioned_relations() -> None:
    stmt = one("CREATE SNAPSHOT s2 AS SELECT a FROM s1@1.0.0 UNION SELECT a FROM public . s1 @ 2")
    assert stmt.query_sql == 'SELECT a FROM "s1@1.0.0" UNION SELECT a FROM public . "s1@2"'


def test_create_snapshot_as_query_sqlglot_cannot_parse_is_kept() -> None:
    stmt = one("CREATE SNAPSHOT s AS SELECT x FROM t WINDOW w AS (PARTITION BY y) FETCH FIRST 1 ROWS WITH TIES")
    assert stmt.query_sql == "SELECT x FROM t WINDOW w AS (PARTITION BY y) FETCH FIRST 1 ROWS WITH TIES"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("s@1", SnapshotRef(None, "s", "1")),
        ("s@1.0", SnapshotRef(None, "s", "1.0")),
        ("S@1.0.0", SnapshotRef(None, "s", "1.0.0")),
        ("s@Train", SnapshotRef(None, "s", "train")),
        ('s@"Rev 1.1"', SnapshotRef(None, "s", "Rev 1.1")),
        ("s@'rev 1.1'", SnapshotRef(None, "s", "rev 1.1")),
        ('"_db4ai test".m0 @ 1.0.0', SnapshotRef("_db4ai test", "m0", "1.0.0")),
        ("public . s1 @ 10.20.30", SnapshotRef("public", "s1", "10.20.30")),
    ],
)
def test_snapshot_commands_and_version_forms(ref: str, expected: SnapshotRef) -> None:
    for verb in ("PUBLISH", "archive", "Purge"):
        stmt = one(f"{verb} SNAPSHOT {ref}")
        assert stmt == SnapshotCommand(f"{verb} SNAPSHOT {ref}", Position(1, 1), action=verb.lower(), snapshot=expected)


def test_sample_snapshot() -> None:
    text = "SAMPLE SNAPSHOT public.cars@2.0.0 STRATIFY BY color, \"Size\" AS _train AT RATIO .8 COMMENT IS 'training', AS _Test AT RATIO 0.2"
    assert one(text) == SampleSnapshot(
        text,
        Position(1, 1),
        parent=SnapshotRef("public", "cars", "2.0.0"),
        stratify=("color", "Size"),
        samples=(SampleSpec("_train", 0.8, "training"), SampleSpec("_test", 0.2)),
    )


def test_split_snapshot() -> None:
    stmt = one("SPLIT SNAPSHOT cars@2.0.0 AS _train AT RATIO .8, AS _test AT RATIO .2")
    assert isinstance(stmt, SampleSnapshot) and stmt.split
    assert (stmt.stratify, stmt.samples) == ((), (SampleSpec("_train", 0.8), SampleSpec("_test", 0.2)))


def test_snapshot_words_stay_identifiers() -> None:
    [q] = parse_script("SELECT sample, snapshot, purge, publish, archive, ratio, stratify FROM snapshot")
    assert q.tree is None and q.text.startswith("SELECT sample")


@pytest.mark.parametrize(
    ("script", "message", "line", "col"),
    [
        ("CREATE SNAPSHOT s FROM @1 USING ()", "List of snapshot modifications is empty.", 1, 27),
        ("CREATE SNAPSHOT s FROM @1 USING (; ;)", "List of snapshot modifications is empty.", 1, 27),
        ("CREATE TEMP SNAPSHOT s AS SELECT 1", "Temporary snapshots are not supported.", 1, 8),
        ("create temporary snapshot s from @1 using (delete)", "Temporary snapshots are not supported.", 1, 8),
        # inside the USING block, on a later line of a later statement
        ("SELECT 1;\nSELECT 2;\nCREATE SNAPSHOT s FROM @1 USING (\n  DELETE WHERE a = 1;\n  UPDATE SET WHERE b\n)", 'syntax error at or near "WHERE"', 5, 14),
        ("CREATE SNAPSHOT s FROM @1 USING (DELETE; SELECT 1);\nSELECT 2", 'syntax error at or near "SELECT"', 1, 42),
        ("CREATE SNAPSHOT s FROM @1 USING (ALTER ADD a)", 'syntax error at or near ")"', 1, 45),
        ("CREATE SNAPSHOT s FROM @1 USING (ALTER DROP a b)", 'syntax error at or near "b"', 1, 47),
        ("CREATE SNAPSHOT s FROM @1 USING (ALTER RENAME a TO b)", 'syntax error at or near "RENAME"', 1, 40),
        ("CREATE SNAPSHOT s FROM @1 USING (DELETE) extra", 'syntax error at or near "extra"', 1, 42),
        # an unclosed USING parenthesis swallows the rest of the script, like psql
        ("CREATE SNAPSHOT s FROM @1 USING (\n  DELETE;\nSELECT 1;", 'syntax error at or near "SELECT"', 3, 1),
        ("CREATE SNAPSHOT s FROM @1 USING (DELETE", "syntax error at end of input", 1, 40),
        ("CREATE SNAPSHOT s AS", "syntax error at end of input", 1, 21),
        ("CREATE SNAPSHOT s AS DELETE FROM t", 'syntax error at or near "DELETE"', 1, 22),
        ("CREATE SNAPSHOT s FROM @1 AS SELECT 1", 'syntax error at or near "AS"', 1, 27),
        ("CREATE SNAPSHOT s USING (DELETE)", 'syntax error at or near "USING"', 1, 19),
        ("CREATE SNAPSHOT s AS SELECT PREDICT BY m (FEATURES a) FROM t", "PREDICT BY is not supported in CREATE SNAPSHOT", 1, 29),
        ("SAMPLE SNAPSHOT s AS _t AT RATIO .5", 'syntax error at or near "AS"', 1, 19),
        ("SAMPLE SNAPSHOT s@1 AS _t AT RATIO high", 'syntax error at or near "high"', 1, 36),
        ("SAMPLE SNAPSHOT s@1", "syntax error at end of input", 1, 20),
        ("PUBLISH SNAPSHOT s@", "syntax error at end of input", 1, 20),
        ("PURGE SNAPSHOT s@1.0.", 'invalid snapshot version "1.0."', 1, 18),
        ("ARCHIVE SNAPSHOT a.b.c@1", 'syntax error at or near "."', 1, 21),
    ],
)
def test_snapshot_errors(script: str, message: str, line: int, col: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_script(script)
    assert (info.value.message, info.value.line, info.value.col) == (message, line, col)


# --- spec §2: DISTRIBUTE BY / TO GROUP in the statement syntax ---

def test_distribute_by_of_the_as_form_is_passed_on():
    (stmt,) = parse_script("CREATE SNAPSHOT x DISTRIBUTE BY HASH(c1) COMMENT IS 'c' AS SELECT 1 AS c1")
    assert stmt.distribute_sql == "DISTRIBUTE BY HASH(c1)"
    assert stmt.query_sql == "SELECT 1 AS c1" and stmt.comment == "c"


def test_distribute_by_is_illegal_when_deriving():
    with pytest.raises(ParseError) as err:
        parse_script("CREATE SNAPSHOT x FROM @1.0.0 DISTRIBUTE BY REPLICATION USING (DELETE)")
    assert err.value.message == "illegal DISTRIBUTE BY clause in CREATE SNAPSHOT ... FROM"
    assert err.value.hint == "DISTRIBUTE BY is inherited from parent snapshot."
    assert (err.value.line, err.value.col) == (1, 31)


@pytest.mark.parametrize("clause", ["TO GROUP g1", "TO NODE (n1, n2)"])
def test_clustered_snapshots_are_not_supported(clause):
    with pytest.raises(ParseError, match="^Clustered snapshots are not supported.") as err:
        parse_script(f"CREATE SNAPSHOT x {clause} AS SELECT 1")
    assert err.value.col == 19
