"""db4ai on a Citus cluster against a single PostgreSQL node, same machine, same data.

    python -m benchmarks.citus --citus-dsn DSN --dsn SINGLE_NODE_DSN [--rows 1000000] [--repeats 3]
                               [--parallel N] [--out DIR]

``--citus-dsn``: a coordinator (``../shared/tools/citus-cluster start`` prints one); ``--dsn``: a
single node of the same PostgreSQL version. On both, db4ai is installed and ``bench_data`` made
(on the cluster distributed by ``id``); then, best of ``--repeats``:

* ``create_snapshot`` of the whole table (MSS);
* CREATE MODEL linear_regression (ngd, 10 passes, batch 1000), read with ``--parallel`` connections;
* PREDICT BY over the table: ``UPDATE bench_data SET p = PREDICT BY m (FEATURES ...)``;
* a db4ai.data read of the training query (``read_matrix``).

Each cluster figure is shown as a ratio to the single node, with the rows that passed through
the coordinator (from Citus's EXPLAIN ANALYZE: tuples received from the workers, or the INSERT ...
SELECT method; a read from the workers passes none) and the time each worker node spent on its
own shards (its tasks' times in EXPLAIN ANALYZE with ``citus.explain_all_tasks``; for reads, the
node's shards read alone): on separate machines the cluster's time approaches the largest of
these, while on one machine the nodes share the cores, so a single machine shows no speed-up.
Results: a table on stdout and JSON in ``<out>/citus-<timestamp>.json`` (and ``citus-latest.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from benchmarks._harness import BenchContext, Measurement, create_data, machine_info, ratios, table_text

HERE = Path(__file__).resolve().parent
GROUP = "citus"
FEATURES = "x1, x2, x3, x4"
QUERY = f"SELECT y, {FEATURES} FROM bench_data"


def _setup(ctx: BenchContext, distributed: bool) -> None:
    from db4ai.install import install

    with ctx.connect() as conn:
        install(conn)
        create_data(conn, ctx.table, ctx.rows)
        conn.execute("ALTER TABLE bench_data ADD COLUMN p float8")
        if distributed:
            conn.execute("SELECT create_distributed_table('bench_data', 'id')")
            conn.execute("SELECT truncate_local_data_after_distributing_table('bench_data')")
        conn.execute("VACUUM ANALYZE bench_data")


def _pushdown(conn: psycopg.Connection, statement: str) -> dict:
    """Rows through the coordinator (Citus's EXPLAIN ANALYZE, rolled back) and the seconds each
    worker node needs for its own tasks of ``statement``, run one after another on one
    connection to that node (rolled back): the work a node does, whatever else runs beside it."""
    with conn.transaction(force_rollback=True):
        text = "\n".join(r[0] for r in conn.execute(f"EXPLAIN (ANALYZE) {statement}"))
    pulled = "pull to coordinator" in text or "repartition" in text
    received = re.search(r"Tuple data received from nodes: ([0-9.]+) (bytes|kB|MB)", text)
    with conn.transaction():
        conn.execute("SET LOCAL citus.explain_all_tasks = on")
        plan = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {statement}").fetchone()[0][0]["Plan"]
    tasks: dict[tuple[str, int], list[str]] = defaultdict(list)
    for task in plan["Distributed Query"]["Job"]["Tasks"]:
        node = dict(kv.split("=", 1) for kv in task["Node"].split())
        tasks[(node["host"], int(node["port"]))].append(task["Query"])
    per_node = {}
    for (host, port), queries in sorted(tasks.items()):
        with psycopg.connect(make_conninfo(conn.info.dsn, host=host, port=str(port)), autocommit=True) as worker:
            with worker.transaction(force_rollback=True):
                started = time.perf_counter()
                for query in queries:
                    worker.execute(query)
                per_node[f"{host}:{port}"] = time.perf_counter() - started
    return {"per_node_seconds": per_node, "pulled_to_coordinator": pulled,
            "tuple_bytes_to_coordinator": 0 if received is None else
            float(received.group(1)) * {"bytes": 1, "kB": 1024, "MB": 1 << 20}[received.group(2)]}


def _read_per_node(conn: psycopg.Connection, parallel: int) -> dict[str, float]:
    """Seconds to read each worker node's shards alone (db4ai.data's shard reader, ``parallel``
    connections)."""
    from db4ai import data
    from db4ai.data import _shards

    columns = data.describe(conn, QUERY)
    plan = _shards.shard_plan(conn, QUERY, columns)
    if plan is None:
        return {}
    out = {}
    for node in sorted({(s.host, s.port) for s in plan.shards}):
        mine = dataclasses.replace(plan, shards=tuple(s for s in plan.shards if (s.host, s.port) == node))
        started = time.perf_counter()
        with conn.transaction():
            sum(len(f) for f in _shards.frames(conn, mine, columns, 65536, parallel))
        out[f"{node[0]}:{node[1]}"] = time.perf_counter() - started
    return out


def _measure(ctx: BenchContext, label: str, citus: bool) -> list[Measurement]:
    import db4ai
    from db4ai import data, models
    from db4ai.data import _shards
    from db4ai.dialect import parse_script

    tag = f"bench_{uuid.uuid4().hex[:6]}"
    model = f"{tag}_m"
    stmt = parse_script(f"CREATE MODEL {model} USING linear_regression FEATURES {FEATURES} TARGET y FROM bench_data"
                        " WITH optimizer = ngd, max_iterations = 10, batch_size = 1000, seed = 1")[0]
    out: list[Measurement] = []
    with ctx.connect() as conn, db4ai.connect(ctx.dsn, autocommit=True) as shim:
        p = ctx.parallel or data.resolve_parallel(conn, None)
        schema = conn.execute("SELECT current_schema()").fetchone()[0]

        def snapshot() -> None:
            conn.execute("SELECT db4ai.create_snapshot(%s, %s, '{\"SELECT * FROM bench_data\"}')", (schema, f"{tag}_s"))
            conn.execute("SELECT db4ai.purge_snapshot(%s, %s)", (schema, f"{tag}_s@1.0.0"))

        def create() -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            models.create_model(conn, stmt, parallel=p)

        def read() -> None:
            data.read_matrix(conn, QUERY, parallel=p)

        predict = f"UPDATE bench_data SET p = PREDICT BY {model} (FEATURES {FEATURES})"

        def update() -> None:
            shim.execute(predict)

        extra: dict[str, dict] = {}
        if citus:
            conn.execute(f"CREATE TABLE {tag}_t (LIKE bench_data)")
            conn.execute(f"SELECT create_distributed_table('{tag}_t', 'id', colocate_with => 'bench_data')")
            extra["create_snapshot"] = _pushdown(conn, f"INSERT INTO {tag}_t SELECT q.* FROM (SELECT * FROM bench_data) q")
            conn.execute(f"DROP TABLE {tag}_t")
        timings = {"create_snapshot": ctx.best_of(snapshot), "CREATE MODEL ngd x10": ctx.best_of(create)}
        if citus:
            plain_update = conn.execute("SELECT 'UPDATE bench_data SET p = ' || db4ai.predict_model_sql(%s, %s)",
                                        (model, FEATURES.split(", "))).fetchone()[0]
            extra["PREDICT BY (UPDATE)"] = _pushdown(conn, plain_update)
            via_workers = _shards.shard_plan(conn, QUERY, data.describe(conn, QUERY)) is not None
            read_nodes = _read_per_node(conn, 1)
            extra["read_matrix"] = {"per_node_seconds": read_nodes, "pulled_to_coordinator": not via_workers,
                                    "tuple_bytes_to_coordinator": 0 if via_workers else None}
            extra["CREATE MODEL ngd x10"] = extra["read_matrix"]
        timings["PREDICT BY (UPDATE)"] = ctx.best_of(update)
        timings["read_matrix"] = ctx.best_of(read)
        shim.execute(f"DROP MODEL IF EXISTS {model}")
    for name, seconds in timings.items():
        info = {"rows": ctx.rows, "parallel": p, **extra.get(name, {})}
        out.append(Measurement(GROUP, f"{name} [{label}]", seconds, extra=info,
                               reference=f"{name} [single node]" if citus else None))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.citus", description=__doc__.split("\n\n")[0])
    ap.add_argument("--citus-dsn", required=True, help="a Citus coordinator")
    ap.add_argument("--dsn", required=True, help="a single PostgreSQL node (same version)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=None, help="reader connections (default: automatic)")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    runs = {"single node": (args.dsn, False), "Citus, 2 workers": (args.citus_dsn, True)}
    measurements: list[Measurement] = []
    machines = {}
    for label, (dsn, citus) in runs.items():
        ctx = BenchContext(dsn=dsn, rows=args.rows, repeats=args.repeats, parallel=args.parallel)
        started = time.perf_counter()
        _setup(ctx, citus)
        with ctx.connect() as conn:
            machines[label] = machine_info(conn)
        print(f"{label}: bench_data of {args.rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        measurements += _measure(ctx, label, citus)
    rows = ratios(measurements)
    print()
    print(table_text(rows))
    print("\nrows through the coordinator / seconds per worker node (cluster):")
    for r in rows:
        if "per_node_seconds" in r["extra"]:
            nodes = ", ".join(f"{n} {s:.3f} s" for n, s in sorted(r["extra"]["per_node_seconds"].items()))
            through = ("all rows" if r["extra"]["pulled_to_coordinator"]
                       else f"0 rows ({r['extra']['tuple_bytes_to_coordinator'] or 0:.0f} bytes of results)")
            print(f"  {r['name']}: through coordinator {through}; per node: {nodes}")
    report = {"rows": args.rows, "repeats": args.repeats, "parallel": args.parallel, "machines": machines,
              "measurements": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = json.dumps(report, indent=2, default=str)
    (out / f"citus-{stamp}.json").write_text(text, encoding="utf-8")
    (out / "citus-latest.json").write_text(text, encoding="utf-8")
    print(f"\nsaved {out / f'citus-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
