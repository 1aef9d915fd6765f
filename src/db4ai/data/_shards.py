"""Reading a distributed table of a Citus cluster where its rows live: shard by shard, from the workers.

A query qualifies when it has the shape of a table scan (``SELECT ... FROM rel [alias] [WHERE ...]``,
see :mod:`._source`) over a hash-distributed table, or over a db4ai snapshot view whose backing
table is hash-distributed, and the reader may SELECT that table itself (its shards carry its
privileges) and it has no row level security. Each shard becomes a task: the query with the
table replaced by the shard (a snapshot view by its select list over the shard), run on a
connection to the worker node that holds it, with the coordinator connection's credentials.

Order: shard by shard in the order of their hash ranges (``pg_dist_shard``), each shard in its
scan order (ctid page ranges), so the same data gives the same rows in the same order, and a
seed still reproduces a model. Up to ``parallel`` threads read shards ahead (:func:`ordered`).

Consistency: each worker connection reads all its shards in one REPEATABLE READ transaction. A
snapshot is immutable, so it reads consistently. A live table gives each shard as of one moment
on its worker, but different workers (and connections) take their snapshots independently, a
few milliseconds apart: a transaction that committed on several workers meanwhile can be seen
on some shards and not on others (Citus itself gives multi-shard reads no more than this).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import sqlglot
import sqlglot.expressions as exp
from psycopg import sql

from . import _packed
from ._frame import Frame
from ._parallel import apply_settings, ordered, session_settings, sibling_conninfo
from ._source import MAX_TUPLES_PER_PAGE, TableScan, _table_of
from ._types import Column, describe_sql

APPLICATION = "db4ai shard read"


@dataclass(frozen=True)
class Shard:
    shard_id: int
    name: str  # schema-qualified, quoted shard relation
    host: str
    port: int


@dataclass(frozen=True)
class ShardPlan:
    """A query read shard by shard: its text per shard and where each shard lives."""

    relation: int  # pg_class oid of the distributed table
    template: str  # the query with a marker in place of the shard relation
    marker: str
    shards: tuple[Shard, ...]
    ranged: str  # the template with ctid bounds on the shard (markers lo_mark / hi_mark)
    lo_mark: str
    hi_mark: str

    def query(self, shard: Shard) -> str:
        return self.template.replace(self.marker, shard.name)

    def scan(self, shard: Shard, pages: int, rows_per_page: float) -> TableScan:
        """The shard as a table scan cut into page ranges (no per-shard planning: the plan was
        checked on the coordinator, and a shard is a plain table)."""
        return TableScan(self.query(shard), self.ranged.replace(self.marker, shard.name), self.lo_mark,
                         self.hi_mark, 0, pages, rows_per_page, True)


_RELATION_SQL = sql.SQL("""
SELECT c.oid::int8, c.relkind::text, c.relrowsecurity, has_table_privilege(c.oid, 'SELECT'),
       (SELECT st.store::oid::int8 FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id)
         WHERE c.relkind = 'v' AND s.schema = n.nspname AND s.name = c.relname AND NOT st.filtered),
       (SELECT string_agg(format('t.%%I AS %%I', f, col), ', ' ORDER BY o)
          FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id),
               unnest(st.fields, st.columns) WITH ORDINALITY AS u(f, col, o)
         WHERE c.relkind = 'v' AND s.schema = n.nspname AND s.name = c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)
""")

_SHARDS_SQL = sql.SQL("""
SELECT s.shardid, pg_catalog.shard_name(s.logicalrelid, s.shardid), n.nodename, n.nodeport
  FROM pg_dist_shard s
  JOIN LATERAL (SELECT pl.groupid FROM pg_dist_placement pl WHERE pl.shardid = s.shardid
                 ORDER BY pl.groupid LIMIT 1) pl ON true
  JOIN pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary' AND n.isactive
 WHERE s.logicalrelid = %s::oid::regclass
 ORDER BY s.shardminvalue::int8, s.shardid
""")


_SIZE_SQL = sql.SQL("SELECT c.relpages, c.reltuples, pg_relation_size(c.oid) / current_setting('block_size')::int8"
                    " FROM pg_class c WHERE c.oid = to_regclass(%s)")


def _citus(conn: psycopg.Connection) -> bool:
    with conn.cursor() as cur:
        return bool(cur.execute(sql.SQL("SELECT to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
                                        " AND to_regclass('db4ai.snapshot_storage') IS NOT NULL")).fetchone()[0])  # type: ignore[index]


def _hash_distributed(conn: psycopg.Connection, oid: int) -> bool:
    with conn.cursor() as cur:
        return cur.execute(sql.SQL("SELECT 1 FROM pg_dist_partition WHERE logicalrelid = %s::oid::regclass"
                                   " AND partmethod = 'h'"), (oid,)).fetchone() is not None


def shard_plan(conn: psycopg.Connection, query: str, columns: tuple[Column, ...]) -> ShardPlan | None:
    """How to read ``query`` shard by shard, or None when it is not a scan of a distributed table."""
    if not _citus(conn):
        return None
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
        found = cur.execute(_RELATION_SQL, (bare.sql(dialect="postgres"),)).fetchone()
    if found is None:
        return None
    oid, kind, rls, readable, store, select_list = found
    marker = f"db4ai_shard_{secrets.token_hex(8)}"
    alias = exp.to_identifier(table.alias_or_name)
    lo_mark, hi_mark = (f"db4ai_{n}_{secrets.token_hex(8)}" for n in ("lo", "hi"))

    def bounded(select: exp.Select, table: str) -> exp.Select:
        ctid = exp.column("ctid", table=exp.to_identifier(table))
        return select.where(exp.and_(exp.GTE(this=ctid, expression=exp.Literal.string(lo_mark)),
                                     exp.LT(this=ctid.copy(), expression=exp.Literal.string(hi_mark))), copy=True)

    if kind == "v" and store is not None and select_list:
        relation = int(store)  # a snapshot view: its select list over the store's shard
        with conn.cursor() as cur:
            rls, readable = cur.execute(sql.SQL("SELECT relrowsecurity, has_table_privilege(oid, 'SELECT')"
                                                " FROM pg_class WHERE oid = %s::oid"), (relation,)).fetchone()  # type: ignore[misc]
        inner = sqlglot.parse_one(f"SELECT {select_list} FROM {marker} AS t", read="postgres")
        replacements: list[exp.Expr] = [exp.Subquery(this=s, alias=exp.TableAlias(this=alias))
                                        for s in (inner, bounded(inner, "t"))]  # type: ignore[arg-type]
    elif kind in ("r", "p"):
        relation = int(oid)
        replacements = [exp.Table(this=exp.to_identifier(marker), alias=exp.TableAlias(this=alias)) for _ in range(2)]
    else:
        return None
    if rls or not readable or not _hash_distributed(conn, relation):
        return None
    texts = []
    for i, replacement in enumerate(replacements):
        rewritten = tree.copy()
        target = _table_of(rewritten)
        assert target is not None
        target.replace(replacement)
        if i == 1 and kind != "v":
            rewritten = bounded(rewritten, alias.name)  # type: ignore[arg-type]
        texts.append(rewritten.sql(dialect="postgres"))
    template, ranged = texts
    if template.count(marker) != 1 or lo_mark not in ranged or hi_mark not in ranged:  # pragma: no cover
        return None
    with conn.cursor() as cur:
        shards = tuple(Shard(int(i), str(n), str(h), int(p)) for i, n, h, p in cur.execute(_SHARDS_SQL, (relation,)))
        distributed_name = cur.execute(sql.SQL("SELECT %s::oid::regclass::text"), (relation,)).fetchone()[0]  # type: ignore[index]
    if not shards:
        return None
    plan = ShardPlan(relation, template, marker, shards, ranged.replace(f"'{lo_mark}'", lo_mark)
                     .replace(f"'{hi_mark}'", hi_mark), lo_mark, hi_mark)
    # the rewrite must mean the same: over the distributed table itself it describes the same columns
    try:
        with conn.transaction():
            same = describe_sql(conn, template.replace(marker, str(distributed_name))) == columns
    except psycopg.Error:
        same = False
    return plan if same else None


def _worker_setup(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    apply_settings(conn, {**settings, "synchronize_seqscans": "off", "max_parallel_workers_per_gather": "0",
                          # on a worker Citus hides shards from pg_class unless told otherwise
                          "citus.override_table_visibility": "off"})


def frames(conn: psycopg.Connection, plan: ShardPlan, columns: tuple[Column, ...], chunk_rows: int,
           parallel: int, part: tuple[int, int] = (0, 1)) -> Iterator[Frame]:
    """The Frames of every shard (``part = (i, n)``: shards i, i + n, ...), in shard order."""
    settings = session_settings(conn)
    infos = {(s.host, s.port): sibling_conninfo(conn, host=s.host, port=str(s.port), application_name=APPLICATION)
             for s in plan.shards}

    def connect(node: tuple[str, int]) -> psycopg.Connection:
        worker = psycopg.connect(infos[node], autocommit=True)
        try:
            _worker_setup(worker, settings)
        except BaseException:
            worker.close()
            raise
        return worker

    def run(worker: psycopg.Connection, shard: Shard) -> Iterator[Frame]:
        with worker.cursor() as cur:
            relpages, reltuples, pages = cur.execute(_SIZE_SQL, (shard.name,)).fetchone()  # type: ignore[misc]
        rows_per_page = reltuples / relpages if relpages > 0 and reltuples > 0 else MAX_TUPLES_PER_PAGE
        scan = plan.scan(shard, int(pages), float(rows_per_page))
        stmt = scan.chunks(scan.ranges(chunk_rows), lambda source: _packed.chunk_query(columns, source))
        with worker.cursor(binary=True) as cur:
            for row in cur.stream(stmt):
                yield _packed.decode(columns, row)

    tasks = plan.shards[part[0]::part[1]]
    return ordered(tasks, lambda s: (s.host, s.port), connect, run, parallel)
