"""The README's PyTorch worked example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from db4ai import artifacts, runs
from db4ai.torch_demo import SETUP

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_torch_example_runs(db, db_dsn, capsys):
    pytest.importorskip("torch")
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Training outside the database.*?```python\n(.*?)```", readme, re.S).group(1)
    for statement in SETUP[:3]:  # the demo's table, not its snapshots
        db.execute(statement)
    exec(compile(code, "README.md", "exec"), {"dsn": db_dsn})
    mse = float(capsys.readouterr().out.split("tensor(")[1].split(",")[0].rstrip(")"))
    (run,) = runs.find(db, "waves")
    assert run.state == "succeeded" and len(runs.metrics(db, run.id)["train_mse"][0]) == 12
    assert artifacts.info(db, "waves-mlp").run_id == run.id
    assert mse < 0.1  # the mean alone scores about 0.6
