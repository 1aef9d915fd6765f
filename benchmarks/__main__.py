"""``python -m benchmarks``: build the data set, run every benchmark module, print and save results.

    python -m benchmarks [--rows 1000000] [--repeats 3] [--dsn DSN] [--only read,train] [--out DIR]
                         [--parallel N]

The database is ``--dsn``, else ``$DB4AI_DSN``, else db4ai's embedded PostgreSQL. db4ai is
installed (upgraded) there, and table ``bench_data(id, x1..x4, y)`` is (re)created with
``--rows`` rows generated in SQL. A module that fails is reported and the others still run.
Results: an aligned table on stdout, JSON in ``<out>/<timestamp>.json`` and ``<out>/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks._harness import BenchContext, Measurement, create_data, machine_info, ratios, save, table_text

# Module -> group name its measurements carry; run in this order.
MODULES = {"read": "read", "train": "train", "predict": "predict", "classify": "classify", "smallbatch": "smallbatch",
           "snapshots": "snapshot", "scaling": "scaling", "sequences": "sequences", "solver": "solver",
           "kmeans": "kmeans", "pca": "pca", "boosting": "xgboost"}
HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of bench_data (default 1000000)")
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    p.add_argument("--dsn", default=None, help="database (default: $DB4AI_DSN or the embedded server)")
    p.add_argument("--only", default=None, help="comma-separated groups or modules to run")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for the JSON results")
    p.add_argument("--parallel", type=int, default=None,
                   help="reader connections for the parallel cases (default: db4ai.data's automatic value)")
    args = p.parse_args(argv)
    if args.rows < 1 or args.repeats < 1 or (args.parallel is not None and args.parallel < 1):
        p.error("--rows, --repeats and --parallel must be at least 1")
    return args


def selected(only: str | None) -> list[str]:
    if not only:
        return list(MODULES)
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    unknown = wanted - set(MODULES) - set(MODULES.values())
    if unknown:
        raise SystemExit(f"unknown group(s): {', '.join(sorted(unknown))}; known: {', '.join(MODULES.values())}")
    return [m for m, g in MODULES.items() if m in wanted or g in wanted]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modules = selected(args.only)
    from db4ai.install import install
    from db4ai.server import resolve_dsn

    ctx = BenchContext(dsn=resolve_dsn(args.dsn), rows=args.rows, repeats=args.repeats, out_dir=Path(args.out),
                       parallel=args.parallel)
    with ctx.connect() as conn:
        install(conn)
        machine = machine_info(conn)
        started = time.perf_counter()
        create_data(conn, ctx.table, ctx.rows)
        print(f"bench_data: {ctx.rows:,} rows in {time.perf_counter() - started:.1f} s "
              f"(PostgreSQL {machine['postgresql']}, {machine['cpu_count']} CPUs)", flush=True)
    measurements: list[Measurement] = []
    errors: dict[str, str] = {}
    for module in modules:
        if not (HERE / f"{module}.py").is_file():
            continue
        started = time.perf_counter()
        try:
            found = importlib.import_module(f"benchmarks.{module}").run(ctx)
            measurements.extend(found)
            print(f"{module}: {len(found)} measurements in {time.perf_counter() - started:.1f} s", flush=True)
        except Exception:  # reported, not fatal: the other modules still run
            errors[module] = traceback.format_exc()
            print(f"{module}: FAILED\n{errors[module]}", file=sys.stderr, flush=True)
    rows = ratios(measurements, ctx.rows)
    print()
    print(table_text(rows))
    report = {"rows": ctx.rows, "repeats": ctx.repeats, "parallel": ctx.parallel, "table": ctx.table, "machine": machine,
              "measurements": rows, "errors": errors}
    path = save(ctx.out_dir, report)
    print(f"\nsaved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
