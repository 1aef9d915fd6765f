"""Store, load and drop models in ``db4ai.gs_model_warehouse``; the model data format.

``modeldata`` is a small, versioned, self-describing binary format (never pickle):

    magic  b"DB4AIMDL"                 8 bytes
    version                            1 byte (2; version 1 is still read)
    header length                      4 bytes, little-endian unsigned
    header                             UTF-8 JSON object: algorithm, inputs, output type,
                                       hyperparameters, the model's own settings, and the
                                       name, dtype, shape and offset of every array
    arrays                             their bytes, little-endian, one after the other

Loading only parses JSON and numbers of a few fixed dtypes, so model bytes read from the
database are data and can never run code. (Version 1 held one float8 array, ``weights``.)
The SQL side predicts from the ``prediction`` column (an expression tree, :mod:`db4ai.expr`)
and explains from the row's columns.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .errors import DataError, InvalidParameter, ObjectExists, ObjectNotFound, from_server_error

MAGIC = b"DB4AIMDL"
FORMAT_VERSION = 2
_PREFIX = struct.Struct("<8sBI")
#: dtypes an array in ``modeldata`` may have (numpy's names, little-endian).
DTYPES = frozenset({"<f8", "<f4", "<i8", "<i4", "|u1", "|b1"})
NAME_BYTES = 63


@dataclass(frozen=True)
class ModelData:
    """What ``modeldata`` holds: enough to rebuild the model without the rest of the row."""

    algorithm: str
    feature_names: tuple[str, ...]
    feature_oids: tuple[int, ...]
    output_oid: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)  # the model's numbers
    settings: Mapping[str, Any] = field(default_factory=dict)  # the model's own JSON-able settings

    @property
    def weights(self) -> np.ndarray:
        """Linear models' weights, bias last."""
        return self.arrays["weights"]


def encode(model: ModelData) -> bytes:
    """The ``modeldata`` bytes of a model."""
    blobs: list[bytes] = []
    layout = []
    offset = 0
    for name, array in model.arrays.items():
        a = np.asarray(array)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False) if a.dtype.byteorder == ">" else a
        dtype = a.dtype.str
        if dtype not in DTYPES:
            raise DataError(f"model array {name!r} has dtype {dtype}, which modeldata cannot hold")
        raw = np.ascontiguousarray(a).tobytes()
        layout.append({"name": name, "dtype": dtype, "shape": list(a.shape), "offset": offset, "nbytes": len(raw)})
        blobs.append(raw)
        offset += len(raw)
    header = {
        "format": FORMAT_VERSION,
        "algorithm": model.algorithm,
        "feature_names": list(model.feature_names),
        "feature_oids": [int(o) for o in model.feature_oids],
        "output_oid": int(model.output_oid),
        "hyperparameters": model.hyperparameters,
        "settings": dict(model.settings),
        "arrays": layout,
    }
    text = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text + b"".join(blobs)


def decode(data: bytes | memoryview) -> ModelData:
    """Parse ``modeldata``; raises DataError on anything that is not a valid model."""
    raw = bytes(data)
    if len(raw) < _PREFIX.size:
        raise DataError("model data corrupted: too short for a db4ai model")
    magic, version, length = _PREFIX.unpack_from(raw)
    if magic != MAGIC:
        raise DataError("model data corrupted: not a db4ai model")
    if version not in (1, FORMAT_VERSION):
        raise DataError(f"model data has format version {version}; this db4ai reads versions 1 and {FORMAT_VERSION}")
    end = _PREFIX.size + length
    if len(raw) < end:
        raise DataError("model data corrupted reading header")
    try:
        header = json.loads(raw[_PREFIX.size : end].decode("utf-8"))
        arrays = _arrays_v1(header, raw, end) if version == 1 else _arrays_v2(header, raw, end)
        return ModelData(
            algorithm=str(header["algorithm"]),
            feature_names=tuple(str(n) for n in header["feature_names"]),
            feature_oids=tuple(int(o) for o in header["feature_oids"]),
            output_oid=int(header["output_oid"]),
            hyperparameters=dict(header.get("hyperparameters") or {}),
            arrays=arrays,
            settings=dict(header.get("settings") or {}),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"model data corrupted: {exc}") from exc


def _arrays_v1(header: dict[str, Any], raw: bytes, end: int) -> dict[str, np.ndarray]:
    count = int(header["n_weights"])
    if header.get("weights_dtype") != "<f8" or count < 0:
        raise ValueError("weights")
    if len(raw) != end + 8 * count:
        raise ValueError("size")
    return {"weights": np.frombuffer(raw, dtype="<f8", count=count, offset=end).astype(np.float64)}


def _arrays_v2(header: dict[str, Any], raw: bytes, end: int) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    expected = 0
    for item in header["arrays"]:
        dtype, shape = str(item["dtype"]), tuple(int(d) for d in item["shape"])
        offset, nbytes = int(item["offset"]), int(item["nbytes"])
        if dtype not in DTYPES or any(d < 0 for d in shape) or offset != expected:
            raise ValueError(f"array {item.get('name')!r}")
        width = np.dtype(dtype).itemsize
        if nbytes != width * math.prod(shape) or end + offset + nbytes > len(raw):
            raise ValueError("size")
        values = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=end + offset).reshape(shape)
        arrays[str(item["name"])] = values.astype(values.dtype.newbyteorder("="))
        expected += nbytes
    if end + expected != len(raw):
        raise ValueError("size")
    return arrays


@dataclass(frozen=True)
class PassRow:
    pass_no: int
    loss: float | None
    delta_loss: float | None
    learning_rate: float | None
    elapsed: float


@dataclass(frozen=True)
class ModelRecord:
    """One warehouse row, as training produced it."""

    name: str
    algorithm: str
    query: str
    data: ModelData
    processed: int
    discarded: int
    preprocess_time: float
    exec_time: float
    iterations: int
    hyperparameter_names: Sequence[str]
    hyperparameter_values: Sequence[str]
    hyperparameter_oids: Sequence[int]
    score_names: Sequence[str]
    score_values: Sequence[float]
    prediction: Mapping[str, Any] | None = None  # expression tree (db4ai.expr); None: not predictable in SQL
    coefficients: np.ndarray | None = None  # linear models: weights, bias last
    details: Sequence[str] = ()  # the algorithm's own gs_explain_model lines
    snapshot_ids: Sequence[int] = ()
    log: Sequence[PassRow] = ()


_INSERT = sql.SQL("""
INSERT INTO db4ai.gs_model_warehouse (
    modelname, modelowner, processedtuples, discardedtuples, preprocesstime, exectime, iterations,
    outputtype, modeltype, query, modeldata, hyperparametersnames, hyperparametersvalues,
    hyperparametersoids, trainingscoresname, trainingscoresvalue, feature_names, feature_oids,
    coefficients, snapshot_ids, prediction, details)
VALUES (%s, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user), %s, %s, %s, %s, %s,
    %s, %s, %s, %s, %s::text[], %s::text[], %s::oid[], %s::text[], %s::float4[], %s::text[], %s::oid[],
    %s::float8[], %s::int8[], %s, %s::text[])
""")

_INSERT_LOG = sql.SQL(
    "INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def exists_error(name: str) -> ObjectExists:
    return ObjectExists(f'The model name "{name}" already exists in gs_model_warehouse.')


def check_name(name: str) -> None:
    """Model names are PostgreSQL names: at most 63 bytes (never silently truncated), no control characters."""
    if len(name.encode("utf-8")) > NAME_BYTES:
        raise InvalidParameter(f'model name too long: "{name}"', hint="Model names have at most 63 bytes.")
    if not name or any(ord(ch) < 0x20 for ch in name):
        raise InvalidParameter(f"invalid model name: {name!r}",
                               hint="Model names must not be empty or contain control characters.")


def exists(conn: psycopg.Connection, name: str) -> bool:
    check_name(name)
    row = conn.execute("SELECT 1 FROM db4ai.gs_model_warehouse WHERE modelname = %s::name", (name,)).fetchone()
    return row is not None


def float4_values(values: Sequence[float]) -> list[float]:
    """Scores as float4 values: a diverged fit's huge mse becomes Infinity instead of failing the cast."""
    with np.errstate(over="ignore"):
        return [float(np.float32(v)) for v in values]


def store(conn: psycopg.Connection, record: ModelRecord, *, replace: bool = False) -> None:
    """Insert the model and its training log in one transaction (a savepoint inside the caller's).

    ``replace``: drop a model of the same name in the same transaction (CREATE OR REPLACE MODEL),
    so that other sessions see the old model until the new one is committed.
    """
    check_name(record.name)
    data = record.data
    params = (
        record.name,
        _int4(record.processed),
        _int4(record.discarded),
        record.preprocess_time,
        record.exec_time,
        record.iterations,
        data.output_oid,
        record.algorithm,
        record.query,
        encode(data),
        list(record.hyperparameter_names),
        list(record.hyperparameter_values),
        list(record.hyperparameter_oids),
        list(record.score_names),
        float4_values(record.score_values),
        list(data.feature_names),
        list(data.feature_oids),
        None if record.coefficients is None else [float(v) for v in record.coefficients],
        list(record.snapshot_ids) or None,
        None if record.prediction is None else Jsonb(record.prediction),
        list(record.details) or None,
    )
    try:
        with conn.transaction():
            if replace and exists(conn, record.name):
                drop(conn, record.name)
            with conn.cursor() as cur:
                cur.execute(_INSERT, params)
                if record.log:
                    cur.executemany(
                        _INSERT_LOG,
                        [(record.name, p.pass_no, p.loss, p.delta_loss, p.learning_rate, p.elapsed) for p in record.log],
                    )
    except psycopg.errors.UniqueViolation as exc:
        raise exists_error(record.name) from exc
    except psycopg.Error as exc:
        translated = from_server_error(exc)
        if translated is None:
            raise
        raise translated from exc


def _int4(n: int) -> int:
    return min(int(n), 2_147_483_647)


@dataclass(frozen=True)
class StoredModel:
    name: str
    algorithm: str
    owner: int
    output_oid: int
    data: ModelData
    predict_function: str | None


def load(conn: psycopg.Connection, name: str) -> StoredModel:
    """A stored model by name; ObjectNotFound when there is none."""
    check_name(name)
    row = conn.execute(
        "SELECT modelname, modeltype, modelowner, outputtype, modeldata, predict_function"
        " FROM db4ai.gs_model_warehouse WHERE modelname = %s::name",
        (name,),
    ).fetchone()
    if row is None:
        raise ObjectNotFound(f"No model found with name {name}", hint="gs_model_warehouse lists the stored models.")
    return StoredModel(
        name=row[0], algorithm=row[1], owner=int(row[2]), output_oid=int(row[3]), data=decode(row[4]),
        predict_function=row[5],
    )


def call(conn: psycopg.Connection, query: sql.Composable | str, params: Sequence[Any]) -> Any:
    """Run one db4ai.* function call; its documented errors become db4ai errors."""
    try:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    except psycopg.Error as exc:
        translated = from_server_error(exc)
        if translated is None:
            raise
        raise translated from exc
    return None if row is None else row[0]


def drop(conn: psycopg.Connection, name: str, *, if_exists: bool = False) -> None:
    """DROP MODEL [IF EXISTS] through db4ai.drop_model (ownership is checked there)."""
    call(conn, "SELECT db4ai.drop_model(%s, %s)", (name, if_exists))


def prediction_sql(conn: psycopg.Connection, name: str, features: Sequence[str]) -> str:
    """The SQL expression predicting with model ``name`` from ``features`` (SQL texts)."""
    return str(call(conn, "SELECT db4ai.predict_model_sql(%s, %s::text[])", (name, list(features))))


def predict_call_sql(conn: psycopg.Connection, name: str, features: Sequence[str]) -> str:
    """What PREDICT BY becomes: a call of the model's generated function, which PostgreSQL inlines."""
    return str(call(conn, "SELECT db4ai_internal._predict_by_sql(%s, %s::text[])", (name, list(features))))


__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ModelData",
    "ModelRecord",
    "PassRow",
    "StoredModel",
    "check_name",
    "decode",
    "drop",
    "encode",
    "exists",
    "exists_error",
    "load",
    "predict_call_sql",
    "prediction_sql",
    "store",
]
