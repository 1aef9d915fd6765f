"""Model artifacts in the database: weights stored as safetensors bytes, never pickle.

    db4ai.artifacts.save(conn, "resnet-cifar", model.state_dict(), run=run)
    model.load_state_dict(db4ai.artifacts.load(conn, "resnet-cifar"))

``state`` is a PyTorch ``state_dict`` or any mapping of names to arrays. The bytes are the
safetensors format (the ``safetensors`` package: an 8-byte header length, a JSON header naming
each tensor's dtype, shape and byte range, then the raw little-endian data): a format made for
weights from untrusted sources, so loading only parses JSON and copies numbers and can never run
code (``torch.load`` unpickles, which can). The bytes are split into ``db4ai.artifact_chunk`` rows
of ``chunk_size`` bytes, written and read one chunk at a time; a size and SHA-256 in
``db4ai.artifact`` check what comes back. An artifact links to its training run and the snapshots
it was trained on. Ownership is as for models: everyone may load, only the owner deletes, nobody
updates (``replace=True`` deletes and saves in one transaction).

Memory: saving holds the serialized bytes once besides the tensors; loading holds them once (or,
past ``memory_limit``, streams them to a temporary file that safetensors maps) besides the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from .errors import DataError, InterfaceError, InvalidParameter, ObjectExists, ObjectNotFound, PrivilegeError

if TYPE_CHECKING:  # pragma: no cover
    from .runs import Run

MiB = 1 << 20
DEFAULT_CHUNK_SIZE = 32 * MiB
MAX_CHUNK_SIZE = 512 * MiB  # a bytea value holds at most 1 GB
DEFAULT_MEMORY_LIMIT = 256 * MiB
_HEADER_LIMIT = 100 * MiB  # safetensors' own bound on the JSON header
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact's catalog row (``db4ai.artifact``), without its bytes."""

    id: int
    name: str
    owner: str
    created: datetime
    run_id: int | None
    snapshot_ids: tuple[int, ...]
    framework: str
    tensors: dict[str, dict[str, Any]]
    metadata: dict[str, Any]
    size: int
    sha256: bytes
    chunk_size: int
    chunks: int


# -- encoding ---------------------------------------------------------------------------------


def _is_torch(value: object) -> bool:
    return type(value).__module__.split(".")[0] == "torch"


def _torch_tensors(state: Mapping[str, Any]) -> dict[str, Any]:
    """CPU, contiguous tensors; a tensor sharing storage with an earlier one (tied weights) is
    copied, since safetensors stores each tensor's bytes once and refuses shared memory."""
    import torch

    out: dict[str, Any] = {}
    seen: set[int] = set()
    for name, value in state.items():
        t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value, order="C"))
        t = t.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen and t.numel():
            t = t.clone()
        seen.add(ptr)
        out[name] = t
    return out


def serialize(state: Mapping[str, Any]) -> tuple[bytes, str]:
    """safetensors bytes of ``state`` and the framework it came from (``torch`` or ``numpy``)."""
    if not isinstance(state, Mapping):
        raise InvalidParameter(f"state must be a mapping of names to arrays (a state_dict), not {type(state).__name__}")
    if not state:
        raise InvalidParameter("state is empty: there is nothing to save")
    for name in state:
        if not isinstance(name, str) or not name:
            raise InvalidParameter(f"tensor names must be non-empty strings, not {name!r}")
    try:
        if any(_is_torch(v) for v in state.values()):
            from safetensors.torch import save as save_torch

            return save_torch(_torch_tensors(state)), "torch"
        from safetensors.numpy import save as save_numpy

        arrays = {}
        for name, value in state.items():
            a = np.asarray(value, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
            if a.dtype.kind not in "biuf":
                raise InvalidParameter(f'tensor "{name}" has dtype {a.dtype}: only bool, integer and float arrays are saved')
            arrays[name] = a
        return save_numpy(arrays), "numpy"
    except (TypeError, ValueError) as exc:  # safetensors' refusals (unsupported dtype, ...)
        raise InvalidParameter(f"state cannot be saved as safetensors: {exc}") from exc


def header(data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """The JSON header of safetensors bytes, checked for shape before any library sees them.

    Raises DataError for anything that is not safetensors (a pickle, say): nothing here or in
    :func:`load` ever unpickles.
    """
    view = memoryview(data)
    if len(view) < _LENGTH.size + 2:
        raise DataError("artifact is not a safetensors file: too short")
    (length,) = _LENGTH.unpack_from(view)
    if length > _HEADER_LIMIT or _LENGTH.size + length > len(view) or bytes(view[8:9]) != b"{":
        raise DataError("artifact is not a safetensors file (a pickle or other format is refused)",
                        hint="artifacts are written by db4ai.artifacts.save")
    try:
        parsed = json.loads(bytes(view[8:8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"artifact is not a safetensors file: bad header ({exc})") from exc
    if not isinstance(parsed, dict):
        raise DataError("artifact is not a safetensors file: the header is not an object")
    return parsed


def _tensor_list(data: bytes) -> dict[str, dict[str, Any]]:
    return {k: {"dtype": v["dtype"], "shape": v["shape"]} for k, v in header(data).items() if k != "__metadata__"}


def deserialize(data: bytes | str, framework: str) -> dict[str, Any]:
    """Tensors from safetensors bytes (or a file path): torch tensors or numpy arrays."""
    try:
        if framework == "torch":
            try:
                import safetensors.torch as st
            except ImportError as exc:
                raise InterfaceError("loading as torch tensors needs PyTorch",
                                     hint="pip install torch, or load(..., framework='numpy')") from exc
        else:
            import safetensors.numpy as st  # type: ignore[no-redef]
        return dict(st.load_file(data) if isinstance(data, str) else st.load(data))
    except InterfaceError:
        raise
    except KeyError as exc:  # safetensors.numpy meets a dtype numpy lacks
        raise DataError(f"artifact cannot be read as {framework} tensors: dtype {exc} has no numpy equivalent",
                        hint="load it with framework='torch'") from exc
    except Exception as exc:  # safetensors raises its own SafetensorError, or TypeError for bf16 in numpy
        raise DataError(f"artifact cannot be read as {framework} tensors: {exc}") from exc


# -- storing ----------------------------------------------------------------------------------

_INSERT = """
INSERT INTO db4ai.artifact (name, run_id, snapshot_ids, framework, tensors, metadata, size, sha256, chunk_size, chunks)
VALUES (%s, %s, %s::int8[], %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
_INFO = ("SELECT a.id, a.name, pg_catalog.pg_get_userbyid(a.owner), a.created, a.run_id, a.snapshot_ids, a.framework,"
         " a.tensors, a.metadata, a.size, a.sha256, a.chunk_size, a.chunks FROM db4ai.artifact a WHERE a.name = %s")


def _run_lineage(conn: psycopg.Connection, run: Run | int | None, lineage: Iterable[int] | None
                 ) -> tuple[int | None, list[int]]:
    """The run id and the snapshot lineage: as given, else the run's."""
    run_id = getattr(run, "id", run)
    if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
        raise InvalidParameter(f"run must be a db4ai.runs.Run or a run id, not {run!r}")
    if lineage is not None:
        return run_id, [int(i) for i in lineage]
    if run_id is None:
        return None, []
    ids = getattr(run, "snapshot_ids", None)
    if ids is None:
        row = conn.execute("SELECT snapshot_ids FROM db4ai.training_run WHERE id = %s", (run_id,)).fetchone()
        if row is None:
            raise ObjectNotFound(f"training run {run_id} does not exist", hint="db4ai.training_runs lists your runs")
        ids = row[0] or ()
    return run_id, [int(i) for i in ids]


def save(conn: psycopg.Connection, name: str, state: Mapping[str, Any], *, run: Run | int | None = None,
         snapshot_ids: Iterable[int] | None = None, metadata: Mapping[str, Any] | None = None,
         replace: bool = False, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ArtifactInfo:
    """Store ``state`` as artifact ``name``, in one transaction (a savepoint inside the caller's).

    ``run``: the training run that produced it (its snapshot lineage is copied unless
    ``snapshot_ids`` are given). ``metadata``: any JSON object. ``replace``: delete an artifact of
    that name first (only its owner may). Raises ObjectExists when the name is taken.
    """
    if not isinstance(name, str) or not name:
        raise InvalidParameter("an artifact needs a name")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidParameter(f"chunk_size must be an integer in [1, {MAX_CHUNK_SIZE}], not {chunk_size!r}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidParameter(f"metadata must be a mapping, not {type(metadata).__name__}")
    data, framework = serialize(state)
    tensors = _tensor_list(data)
    run_id, lineage = _run_lineage(conn, run, snapshot_ids)
    try:
        meta = Jsonb(json.loads(json.dumps(dict(metadata or {}), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"metadata must be JSON: {exc}") from exc
    view = memoryview(data)
    chunks = range(0, len(view), chunk_size)
    try:
        with conn.transaction():
            if replace:
                _delete(conn, name, missing_ok=True)
            with conn.cursor() as cur:
                cur.execute(_INSERT, (name, run_id, lineage or None, framework, Jsonb(tensors), meta, len(view),
                                      hashlib.sha256(view).digest(), chunk_size, len(chunks)))
                artifact_id = cur.fetchone()[0]  # type: ignore[index]
                for seq, start in enumerate(chunks):  # one chunk in flight at a time
                    cur.execute("INSERT INTO db4ai.artifact_chunk (artifact_id, seq, data) VALUES (%s, %s, %b)",
                                (artifact_id, seq, view[start:start + chunk_size]))
    except psycopg.errors.UniqueViolation as exc:
        raise ObjectExists(f'artifact "{name}" already exists',
                           hint="choose another name, or save(..., replace=True) to replace your own") from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeError(f'artifact "{name}" may not be saved: the run must be yours and the snapshots readable',
                             detail=exc.diag.message_primary) from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise ObjectNotFound(f"training run {run_id} does not exist", hint="db4ai.training_runs lists your runs") from exc
    return info(conn, name)


def _delete(conn: psycopg.Connection, name: str, *, missing_ok: bool) -> None:
    deleted = conn.execute("DELETE FROM db4ai.artifact WHERE name = %s", (name,)).rowcount
    if deleted:
        return
    if conn.execute("SELECT 1 FROM db4ai.artifact WHERE name = %s", (name,)).fetchone() is not None:
        raise PrivilegeError(f'artifact "{name}" belongs to another role: only its owner may delete or replace it')
    if not missing_ok:
        raise ObjectNotFound(f'artifact "{name}" does not exist', hint="db4ai.artifact lists the stored artifacts")


def delete(conn: psycopg.Connection, name: str) -> None:
    """Delete an artifact and its bytes; only its owner (or a member of the owning role) may."""
    with conn.transaction():
        _delete(conn, name, missing_ok=False)


def info(conn: psycopg.Connection, name: str) -> ArtifactInfo:
    """The catalog row of artifact ``name``; ObjectNotFound when there is none."""
    row = conn.execute(_INFO, (name,)).fetchone()
    if row is None:
        raise ObjectNotFound(f'artifact "{name}" does not exist', hint="db4ai.artifact lists the stored artifacts")
    return ArtifactInfo(int(row[0]), row[1], row[2], row[3], row[4], tuple(row[5] or ()), row[6], dict(row[7]),
                        dict(row[8]), int(row[9]), bytes(row[10]), int(row[11]), int(row[12]))


# -- loading ----------------------------------------------------------------------------------


def _chunks(conn: psycopg.Connection, found: ArtifactInfo) -> Iterable[memoryview]:
    """The artifact's chunks in order, checked for gaps and size (one chunk held at a time)."""
    expected = 0
    total = 0
    with conn.cursor(binary=True) as cur:
        for seq, data in cur.stream("SELECT seq, data FROM db4ai.artifact_chunk WHERE artifact_id = %s ORDER BY seq",
                                    (found.id,)):
            if seq != expected:
                raise DataError(f'artifact "{found.name}" is corrupted: chunk {expected} is missing')
            expected += 1
            total += len(data)
            if total > found.size:
                raise DataError(f'artifact "{found.name}" is corrupted: more bytes than its size {found.size}')
            yield memoryview(data)
    if total != found.size or expected != found.chunks:
        raise DataError(f'artifact "{found.name}" is corrupted: {total} bytes in {expected} chunks,'
                        f" expected {found.size} in {found.chunks}")


def read_bytes(conn: psycopg.Connection, name: str) -> bytes:
    """The stored safetensors bytes of artifact ``name``, checked against its size and SHA-256."""
    found = info(conn, name)
    buf = bytearray(found.size)
    digest = hashlib.sha256()
    offset = 0
    for chunk in _chunks(conn, found):
        buf[offset:offset + len(chunk)] = chunk
        digest.update(chunk)
        offset += len(chunk)
    if digest.digest() != found.sha256:
        raise DataError(f'artifact "{found.name}" is corrupted: its SHA-256 does not match')
    return bytes(buf)


def load(conn: psycopg.Connection, name: str, *, framework: str | None = None,
         memory_limit: int = DEFAULT_MEMORY_LIMIT) -> dict[str, Any]:
    """Artifact ``name`` as a dict of tensors, ready for ``model.load_state_dict``.

    ``framework``: ``"torch"`` (tensors) or ``"numpy"`` (arrays); default: what was saved.
    Artifacts larger than ``memory_limit`` bytes are streamed to a temporary file that
    safetensors maps, instead of being assembled in memory.
    """
    found = info(conn, name)
    framework = framework or found.framework
    if framework not in ("torch", "numpy"):
        raise InvalidParameter(f"framework must be 'torch' or 'numpy', not {framework!r}")
    if found.size <= memory_limit:
        data = read_bytes(conn, name)
        header(data)
        return deserialize(data, framework)
    fd, path = tempfile.mkstemp(prefix="db4ai-artifact-", suffix=".safetensors")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            for chunk in _chunks(conn, found):
                digest.update(chunk)
                fh.write(chunk)
        if digest.digest() != found.sha256:
            raise DataError(f'artifact "{found.name}" is corrupted: its SHA-256 does not match')
        with open(path, "rb") as fh:  # check the header before safetensors maps the file
            prefix = fh.read(_LENGTH.size)
            (length,) = _LENGTH.unpack(prefix) if len(prefix) == _LENGTH.size else (0,)
            header(prefix + fh.read(min(length, _HEADER_LIMIT + 1)))
        return deserialize(path, framework)
    finally:
        os.unlink(path)


def find(conn: psycopg.Connection, *, run: Run | int | None = None) -> list[ArtifactInfo]:
    """Stored artifacts, newest first; only those of ``run`` when given."""
    if run is None:
        rows = conn.execute("SELECT a.name FROM db4ai.artifact a ORDER BY a.id DESC").fetchall()
    else:
        rows = conn.execute("SELECT a.name FROM db4ai.artifact a WHERE a.run_id = %s ORDER BY a.id DESC",
                            (getattr(run, "id", run),)).fetchall()
    return [info(conn, r[0]) for r in rows]


__all__ = ["DEFAULT_CHUNK_SIZE", "ArtifactInfo", "delete", "deserialize", "find", "header", "info", "load",
           "read_bytes", "save", "serialize"]
