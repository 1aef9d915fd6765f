"""Reading one array column as points of a fixed width, keeping the invalid ones as "dead points".

Normally an array that is not 1-D or holds a NULL fails the read or drops the row. An algorithm
that must see every row in scan order (openGauss's k-means draws a random number for each of
them, valid or not) reads instead :func:`points_query`, whose rows are ``(dead int4, point
float8[])``: ``0`` and the array for a valid point (1-D, ``width`` elements, no NULL), ``1`` and
``width`` zeros for any other array, and NULLs for a NULL array (which the reader then leaves out
and counts, as for any NULL). The query keeps the shape ``SELECT ... FROM table [WHERE ...]`` when
it had it, so a plain table is still read in parallel page ranges.
"""

from __future__ import annotations

import secrets

import psycopg
import sqlglot
import sqlglot.expressions as exp
from psycopg import sql

from ..dialect import postgres_text
from ._reader import _read_transaction
from ._source import _CLAUSES
from ._types import _subquery

_INVALID = ("array_ndims({a}) IS DISTINCT FROM 1 OR cardinality({a}) <> {w}"
            " OR array_position({a}, NULL) IS NOT NULL")
# clock_timestamp() is volatile and never NULL: its presence keeps PostgreSQL from flattening this
# query into the reader's aggregation, which references each column several times and would then
# evaluate these expressions once per reference instead of once per row.
_DEAD = "CASE WHEN clock_timestamp() IS NULL OR {a} IS NULL THEN NULL WHEN " + _INVALID + " THEN 1 ELSE 0 END"
_POINT = ("CASE WHEN {a} IS NULL THEN NULL WHEN " + _INVALID + " THEN array_fill(CAST(0 AS float8), ARRAY[{w}])"
          " WHEN array_lower({a}, 1) <> 1 THEN {a}[array_lower({a}, 1):array_upper({a}, 1)] ELSE {a} END")


def _items(a: str, width: int) -> str:
    w = str(int(width))
    return f"{_DEAD.format(a=a, w=w)} AS dead, {_POINT.format(a=a, w=w)} AS point"


def _in_place(query: str, column: str, width: int) -> str | None:
    """``query`` with its one select item replaced by the point columns, when it is a plain
    ``SELECT item FROM ... [WHERE ...]``; else None."""
    try:
        tree = sqlglot.parse_one(query, read="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or tree.args.get("from_") is None:
        return None
    if any(tree.args.get(k) for k in _CLAUSES if k != "joins"):
        return None
    item = tree.expressions[0]
    if isinstance(item, exp.Star):
        inner = exp.column(exp.to_identifier(column, quoted=True)).sql(dialect="postgres")
    elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
        return None
    else:
        inner = item.unalias().sql(dialect="postgres")
    marker = f"db4ai_points_{secrets.token_hex(8)}"
    rewritten = tree.copy()
    rewritten.set("expressions", [exp.column(marker)])
    text = rewritten.sql(dialect="postgres")
    if text.count(marker) != 1:  # pragma: no cover - defensive
        return None
    return text.replace(marker, _items(f"({inner})", width))


def points_query(conn: psycopg.Connection, query: str, width: int) -> str:
    """The rows of ``query`` (one array column) as ``(dead, point)`` of ``width`` elements."""
    query = postgres_text(query).strip().rstrip(";")
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(_subquery(query)))
        names = [d.name for d in cur.description or ()]
    if len(names) != 1:
        raise ValueError(f"points_query needs a query of one array column, not {len(names)}")
    found = _in_place(query, names[0], width)
    if found is not None:
        return found
    return f"SELECT {_items('q.a', width)} FROM ({query}) AS q(a)"


def first_array_length(conn: psycopg.Connection, query: str) -> int | None:
    """The first dimension's length of the first non-NULL array of ``query`` (one array column) in
    scan order (0 for an empty array); None when every row is NULL or there is none."""
    stmt = sql.SQL("SELECT coalesce(array_length(q.a, 1), 0) FROM ({}) AS q(a) WHERE q.a IS NOT NULL LIMIT 1").format(
        _subquery(postgres_text(query)))
    with _read_transaction(conn):
        row = conn.execute(stmt).fetchone()
    return None if row is None else int(row[0])


__all__ = ["first_array_length", "points_query"]
