"""Scaling and memory: time and peak RSS of training and reading at N and 4N rows, and training
from a snapshot with a 1 MB cache against an unlimited one.

Each case runs in a fresh Python process that reports its own wall time (imports excluded) and
peak resident set size (``VmHWM`` of /proc/self/status; ``ru_maxrss`` elsewhere), so cases
cannot inflate each other's memory. Goals: training 4N rows takes at most 4.4x the time of N rows (linear or
better); streaming 4N rows needs at most 1.25x the peak memory of N rows (bounded by the chunk,
not the data); the 1 MB cache trains within 1.5x of the unlimited one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from benchmarks._harness import BenchContext, Measurement, create_data

GROUP = "scaling"
ROOT = Path(__file__).resolve().parents[1]
MODEL_WITH = "WITH optimizer = ngd, max_iterations = 10, batch_size = 1000, seed = 1"

# The child process: run one case, print {"seconds", "maxrss_kb", ...} as its last line.
CHILD = r'''
import json, resource, sys, time
spec = json.loads(sys.argv[1])
import psycopg, db4ai
from db4ai import data, models
from db4ai.dialect import parse_script
out = {}
conn = psycopg.connect(spec["dsn"], autocommit=True)
shim = db4ai.connect(spec["dsn"], autocommit=True)
kind = spec["kind"]
started = time.perf_counter()
if kind == "stream":
    out["rows"] = sum(len(m) for m in data.stream_matrix(conn, spec["query"]))
elif kind == "read_matrix":
    out["rows"] = len(data.read_matrix(conn, spec["query"]))
elif kind == "train":
    shim.execute(spec["statement"])
elif kind == "train_cached":
    stmt = parse_script(spec["statement"])[0]
    with data.Cache(memory_limit=spec["memory_limit"]) as cache:
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            models.create_model(conn, stmt, cache=cache)
            runs.append(time.perf_counter() - t)
            shim.execute("DROP MODEL " + spec["model"])
        out.update(first=runs[0], second=runs[1], cache_memory=cache.memory_used, cache_disk=cache.disk_used)
out["seconds"] = time.perf_counter() - started
if kind == "train":
    shim.execute("DROP MODEL IF EXISTS " + spec["model"])
def peak_kb():
    # VmHWM: this process's own high-water mark (ru_maxrss would include the parent's, since
    # Linux keeps it across fork + exec).
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out["maxrss_kb"] = peak_kb()
print(json.dumps(out))
'''


def _child(ctx: BenchContext, **spec: object) -> dict:
    spec["dsn"] = ctx.dsn
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {spec['kind']} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(kb: int) -> float:
    return kb / 1024.0


def run(ctx: BenchContext) -> list[Measurement]:
    n, big = ctx.rows, 4 * ctx.rows
    table4 = f"{ctx.table}_x4"
    model = f"bench_scaling_{uuid.uuid4().hex[:8]}"
    out: list[Measurement] = []
    with ctx.connect() as conn:
        create_data(conn, table4, big, seed=0.24)
    try:
        stream = {r: _child(ctx, kind="stream", query=f"SELECT y, x1, x2, x3, x4 FROM {t}")
                  for r, t in ((n, ctx.table), (big, table4))}
        whole = _child(ctx, kind="read_matrix", query=f"SELECT y, x1, x2, x3, x4 FROM {table4}")
        idle = _child(ctx, kind="baseline")
        train = {r: _child(ctx, kind="train", model=model,
                           statement=f"CREATE MODEL {model} USING linear_regression FEATURES x1, x2, x3, x4"
                                     f" TARGET y FROM {t} {MODEL_WITH}")
                 for r, t in ((n, ctx.table), (big, table4))}
    finally:
        with ctx.connect() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table4}")
    tn, t4 = f"train {n:,} rows", f"train {big:,} rows"
    sn, s4 = f"stream_matrix {n:,} rows: peak RSS", f"stream_matrix {big:,} rows: peak RSS"
    out += [
        Measurement(GROUP, "process after imports and connect: peak RSS", _mb(idle["maxrss_kb"]), unit="MB"),
        Measurement(GROUP, tn, train[n]["seconds"], extra=train[n]),
        Measurement(GROUP, t4, train[big]["seconds"], reference=tn, goal=4.4, extra=train[big]),
        Measurement(GROUP, f"{tn}: peak RSS", _mb(train[n]["maxrss_kb"]), unit="MB"),
        Measurement(GROUP, f"{t4}: peak RSS", _mb(train[big]["maxrss_kb"]), unit="MB", reference=f"{tn}: peak RSS"),
        Measurement(GROUP, sn, _mb(stream[n]["maxrss_kb"]), unit="MB", extra=stream[n]),
        Measurement(GROUP, s4, _mb(stream[big]["maxrss_kb"]), unit="MB", reference=sn, goal=1.25, extra=stream[big]),
        Measurement(GROUP, f"read_matrix {big:,} rows: peak RSS", _mb(whole["maxrss_kb"]), unit="MB",
                    reference=sn, extra=whole),
    ]
    try:
        out += _cache_runs(ctx, model)
    except (psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedTable) as exc:
        print(f"scaling: snapshot cases skipped, db4ai snapshots are not installed ({exc.diag.message_primary})",
              file=sys.stderr)
    return out


def _cache_runs(ctx: BenchContext, model: str) -> list[Measurement]:
    """Train twice from a snapshot of bench_data: with a 1 MB cache and with an unlimited one."""
    name = f"bench_scaling_{uuid.uuid4().hex[:8]}"
    with ctx.connect() as conn:
        conn.execute("SELECT db4ai.create_snapshot('public', %s, ARRAY['SELECT *', %s])",
                     (name, f"FROM {ctx.table}"))
    try:
        statement = (f"CREATE MODEL {model} USING linear_regression FEATURES x1, x2, x3, x4 TARGET y"
                     f" FROM public.{name}@1.0.0 {MODEL_WITH}")
        runs = {limit: _child(ctx, kind="train_cached", model=model, statement=statement, memory_limit=limit)
                for limit in (1 << 40, 1 << 20)}
    finally:
        with ctx.connect() as conn:
            conn.execute("SELECT db4ai.purge_snapshot('public', %s)", (f"{name}@1.0.0",))
    big, small = runs[1 << 40], runs[1 << 20]
    un, one = "train from a snapshot, unlimited cache, 2nd run", "train from a snapshot, 1 MB cache, 2nd run"
    return [
        Measurement(GROUP, "train from a snapshot, 1st run (fills the cache)", big["first"], extra=big),
        Measurement(GROUP, un, big["second"], extra=big),
        Measurement(GROUP, one, small["second"], reference=un, goal=1.5, extra=small),
        Measurement(GROUP, f"{un}: peak RSS", _mb(big["maxrss_kb"]), unit="MB"),
        Measurement(GROUP, f"{one}: peak RSS", _mb(small["maxrss_kb"]), unit="MB", reference=f"{un}: peak RSS"),
    ]
