"""Helpers of the reliability suite (issue 14.7): what a database holds, to prove that a failed or
interrupted statement left nothing behind, and that snapshots and models are whole."""

from __future__ import annotations

import psycopg

# Everything a DB4AI statement could leave behind: user relations (temporary ones included), the
# functions of schemas db4ai and db4ai_internal, and the rows of db4ai's catalog tables.
STATE = """
SELECT (SELECT coalesce(array_agg(format('%s.%s:%s', n.nspname, c.relname, c.relkind) ORDER BY 1), '{}')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_toast_temp%%'),
       (SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}') FROM pg_proc p
         WHERE p.pronamespace IN ('db4ai'::regnamespace, 'db4ai_internal'::regnamespace)),
       (SELECT coalesce(array_agg(format('%s/%s/%s/%s', s.id, s.name, s.published, s.archived) ORDER BY s.id), '{}')
          FROM db4ai.snapshot s),
       (SELECT coalesce(array_agg(format('%s/%s/%s', st.id, st.fields, st.members) ORDER BY st.id), '{}')
          FROM db4ai.snapshot_storage st),
       (SELECT coalesce(array_agg(w.modelname::text ORDER BY 1), '{}') FROM db4ai.gs_model_warehouse w),
       (SELECT count(*) FROM db4ai.gs_model_training_log)
"""


def db_state(conn: psycopg.Connection) -> tuple:
    with conn.cursor() as cur:  # a plain psycopg cursor: the state query is not a DB4AI statement
        return tuple(cur.execute(STATE).fetchone())  # type: ignore[arg-type]


def broken_snapshots(conn: psycopg.Connection) -> list[str]:
    """Snapshots that are not whole: a catalog row without its view, storage row or backing
    table, a view whose row count differs from the catalog's, and db4ai relations (backing tables,
    "@" views) that no catalog row accounts for."""
    problems = []
    with conn.cursor() as cur:
        rows = cur.execute("""
            SELECT s.id, s.schema, s.name, s.row_count, to_regclass(format('%I.%I', s.schema, s.name)) IS NOT NULL,
                   st.id IS NOT NULL, EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = st.store)
            FROM db4ai.snapshot s LEFT JOIN db4ai.snapshot_storage st USING (id) ORDER BY s.id""").fetchall()
        for sid, schema, name, row_count, has_view, has_storage, has_store in rows:
            if not (has_view and has_storage and has_store):
                problems.append(f"{schema}.{name}: view {has_view}, storage row {has_storage}, table {has_store}")
                continue
            n = cur.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(schema, name))).fetchone()[0]
            if n != row_count:
                problems.append(f"{schema}.{name}: {n} rows, catalog says {row_count}")
        problems += [f"stray relation {r[0]}" for r in cur.execute("""
            SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'db4ai', 'db4ai_internal') AND n.nspname NOT LIKE 'pg\\_%%'
              AND ((c.relkind = 'r' AND c.relname LIKE '\\_db4ai\\_t%%'
                    AND NOT EXISTS (SELECT 1 FROM db4ai.snapshot_storage st WHERE st.store = c.oid))
                OR (c.relkind = 'v' AND c.relname LIKE '%%@%%'
                    AND NOT EXISTS (SELECT 1 FROM db4ai.snapshot s WHERE s.schema = n.nspname AND s.name = c.relname)))
            """).fetchall()]
    return problems


def broken_models(conn: psycopg.Connection) -> list[str]:
    """Models that are not whole: a warehouse row without its explanation or its prediction
    function, and generated prediction functions ("<model>_pred") no model accounts for."""
    problems = []
    with conn.cursor() as cur:
        for (name, function) in cur.execute(
                "SELECT modelname::text, predict_function::text FROM db4ai.gs_model_warehouse ORDER BY 1").fetchall():
            if function is not None and not cur.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname = %s)",
                    (function,)).fetchone()[0]:
                problems.append(f"model {name}: no function {function}")
            if not cur.execute("SELECT db4ai.gs_explain_model(%s)", (name,)).fetchone()[0]:
                problems.append(f"model {name}: no explanation")
        problems += [f"stray function {r[0]}" for r in cur.execute("""
            SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'db4ai'::regnamespace
              AND p.proname LIKE '%%\\_pred' AND NOT EXISTS (
                  SELECT 1 FROM db4ai.gs_model_warehouse w WHERE w.predict_function = p.proname)""").fetchall()]
    return problems
