"""Typed statement objects produced by the DB4AI dialect.

The parser (``db4ai.dialect.parse_script``) turns a script into a list of these objects.
Everything a handler needs is here as plain data: SQL fragments are already rendered as
PostgreSQL text (snapshot references ``s@1.0.0`` become the quoted view name ``"s@1.0.0"``),
identifiers are already case-folded the PostgreSQL way (unquoted -> lower case).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot.expressions as exp


class _Default:
    """Marker for ``WITH name = DEFAULT``."""

    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()

#: A hyperparameter value as written: int, float, str (string literal or bare word),
#: bool (TRUE/FALSE keyword) or DEFAULT.
ParamValue = int | float | str | bool | _Default


@dataclass(frozen=True)
class Position:
    """1-based line and column of a statement's first token in the script."""

    line: int
    col: int


@dataclass(frozen=True)
class SnapshotRef:
    """A ``[schema.]name@version`` reference; ``relation`` is ``name@version``."""

    schema: str | None
    name: str
    version: str

    @property
    def relation(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class SelectItem:
    """One FEATURES / TARGET entry: PostgreSQL expression text and optional alias."""

    sql: str
    alias: str | None = None
    # the column's name when the expression is a plain column reference (derived from sql: not compared)
    column: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """Column label PostgreSQL would give: the alias, else the expression text."""
        return self.alias if self.alias is not None else self.sql

    @property
    def output_name(self) -> str:
        """The name of the column this item reads or makes: the alias, else the referenced column's
        name (case-folded, unquoted), else the expression text."""
        if self.alias is not None:
            return self.alias
        return self.column if self.column is not None else self.sql


@dataclass(frozen=True)
class Statement:
    text: str  # exact source text of this statement (no trailing semicolon)
    position: Position


@dataclass(frozen=True)
class Query(Statement):
    """Any ordinary SQL statement, passed to PostgreSQL.

    ``tree`` is None when the statement has no DB4AI construct (then ``text`` is sent
    verbatim) or when sqlglot cannot parse it (PostgreSQL reports the error).
    Otherwise ``tree`` holds PredictBy nodes and/or versioned tables and the statement is
    sent as ``db4ai.dialect.render_query`` rewrites it.

    ``catalog_spans`` are the ``[start, end)`` offsets in ``text`` of unqualified references to
    ``gs_explain_model(...)`` and ``gs_model_warehouse``, which render as ``db4ai.<name>``
    (openGauss keeps both in pg_catalog, so they resolve without a schema there).
    """

    tree: exp.Expr | None = field(default=None, repr=False)
    predicts: tuple[exp.Expr, ...] = field(default=(), repr=False)  # PredictBy nodes in tree, in order
    catalog_spans: tuple[tuple[int, int], ...] = ()

    @property
    def verbatim(self) -> bool:
        """True when ``text`` goes to PostgreSQL unchanged."""
        return self.tree is None and not self.catalog_spans


@dataclass(frozen=True)
class CreateModel(Statement):
    name: str
    algorithm: str
    features: tuple[SelectItem, ...] | None  # None: no FEATURES clause
    target: tuple[SelectItem, ...] | None  # None: no TARGET clause
    features_star: bool  # FEATURES *
    target_star: bool  # TARGET *
    from_sql: str  # the FROM list rendered as PostgreSQL, without the FROM keyword
    params: tuple[tuple[str, ParamValue], ...]  # WITH list in order, names lower-cased
    snapshots: tuple[SnapshotRef, ...] = ()  # snapshot references inside FROM
    explain: bool = False  # EXPLAIN CREATE MODEL
    explain_options: str = ""  # raw EXPLAIN options text, e.g. "VERBOSE"
    replace: bool = False  # CREATE OR REPLACE MODEL: the old model stays until the new one is stored


@dataclass(frozen=True)
class DropModel(Statement):
    name: str
    if_exists: bool = False


@dataclass(frozen=True)
class EvaluateModel(Statement):
    """``EVALUATE MODEL name FROM relation`` (db4ai): the model's metrics on another relation."""

    name: str
    relation_sql: str  # the relation as PostgreSQL text (``s@1.0.0`` rendered as ``"s@1.0.0"``)


@dataclass(frozen=True)
class CreateSnapshot(Statement):
    """CREATE SNAPSHOT ... AS query | ... FROM @v USING (...)."""

    schema: str | None
    name: str
    version: str | None  # explicit version of the new snapshot, without delimiter
    comment: str | None
    query_sql: str | None = None  # AS <query>: raw source text of the query
    from_version: str | None = None  # FROM @<version>
    commands: tuple[str, ...] = ()  # USING: the openGauss command array (spec §2)
    distribute_sql: str | None = None  # DISTRIBUTE BY ... of the AS form (checked, then ignored)


@dataclass(frozen=True)
class SampleSpec:
    infix: str
    ratio: float
    comment: str | None = None


@dataclass(frozen=True)
class SampleSnapshot(Statement):
    """SAMPLE SNAPSHOT / SPLIT SNAPSHOT (``split`` tells which)."""

    parent: SnapshotRef
    stratify: tuple[str, ...]
    samples: tuple[SampleSpec, ...]
    split: bool = False


@dataclass(frozen=True)
class SnapshotCommand(Statement):
    """PUBLISH / ARCHIVE / PURGE SNAPSHOT."""

    action: str  # "publish" | "archive" | "purge"
    snapshot: SnapshotRef


DB4AIStatement = CreateModel | DropModel | EvaluateModel | CreateSnapshot | SampleSnapshot | SnapshotCommand
AnyStatement = Query | DB4AIStatement

__all__ = [
    "DEFAULT",
    "AnyStatement",
    "CreateModel",
    "CreateSnapshot",
    "DB4AIStatement",
    "DropModel",
    "EvaluateModel",
    "ParamValue",
    "Position",
    "Query",
    "SampleSnapshot",
    "SampleSpec",
    "SelectItem",
    "SnapshotCommand",
    "SnapshotRef",
    "Statement",
]
