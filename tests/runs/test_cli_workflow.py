"""db4ai demo --torch and db4ai plot-run, run as a user runs them (subprocesses, a real server)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from db4ai import artifacts, runs

ROOT_ENV = {k: v for k, v in os.environ.items() if k != "DB4AI_DSN"}


def db4ai(*args: str, env: dict | None = None, cwd=None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "db4ai.cli", *args], capture_output=True, text=True,
                          env={**ROOT_ENV, **(env or {})}, cwd=cwd, timeout=timeout)


def test_demo_torch_trains_logs_saves_loads_and_evaluates(db, db_dsn):
    pytest.importorskip("torch")
    for attempt in range(2):  # running it again replaces what it made
        result = db4ai("demo", "--torch", "-d", db_dsn)
        assert result.returncode == 0, result.stderr
        assert "predictions identical to the trained model: True" in result.stdout
        assert "Traceback" not in result.stderr
    last = runs.find(db, "demo-waves")
    assert [r.state for r in last] == ["succeeded", "succeeded"]
    curve = runs.metrics(db, last[0].id)
    assert curve["train_mse"][0] == list(range(12)) and curve["test_mse"][1][-1] < curve["test_mse"][1][0] / 5
    saved = artifacts.info(db, "demo-waves-mlp")
    assert saved.run_id == last[0].id and saved.snapshot_ids == last[0].snapshot_ids != ()
    mse = float(result.stdout.split("test MSE ")[1].split()[0])
    assert mse == pytest.approx(curve["test_mse"][1][-1], abs=1e-5)


def test_demo_torch_without_torch_says_so_and_succeeds(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    result = db4ai("demo", "--torch", env={"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "db4ai demo --torch: skipped, PyTorch is not installed (pip install 'db4ai[torch]')"


def test_plot_run_writes_a_png_of_each_metric(db, db_dsn, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    with runs.start(db, "curve") as run:
        for step in range(20):
            run.log(step, loss=1 / (step + 1), accuracy=step / 20)
    result = db4ai("plot-run", "curve", "-d", db_dsn, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"run-{run.id}.png"
    assert result.stdout.strip() == f"wrote run-{run.id}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = image.imread(path).shape
    assert width == 700 and height == 560  # two panels
    other = tmp_path / "by-id.png"
    assert db4ai("plot-run", str(run.id), "-o", str(other), "-d", db_dsn).returncode == 0 and other.is_file()


def test_plot_run_errors_are_one_clear_line(db, db_dsn, tmp_path):
    result = db4ai("plot-run", "nothing-like-it", "-d", db_dsn, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.splitlines()[0] == 'ERROR:  no training run named "nothing-like-it"'
    with runs.start(db, "silent") as run:
        pass
    result = db4ai("plot-run", str(run.id), "-d", db_dsn, cwd=tmp_path)
    assert result.returncode == 1 and f"training run {run.id} (silent) has no metrics to plot" in result.stderr
    assert not list(tmp_path.iterdir())
