"""The SQL tokenizer and splitters behind the command arrays (openGauss tests 09_SQLTokenizer and
12_SQLSplitter): quoted text and parenthesised sub-queries never split a clause."""

from __future__ import annotations

from .conftest import Db


def tokens(db: Db, text: str) -> list[tuple[str, str, int]]:
    kinds, vals, depths = db.rows("SELECT kinds, vals, depths FROM db4ai_internal._sql_tokens(%s)", (text,))[0]
    return list(zip(kinds, vals, depths, strict=True))


def test_tokenizer_kinds(mdb: Db) -> None:
    text = """SELECT a, "B""c" AS x, 'it''s from', E'a\\'b', $q$x;y$q$ FROM t /* c /* nested */ */ -- rest
              WHERE (f(x) = 1.5e-3)"""
    assert tokens(mdb, text) == [
        ("word", "SELECT", 0), ("word", "a", 0), ("punct", ",", 0), ("ident", 'B"c', 0), ("word", "AS", 0),
        ("word", "x", 0), ("punct", ",", 0), ("string", "'it''s from'", 0), ("punct", ",", 0),
        ("string", "E'a\\'b'", 0), ("punct", ",", 0), ("string", "$q$x;y$q$", 0), ("word", "FROM", 0),
        ("word", "t", 0), ("word", "WHERE", 0), ("punct", "(", 0), ("word", "f", 1), ("punct", "(", 1),
        ("word", "x", 2), ("punct", ")", 1), ("punct", "=", 1), ("number", "1.5e-3", 1), ("punct", ")", 0)]
    assert tokens(mdb, 'ADD "s int') == [("word", "ADD", 0), ("unterminated_ident", "s int", 0)]
    assert tokens(mdb, "x ')") == [("word", "x", 0), ("unterminated_string", "')", 0)]
    assert tokens(mdb, "a))") == [("word", "a", 0), ("punct", ")", -1), ("punct", ")", -2)]
    assert tokens(mdb, "") == []


def test_create_splitter_ignores_quotes_and_subqueries(mdb: Db) -> None:
    split = "SELECT proj, from_clause, dist FROM db4ai_internal._parse_create_commands(%s)"
    assert mdb.rows(split, (['SELECT "from" FROM t'],)) == [('SELECT "from"', "FROM t", None)]
    assert mdb.rows(split, (["SELECT (SELECT max(x) FROM u) m, 'FROM' FROM t WHERE y IN (SELECT 1 FROM v) DISTRIBUTE BY HASH(m)"],)) == [
        ("SELECT (SELECT max(x) FROM u) m, 'FROM'", "FROM t WHERE y IN (SELECT 1 FROM v)", "DISTRIBUTE BY HASH(m)")]
    assert mdb.rows(split, (["DISTRIBUTE BY HASH(pk)", "FROM  t", "SELECT a"],)) == [("SELECT a", "FROM  t", "DISTRIBUTE BY HASH(pk)")]
    assert mdb.rows(split, (["FROM t"],)) == [("SELECT *", "FROM t", None)]
    assert mdb.rows(split, (["SELECT\n*\nFROM\nt"],)) == [("SELECT\n*", "FROM\nt", None)]


def test_alter_tokenizer(mdb: Db) -> None:
    alter = "SELECT io_columns, o_sql FROM db4ai_internal._parse_alter_clause(%s, %s::name[])"
    assert mdb.rows(alter, ('ADD "x <> y"INT DEFAULT 2, ADD T CHAR(10), drop column IF EXISTS zz, DROP a CASCADE',
                            ["a", "b"])) == [
        (["b", "x <> y", "t"], 'ADD COLUMN "x <> y" INT DEFAULT 2, ADD COLUMN "t" CHAR(10), DROP COLUMN "a" CASCADE')]
    assert mdb.rows(alter, ("ADD n numeric(10, 2) DEFAULT round(1.234, 2), ADD s text DEFAULT 'a, b'", [])) == [
        (["n", "s"], """ADD COLUMN "n" numeric(10, 2) DEFAULT round(1.234, 2), ADD COLUMN "s" text DEFAULT 'a, b'""")]
    assert mdb.rows(alter, ('DROP if', ["if"])) == [([], 'DROP COLUMN "if"')]  # IF alone is a column name
    assert mdb.rows(alter, ("DROP IF EXISTS gone", ["a"])) == [(["a"], None)]
    mdb.fails("SELECT db4ai_internal._parse_alter_clause('ADD a int,, DROP a', '{}')",
              message="expected ADD or DROP keyword before ',' in: 'ADD a int,, DROP a'", hint="currently only ADD and DROP supported")


def test_set_targets_and_insert_columns(mdb: Db) -> None:
    assert mdb.one("SELECT db4ai_internal._set_targets(%s)", ('SET a = 1, "B" = (SELECT max(x) FROM t WHERE y = 2), (c, D) = (1, 2), e[1] = 3',)) == [
        "a", "B", "c", "d", "e"]
    assert mdb.one("SELECT db4ai_internal._set_targets('SET a = CASE WHEN b = 1 THEN 2 END')") == ["a"]
    for text, own in (("(a, b) VALUES (1, 2)", True), ("(SELECT 1, 2)", False), ("VALUES (1)", False),
                      ("DEFAULT VALUES", True), ("SELECT * FROM t", False), ("( WITH q AS (SELECT 1) SELECT * FROM q)", False)):
        assert mdb.one("SELECT db4ai_internal._insert_has_columns(%s)", (text,)) is own, text


def test_true_sql_forms(mdb: Db) -> None:
    parse = "SELECT alias, body, tail FROM db4ai_internal._parse_true_sql(%s, %s)"
    assert mdb.rows(parse, ("UPDATE", 'UPDATE "snapshot" AS i SET a5 = o.a2 FROM t o WHERE i.pk = o.pk')) == [
        ("i", "SET a5 = o.a2", "FROM t o WHERE i.pk = o.pk")]
    assert mdb.rows(parse, ("UPDATE", "UPDATE SNAPSHOT s SET a = (SELECT 1 FROM u WHERE v) WHERE b")) == [
        ("s", "SET a = (SELECT 1 FROM u WHERE v)", "WHERE b")]
    assert mdb.rows(parse, ("DELETE", "DELETE FROM snapshot USING t o WHERE snapshot.pk = o.pk")) == [
        (None, "USING t o WHERE snapshot.pk = o.pk", None)]
    assert mdb.rows(parse, ("DELETE", "DELETE WHERE c1 = 1")) == [(None, "WHERE c1 = 1", None)]
    assert mdb.rows(parse, ("INSERT", "INSERT INTO snapshot (a) VALUES (1)")) == [(None, "(a) VALUES (1)", None)]
    assert mdb.rows(parse, ("ALTER", "ALTER TABLE snapshot ADD a int, DROP b")) == [(None, "ADD a int, DROP b", None)]
