"""Which db4ai snapshots a query reads: the lineage recorded with runs, models and artifacts.

PostgreSQL itself says what a query depends on: the query becomes a temporary view (in a
transaction that is always rolled back) whose dependencies are followed through ordinary views,
so a snapshot counts however it is named (``s@1.0.0``, ``"s@1.0.0"``, in a subquery or behind
another view). The same method as the lineage CREATE MODEL stores in ``snapshot_ids``.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from .dialect import postgres_text
from .errors import InvalidParameter

_LINEAGE = sql.SQL("""
WITH RECURSIVE reads(oid) AS (
    SELECT d.refobjid FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     WHERE r.ev_class = {view}::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
       AND d.refobjid <> r.ev_class
    UNION
    SELECT d.refobjid FROM reads
      JOIN pg_catalog.pg_rewrite r ON r.ev_class = reads.oid
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
)
SELECT DISTINCT s.id FROM reads
  JOIN pg_catalog.pg_class c ON c.oid = reads.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN db4ai.snapshot s ON s.schema = n.nspname AND s.name = c.relname AND c.relkind = 'v'
 ORDER BY 1
""")

_QUERY_STARTS = ("select", "with", "values", "table", "(")


def snapshot_ids(conn: psycopg.Connection, query: str) -> list[int]:
    """Ids of the snapshots ``query`` (PostgreSQL text) reads; psycopg errors pass through."""
    view = sql.Identifier("pg_temp", "_db4ai_lineage")
    with conn.transaction(force_rollback=True):  # the view only lives for this lookup
        # Citus: a temporary view is no business of the workers (it would warn that it cannot propagate it)
        conn.execute("SELECT set_config('citus.enable_ddl_propagation', 'off', true)")
        conn.execute(sql.SQL("CREATE TEMP VIEW {} AS {}").format(view, sql.SQL(query.strip().rstrip(";"))))
        rows = conn.execute(_LINEAGE.format(view=sql.Literal("pg_temp._db4ai_lineage"))).fetchall()
    return [int(r[0]) for r in rows]


def source_query(source: str) -> str | None:
    """The query a data source names: itself when it is a query, ``SELECT * FROM <source>`` for a
    relation (``images@1.0.0``, ``public.t``); None for a URI (``s3://...``), which has no lineage.
    The source is the caller's SQL text and runs only inside :func:`snapshot_ids`' rolled-back view."""
    text = source.strip()
    if "://" in text:
        return None
    if not text.lower().startswith(_QUERY_STARTS):
        text = "SELECT * FROM " + text
    return postgres_text(text)


def source_snapshot_ids(conn: psycopg.Connection, source: str) -> list[int]:
    """Lineage of a data source (see :func:`source_query`); a clear error when it names nothing."""
    query = source_query(source)
    if query is None:
        return []
    try:
        return snapshot_ids(conn, query)
    except psycopg.Error as exc:
        raise InvalidParameter(
            f"data source {source!r} is not a relation or query of this database",
            detail=exc.diag.message_primary,
            hint="name a snapshot (name@version), a table or a SELECT; a URI (scheme://...) is recorded as it is",
        ) from exc


__all__ = ["snapshot_ids", "source_query", "source_snapshot_ids"]
