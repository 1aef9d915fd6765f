"""A CSS child stays linear whatever work_mem is (issue 14.2).

The statements that store a CSS child used to test membership with ``IN (subquery)`` under an OR:
once the changed rows outgrew work_mem, PostgreSQL ran that subquery once per row (an unhashed
SubPlan), and a child updating half of 800,000 rows ran for minutes. The plans are checked for
that structure (timing never decides a test): joins only, with the tables as they are when the
child is stored, under a work_mem far too small for any hash table of the changed rows.
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
    out = {plan["Node Type"] + (" " + plan["Join Type"] if "Join Type" in plan else "")}
    for child in plan.get("Plans", []):
        out |= node_types(child)
    return out


def explain(db: Db, stmt: str) -> dict:
    raw = db.one(f"EXPLAIN (FORMAT JSON) {stmt}")
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def test_css_child_statements_are_joins_under_a_tiny_work_mem(sdb: Db) -> None:
    sdb.set_mode("CSS")
    sdb.rows("SET work_mem = '64kB'")
    sdb.rows(f"CREATE TABLE big AS SELECT g AS id, g % 97 + 1 AS x FROM generate_series(1, {ROWS}) g")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'big', '{SELECT *, FROM big}')")
    # the same work table prepare_snapshot builds: the parent's rows with row ids, then the UPDATE
    parent = sdb.one("SELECT id FROM db4ai.snapshot WHERE name = 'big@1.0.0'")
    sdb.rows(f"CREATE TEMP TABLE w AS {sdb.one('SELECT db4ai._snapshot_rows_sql(%s, true)', (parent,))}")
    sdb.rows("UPDATE w SET x = 0 WHERE id % 2 = 0")
    sdb.rows("ANALYZE w")
    sql = sdb.rows("SELECT removed, append FROM db4ai._css_child_sql((SELECT st FROM db4ai.snapshot_storage st WHERE id = %s),"
                   " 999, 'w'::regclass, 'pg_temp.r', '{id,x}', '{id,x}')", (parent,))[0]
    removed = explain(sdb, sql[0])
    assert subplans(removed) == []
    assert {"Hash Join Anti", "Merge Join Anti"} & node_types(removed), node_types(removed)
    sdb.rows(f"CREATE TEMP TABLE r AS {sql[0]}")
    assert sdb.one("SELECT count(*) FROM r") == ROWS // 2
    sdb.rows("ANALYZE r")
    append = explain(sdb, sql[1])
    assert subplans(append) == []
    # the checker sees the structure that stalled: the former statement, on the same tables
    former = sql[1].split(" LEFT JOIN ")[0] + " WHERE w._db4ai_rid IS NULL OR w._db4ai_rid IN (SELECT r._db4ai_rid FROM r)"
    assert subplans(explain(sdb, former)) == ["SubPlan 1"]
    sdb.rows("DROP TABLE w, r")

    # and the real derivation, under the same work_mem, stores what it should
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'big@1.0.0', '{UPDATE, SET x = 0, WHERE id % 2 = 0}')")
    assert sdb.rows('SELECT count(*), sum(x) FILTER (WHERE id % 2 = 0), sum(x) FROM "big@1.0.1"') == [
        (ROWS, 0, sdb.one("SELECT sum(x) FROM big WHERE id % 2 = 1"))]
    assert sdb.one('SELECT count(*) FROM "big@1.0.0" a JOIN big b USING (id, x)') == ROWS
    store = sdb.one("SELECT store::text FROM db4ai.snapshot_storage WHERE id = %s", (parent,))
    assert sdb.one(f"SELECT count(*) FROM {store}") == ROWS + ROWS // 2
