"""sqlglot expression nodes for the DB4AI statements and PREDICT BY.

Every node derives from ``exp.Expression`` first (the trait classes alone are abstract in
sqlglot 30.x). Source positions the rest of the package needs live in ``meta`` under the
keys below, never in new argument keys (sqlglot rejects unknown keys under pytest).
"""

from __future__ import annotations

import sqlglot.expressions as exp

#: meta key of a versioned ``exp.Table``: :class:`db4ai.dialect._source.VersionedName`.
VERSIONED = "db4ai_versioned"
#: meta key of a node or expression that needs its source slice: :class:`_source.Span`.
SPAN = "db4ai_span"
#: meta key of a PredictBy node: the 1-based (line, col) of its PREDICT token in the script.
POSITION = "db4ai_position"


class PredictBy(exp.Expression, exp.Func):
    """``PREDICT BY model (FEATURES expr, ...)``: ``this`` the model, ``expressions`` the features."""

    arg_types = {"this": True, "expressions": True}
    is_var_len_args = True
    _sql_names = ["PREDICT_BY"]


class Explain(exp.Expression):
    """``EXPLAIN [options] statement``; ``options`` is the raw option text."""

    arg_types = {"this": True, "options": False}


class ModelParam(exp.Expression):
    """One ``name = value`` of CREATE MODEL ... WITH; ``value`` is a literal, Var or DEFAULT."""

    arg_types = {"this": True, "value": True}


class CreateModel(exp.Expression, exp.DDL):
    """CREATE MODEL; ``features``/``target`` hold items (``exp.Star`` for ``*``)."""

    arg_types = {
        "this": True,
        "algorithm": True,
        "features": False,
        "target": False,
        "from_": True,
        "params": False,
        "replace": False,  # CREATE OR REPLACE MODEL
    }


class DropModel(exp.Expression):
    arg_types = {"this": True, "exists": False, "cascade": False}


class EvaluateModel(exp.Expression):
    """db4ai's ``EVALUATE MODEL name FROM relation``; ``relation`` is an ``exp.Table``."""

    arg_types = {"this": True, "relation": True}


class SnapshotName(exp.Expression):
    """``[schema.]name[@version]`` in a snapshot statement; ``version`` is text."""

    arg_types = {"this": True, "db": False, "version": False}


class RawSQL(exp.Expression):
    """Source text kept verbatim (``this``), with its parsed tree when there is one."""

    arg_types = {"this": True, "expression": False}


class SnapshotAction(exp.Expression):
    """One command of ``USING (...)``: ``this`` the verb, ``expressions`` the raw clause texts."""

    arg_types = {"this": True, "expressions": False}


class CreateSnapshot(exp.Expression, exp.DDL):
    arg_types = {
        "this": True,
        "temporary": False,
        "from_version": False,
        "comment": False,
        "expression": False,  # AS query
        "actions": False,  # USING (...)
        "distribute": False,  # DISTRIBUTE BY ... (RawSQL), AS form only
    }


class SnapshotSample(exp.Expression):
    """``AS label AT RATIO r [COMMENT IS 'c']``."""

    arg_types = {"this": True, "ratio": True, "comment": False}


class SampleSnapshot(exp.Expression):
    arg_types = {"this": True, "stratify": False, "expressions": True, "split": False}


class SnapshotCommand(exp.Expression):
    """PUBLISH / ARCHIVE / PURGE SNAPSHOT; ``kind`` is the upper-case verb."""

    arg_types = {"this": True, "kind": True}


STATEMENT_NODES: tuple[type[exp.Expr], ...] = (
    CreateModel,
    DropModel,
    EvaluateModel,
    Explain,
    CreateSnapshot,
    SampleSnapshot,
    SnapshotCommand,
)
