"""Model artifacts: safetensors bytes in chunks, bit-for-bit round trips, no unpickling, ownership."""

from __future__ import annotations

import hashlib
import math
import pickle

import numpy as np
import psycopg
import pytest

from db4ai import artifacts, runs
from db4ai.errors import DataError, InvalidParameter, ObjectExists, ObjectNotFound, PrivilegeError


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    weird = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.0], dtype=np.float64)
    return {"w": rng.standard_normal((7, 5)).astype(np.float32), "b": weird, "ids": np.arange(-3, 9, dtype=np.int64),
            "mask": np.array([True, False, True]), "u8": np.arange(256, dtype=np.uint8).reshape(16, 16),
            "empty": np.zeros((0, 4), dtype=np.float32), "scalar": np.array(2.5, dtype=np.float16)}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def counts(conn: psycopg.Connection) -> tuple[int, int]:
    return conn.execute("SELECT (SELECT count(*) FROM db4ai.artifact), (SELECT count(*) FROM db4ai.artifact_chunk)").fetchone()


def test_arrays_round_trip_bit_for_bit_through_many_chunks(db):
    state = arrays()
    found = artifacts.save(db, "weights", state, metadata={"epochs": 3, "note": "numpy"}, chunk_size=100)
    data, framework = artifacts.serialize(state)
    assert framework == "numpy" and found.framework == "numpy"
    assert found.size == len(data) and found.chunks == math.ceil(len(data) / 100) > 5
    assert found.sha256 == hashlib.sha256(data).digest()
    assert found.metadata == {"epochs": 3, "note": "numpy"}
    assert found.tensors["w"] == {"dtype": "F32", "shape": [7, 5]}
    assert db.execute("SELECT max(octet_length(data)) FROM db4ai.artifact_chunk").fetchone()[0] == 100
    assert artifacts.read_bytes(db, "weights") == data
    for limit in (artifacts.DEFAULT_MEMORY_LIMIT, 0):  # in memory, and streamed through a temporary file
        loaded = artifacts.load(db, "weights", memory_limit=limit)
        assert loaded.keys() == state.keys()
        assert all(same_bits(loaded[k], state[k]) for k in state)


def test_a_crafted_pickle_is_refused_and_never_runs(db, tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payloads = [pickle.dumps(Exploit()), len(pickle.dumps(Exploit())).to_bytes(8, "little") + pickle.dumps(Exploit())]
    for i, payload in enumerate(payloads):
        db.execute("INSERT INTO db4ai.artifact (name, framework, tensors, size, sha256, chunk_size, chunks)"
                   " VALUES (%s, 'numpy', '{}', %s, %s, %s, 1)",
                   (f"evil{i}", len(payload), hashlib.sha256(payload).digest(), len(payload)))
        db.execute("INSERT INTO db4ai.artifact_chunk SELECT id, 0, %s FROM db4ai.artifact WHERE name = %s",
                   (payload, f"evil{i}"))
        for framework in ("numpy", "torch"):
            for limit in (artifacts.DEFAULT_MEMORY_LIMIT, 0):
                with pytest.raises(DataError, match="not a safetensors file"):
                    artifacts.load(db, f"evil{i}", framework=framework, memory_limit=limit)
    assert not marker.exists()


def test_missing_or_altered_chunks_are_detected(db):
    artifacts.save(db, "w", arrays(), chunk_size=64)
    db.execute("UPDATE db4ai.artifact_chunk SET data = set_byte(data, 3, get_byte(data, 3) # 1)"
               " WHERE seq = 2")
    with pytest.raises(DataError, match="SHA-256 does not match"):
        artifacts.load(db, "w")
    db.execute("DELETE FROM db4ai.artifact_chunk WHERE seq = 1")
    with pytest.raises(DataError, match="chunk 1 is missing"):
        artifacts.load(db, "w")


def test_names_are_unique_and_replace_swaps_in_one_transaction(db):
    artifacts.save(db, "w", {"a": np.ones(3)})
    with pytest.raises(ObjectExists, match='artifact "w" already exists'):
        artifacts.save(db, "w", {"a": np.zeros(3)})
    replaced = artifacts.save(db, "w", {"a": np.zeros(3)}, replace=True, chunk_size=8)
    assert np.array_equal(artifacts.load(db, "w")["a"], np.zeros(3)) and replaced.chunks > 1
    assert counts(db) == (1, replaced.chunks)
    artifacts.delete(db, "w")
    assert counts(db) == (0, 0)
    with pytest.raises(ObjectNotFound, match='artifact "w" does not exist'):
        artifacts.load(db, "w")


@pytest.mark.parametrize("state, kwargs, message", [
    ({}, {}, "state is empty"),
    ([1, 2], {}, "must be a mapping"),
    ({"a": np.array(["x"], dtype=object)}, {}, "only bool, integer and float"),
    ({1: np.ones(2)}, {}, "tensor names must be non-empty strings"),
    ({"a": np.ones(2)}, {"chunk_size": 0}, "chunk_size must be an integer"),
    ({"a": np.ones(2)}, {"metadata": {"x": float("nan")}}, "metadata must be JSON"),
    ({"a": np.ones(2)}, {"run": "last"}, "run must be a db4ai.runs.Run"),
])
def test_bad_saves_raise_clear_errors_and_store_nothing(db, state, kwargs, message):
    with pytest.raises(InvalidParameter, match=message):
        artifacts.save(db, "bad", state, **kwargs)
    assert counts(db) == (0, 0)


def test_an_artifact_links_its_run_and_the_runs_snapshots(points):
    with runs.start(points, "fit", source="pts@1.0.0") as run:
        found = artifacts.save(points, "fit-weights", {"w": np.ones(2)}, run=run)
    assert found.run_id == run.id and found.snapshot_ids == run.snapshot_ids != ()
    assert artifacts.save(points, "by-id", {"w": np.ones(2)}, run=run.id).snapshot_ids == run.snapshot_ids
    assert [a.name for a in artifacts.find(points, run=run)] == ["by-id", "fit-weights"]
    with pytest.raises(ObjectNotFound, match="training run 424242 does not exist"):
        artifacts.save(points, "orphan", {"w": np.ones(2)}, run=424242)


def test_everyone_loads_only_the_owner_deletes_or_replaces(db, make_role):
    alice, bob = make_role("alice"), make_role("bob")
    with psycopg.connect(alice.dsn, autocommit=True) as a, psycopg.connect(bob.dsn, autocommit=True) as b:
        with runs.start(a, "alice-run") as run:
            saved = artifacts.save(a, "alice-w", {"w": np.arange(4.0)}, run=run, chunk_size=16)
        assert np.array_equal(artifacts.load(b, "alice-w")["w"], np.arange(4.0))
        with pytest.raises(PrivilegeError, match="only its owner"):
            artifacts.delete(b, "alice-w")
        with pytest.raises(PrivilegeError, match="only its owner"):
            artifacts.save(b, "alice-w", {"w": np.zeros(1)}, replace=True)
        with pytest.raises(ObjectNotFound, match=f"training run {run.id} does not exist"):  # bob cannot see it
            artifacts.save(b, "bob-w", {"w": np.zeros(1)}, run=run.id)
        with pytest.raises(PrivilegeError, match="the run must be yours"):
            artifacts.save(b, "bob-w", {"w": np.zeros(1)}, run=run.id, snapshot_ids=[])
        assert b.execute("DELETE FROM db4ai.artifact_chunk").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute("UPDATE db4ai.artifact SET name = 'mine'")
        assert counts(a) == (1, saved.chunks) and saved.chunks > 1
        artifacts.delete(a, "alice-w")
        assert counts(a) == (0, 0)
