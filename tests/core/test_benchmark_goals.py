"""Benchmark goals are about full-size runs: a smoke run (--rows 10000) shows them without judging."""

from benchmarks._harness import Measurement, ratios, table_text


def test_full_size_goals_are_shown_not_judged_on_small_runs():
    measurements = [Measurement("g", "base", 1.0), Measurement("g", "slow", 3.0, reference="base", goal=1.5),
                    Measurement("g", "share", 0.2, unit="ratio", goal=0.1, goal_rows=0)]
    small = ratios(measurements, rows=10_000)
    assert [(r["ratio"], r["ok"]) for r in small] == [(None, None), (3.0, None), (0.2, False)]
    text = table_text(small)
    slow = next(line for line in text.splitlines() if "| slow " in line)
    assert "(<= 1.5 at 1,000,000 rows)" in slow and not slow.rstrip().endswith("NO")
    assert next(line for line in text.splitlines() if "| share " in line).rstrip().endswith("NO")  # any size: judged
    full = ratios(measurements, rows=1_000_000)
    assert [r["ok"] for r in full] == [None, False, False]
    assert "<= 1.5" in table_text(full) and "at 1,000,000 rows" not in table_text(full)
