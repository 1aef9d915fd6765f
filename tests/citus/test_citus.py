"""db4ai on a Citus coordinator with two workers (DB4AI_TEST_DSN of ../shared/tools/citus-cluster).

What runs where is shown from catalog facts and EXPLAIN: snapshots of distributed tables are
distributed tables co-located with their source and filled by INSERT ... SELECT pushed down to
the workers; training reads the shards from the workers; PREDICT BY is pushed down. Skipped on a
server without Citus (CI runs them in its Citus stage).
"""

from __future__ import annotations

import json

import numpy as np
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db4ai import data, models
from db4ai.data import _shards
from db4ai.dialect import parse_script
from db4ai.install import install, uninstall

N = 3000


@pytest.fixture
def cdb(pg_server, db):
    if not pg_server.citus:
        pytest.skip("needs a Citus coordinator (DB4AI_TEST_DSN of ../shared/tools/citus-cluster)")
    return db


def distributed_table(conn: psycopg.Connection, name: str = "h", n: int = N) -> None:
    conn.execute(sql.SQL("CREATE TABLE {} (id bigint, x1 float8, x2 float8, y float8, p float8)").format(sql.Identifier(name)))
    conn.execute("SELECT create_distributed_table(%s, 'id')", (name,))
    conn.execute(sql.SQL("INSERT INTO {} SELECT g, (g % 7) * 0.5, CASE WHEN g % 11 = 0 THEN NULL ELSE g % 5 END,"
                         " 1 + 2 * (g % 7) - (g % 5) + (g % 3) * 0.01, NULL FROM generate_series(1, {}) g").format(
        sql.Identifier(name), sql.Literal(n)))


def worker_dsn(db_dsn: str, host: str, port: int) -> str:
    return make_conninfo(db_dsn, host=host, port=str(port))


def partition(conn: psycopg.Connection, rel: str) -> tuple | None:
    return conn.execute("SELECT partmethod::text, column_to_column_name(logicalrelid, partkey), colocationid"
                        " FROM pg_dist_partition WHERE logicalrelid = %s::regclass", (rel,)).fetchone()


def store_of(conn: psycopg.Connection, name: str) -> str:
    return conn.execute("SELECT st.store::text FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id)"
                        " WHERE s.name = %s", (name,)).fetchone()[0]


def rows(conn: psycopg.Connection, query: str) -> list[tuple]:
    return sorted(conn.execute(query).fetchall(), key=repr)


def shard_order_ids(conn: psycopg.Connection, db_dsn: str, table: str) -> list[int]:
    """The ids of ``table`` shard by shard (hash range order), each shard in its scan order, read
    straight from the workers with plain SQL: the reference for db4ai.data's order."""
    shards = conn.execute(
        "SELECT shard_name(s.logicalrelid, s.shardid), n.nodename, n.nodeport FROM pg_dist_shard s"
        " JOIN pg_dist_placement p USING (shardid) JOIN pg_dist_node n USING (groupid)"
        " WHERE s.logicalrelid = %s::regclass ORDER BY s.shardminvalue::int8", (table,)).fetchall()
    ids: list[int] = []
    for shard, host, port in shards:
        with psycopg.connect(worker_dsn(db_dsn, host, port), autocommit=True) as w:
            ids += [r[0] for r in w.execute(sql.SQL("SELECT id FROM {}").format(sql.SQL(shard)))]
    return ids


# -- install -----------------------------------------------------------------------------------

def test_install_is_silent_and_places_objects_and_uninstall_is_clean(cdb, db_dsn):
    notices: list[tuple[str, str]] = []
    cdb.add_notice_handler(lambda d: notices.append((d.severity_nonlocalized, d.message_primary)))
    install(cdb)  # again: an upgrade
    assert [n for n in notices if n[0] == "WARNING"] == []
    # catalogs stay local to the coordinator; the helpers a prediction calls are on the workers
    assert cdb.execute("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'db4ai.%'").fetchone()[0] == 0
    distributed = {r[0] for r in cdb.execute(
        "SELECT (pg_identify_object(classid, objid, objsubid)).identity FROM pg_dist_object"
        " WHERE (pg_identify_object(classid, objid, objsubid)).schema IN ('db4ai', 'db4ai_internal')")}
    helpers = {r[0] for r in cdb.execute(  # sql/citus.sql: _input_array_error, _ova_argmax, the _float8_array overloads
        "SELECT (pg_identify_object('pg_proc'::regclass, oid, 0)).identity FROM pg_proc"
        " WHERE pronamespace = 'db4ai_internal'::regnamespace AND proname IN ('_input_array_error', '_ova_argmax', '_float8_array')")}
    assert len(helpers) == 10 and "db4ai_internal._input_array_error(integer,double precision[])" in helpers
    assert distributed == helpers
    workers = cdb.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0").fetchall()
    distributed_table(cdb)
    cdb.execute("SELECT db4ai.create_snapshot('public', 'hs', '{\"SELECT * FROM h\"}')")
    uninstall(cdb)
    assert [n for n in notices if n[0] == "WARNING"] == []
    assert cdb.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN ('db4ai', 'db4ai_internal')").fetchone()[0] == 0
    assert cdb.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_db4ai%'").fetchone()[0] == 0
    for host, port in workers:
        with psycopg.connect(worker_dsn(db_dsn, host, port), autocommit=True) as w:
            w.execute("SET citus.override_table_visibility = off")
            assert w.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN ('db4ai', 'db4ai_internal')").fetchone()[0] == 0
            assert w.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_db4ai%'").fetchone()[0] == 0


# -- snapshots ---------------------------------------------------------------------------------

def test_snapshot_keeping_the_distribution_column_is_co_located_and_built_on_the_workers(cdb):
    distributed_table(cdb)
    cdb.execute("SELECT db4ai.create_snapshot('public', 'hs', '{\"SELECT id, x1, y FROM h WHERE x1 > 0\"}')")
    store = store_of(cdb, "hs@1.0.0")
    assert partition(cdb, store)[:2] == ("h", "id") and partition(cdb, store)[2] == partition(cdb, "h")[2]
    assert rows(cdb, 'SELECT * FROM "hs@1.0.0"') == rows(cdb, "SELECT id, x1, y FROM h WHERE x1 > 0")
    # the statement db4ai ran (from the catalog's commands) is pushed down: one task per shard,
    # each inserting into the co-located shard from the source shard, no rows through the coordinator
    proj, where = cdb.execute("SELECT commands[1], commands[2] FROM db4ai.snapshot WHERE name = 'hs@1.0.0'").fetchone()
    plan = json.dumps(cdb.execute(sql.SQL("EXPLAIN (FORMAT JSON) INSERT INTO {} SELECT q.* FROM ({} {}) q").format(
        sql.SQL(store), sql.SQL(proj), sql.SQL(where))).fetchone()[0])
    shards = cdb.execute("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'h'::regclass").fetchone()[0]
    assert f'"Task Count": {shards}' in plan
    assert "INSERT/SELECT method" not in plan  # what Citus prints for pull-to-coordinator / repartition


def test_snapshot_without_the_distribution_column_and_distribute_by(cdb):
    distributed_table(cdb)
    cdb.execute("CREATE TABLE ref AS SELECT g AS k, g * 2 AS v FROM generate_series(1, 20) g")
    cdb.execute("SELECT create_reference_table('ref')")
    cdb.execute("CREATE TABLE loc AS SELECT g AS k FROM generate_series(1, 20) g")
    made = {
        "a": '{"SELECT x1, y FROM h"}',                                     # db4ai chooses: first hashable column
        "b": '{"SELECT id AS k, y FROM h", "DISTRIBUTE BY HASH(y)"}',        # openGauss's clause picks it
        "c": '{"SELECT * FROM loc", "DISTRIBUTE BY REPLICATION"}',          # a reference table
        "d": '{"SELECT * FROM ref"}',                                       # reference / local sources: one node
        "e": '{"SELECT * FROM loc"}',
    }
    for name, commands in made.items():
        cdb.execute("SELECT db4ai.create_snapshot('public', %s, %s)", (name, commands))
    dist = partition(cdb, "h")[2]
    a, b, c = (partition(cdb, store_of(cdb, f"{n}@1.0.0")) for n in "abc")
    assert a[:2] == ("h", "x1") and a[2] != dist
    assert b[:2] == ("h", "y")
    assert c[0] == "n"
    assert partition(cdb, store_of(cdb, "d@1.0.0")) is None and partition(cdb, store_of(cdb, "e@1.0.0")) is None
    assert rows(cdb, 'SELECT * FROM "a@1.0.0"') == rows(cdb, "SELECT x1, y FROM h")
    assert rows(cdb, 'SELECT * FROM "d@1.0.0"') == rows(cdb, "SELECT * FROM ref")


def test_prepare_sample_split_of_a_distributed_snapshot_match_a_local_one(cdb):
    distributed_table(cdb)
    cdb.execute("CREATE TABLE loc AS SELECT * FROM h")
    for name, table in (("d", "h"), ("l", "loc")):
        cdb.execute("SELECT db4ai.create_snapshot('public', %s, %s)", (name, [f"SELECT id, x1, y FROM {table}"]))
        cdb.execute("SELECT db4ai.prepare_snapshot('public', %s, '{DELETE, \"WHERE id %% 4 = 0\", UPDATE, \"SET y = y + 1\"}')",
                    (f"{name}@1.0.0",))
        cdb.execute("SELECT db4ai.sample_snapshot('public', %s, '{_s}', '{.3}', NULL, NULL, 7)", (f"{name}@1.1.0",))
        cdb.execute("SELECT db4ai.split_snapshot('public', %s, '{_tr,_te}', '{.75,.25}', '{x1}', NULL, 7)", (f"{name}@1.1.0",))
    parent = partition(cdb, store_of(cdb, "d@1.0.0"))
    for child in ("d@1.1.0", "d_s@1.1.0", "d_tr@1.1.0", "d_te@1.1.0"):
        assert partition(cdb, store_of(cdb, child)) == parent, child  # distributed like the parent, co-located
        assert partition(cdb, store_of(cdb, "l" + child[1:])) is None
        assert rows(cdb, f'SELECT * FROM "{child}"') == rows(cdb, f'SELECT * FROM "l{child[1:]}"'), child


def test_css_refuses_distributed_data_naming_mss_and_leaves_nothing(cdb):
    distributed_table(cdb)
    cdb.execute("SELECT db4ai.create_snapshot('public', 'hs', '{\"SELECT * FROM h\"}')")
    before = cdb.execute("SELECT (SELECT count(*) FROM db4ai.snapshot), (SELECT count(*) FROM pg_class"
                         " WHERE relname LIKE '\\_db4ai%'), (SELECT count(*) FROM pg_dist_partition)").fetchone()
    cdb.execute("SET db4ai.snapshot_mode = 'CSS'")
    for call in ("SELECT db4ai.create_snapshot('public', 'hc', '{\"SELECT * FROM h\"}')",
                 "SELECT db4ai.prepare_snapshot('public', 'hs@1.0.0', '{DELETE, \"WHERE id < 5\"}')",
                 "SELECT db4ai.sample_snapshot('public', 'hs@1.0.0', '{_s}', '{.5}')",
                 "SELECT db4ai.split_snapshot('public', 'hs@1.0.0', '{_a,_b}', '{.5,.5}')"):
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="CSS snapshots cannot be stored in distributed tables") as info:
            cdb.execute(call)
        assert "MSS" in info.value.diag.message_hint
    cdb.execute("RESET db4ai.snapshot_mode")
    assert cdb.execute("SELECT (SELECT count(*) FROM db4ai.snapshot), (SELECT count(*) FROM pg_class"
                       " WHERE relname LIKE '\\_db4ai%'), (SELECT count(*) FROM pg_dist_partition)").fetchone() == before


# -- reads ---------------------------------------------------------------------------------------

def test_reads_shard_by_shard_from_the_workers(cdb, db_dsn):
    distributed_table(cdb)
    expected = shard_order_ids(cdb, db_dsn, "h")
    assert data.read(cdb, "SELECT id FROM h", parallel=3, chunk_rows=100).arrays["id"].tolist() == expected
    frame = data.read(cdb, "SELECT id, x2 FROM h AS t WHERE t.x1 > 1", parallel=1)
    keep = set(r[0] for r in cdb.execute("SELECT id FROM h WHERE x1 > 1"))
    assert frame.arrays["id"].tolist() == [i for i in expected if i in keep]
    assert frame.nulls["x2"].tolist() == [i % 11 == 0 for i in frame.arrays["id"].tolist()]
    # a snapshot of it is read the same way, by its own shards
    cdb.execute("SELECT db4ai.create_snapshot('public', 'hs', '{\"SELECT id, y FROM h\"}')")
    plan = _shards.shard_plan(cdb, 'SELECT id, y FROM public."hs@1.0.0"', data.describe(cdb, "SELECT id, y FROM hs@1.0.0"))
    store = store_of(cdb, "hs@1.0.0")
    assert plan is not None and plan.relation == cdb.execute("SELECT %s::regclass::oid::int8", (store,)).fetchone()[0]
    placements = cdb.execute(
        "SELECT n.nodename, n.nodeport FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)"
        " JOIN pg_dist_node n USING (groupid) WHERE s.logicalrelid = %s::regclass ORDER BY s.shardminvalue::int8",
        (store,)).fetchall()
    assert [(s.host, s.port) for s in plan.shards] == placements
    assert data.read(cdb, "SELECT id FROM hs@1.0.0").arrays["id"].tolist() == shard_order_ids(cdb, db_dsn, store)
    # while a read is under way, the connections reading are on the workers and name a shard
    stream = data.stream(cdb, "SELECT id FROM h", chunk_rows=10, parallel=2, prefetch=0)
    next(stream)
    seen = []
    for host, port in set(placements):
        with psycopg.connect(worker_dsn(db_dsn, host, port), autocommit=True) as w:
            seen += w.execute("SELECT query FROM pg_stat_activity WHERE application_name = %s",
                              (_shards.APPLICATION,)).fetchall()
    stream.close()
    assert any("FROM h_" in q[0] or "h_1" in q[0] for q in seen)  # a shard (h_<shard id>), read on a worker


def test_same_model_from_a_distributed_table_and_a_local_copy_in_shard_order(cdb, db_dsn):
    distributed_table(cdb)
    order = shard_order_ids(cdb, db_dsn, "h")
    cdb.execute("CREATE TABLE loc (LIKE h)")
    by_id = {r[0]: r for r in cdb.execute("SELECT * FROM h")}
    with cdb.cursor() as cur, cur.copy("COPY loc FROM STDIN") as copy:
        for i in order:
            copy.write_row(by_id[i])
    weights = []
    for table in ("h", "loc"):
        stmt = parse_script(f"CREATE MODEL m_{table} USING linear_regression FEATURES x1, x2 TARGET y FROM {table}"
                            " WITH optimizer = ngd, max_iterations = 20, batch_size = 64, seed = 5")[0]
        models.create_model(cdb, stmt, parallel=2)
        weights.append(np.array(cdb.execute("SELECT coefficients FROM db4ai.gs_model_warehouse WHERE modelname = %s",
                                            (f"m_{table}",)).fetchone()[0]))
    assert np.allclose(weights[0], weights[1], rtol=0, atol=1e-12)
    processed = cdb.execute("SELECT processedtuples, discardedtuples FROM db4ai.gs_model_warehouse ORDER BY modelname").fetchall()
    assert processed[0] == processed[1] == (N - N // 11, N // 11)


def test_torch_style_split_reads_cover_every_row_once(cdb):
    distributed_table(cdb)
    parts = [np.concatenate([f.arrays["id"] for f in data.stream_part(cdb, "SELECT id FROM h", i, 3, chunk_rows=50)])
             for i in range(3)]
    ids = np.concatenate(parts)
    assert len(ids) == N and len(np.unique(ids)) == N and all(len(p) for p in parts)


def test_a_read_inside_the_callers_transaction_goes_through_the_coordinator(cdb):
    distributed_table(cdb)
    with cdb.transaction():
        cdb.execute("INSERT INTO h VALUES (100000, 1, 1, 1, NULL)")  # not visible to other connections yet
        ids = data.read(cdb, "SELECT id FROM h").arrays["id"].tolist()
    assert len(ids) == N + 1 and 100000 in ids


# -- predictions ----------------------------------------------------------------------------------

def test_predict_by_and_the_generated_function_run_on_the_workers(cdb, db_dsn):
    import db4ai

    distributed_table(cdb)
    shards = cdb.execute("SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'h'::regclass").fetchone()[0]
    with db4ai.connect(db_dsn, autocommit=True) as shim:
        shim.execute("CREATE MODEL m USING linear_regression FEATURES x1, x2 TARGET y FROM h"
                     " WITH optimizer = ngd, max_iterations = 5")
        weight = repr(cdb.execute("SELECT coefficients[1] FROM db4ai.gs_model_warehouse").fetchone()[0])
        for statement in ("EXPLAIN (VERBOSE, FORMAT JSON) UPDATE h SET p = PREDICT BY m (FEATURES x1, x2)",
                          "EXPLAIN (VERBOSE, FORMAT JSON) SELECT id FROM h WHERE PREDICT BY m (FEATURES x1, x2) > 3",
                          "EXPLAIN (VERBOSE, FORMAT JSON) UPDATE h SET p = db4ai.m_pred(x1, x2)"):
            plan = shim.execute(statement).fetchone()[0][0]["Plan"]
            text = json.dumps(plan)
            # one task per shard; the whole statement, prediction included, is the workers' plan
            assert plan["Custom Plan Provider"] == "Citus Adaptive" and f'"Task Count": {shards}' in text, statement
            remote = json.dumps(plan["Distributed Query"]["Job"]["Tasks"])
            assert "public.h_" in remote, statement  # a shard, on its worker
            assert (weight in remote or "m_pred" in remote) and "x2" in remote, statement
        shim.execute("UPDATE h SET p = db4ai.m_pred(x1, x2)")
        by_shim = shim.execute("SELECT id, PREDICT BY m (FEATURES x1, x2) FROM h ORDER BY id").fetchall()
    assert cdb.execute("SELECT id, p FROM h ORDER BY id").fetchall() == by_shim
    workers = cdb.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0").fetchall()
    for host, port in workers:
        with psycopg.connect(worker_dsn(db_dsn, host, port), autocommit=True) as w:
            assert w.execute("SELECT count(*) FROM pg_proc WHERE proname = 'm_pred'").fetchone()[0] == 1
    cdb.execute("SELECT db4ai.drop_model('m')")
    for host, port in workers:
        with psycopg.connect(worker_dsn(db_dsn, host, port), autocommit=True) as w:
            assert w.execute("SELECT count(*) FROM pg_proc WHERE proname = 'm_pred'").fetchone()[0] == 0


# -- benchmark smoke test ----------------------------------------------------------------------------

def test_citus_benchmark_runs_at_2000_rows(cdb, db_dsn, pg_server, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from tests.support import cloned_database

    root = Path(__file__).resolve().parents[2]
    with cloned_database(pg_server, "db4ai_single") as single:  # its bench_data stays a local table
        done = subprocess.run([sys.executable, "-m", "benchmarks.citus", "--citus-dsn", db_dsn, "--dsn", single,
                               "--rows", "2000", "--repeats", "1", "--out", str(tmp_path)],
                              cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "citus-latest.json").read_text())
    cluster = {m["name"]: m for m in report["measurements"] if "Citus" in m["name"]}
    assert len(cluster) == 4 and all(m["ratio"] is not None for m in cluster.values())
    for m in cluster.values():  # co-located snapshot, predictions and reads: no row through the coordinator
        assert m["extra"]["pulled_to_coordinator"] is False and len(m["extra"]["per_node_seconds"]) == 2, m
