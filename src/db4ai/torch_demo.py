"""``db4ai demo --torch``: training outside the database, recorded inside it.

snapshot -> split -> PyTorch training through ``db4ai.data.torch.TorchDataset`` with the run
registry logging each epoch -> the weights saved as an artifact -> loaded into a fresh model
-> evaluated on the test split. Leaves the run, the artifact and the snapshots in place so
``db4ai plot-run demo-waves`` and ``SELECT * FROM db4ai.training_run_progress`` have something
to show; running it again replaces them.
"""

from __future__ import annotations

from typing import TextIO

import numpy as np
import psycopg

from . import artifacts, runs
from .data import read_matrix

RUN = "demo-waves"
ARTIFACT = "demo-waves-mlp"
SETUP = [
    "DROP TABLE IF EXISTS demo_waves CASCADE",
    "SELECT setseed(0.42)",
    # y = sin(3 x1) + x2^2 + noise: a curve a linear model cannot fit, a small MLP can.
    "CREATE TABLE demo_waves AS SELECT g AS id, x1, x2, sin(3 * x1) + x2 * x2 + 0.05 * (random() - 0.5) AS y"
    " FROM (SELECT g, 2 * random() - 1 AS x1, 2 * random() - 1 AS x2 FROM generate_series(1, 2000) g) s",
    "CREATE SNAPSHOT demo_waves_s COMMENT IS 'waves as loaded' AS SELECT * FROM demo_waves",
    "SPLIT SNAPSHOT demo_waves_s@1.0.0 AS _train AT RATIO .8, AS _test AT RATIO .2",
]


def _conninfo(conn: psycopg.Connection) -> str:
    options = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val is not None}
    return psycopg.conninfo.make_conninfo(**options)


def _purge_old(conn: psycopg.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM db4ai.snapshot WHERE name LIKE 'demo\\_waves\\_s%%'"
                                " ORDER BY id DESC").fetchall():
        conn.execute("SELECT db4ai.purge_snapshot('public', %s)", (name,))


def run_demo(conn: psycopg.Connection, out: TextIO, *, epochs: int = 12) -> float:
    """Run the tour on ``conn`` (the db4ai shim, autocommit), printing each step; returns the test MSE."""
    import torch

    from .data.torch import TorchDataset

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    say("-- 1. Data as a snapshot, split into train and test (exact, seeded)")
    _purge_old(conn)
    for statement in SETUP:
        if not statement.startswith("SELECT setseed"):
            say(statement + ";")
        conn.execute(statement)
    train_q, test_q = "SELECT y, x1, x2 FROM demo_waves_s_train@1.0.0", "SELECT y, x1, x2 FROM demo_waves_s_test@1.0.0"
    test = torch.from_numpy(read_matrix(conn, test_q).values).float()

    say("\n-- 2. PyTorch training through TorchDataset; the run registry logs every epoch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    dataset = TorchDataset(_conninfo(conn), train_q, batch_size=64, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None)
    params = {"hidden": 32, "lr": 0.02, "batch_size": 64, "epochs": epochs, "optimizer": "adam"}

    def test_mse(m: torch.nn.Module) -> float:
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(m(test[:, 1:]).squeeze(1), test[:, 0]))

    with runs.start(conn, RUN, params=params, source="demo_waves_s_train@1.0.0") as run:
        say(f"run {run.id} started: watch it with  SELECT * FROM db4ai.training_run_progress WHERE id = {run.id};")
        for epoch in range(epochs):
            dataset.set_epoch(epoch)
            total, rows = 0.0, 0
            for batch in loader:
                loss = torch.nn.functional.mse_loss(model(batch[:, 1:]).squeeze(1), batch[:, 0])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, rows = total + loss.item() * len(batch), rows + len(batch)
            run.log(epoch, train_mse=total / rows, test_mse=test_mse(model))
            say(f"epoch {epoch:2d}  train_mse {total / rows:.5f}  test_mse {test_mse(model):.5f}")
        run.set_rows_read(rows)

        say("\n-- 3. The weights into the database: safetensors bytes, linked to the run and the snapshot")
        saved = artifacts.save(conn, ARTIFACT, model.state_dict(), run=run, replace=True,
                               metadata={"architecture": "2-32-1 tanh"})
        say(f"artifact {saved.name!r}: {saved.size} bytes, tensors {sorted(saved.tensors)}, snapshots {list(saved.snapshot_ids)}")

    say("\n-- 4. Loaded into a fresh model and evaluated on the test split")
    fresh = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    fresh.load_state_dict(artifacts.load(conn, ARTIFACT))
    mse = test_mse(fresh)
    baseline = float(np.var(test[:, 0].numpy()))
    with torch.no_grad():
        same = torch.equal(fresh(test[:, 1:]), model(test[:, 1:]))
    say(f"test MSE {mse:.5f} (predicting the mean: {baseline:.5f}); predictions identical to the trained model: {same}")
    say(f"\nplot the loss curve:  db4ai plot-run {RUN}")
    return mse


__all__ = ["run_demo"]
