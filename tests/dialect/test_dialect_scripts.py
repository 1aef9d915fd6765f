"""Splitting scripts into statements: exact text slices, positions, ordinary SQL untouched."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from db4ai.dialect import CreateSnapshot, Position, Query, is_complete, parse_script
from db4ai.errors import ParseError

from tests.dialect.corpus import ORDINARY

def _script() -> str:
    parts = []
    for i, stmt in enumerate(ORDINARY):
        parts.append(f"-- statement {i}; not a boundary\n{stmt} /* trailing; */;\n")
    return "".join(parts)


def test_ordinary_statements_pass_through_verbatim() -> None:
    statements = parse_script(_script())
    assert [s.text for s in statements] == ORDINARY  # trailing comments are not part of the text
    assert all(type(s) is Query and s.tree is None and s.predicts == () for s in statements)


def test_statement_positions_are_first_tokens() -> None:
    statements = parse_script(_script())
    lines = [2 * i + 2 for i in range(len(ORDINARY))]
    assert [s.position for s in statements] == [Position(line, 1) for line in lines]


def test_positions_on_one_line_and_leading_whitespace() -> None:
    statements = parse_script("  SELECT 1;SELECT 2 ;\n\t  SELECT\n3")
    assert [(s.text, s.position) for s in statements] == [
        ("SELECT 1", Position(1, 3)),
        ("SELECT 2", Position(1, 12)),
        ("SELECT\n3", Position(2, 4)),
    ]


@pytest.mark.parametrize("script", ["", "   ", ";;;", "-- only a comment; really\n", "/* a; /* nested; */ */ ;"])
def test_empty_statements_are_skipped(script: str) -> None:
    assert parse_script(script) == []


def test_nested_comment_does_not_end_early() -> None:
    [stmt] = parse_script("/* outer /* inner; */ still; comment */ SELECT 1")
    assert stmt.text == "SELECT 1"


def test_unparseable_ordinary_sql_is_still_a_query() -> None:
    # sqlglot cannot parse these; they are not ours, so PostgreSQL gets them as written.
    texts = ["SELECT FROM WHERE", "ALTER SYSTEM SET work_mem = '4MB'", "SELECT x @ y FROM z", "CALL p(1)"]
    statements = parse_script(";\n".join(texts))
    assert [(s.text, type(s), s.tree) for s in statements] == [(t, Query, None) for t in texts]


def test_using_block_semicolons_do_not_split_the_script() -> None:
    script = (
        "SELECT 1;\n"
        "CREATE SNAPSHOT s@2 FROM @1 USING (\n  DELETE WHERE a = ';';\n  INSERT VALUES (1);\n);\n"
        "SELECT 'after'"
    )
    first, snap, last = parse_script(script)
    assert first.text == "SELECT 1" and last.text == "SELECT 'after'"
    assert isinstance(snap, CreateSnapshot)
    assert snap.commands == ("DELETE", "WHERE a = ';'", "INSERT", "VALUES (1)")
    assert snap.position == Position(2, 1) and last.position == Position(6, 1)


@pytest.mark.parametrize(
    ("script", "message", "line", "col"),
    [
        ("SELECT 1;\nSELECT 'open", "unterminated quoted string", 2, 8),
        ('SELECT "open', "unterminated quoted identifier", 1, 8),
        ("SELECT 1;\n\n  SELECT $x$ body", "unterminated dollar-quoted string", 3, 10),
        ("SELECT E'ends with escape\\'", "unterminated quoted string", 1, 8),
    ],
)
def test_unterminated_literals_are_parse_errors(script: str, message: str, line: int, col: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_script(script)
    assert (info.value.message, info.value.line, info.value.col) == (message, line, col)


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("SELECT 1", False),
        ("SELECT 1;", True),
        ("SELECT ';", False),
        ("CREATE SNAPSHOT s FROM @1 USING (DELETE;", False),
        ("CREATE SNAPSHOT s FROM @1 USING (DELETE;);", True),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;", False),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;", True),
        ("SELECT 1; SELECT (2", False),
    ],
)
def test_is_complete_follows_psql(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


def test_statements_sqlglot_keeps_as_commands_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="sqlglot"):
        [policy] = parse_script("CREATE POLICY p ON s@1 USING (true)")
        with pytest.raises(ParseError) as info:
            parse_script("CREATE POLICY p ON t USING (PREDICT BY m (FEATURES a) > 0)")
    assert policy.tree is None
    assert (info.value.message, info.value.col) == ("PREDICT BY is not supported in this statement", 29)
    assert caplog.records == []


def test_import_fails_fast_when_sqlglotc_is_installed() -> None:
    code = (
        "import sqlglot.tokens as t\n"
        "t.SQLGLOTC_INSTALLED = True\n"
        "from db4ai.errors import InterfaceError\n"
        "try:\n"
        "    import db4ai.dialect\n"
        "except InterfaceError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip uninstall sqlglotc" in out
