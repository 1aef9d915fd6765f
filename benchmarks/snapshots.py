"""Snapshot benchmarks: what a snapshot costs compared with copying the table by hand.

* time of db4ai.create_snapshot vs CREATE TABLE AS of the same rows (goal: at most 1.5x; in the
  default MSS mode; for information also in CSS mode, which numbers the rows);
* disk space a CSS child adds when it deletes 1% of the rows, and when it updates 1% of the rows,
  relative to the parent's size (goal: at most 0.05 each; an MSS child, a full copy, is about 1);
* for information: the time of deriving those children in MSS and in CSS;
* time of a CSS child that updates 50% of the rows vs CREATE TABLE AS of the parent (goal: at most
  3x, as an MSS child; under the default work_mem, where the former statement went quadratic):
  every other row (the child then gets a table of its own: a membership of one range per kept row
  would cost more than a copy) and one block of rows (the child shares its parent's table).

Everything created here is dropped again.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from benchmarks._harness import BenchContext, Measurement

GROUP = "snapshot"


def _size(conn: psycopg.Connection, relation: str) -> int:
    return int(conn.execute("SELECT pg_total_relation_size(%s::regclass)", (relation,)).fetchone()[0])


def _storage(conn: psycopg.Connection, schema: str, name: str) -> tuple[str, int]:
    """Backing table and membership size (bytes) of a snapshot."""
    row = conn.execute(
        """SELECT st.store::text, pg_column_size(st.members) FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id)
           WHERE s.schema = %s AND s.name = %s""", (schema, name)).fetchone()
    return str(row[0]), int(row[1] or 0)  # MSS tables have no membership


def _purge_all(conn: psycopg.Connection, schema: str, prefix: str) -> None:
    """Purge a benchmark lineage, leaves first."""
    while True:
        row = conn.execute(
            """SELECT s.name FROM db4ai.snapshot s WHERE s.schema = %s AND s.name LIKE %s
               AND NOT EXISTS (SELECT 1 FROM db4ai.snapshot c WHERE c.parent_id = s.id) ORDER BY s.id DESC LIMIT 1""",
            (schema, prefix + "%")).fetchone()
        if row is None:
            return
        conn.execute("SELECT db4ai.purge_snapshot(%s, %s)", (schema, row[0]))


def run(ctx: BenchContext) -> list[Measurement]:
    conn = ctx.connect()
    schema = conn.execute("SELECT current_schema()").fetchone()[0]
    tag = f"bench_{uuid.uuid4().hex[:8]}"
    table = sql.SQL(ctx.table)  # the harness's table name (trusted input)
    copy = sql.Identifier(schema, f"{tag}_copy")
    measurements: list[Measurement] = []
    try:
        def ctas() -> None:
            conn.execute(sql.SQL("CREATE TABLE {} AS SELECT * FROM {}").format(copy, table))
            conn.execute(sql.SQL("DROP TABLE {}").format(copy))

        def create() -> None:
            conn.execute("SELECT db4ai.create_snapshot(%s, %s, %s)", (schema, f"{tag}_c", [f"SELECT * FROM {ctx.table}"]))
            conn.execute("SELECT db4ai.purge_snapshot(%s, %s)", (schema, f"{tag}_c@1.0.0"))

        measurements.append(Measurement(GROUP, "CREATE TABLE AS", ctx.best_of(ctas), extra={"rows": ctx.rows}))
        measurements.append(Measurement(GROUP, "create_snapshot", ctx.best_of(create), reference="CREATE TABLE AS",
                                        goal=1.5, extra={"rows": ctx.rows}))

        def create_css() -> None:
            conn.execute("SELECT set_config('db4ai.snapshot_mode', 'CSS', false)")
            create()
            conn.execute("RESET db4ai.snapshot_mode")

        measurements.append(Measurement(GROUP, "create_snapshot (CSS: with row ids)", ctx.best_of(create_css),
                                        reference="CREATE TABLE AS", extra={"rows": ctx.rows}))

        # a CSS lineage: the root is made in CSS mode, so its backing table has row ids to share
        root = f"{tag}_s"
        conn.execute("SELECT set_config('db4ai.snapshot_mode', 'CSS', false)")
        conn.execute("SELECT db4ai.create_snapshot(%s, %s, %s)", (schema, root, [f"SELECT * FROM {ctx.table}"]))
        store, _ = _storage(conn, schema, f"{root}@1.0.0")
        parent_size = _size(conn, store)
        # label: (commands, goal of the CSS child's time / CREATE TABLE AS, goal of the size it adds / parent)
        children = {
            "delete 1%": (["DELETE", "WHERE id % 100 = 0"], None, 0.05),
            "update 1%": (["UPDATE", "SET x1 = x1 + 1", "WHERE id % 100 = 1"], None, 0.05),
            "update 50% (every other row)": (["UPDATE", "SET x1 = x1 + 1", "WHERE id % 2 = 0"], 3.0, None),
            "update 50% (one block)": (["UPDATE", "SET x1 = x1 + 1", f"WHERE id <= {ctx.rows // 2}"], 3.0, None),
        }
        for i, (label, (commands, time_goal, size_goal)) in enumerate(children.items()):
            for mode in ("MSS", "CSS"):
                conn.execute("SELECT set_config('db4ai.snapshot_mode', %s, false)", (mode,))
                version = f"{mode.lower()}{i}"
                seconds = ctx.best_of(lambda c=commands, v=version: _derive_and_drop(conn, schema, root, c, v))
                before = _size(conn, store)
                conn.execute("SELECT db4ai.prepare_snapshot(%s, %s, %s, %s)", (schema, f"{root}@1.0.0", commands, version))
                child_store, members = _storage(conn, schema, f"{root}@{version}")
                added = (_size(conn, child_store) if child_store != store else _size(conn, store) - before) + members
                measurements.append(Measurement(GROUP, f"{mode} child {label}: time", seconds, reference="CREATE TABLE AS",
                                                goal=time_goal if mode == "CSS" else None, extra={"rows": ctx.rows}))
                measurements.append(Measurement(
                    GROUP, f"{mode} child {label}: added size / parent size", added / parent_size, unit="ratio",
                    goal=size_goal if mode == "CSS" else None, goal_rows=0,  # structural: holds at any size
                    extra={"added_bytes": added, "parent_bytes": parent_size, "membership_bytes": members}))
        return measurements
    finally:
        conn.execute("RESET db4ai.snapshot_mode")
        _purge_all(conn, schema, tag)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(copy))
        conn.close()


def _derive_and_drop(conn: psycopg.Connection, schema: str, root: str, commands: list[str], version: str) -> None:
    """One derivation, timed, then purged again (the measured child is made afterwards)."""
    conn.execute("SELECT db4ai.prepare_snapshot(%s, %s, %s, %s)", (schema, f"{root}@1.0.0", commands, version + "t"))
    conn.execute("SELECT db4ai.purge_snapshot(%s, %s)", (schema, f"{root}@{version}t"))
