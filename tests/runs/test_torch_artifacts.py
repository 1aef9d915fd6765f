"""PyTorch end to end: train from a snapshot through the adapter, log the run, save the weights,
load them in a new process and predict identically."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from db4ai import artifacts, runs

torch = pytest.importorskip("torch")

from db4ai.data.torch import TorchDataset  # noqa: E402

_PREDICT_ELSEWHERE = textwrap.dedent("""
    import sys, numpy as np, psycopg, torch
    from db4ai import artifacts
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with psycopg.connect(sys.argv[1]) as conn:
        model.load_state_dict(artifacts.load(conn, "mlp"))
    x = torch.from_numpy(np.load(sys.argv[2]))
    with torch.no_grad():
        np.save(sys.argv[3], model(x).numpy())
""")


def test_a_model_trained_from_a_snapshot_predicts_identically_in_a_new_process(points, db_dsn, tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(TorchDataset(db_dsn, "SELECT y, x1, x2 FROM pts@1.0.0", batch_size=20),
                                         batch_size=None)
    with runs.start(points, "mlp", params={"lr": 0.1, "hidden": 8}, source="pts@1.0.0") as run:
        for epoch in range(5):
            total = rows = 0
            for batch in loader:
                loss = torch.nn.functional.mse_loss(model(batch[:, 1:]).squeeze(1), batch[:, 0])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
                rows += len(batch)
            run.log(epoch, loss=total / rows)
        run.set_rows_read(rows)
        artifacts.save(points, "mlp", model.state_dict(), run=run, chunk_size=100, metadata={"arch": "2-8-1"})
    losses = runs.metrics(points, run.id)["loss"][1]
    assert rows == 200 and len(losses) == 5 and losses[-1] < losses[0]
    saved = artifacts.info(points, "mlp")
    assert saved.framework == "torch" and saved.chunks > 1 and saved.snapshot_ids == run.snapshot_ids != ()

    x = np.random.default_rng(1).random((50, 2), dtype=np.float32)
    with torch.no_grad():
        here = model(torch.from_numpy(x)).numpy()
    np.save(tmp_path / "x.npy", x)
    done = subprocess.run([sys.executable, "-c", _PREDICT_ELSEWHERE, db_dsn, str(tmp_path / "x.npy"),
                           str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    there = np.load(tmp_path / "y.npy")
    assert there.tobytes() == here.tobytes()


def test_torch_state_round_trips_bit_for_bit_with_tied_weights_and_bfloat16(db):
    emb = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=False)
    head.weight = emb.weight  # tied
    state = {**{f"emb.{k}": v for k, v in emb.state_dict().items()}, **{f"head.{k}": v for k, v in head.state_dict().items()},
             "scale": torch.tensor([1.5, -2.25], dtype=torch.bfloat16), "step": torch.tensor(7),
             "np": np.arange(3, dtype=np.int16)}
    artifacts.save(db, "tied", state, chunk_size=33)
    for limit in (artifacts.DEFAULT_MEMORY_LIMIT, 0):
        loaded = artifacts.load(db, "tied", memory_limit=limit)
        assert loaded.keys() == state.keys()
        for k, v in state.items():
            v = v if isinstance(v, torch.Tensor) else torch.from_numpy(v)
            assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape and torch.equal(loaded[k], v), k
    with pytest.raises(artifacts.DataError, match="dtype 'BF16' has no numpy equivalent"):
        artifacts.load(db, "tied", framework="numpy")
    artifacts.save(db, "plain", {"w": emb.weight})
    assert np.array_equal(artifacts.load(db, "plain", framework="numpy")["w"], emb.weight.detach().numpy())
