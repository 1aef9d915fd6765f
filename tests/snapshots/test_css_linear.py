"""A CSS child stays linear whatever work_mem is (issue 14.2).

The statements that stored a CSS child used to test membership with ``IN (subquery)`` under an OR:
once the changed rows outgrew work_mem, PostgreSQL ran that subquery once per row (an unhashed
SubPlan), and a child updating half of 800,000 rows ran for minutes. Now a child is stored by a scan
and a sort of its own work table, with no join at all; the plans are checked for that structure
(timing never decides a test), under a work_mem far too small for any hash table of the changed rows.
"""

from __future__ import annotations

import json

from .conftest import Db

ROWS = 20_000


def subplans(plan: dict) -> list[str]:
    """Names of the per-row subplans ("SubPlan n"; "hashed SubPlan n" and InitPlans are fine)."""
    found = []
    if plan.get("Parent Relationship") == "SubPlan" and not plan.get("Subplan Name", "").startswith("hashed"):
        found.append(plan.get("Subplan Name", "?"))
    for child in plan.get("Plans", []):
        found += subplans(child)
    return found


def node_types(plan: dict) -> set[str]:
    out = {plan["Node Type"]}
    for child in plan.get("Plans", []):
        out |= node_types(child)
    return out


def explain(db: Db, stmt: str) -> dict:
    raw = db.one(f"EXPLAIN (FORMAT JSON) {stmt}")
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def css_parent(db: Db, rows: int) -> int:
    db.set_mode("CSS")
    db.rows(f"CREATE TABLE big AS SELECT g AS id, g % 97 + 1 AS x FROM generate_series(1, {rows}) g")
    db.rows("SELECT db4ai.create_snapshot('public', 'big', '{SELECT *, FROM big}')")
    return db.one("SELECT id FROM db4ai.snapshot WHERE name = 'big@1.0.0'")


def test_css_child_statements_are_scans_under_a_tiny_work_mem(sdb: Db) -> None:
    sdb.rows("SET work_mem = '64kB'")
    parent = css_parent(sdb, ROWS)
    # the work table prepare_snapshot builds: the parent's rows with row ids, then the operations
    sdb.rows(f"CREATE TEMP TABLE w AS {sdb.one('SELECT db4ai_internal._snapshot_rows_sql(%s, true)', (parent,))}")
    cmin = sdb.one("SELECT cmin::text FROM w LIMIT 1")
    assert sdb.one("SELECT count(DISTINCT cmin::text) FROM w") == 1  # one command wrote them all
    sdb.rows("UPDATE w SET x = 0 WHERE id % 4 = 0")
    stmts = sdb.rows("SELECT kept, append FROM db4ai_internal._css_child_sql((SELECT st FROM db4ai.snapshot_storage st WHERE id = %s),"
                     " 999, 'w'::regclass, %s::cid, false, 100000, 'pg_temp.k', '{id,x}', '{id,x}')", (parent, cmin))[0]
    in_scan_order = sdb.one("SELECT kept FROM db4ai_internal._css_child_sql((SELECT st FROM db4ai.snapshot_storage st WHERE id = %s),"
                            " 999, 'w'::regclass, %s::cid, true, 100000, 'pg_temp.k', '{id,x}', '{id,x}')", (parent, cmin))
    for stmt in (*stmts, in_scan_order):
        plan = explain(sdb, stmt)
        assert subplans(plan) == []
        assert not any("Join" in t or "Nested Loop" in t for t in node_types(plan)), node_types(plan)
    assert "Sort" not in node_types(explain(sdb, in_scan_order))
    with sdb.conn.transaction(force_rollback=True):  # the table drops itself at commit
        sdb.rows(stmts[0])
        # a gap in the kept row ids at every updated row but the last one, which ends the table
        assert sdb.rows("SELECT count(lo), sum(hi - lo), bool_or(back) FROM k") == [(ROWS // 4 - 1, ROWS // 4 - 1, False)]
    # the checker sees the structure that stalled: the former statement, on the same tables
    sdb.rows(f"CREATE TEMP TABLE r AS SELECT _db4ai_rid FROM w WHERE id % 4 = 0; ANALYZE r")
    former = stmts[1].split(" WHERE ")[0] + " WHERE w._db4ai_rid IS NULL OR w._db4ai_rid IN (SELECT r._db4ai_rid FROM r)"
    assert subplans(explain(sdb, former)) == ["SubPlan 1"]
    sdb.rows("DROP TABLE w, r")

    # the real derivation under the same work_mem stores what it should, sharing the parent's table
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.0', '{UPDATE, SET x = 0, WHERE id % 4 = 0}')")
    assert sdb.rows('SELECT count(*), sum(x) FILTER (WHERE id % 4 = 0), sum(x) FROM "big@1.0.1"') == [
        (ROWS, 0, sdb.one("SELECT sum(x) FROM big WHERE id % 4 <> 0"))]
    assert sdb.one('SELECT count(*) FROM "big@1.0.0" a JOIN big b USING (id, x)') == ROWS
    assert sdb.one("SELECT count(DISTINCT store) FROM db4ai.snapshot_storage") == 1
    store = sdb.one("SELECT store::text FROM db4ai.snapshot_storage WHERE id = %s", (parent,))
    assert sdb.one(f"SELECT count(*) FROM {store}") == ROWS + ROWS // 4


def test_a_child_that_changes_rows_all_over_its_parent_gets_a_table_of_its_own(sdb: Db) -> None:
    """Every other row updated: 20,000 runs of kept rows for 40,000 rows. Sharing would cost a
    membership of 20,000 ranges; the child is copied instead (with row ids, for its own children)."""
    parent = css_parent(sdb, 2 * ROWS)
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.0', '{UPDATE, SET x = 0, WHERE id % 2 = 0}')")
    assert sdb.rows('SELECT count(*), sum(x) FILTER (WHERE id % 2 = 0), sum(x) FROM "big@1.0.1"') == [
        (2 * ROWS, 0, sdb.one("SELECT sum(x) FROM big WHERE id % 2 = 1"))]
    assert sdb.rows("""SELECT s.matrix_id, st.members = int8multirange(int8range((s.id << 32) + 1, (s.id << 32) + 40001)),
                              st.store <> (SELECT store FROM db4ai.snapshot_storage WHERE id = %s)
                       FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id) WHERE s.name = 'big@1.0.1'""",
                    (parent,)) == [(None, True, True)]
    # its own children share its table
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.1', '{DELETE, WHERE id <= 10}')")
    assert sdb.one("SELECT count(DISTINCT store) FROM db4ai.snapshot_storage") == 2
    assert sdb.one('SELECT count(*) FROM "big@1.1.0"') == 2 * ROWS - 10


def test_a_backing_table_out_of_row_id_order(sdb: Db) -> None:
    """After a purge and VACUUM, a later child's rows fill the freed space before an earlier child's:
    the rows of a snapshot are then no longer in row-id order in its backing table, and the runs of
    kept rows are found by sorting. The children still hold exactly what plain SQL gives."""
    css_parent(sdb, 4000)
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.0', '{UPDATE, SET x = -1, WHERE id <= 2000}', 'x')")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.0', '{UPDATE, SET x = x + 100, WHERE id % 10 = 0}')")
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'big@x')")
    store = sdb.one("SELECT DISTINCT store::text FROM db4ai.snapshot_storage")
    sdb.rows(f"VACUUM {store}")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.1', '{UPDATE, SET x = x + 1000, WHERE id % 7 = 0}')")
    assert sdb.one('SELECT count(*) FROM (SELECT t._db4ai_rid < lag(t._db4ai_rid) OVER () AS back FROM "big@1.0.2" v'
                   f' JOIN {store} t ON t.id = v.id AND t.x = v.x) q WHERE back') > 0  # out of order
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.2', '{UPDATE, SET x = 0, WHERE id % 3 = 0, DELETE, WHERE id % 11 = 0}')")
    sdb.rows("CREATE TABLE ref AS SELECT id, x + CASE WHEN id % 10 = 0 THEN 100 ELSE 0 END + CASE WHEN id % 7 = 0 THEN 1000 ELSE 0 END"
             " AS x FROM big; UPDATE ref SET x = 0 WHERE id % 3 = 0; DELETE FROM ref WHERE id % 11 = 0")
    assert sdb.one('SELECT count(*) FROM ((TABLE "big@1.1.0" EXCEPT ALL TABLE ref) UNION ALL (TABLE ref EXCEPT ALL TABLE "big@1.1.0")) d') == 0
    assert sdb.one("SELECT count(DISTINCT store) FROM db4ai.snapshot_storage") == 1
