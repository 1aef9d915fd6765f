"""How a query is cut into chunks: by ctid ranges when it scans one table, else by row number.

A query qualifies for ctid ranges when PostgreSQL plans it as a single scan of one plain
table or materialized view (no join, aggregate, window, set-returning function, sort,
limit, subplan), and its text has the shape ``SELECT ... FROM table [alias] [WHERE ...]``.
The ctid bounds are then added to its WHERE clause (with sqlglot) and the rewritten query
must describe the same columns as the original. Anything else is read as a whole query,
numbered with ``row_number() OVER ()`` and grouped into chunks on the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import psycopg
import sqlglot
import sqlglot.expressions as exp
from psycopg import sql

from ._types import Column, _subquery, describe

# Largest number of heap tuples on an 8 kB page (PostgreSQL's MaxHeapTuplesPerPage: page size
# minus page header, over the smallest tuple, a bare header and its line pointer).
MAX_TUPLES_PER_PAGE = 291
OPEN_END = 4294967295  # one past the largest block number: "(OPEN_END,0)" bounds every ctid
Tid = tuple[int, int]  # (block, offset); offsets start at 1, so (b, 0) is the start of block b


def max_tuples_per_page(block_size: int) -> int:
    """MaxHeapTuplesPerPage for a page of ``block_size`` bytes."""
    return (block_size - 24) // (24 + 4)


_SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan", "Tid Range Scan"}
_CLAUSES = ("joins", "group", "having", "order", "limit", "offset", "distinct", "with_", "windows",
            "qualify", "laterals", "into", "locks", "sample", "settings", "connect", "prewhere")


@dataclass(frozen=True)
class TableScan:
    """A query over one table whose chunks are page ranges ``[lo, hi)``."""

    query: str  # the original query
    template: str  # rewritten query with the two bound markers
    lo_mark: str
    hi_mark: str
    relation: int  # pg_class oid
    pages: int  # relation size in pages when the read started
    rows_per_page: float  # the planner's estimate (informative: ranges do not depend on it)
    shareable: bool  # other sessions can read it (not a temporary table)
    max_per_page: int = MAX_TUPLES_PER_PAGE  # MaxHeapTuplesPerPage of the server's block size

    def chunk(self, lo: Tid, hi: Tid) -> sql.Composable:
        """The rows with ctid in ``[lo, hi)``."""
        text = (self.template.replace(self.lo_mark, f"'({lo[0]},{lo[1]})'")
                .replace(self.hi_mark, f"'({hi[0]},{hi[1]})'"))
        return _subquery(text)

    def chunks(self, ranges: Sequence[tuple[Tid, Tid]], pack: Callable[[sql.Composable], sql.Composable]
               ) -> sql.Composed:
        """One statement returning ``pack(chunk)`` for each ctid range, in order.

        A single statement lets the server compute the next chunk while the client decodes
        the current one (rows arrive one by one with ``cursor.stream``).
        """
        bounds = f"db4ai_bounds_{secrets.token_hex(4)}"
        text = (self.template.replace(self.lo_mark, f"{bounds}.lo")
                .replace(self.hi_mark, f"{bounds}.hi"))
        tids = [[f"({lo[0]},{lo[1]})" for lo, _ in ranges], [f"({hi[0]},{hi[1]})" for _, hi in ranges]]
        return sql.SQL("SELECT p.* FROM unnest({lo}::tid[], {hi}::tid[]) AS {b}(lo, hi),"
                       " LATERAL ({packed}) AS p").format(
            lo=sql.Literal(tids[0]), hi=sql.Literal(tids[1]), b=sql.Identifier(bounds),
            packed=pack(_subquery(text)))

    def ranges(self, chunk_rows: int) -> list[tuple[Tid, Tid]]:
        """Ctid ranges ``[lo, hi)`` of at most ``chunk_rows`` rows each, covering the relation.

        A range spans ``chunk_rows // max_per_page`` whole pages, or (for fewer rows than a page
        can hold) ``chunk_rows`` line pointers of one page: no page holds more than
        ``max_per_page`` tuples, so this bound holds whatever the layout (after DELETE and VACUUM
        the planner's rows per page can be a tenth of what the last pages hold) and no
        statistics are needed, so every caller cuts the same ranges (split reads need that).
        The last range is open-ended, so rows that land beyond the size seen at the start (an
        UPDATE moving a row, an INSERT by this transaction) are still read; a range then holds
        at most ``chunk_rows`` rows plus those.
        """
        cap = self.max_per_page
        if chunk_rows >= cap:
            starts: list[Tid] = [(b, 0) for b in range(0, self.pages, chunk_rows // cap)]
        else:
            per_page = -(-cap // chunk_rows)
            starts = [(b, k * chunk_rows + 1 if k else 0) for b in range(self.pages) for k in range(per_page)]
        starts = starts or [(0, 0)]  # an empty relation still gets its open-ended range
        ends = starts[1:] + [(OPEN_END, 0)]
        return list(zip(starts, ends, strict=True))


def _table_of(tree: exp.Expr) -> exp.Table | None:
    if not isinstance(tree, exp.Select):
        return None
    if any(tree.args.get(k) for k in _CLAUSES):
        return None
    from_ = tree.args.get("from_")
    if from_ is None or not isinstance(from_.this, exp.Table):
        return None
    table = from_.this
    if table.args.get("joins") or table.args.get("sample") or isinstance(table.this, exp.Func):
        return None
    return table


def _single_scan(conn: psycopg.Connection, query: str) -> bool:
    """True when PostgreSQL plans ``query`` as one scan of one relation and nothing else."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(_subquery(query)))
        plan = cur.fetchone()[0][0]["Plan"]  # type: ignore[index]
    if plan["Node Type"] not in _SCANS:
        return False
    children = plan.get("Plans", [])
    return all(c["Node Type"] == "Bitmap Index Scan" and not c.get("Plans") for c in children)


def table_scan(conn: psycopg.Connection, query: str, columns: tuple[Column, ...]) -> TableScan | None:
    """The ctid-range plan for ``query``, or None when it must be read as a whole query."""
    try:
        tree = sqlglot.parse_one(query.strip().rstrip(";"), read="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None
    table = _table_of(tree)
    if table is None:
        return None
    bare = table.copy()
    bare.set("alias", None)
    bare.set("only", None)
    with conn.cursor() as cur:
        cur.execute(sql.SQL(
            "SELECT c.oid::int8, c.relpages, c.reltuples,"
            " pg_relation_size(c.oid) / current_setting('block_size')::int8, c.relpersistence <> 't',"
            " current_setting('block_size')::int4"
            " FROM pg_class c WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'm')"),
            (bare.sql(dialect="postgres"),))
        found = cur.fetchone()
    if found is None or not _single_scan(conn, query):
        return None
    oid, relpages, reltuples, pages, shareable, block_size = found
    rows_per_page = reltuples / relpages if relpages > 0 and reltuples > 0 else MAX_TUPLES_PER_PAGE
    lo_mark, hi_mark = (f"'db4ai_{name}_{secrets.token_hex(8)}'" for name in ("lo", "hi"))
    ctid = exp.column("ctid", table=exp.to_identifier(table.alias_or_name))
    bounds = exp.and_(exp.GTE(this=ctid, expression=exp.Literal.string(lo_mark[1:-1])),
                      exp.LT(this=ctid.copy(), expression=exp.Literal.string(hi_mark[1:-1])))
    rewritten = cast(exp.Select, tree.copy()).where(bounds, append=True, copy=False)
    template = rewritten.sql(dialect="postgres")
    if lo_mark not in template or hi_mark not in template:  # pragma: no cover - defensive
        return None
    scan = TableScan(query, template, lo_mark, hi_mark, int(oid), int(pages), float(rows_per_page),
                     bool(shareable), max_tuples_per_page(int(block_size)))
    try:
        same = describe(conn, scan.chunk((0, 0), (0, 0)).as_string(conn)) == columns
    except psycopg.Error:
        same = False
    return scan if same else None
