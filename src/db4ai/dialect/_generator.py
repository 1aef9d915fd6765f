"""Regenerates DB4AI syntax from the custom nodes (round trips, debugging).

The shim never runs this text: statements are rendered from their source (see ``_render``).
Custom node classes are unknown to sqlglot's generator registry, so each one is mapped in
``TRANSFORMS`` (a ``key_sql`` method would be ignored).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot.expressions as exp
from sqlglot.generators.postgres import PostgresGenerator

from . import _nodes as n
from ._source import fold


def _word_or_string(self: PostgresGenerator, text: str) -> str:
    """A version as written: bare when it re-reads the same (1.0.0, train), else a string."""
    numeric = text[:1].isdigit() and all(c.isdigit() or c == "." for c in text)
    word = (text[:1].isalpha() or text[:1] == "_") and text == text.lower() and all(c.isalnum() or c == "_" for c in text)
    return text if numeric or word else self.sql(exp.Literal.string(text))


def _comment(self: PostgresGenerator, comment: str | None) -> str:
    return f" COMMENT IS {self.sql(exp.Literal.string(comment))}" if comment is not None else ""


def _predict_by(self: PostgresGenerator, e: n.PredictBy) -> str:
    return f"PREDICT BY {self.sql(e, 'this')} (FEATURES {self.expressions(e, flat=True)})"


def _explain(self: PostgresGenerator, e: n.Explain) -> str:
    options = e.args.get("options")
    return f"EXPLAIN {options + ' ' if options else ''}{self.sql(e, 'this')}"


def _create_model(self: PostgresGenerator, e: n.CreateModel) -> str:
    create = "CREATE OR REPLACE MODEL" if e.args.get("replace") else "CREATE MODEL"
    sql = f"{create} {self.sql(e, 'this')} USING {self.sql(e, 'algorithm')}"
    for clause in ("features", "target"):
        if e.args.get(clause) is not None:
            sql += f" {clause.upper()} {self.expressions(e, clause, flat=True)}"
    sql += f" FROM {self.sql(e.args['from_'].this)}"
    if e.args.get("params"):
        sql += f" WITH {self.expressions(e, 'params', flat=True)}"
    return sql


def _drop_model(self: PostgresGenerator, e: n.DropModel) -> str:
    exists = "IF EXISTS " if e.args.get("exists") else ""
    cascade = f" {e.args['cascade']}" if e.args.get("cascade") else ""
    return f"DROP MODEL {exists}{self.sql(e, 'this')}{cascade}"


def _snapshot_name(self: PostgresGenerator, e: n.SnapshotName) -> str:
    db = f"{self.sql(e, 'db')}." if e.args.get("db") else ""
    version = e.args.get("version")
    return f"{db}{self.sql(e, 'this')}{'@' + _word_or_string(self, version) if version is not None else ''}"


def _create_snapshot(self: PostgresGenerator, e: n.CreateSnapshot) -> str:
    sql = f"CREATE SNAPSHOT {self.sql(e, 'this')}"
    if e.args.get("distribute") is not None:
        sql += f" {e.args['distribute'].this}"
    if e.args.get("from_version") is not None:
        sql += f" FROM @{_word_or_string(self, e.args['from_version'])}"
    sql += _comment(self, e.args.get("comment"))
    if e.args.get("actions"):
        return f"{sql} USING ({self.expressions(e, 'actions', flat=True, sep='; ')})"
    return f"{sql} AS {self.sql(e, 'expression')}"


def _snapshot_action(self: PostgresGenerator, e: n.SnapshotAction) -> str:
    clauses = (", " if e.this == "ALTER" else " ").join(clause.this for clause in e.expressions)
    return f"{e.this} {clauses}" if clauses else e.this


def _sample_snapshot(self: PostgresGenerator, e: n.SampleSnapshot) -> str:
    verb = "SPLIT" if e.args.get("split") else "SAMPLE"
    stratify = f" STRATIFY BY {self.expressions(e, 'stratify', flat=True)}" if e.args.get("stratify") else ""
    return f"{verb} SNAPSHOT {self.sql(e, 'this')}{stratify} {self.expressions(e, flat=True)}"


def _snapshot_sample(self: PostgresGenerator, e: n.SnapshotSample) -> str:
    return f"AS {self.sql(e, 'this')} AT RATIO {self.sql(e, 'ratio')}{_comment(self, e.args.get('comment'))}"


_TRANSFORMS: dict[type[exp.Expr], Callable[..., str]] = {
    n.PredictBy: _predict_by,
    n.Explain: _explain,
    n.CreateModel: _create_model,
    n.ModelParam: lambda self, e: f"{self.sql(e, 'this')} = {self.sql(e, 'value')}",
    n.DropModel: _drop_model,
    n.EvaluateModel: lambda self, e: f"EVALUATE MODEL {self.sql(e, 'this')} FROM {self.sql(e, 'relation')}",
    n.SnapshotName: _snapshot_name,
    n.RawSQL: lambda self, e: e.this,
    n.SnapshotAction: _snapshot_action,
    n.CreateSnapshot: _create_snapshot,
    n.SampleSnapshot: _sample_snapshot,
    n.SnapshotSample: _snapshot_sample,
    n.SnapshotCommand: lambda self, e: f"{e.args['kind']} SNAPSHOT {self.sql(e, 'this')}",
}


class DB4AIGenerator(PostgresGenerator):
    TRANSFORMS = {**PostgresGenerator.TRANSFORMS, **_TRANSFORMS}
    WITH_SEPARATED_COMMENTS = (*PostgresGenerator.WITH_SEPARATED_COMMENTS, *n.STATEMENT_NODES)

    def table_parts(self, expression: exp.Table) -> str:
        """A versioned relation is written back as ``name@version``."""
        versioned = expression.meta.get(n.VERSIONED)
        if versioned is None:
            return super().table_parts(expression)
        prefix = "".join(
            f"{self.sql(part)}." for part in (expression.args.get("catalog"), expression.args.get("db")) if part
        )
        name = exp.to_identifier(versioned.name)
        if versioned.name != fold(versioned.name, quoted=False):
            name.set("quoted", True)
        return f"{prefix}{self.sql(name)}@{_word_or_string(self, versioned.version)}"
