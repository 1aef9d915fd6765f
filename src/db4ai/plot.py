"""``db4ai plot-run``: a training run's metrics per step as a PNG (needs matplotlib, the ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from . import runs
from .errors import DataError, InterfaceError, ObjectNotFound


def resolve(conn: psycopg.Connection, run: str | int) -> runs.RunInfo:
    """A run by id, or the latest run of that name."""
    text = str(run).strip()
    if text.isdigit():
        return runs.get(conn, int(text))
    found = runs.find(conn, text)
    if not found:
        raise ObjectNotFound(f'no training run named "{text}"', hint="db4ai.training_runs lists your runs")
    return found[0]


def plot_run(conn: psycopg.Connection, run: str | int, output: str | Path | None = None) -> Path:
    """Write one panel per metric (value against step) of ``run`` to ``output`` (default
    ``run-<id>.png``); returns the path."""
    info = resolve(conn, run)
    metrics = runs.metrics(conn, info.id)
    if not metrics:
        raise DataError(f"training run {info.id} ({info.name}) has no metrics to plot",
                        hint="log some with run.log(step, name=value)")
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InterfaceError("plot-run needs matplotlib", hint="pip install 'db4ai[plot]'") from exc
    path = Path(output) if output is not None else Path(f"run-{info.id}.png")
    fig, axes = plt.subplots(len(metrics), 1, sharex=True, figsize=(7, 1.2 + 2.2 * len(metrics)), squeeze=False)
    for ax, (name, (steps, values)) in zip(axes[:, 0], sorted(metrics.items()), strict=False):
        ax.plot(steps, values, marker="o" if len(steps) <= 50 else None, markersize=3)
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.suptitle(f"run {info.id}: {info.name} ({info.state})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["plot_run", "resolve"]
