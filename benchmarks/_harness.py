"""The benchmark harness: measurements, the run context, the data set, the table and the JSON.

A benchmark module ``benchmarks/<name>.py`` defines ``run(ctx: BenchContext) -> list[Measurement]``.
A measurement may name a ``reference`` (another measurement of the same group): the table then
shows ``value / reference`` and checks it against ``goal``. For unit ``"ratio"`` the value is
itself the ratio. Timings are the best of ``repeats`` runs; use the ratios, not the seconds.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql


@dataclass
class Measurement:
    group: str
    name: str
    value: float
    unit: str = "s"
    reference: str | None = None  # name of another Measurement in the same group this is a ratio against
    goal: float | None = None  # value/reference_value must be <= goal (for unit "ratio": value <= goal)
    goal_rows: int = 1_000_000  # the goal is about runs of at least this many rows (the README's full size)
    extra: dict = field(default_factory=dict)


@dataclass
class BenchContext:
    dsn: str
    rows: int
    table: str = "bench_data"
    repeats: int = 3
    out_dir: Path = Path("benchmarks/results")
    parallel: int | None = None  # reader connections (None: db4ai.data's automatic value)

    def connect(self) -> psycopg.Connection:
        """A new autocommit connection to the benchmark database."""
        return psycopg.connect(self.dsn, autocommit=True)

    def best_of(self, fn: Callable[[], object], repeats: int | None = None) -> float:
        """The shortest wall time of ``repeats`` calls of ``fn``, in seconds."""
        best = float("inf")
        for _ in range(repeats or self.repeats):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return best


def create_data(conn: psycopg.Connection, table: str, rows: int, seed: float = 0.42) -> None:
    """``table(id bigint primary key, x1..x4 float8, y float8)``: y = linear in x + noise, seeded."""
    ident = sql.Identifier(table)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
    with conn.transaction():
        conn.execute("SELECT setseed(%s)", (seed,))
        conn.execute(sql.SQL(
            "CREATE TABLE {t} AS SELECT g::bigint AS id, x1, x2, x3, x4,"
            " 1.5 + 2.0 * x1 - 3.0 * x2 + 0.5 * x3 + x4 + 0.1 * (random() - 0.5) AS y"
            " FROM (SELECT g, random() AS x1, random() AS x2, random() AS x3, random() AS x4"
            "       FROM generate_series(1, {n}) AS g) AS s").format(t=ident, n=sql.Literal(rows)))
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(ident))
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(ident))


def ratios(measurements: Sequence[Measurement], rows: int | None = None) -> list[dict]:
    """Each measurement as a dict with its ``ratio`` and ``ok`` (None when there is no goal, or when
    the run's ``rows`` are fewer than the goal is about: fixed costs dominate small runs)."""
    by_name = {(m.group, m.name): m for m in measurements}
    out = []
    for m in measurements:
        ratio = None
        if m.unit == "ratio":
            ratio = m.value
        elif m.reference is not None and (m.group, m.reference) in by_name:
            ref = by_name[(m.group, m.reference)].value
            ratio = m.value / ref if ref else None
        applies = rows is None or rows >= m.goal_rows
        ok = None if m.goal is None or ratio is None or not applies else bool(ratio <= m.goal)
        out.append({**asdict(m), "ratio": ratio, "ok": ok, "goal_applies": applies})
    return out


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit == "s":
        return f"{value:.3f}"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _goal_text(row: dict) -> str:
    if row["goal"] is None:
        return ""
    if row.get("goal_applies", True):
        return f"<= {row['goal']:.3g}"
    return f"(<= {row['goal']:.3g} at {row['goal_rows']:,} rows)"  # shown, not judged: a full-size goal


def table_text(rows: Sequence[dict]) -> str:
    """The aligned result table: group | name | value | unit | vs | ratio | goal | ok."""
    head = ("group", "name", "value", "unit", "vs", "ratio", "goal", "ok")
    body = [(r["group"], r["name"], _fmt(r["value"], r["unit"]), r["unit"], r["reference"] or "",
             "" if r["ratio"] is None else f"{r['ratio']:.2f}",
             _goal_text(r), "" if r["ok"] is None else ("yes" if r["ok"] else "NO")) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    numeric = {2, 5}
    lines = []
    for i, line in enumerate([head, *body]):
        cells = [str(c).rjust(w) if j in numeric and i else str(c).ljust(w)
                 for j, (c, w) in enumerate(zip(line, widths, strict=True))]
        lines.append(" | ".join(cells).rstrip())
        if i == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _show(conn: psycopg.Connection, setting: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
    return str(row[0]) if row else ""


def machine_info(conn: psycopg.Connection) -> dict:
    import numpy

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": _show(conn, "server_version"),
        "postgresql_num": int(_show(conn, "server_version_num")),
    }


def save(out_dir: Path, report: dict) -> Path:
    """Write ``<timestamp>.json`` and ``latest.json`` in ``out_dir``; return the first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}.json"
    text = json.dumps(report, indent=2, default=str)
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
