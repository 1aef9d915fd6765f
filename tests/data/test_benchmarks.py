"""``python -m benchmarks`` runs end to end at a tiny size and saves every group (a smoke test:
no timing is checked)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import MODULES
from benchmarks._harness import Measurement, ratios, table_text

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_run_at_10000_rows_and_save_all_groups(db_dsn, tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--rows", "10000", "--repeats", "1",
                           "--out", str(tmp_path), "--dsn", db_dsn],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    latest = json.loads((tmp_path / "latest.json").read_text())
    assert len(list(tmp_path.glob("*.json"))) == 2  # <timestamp>.json and latest.json
    assert latest["errors"] == {}, latest["errors"]
    expected = {group for module, group in MODULES.items() if (ROOT / "benchmarks" / f"{module}.py").is_file()}
    if importlib.util.find_spec("xgboost") is None:  # the base install: the xgboost group measures nothing
        expected.discard("xgboost")
    assert {"read", "scaling"} <= expected
    assert {m["group"] for m in latest["measurements"]} == expected
    assert latest["rows"] == 10000 and latest["machine"]["cpu_count"] >= 1
    assert {"postgresql", "python", "numpy"} <= set(latest["machine"])
    for m in latest["measurements"]:
        assert m["value"] >= 0, m
        assert m["reference"] is None or m["ratio"] is not None, m
    header = done.stdout.splitlines()
    assert any([c.strip() for c in line.split("|")][:1] == ["group"] and "ratio" in [c.strip() for c in line.split("|")]
               for line in header), done.stdout


def test_ratios_and_goals():
    rows = ratios([Measurement("g", "base", 2.0), Measurement("g", "fast", 1.0, reference="base", goal=1.0),
                   Measurement("g", "slow", 3.0, reference="base", goal=1.0),
                   Measurement("g", "share", 0.2, unit="ratio", goal=0.1)])
    assert [(r["ratio"], r["ok"]) for r in rows] == [(None, None), (0.5, True), (1.5, False), (0.2, False)]
    text = table_text(rows)
    assert [c.strip() for c in text.splitlines()[0].split(" | ")][:3] == ["group", "name", "value"]
    assert "NO" in text and "yes" in text
