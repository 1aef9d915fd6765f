"""Store, load and drop models in ``db4ai.gs_model_warehouse``; the model data format.

``modeldata`` is a small, versioned, self-describing binary format (never pickle):

    magic  b"DB4AIMDL"                 8 bytes
    version                            1 byte (1)
    header length                      4 bytes, little-endian unsigned
    header                             UTF-8 JSON object (algorithm, inputs, weights count, ...)
    weights                            little-endian float8 × header["n_weights"]

Loading only parses JSON and numbers, so model bytes read from the database are data and can
never run code. The SQL side (prediction functions, gs_explain_model) reads the same weights
from the ``coefficients`` column.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from .errors import DataError, ObjectExists, ObjectNotFound, from_server_error

MAGIC = b"DB4AIMDL"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sBI")


@dataclass(frozen=True)
class ModelData:
    """What ``modeldata`` holds: enough to predict without the rest of the row."""

    algorithm: str
    weights: np.ndarray  # float64, bias last
    feature_names: tuple[str, ...]
    feature_oids: tuple[int, ...]
    output_oid: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def n_inputs(self) -> int:
        """Values a prediction needs (one float array column counts its elements)."""
        return len(self.weights) - 1


def encode(model: ModelData) -> bytes:
    """The ``modeldata`` bytes of a model."""
    weights = np.ascontiguousarray(model.weights, dtype="<f8")
    header = {
        "format": FORMAT_VERSION,
        "algorithm": model.algorithm,
        "n_weights": int(weights.size),
        "weights_dtype": "<f8",
        "feature_names": list(model.feature_names),
        "feature_oids": [int(o) for o in model.feature_oids],
        "output_oid": int(model.output_oid),
        "hyperparameters": model.hyperparameters,
    }
    text = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(text)) + text + weights.tobytes()


def decode(data: bytes | memoryview) -> ModelData:
    """Parse ``modeldata``; raises DataError on anything that is not a valid model."""
    raw = bytes(data)
    if len(raw) < _PREFIX.size:
        raise DataError("model data corrupted: too short for a db4ai model")
    magic, version, length = _PREFIX.unpack_from(raw)
    if magic != MAGIC:
        raise DataError("model data corrupted: not a db4ai model")
    if version != FORMAT_VERSION:
        raise DataError(f"model data has format version {version}; this db4ai reads version {FORMAT_VERSION}")
    end = _PREFIX.size + length
    if len(raw) < end:
        raise DataError("model data corrupted reading header")
    try:
        header = json.loads(raw[_PREFIX.size : end].decode("utf-8"))
        count = int(header["n_weights"])
        if header.get("weights_dtype") != "<f8" or count < 0:
            raise ValueError("weights")
        if len(raw) != end + 8 * count:
            raise ValueError("size")
        weights = np.frombuffer(raw, dtype="<f8", count=count, offset=end).astype(np.float64)
        return ModelData(
            algorithm=str(header["algorithm"]),
            weights=weights,
            feature_names=tuple(str(n) for n in header["feature_names"]),
            feature_oids=tuple(int(o) for o in header["feature_oids"]),
            output_oid=int(header["output_oid"]),
            hyperparameters=dict(header.get("hyperparameters") or {}),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"model data corrupted: {exc}") from exc


@dataclass(frozen=True)
class PassRow:
    pass_no: int
    loss: float | None
    delta_loss: float | None
    learning_rate: float
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
    snapshot_ids: Sequence[int] = ()
    log: Sequence[PassRow] = ()


_INSERT = sql.SQL("""
INSERT INTO db4ai.gs_model_warehouse (
    modelname, modelowner, processedtuples, discardedtuples, preprocesstime, exectime, iterations,
    outputtype, modeltype, query, modeldata, hyperparametersnames, hyperparametersvalues,
    hyperparametersoids, trainingscoresname, trainingscoresvalue, feature_names, feature_oids,
    coefficients, snapshot_ids)
VALUES (%s, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user), %s, %s, %s, %s, %s,
    %s, %s, %s, %s, %s::text[], %s::text[], %s::oid[], %s::text[], %s::float4[], %s::text[], %s::oid[],
    %s::float8[], %s::int8[])
""")

_INSERT_LOG = sql.SQL(
    "INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def exists_error(name: str) -> ObjectExists:
    return ObjectExists(f'The model name "{name}" already exists in gs_model_warehouse.')


def exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM db4ai.gs_model_warehouse WHERE modelname = %s::name", (name,)).fetchone()
    return row is not None


def float4_values(values: Sequence[float]) -> list[float]:
    """Scores as float4 values: a diverged fit's huge mse becomes Infinity instead of failing the cast."""
    with np.errstate(over="ignore"):
        return [float(np.float32(v)) for v in values]


def store(conn: psycopg.Connection, record: ModelRecord) -> None:
    """Insert the model and its training log in one transaction (a savepoint inside the caller's)."""
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
        [float(v) for v in data.weights],
        list(record.snapshot_ids) or None,
    )
    try:
        with conn.transaction():
            with conn.cursor() as cur:
                cur.execute(_INSERT, params)
                if record.log:
                    cur.executemany(
                        _INSERT_LOG,
                        [(record.name, p.pass_no, p.loss, p.delta_loss, p.learning_rate, p.elapsed) for p in record.log],
                    )
    except psycopg.errors.UniqueViolation as exc:
        raise exists_error(record.name) from exc


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


__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ModelData",
    "ModelRecord",
    "PassRow",
    "StoredModel",
    "decode",
    "drop",
    "encode",
    "exists",
    "exists_error",
    "load",
    "prediction_sql",
    "store",
]
