"""The DB4AI SQL dialect: openGauss DB4AI statements on top of PostgreSQL's grammar.

``parse_script(text)`` splits a script into typed statements (:mod:`.statements`);
``render_query(query, predict_sql)`` turns a query that uses ``PREDICT BY`` or
``name@version`` references into plain PostgreSQL text.

The dialect subclasses sqlglot's pure-Python parser and generator, pinned to one sqlglot
version. The compiled build (``sqlglotc``, installed by ``sqlglot[c]``) forbids such
subclasses, so importing this package fails fast when it is present.
"""

from __future__ import annotations

from sqlglot.tokens import SQLGLOTC_INSTALLED

from ..errors import InterfaceError

if SQLGLOTC_INSTALLED:  # pragma: no cover - depends on the environment
    raise InterfaceError(
        "db4ai needs the pure-Python sqlglot: the compiled sqlglotc package is installed and "
        "cannot be extended with the DB4AI grammar; run `pip uninstall sqlglotc`"
    )

from ._dialect import DB4AI
from ._render import PredictCall, render_query
from ._script import is_complete, parse_script, postgres_text, tokenize
from .statements import (
    DEFAULT,
    AnyStatement,
    CreateModel,
    CreateSnapshot,
    DB4AIStatement,
    DropModel,
    EvaluateModel,
    Position,
    Query,
    SampleSnapshot,
    SampleSpec,
    SelectItem,
    SnapshotCommand,
    SnapshotRef,
)

__all__ = [
    "DB4AI",
    "DEFAULT",
    "AnyStatement",
    "CreateModel",
    "CreateSnapshot",
    "DB4AIStatement",
    "DropModel",
    "EvaluateModel",
    "Position",
    "PredictCall",
    "Query",
    "SampleSnapshot",
    "SampleSpec",
    "SelectItem",
    "SnapshotCommand",
    "SnapshotRef",
    "is_complete",
    "parse_script",
    "postgres_text",
    "render_query",
    "tokenize",
]
