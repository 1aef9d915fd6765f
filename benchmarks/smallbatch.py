"""Small batches (issue: batch_size = 10 on 5M rows took 145 s and peaked at 934 MB): CREATE MODEL with
batch_size 10 against batch_size 1000, for each gradient-descent algorithm, 10 passes after the first.

openGauss visits every batch of every pass, so batch_size 10 means 100x as many steps; db4ai runs
them in compiled loops (algorithms/gd_kernels.py), holding the rows once (8·(k+1) bytes a row).
Each case runs in a fresh Python process that first trains a tiny model (so the compiled loops are
loaded from numba's cache before timing) and reports its wall time and peak RSS. Goals: batch_size
10 costs at most 10x the time of batch_size 1000, and at most 1.5x its peak memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from benchmarks._harness import BenchContext, Measurement

GROUP = "smallbatch"
ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, sys, time
spec = json.loads(sys.argv[1])
import db4ai
shim = db4ai.connect(spec["dsn"], autocommit=True)
model = spec["model"]
warm = spec["statement"].replace(" FROM " + spec["table"], " FROM (SELECT * FROM " + spec["table"] + " LIMIT 200) AS w", 1)
shim.execute(warm)
shim.execute("DROP MODEL " + model)
started = time.perf_counter()
shim.execute(spec["statement"])
seconds = time.perf_counter() - started
iterations = shim.execute("SELECT iterations FROM db4ai.gs_model_warehouse WHERE modelname = %s", (model,)).fetchone()[0]
shim.execute("DROP MODEL " + model)
with open("/proc/self/status") as fh:
    peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "maxrss_kb": peak, "iterations": iterations}))
'''

#: name -> (algorithm, table, features, target)
CASES = {
    "linear_regression": ("linear_regression", None, "x1, x2, x3, x4", "y"),
    "logistic_regression": ("logistic_regression", "bench_classify", "x1, x2, x3, x4, x5, x6, x7, x8, x9, x10", "label"),
    "svm_classification": ("svm_classification", "bench_classify", "x1, x2, x3, x4, x5, x6, x7, x8, x9, x10", "label"),
}


def _child(ctx: BenchContext, statement: str, model: str, table: str) -> dict:
    spec = {"dsn": ctx.dsn, "statement": statement, "model": model, "table": table}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(ctx: BenchContext) -> list[Measurement]:
    from benchmarks.classify import create_classify_data

    with ctx.connect() as conn:
        create_classify_data(conn, ctx.rows)
    out: list[Measurement] = []
    for name, (algorithm, table, features, target) in CASES.items():
        table = table or ctx.table
        model = f"bench_small_{uuid.uuid4().hex[:8]}"
        runs = {}
        for batch in (1000, 10):
            statement = (f"CREATE MODEL {model} USING {algorithm} FEATURES {features} TARGET {target} FROM {table} "
                         f"WITH batch_size = {batch}, max_iterations = 10, tolerance = 1e-12, seed = 1")
            runs[batch] = min((_child(ctx, statement, model, table) for _ in range(ctx.repeats)),
                              key=lambda r: r["seconds"])
        big, small = f"{name} batch_size 1000", f"{name} batch_size 10"
        out += [
            Measurement(GROUP, big, runs[1000]["seconds"], extra={"rows": ctx.rows, **runs[1000]}),
            Measurement(GROUP, small, runs[10]["seconds"], reference=big, goal=10.0, extra=runs[10]),
            Measurement(GROUP, f"{big}: peak RSS", runs[1000]["maxrss_kb"] / 1024, unit="MB"),
            Measurement(GROUP, f"{small}: peak RSS", runs[10]["maxrss_kb"] / 1024, unit="MB",
                        reference=f"{big}: peak RSS", goal=1.5),
        ]
    return out
