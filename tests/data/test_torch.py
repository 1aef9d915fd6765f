"""The PyTorch adapter: DataLoader workers split the chunks and yield every row exactly once."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from db4ai.data.torch import TorchDataset  # noqa: E402


@pytest.fixture
def points(db):
    db.execute("CREATE TABLE pts AS SELECT g AS id, g * 0.5 AS x, CASE WHEN g % 97 = 0 THEN NULL ELSE g % 5 END AS y"
               " FROM generate_series(1, 5000) g")
    return db


def rows_of(loader) -> np.ndarray:
    return np.concatenate([b.numpy() for b in loader])


@pytest.mark.parametrize("query", ["SELECT id, x, y FROM pts", "SELECT id, x, y FROM pts ORDER BY x DESC"])
@pytest.mark.parametrize("workers", [0, 2])
def test_workers_yield_every_row_exactly_once(points, db_dsn, query, workers):
    ds = TorchDataset(db_dsn, query, batch_size=128, chunk_rows=300, dtype=torch.float64)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers)
    got = rows_of(loader)
    want = np.array([(i, i * 0.5, i % 5) for i in range(1, 5001) if i % 97], dtype=np.float64)
    assert got.shape == want.shape
    assert np.array_equal(got[np.argsort(got[:, 0])], want)
    assert all(len(b) <= 128 for b in loader)


def test_default_dtype_is_float32(points, db_dsn):
    batch = next(iter(TorchDataset(db_dsn, "SELECT x FROM pts", batch_size=10)))
    assert batch.dtype == torch.float32 and batch.shape == (10, 1)
