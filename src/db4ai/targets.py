"""TARGET encodings for classification: classes numbered 0, 1, ... in order of first appearance.

openGauss numbers a classifier's classes as it meets them in the scan (gd.cpp transfer_slot): a
bool target is fixed to [false, true]; otherwise the first value seen is class 0, the next new one
class 1, ...; a binary algorithm meeting a third value fails with ``too many target values for binary
operator``. Rows left out (NULLs) do not count. Two ways to get the same numbering:

* numeric targets are read as float64 with the rows and numbered in the client as chunks arrive
  (:class:`StreamEncoder`), so no extra scan is needed;
* other types (text, varchar, dates, ...) are numbered by one grouping query over the training query
  in its scan order, and the training query then carries the class number instead of the value.

Each class keeps its PostgreSQL text, so that a prediction returns the value in the target's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import psycopg
from psycopg import sql

from .algorithms.base import InputColumn, TargetKind
from .algorithms.hyperparameters import float8_text
from .errors import DataError

BOOL = 16
#: Numeric types read as float64 with the rows (and their text form from that value).
NUMERIC_TEXT = {21: "int", 23: "int", 20: "int", 700: "float4", 701: "float8", 1700: "float8"}
TOO_MANY = "too many target values for binary operator"
TOO_FEW = "At least two categories are needed"


def _text(kind: str, value: float) -> str:
    if kind == "int":
        return str(int(value))
    if kind == "float4":
        return str(np.float32(value))
    return float8_text(float(value))


@dataclass
class StreamEncoder:
    """Numbers float64 target values in order of first appearance, chunk by chunk."""

    kind: str  # how a value prints: NUMERIC_TEXT's values
    limit: int | None  # most classes allowed (binary: 2)
    values: list[float] = field(default_factory=list)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        unique, first = np.unique(y, return_index=True)
        known = set(self.values)
        for _, value in sorted((int(f), float(u)) for u, f in zip(unique, first, strict=True) if float(u) not in known):
            if self.limit is not None and len(self.values) >= self.limit:
                raise DataError(TOO_MANY)
            self.values.append(value)
        order = np.argsort(self.values)
        keys = np.asarray(self.values)[order]
        return order[np.searchsorted(keys, y)].astype(np.float64)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(_text(self.kind, v) for v in self.values)


@dataclass(frozen=True)
class Encoding:
    """How the training query carries the target, and the classes when known before reading."""

    query: str
    categories: tuple[str, ...] | None = None  # None: found while reading (see encoder)
    encoder: StreamEncoder | None = None


def encode(conn: psycopg.Connection, query: str, kind: TargetKind, target: InputColumn | None,
           features: tuple[InputColumn, ...], limit: int | None) -> Encoding:
    """The training query with its target prepared for an algorithm taking ``kind``."""
    if target is None or kind in (TargetKind.CONTINUOUS, TargetKind.NONE):
        return Encoding(query)
    if target.type_oid == BOOL:
        return Encoding(query, categories=("false", "true"))
    if target.type_oid in NUMERIC_TEXT:
        return Encoding(query, encoder=StreamEncoder(NUMERIC_TEXT[target.type_oid], limit))
    categories = _scan_categories(conn, query, target)
    if limit is not None and len(categories) > limit:
        raise DataError(TOO_MANY)
    return Encoding(_numbered(conn, query, target, features, categories), categories=categories)


_SCAN = sql.SQL("""
SELECT t::text FROM (
    SELECT q.{target} AS t, min(q.{n}) AS first
      FROM (SELECT q.*, row_number() OVER () AS {n} FROM ({query}) AS q WHERE q IS NOT NULL) AS q
     GROUP BY 1) AS c
 ORDER BY first""")


def _scan_categories(conn: psycopg.Connection, query: str, target: InputColumn) -> tuple[str, ...]:
    """Distinct target values in order of first appearance in the training query's scan order
    (one process, no synchronized scan start: the order the data readers see)."""
    with conn.transaction():
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        conn.execute("SET LOCAL synchronize_seqscans = off")
        scan = _SCAN.format(query=sql.SQL(query), target=sql.Identifier(target.name),
                            n=sql.Identifier("_db4ai_row"))
        rows = conn.execute(scan).fetchall()
    return tuple(str(r[0]) for r in rows)


def _numbered(conn: psycopg.Connection, query: str, target: InputColumn, features: tuple[InputColumn, ...],
              categories: tuple[str, ...]) -> str:
    """The training query with the target replaced by its class number (0-based) as float8."""
    type_name = conn.execute("SELECT format_type(%s, NULL)", (target.type_oid,)).fetchone()[0]  # type: ignore[index]
    classes = sql.SQL("CAST(ARRAY[{}]::text[] AS {}[])").format(
        sql.SQL(", ").join(sql.Literal(c) for c in categories), sql.SQL(type_name))
    numbered = sql.SQL("SELECT CAST(array_position({classes}, q.{target}) - 1 AS float8) AS {target}, {features}"
                       " FROM ({query}) AS q")
    return numbered.format(
        classes=classes, target=sql.Identifier(target.name), query=sql.SQL(query),
        features=sql.SQL(", ").join(sql.SQL("q.{}").format(sql.Identifier(f.name)) for f in features),
    ).as_string(conn)


def check_count(categories: tuple[str, ...]) -> None:
    if len(categories) < 2:
        raise DataError(TOO_FEW)


__all__ = ["Encoding", "StreamEncoder", "check_count", "encode"]
