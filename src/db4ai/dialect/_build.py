"""Parsed DB4AI nodes -> the typed statement objects of :mod:`.statements`."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot.expressions as exp

from . import _nodes as n
from ._render import predict_nodes, render_fragment
from ._source import ident_name
from .statements import (
    DEFAULT,
    AnyStatement,
    CreateModel,
    CreateSnapshot,
    DropModel,
    EvaluateModel,
    ParamValue,
    Position,
    Query,
    SampleSnapshot,
    SampleSpec,
    SelectItem,
    SnapshotCommand,
    SnapshotRef,
)


class BuildError(Exception):
    """A statement that parses but cannot be carried out; the script layer adds the position."""

    def __init__(self, message: str, position: Position):
        super().__init__(message)
        self.position = position


def build(tree: exp.Expr, text: str, position: Position) -> AnyStatement:
    """The statement object for one parsed statement (``text`` is its source)."""
    builder = _BUILDERS.get(type(tree))
    if builder is None:
        return _query(tree, text, position)
    return builder(tree, text, position)


def _query(tree: exp.Expr, text: str, position: Position) -> Query:
    predicts = predict_nodes(tree)
    versioned = any(n.VERSIONED in t.meta for t in tree.find_all(exp.Table))
    if not predicts and not versioned:
        return Query(text, position)
    return Query(text, position, tree=tree, predicts=predicts)


def _explain(tree: n.Explain, text: str, position: Position) -> AnyStatement:
    if isinstance(tree.this, n.CreateModel):
        return _create_model(tree.this, text, position, options=tree.args.get("options") or "", explain=True)
    if isinstance(tree.this, n.STATEMENT_NODES):
        raise BuildError("EXPLAIN supports CREATE MODEL and ordinary statements only", position)
    return _query(tree, text, position)


def _reject_predict(tree: exp.Expr, where: str) -> None:
    for node in predict_nodes(tree):
        raise BuildError(f"PREDICT BY is not supported in {where}", node.meta[n.POSITION])


def _snapshot_ref(table: exp.Table) -> SnapshotRef:
    versioned = table.meta[n.VERSIONED]
    schema = table.args.get("db")
    return SnapshotRef(ident_name(schema) if schema else None, versioned.name, versioned.version)


def _items(items: list[exp.Expr] | None, text: str, position: Position
           ) -> tuple[tuple[SelectItem, ...] | None, bool]:
    if items is None:
        return None, False
    star = any(isinstance(item, exp.Star) for item in items)
    selected = []
    for item in items:
        if isinstance(item, exp.Star):
            continue
        if isinstance(item, exp.Alias) and not isinstance(item.args["alias"], exp.Identifier):
            # e.g. "x @ y", which sqlglot reads as x AS @y (a parameter)
            raise BuildError(f'syntax error at or near "{item.args["alias"].sql()}"', position)
        expr, alias = (item.this, ident_name(item.args["alias"])) if isinstance(item, exp.Alias) else (item, None)
        column = ident_name(expr.this) if isinstance(expr, exp.Column) and isinstance(expr.this, exp.Identifier) else None
        selected.append(SelectItem(render_fragment(text, expr.meta[n.SPAN], expr), alias, column))
    return tuple(selected), star


def _param_value(value: exp.Expr) -> ParamValue:
    if isinstance(value, exp.Var):
        return DEFAULT
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    if isinstance(value, exp.Identifier):
        return ident_name(value)
    if isinstance(value, exp.Neg):
        number = _param_value(value.this)
        assert isinstance(number, (int, float))
        return -number
    assert isinstance(value, exp.Literal)
    if value.is_string:
        return value.this
    return int(value.this) if value.this.isdigit() else float(value.this)


def _create_model(
    tree: n.CreateModel, text: str, position: Position, options: str = "", explain: bool = False
) -> CreateModel:
    _reject_predict(tree, "CREATE MODEL")
    from_ = tree.args["from_"]
    features, features_star = _items(tree.args.get("features"), text, position)
    target, target_star = _items(tree.args.get("target"), text, position)
    ordered = sorted(
        (t for t in from_.find_all(exp.Table) if n.VERSIONED in t.meta),
        key=lambda t: t.meta[n.VERSIONED].span.start,
    )
    return CreateModel(
        text=text,
        position=position,
        name=ident_name(tree.this),
        algorithm=ident_name(tree.args["algorithm"]),
        features=features,
        target=target,
        features_star=features_star,
        target_star=target_star,
        from_sql=render_fragment(text, from_.meta[n.SPAN], from_),
        params=tuple((ident_name(p.this), _param_value(p.args["value"])) for p in tree.args.get("params") or ()),
        snapshots=tuple(dict.fromkeys(_snapshot_ref(t) for t in ordered)),
        explain=explain,
        explain_options=options,
        replace=bool(tree.args.get("replace")),
    )


def _drop_model(tree: n.DropModel, text: str, position: Position) -> DropModel:
    return DropModel(text, position, name=ident_name(tree.this), if_exists=bool(tree.args.get("exists")))


def _evaluate_model(tree: n.EvaluateModel, text: str, position: Position) -> EvaluateModel:
    relation = tree.args["relation"]
    return EvaluateModel(text, position, name=ident_name(tree.this),
                         relation_sql=render_fragment(text, relation.meta[n.SPAN], relation))


def _name_parts(name: n.SnapshotName) -> tuple[str | None, str]:
    db = name.args.get("db")
    return (ident_name(db) if db else None), ident_name(name.this)


def _ref(name: n.SnapshotName) -> SnapshotRef:
    schema, relation = _name_parts(name)
    return SnapshotRef(schema, relation, name.args["version"])


def _fragment(text: str, raw: n.RawSQL) -> str:
    return render_fragment(text, raw.meta[n.SPAN], raw.args.get("expression"))


def _create_snapshot(tree: n.CreateSnapshot, text: str, position: Position) -> CreateSnapshot:
    _reject_predict(tree, "CREATE SNAPSHOT")
    schema, name = _name_parts(tree.this)
    query = tree.args.get("expression")
    commands = tuple(
        part
        for action in tree.args.get("actions") or ()
        for part in (action.this, *(_fragment(text, clause) for clause in action.expressions))
    )
    return CreateSnapshot(
        text,
        position,
        schema=schema,
        name=name,
        version=tree.this.args.get("version"),
        comment=tree.args.get("comment"),
        query_sql=_fragment(text, query) if query is not None else None,
        from_version=tree.args.get("from_version"),
        commands=commands,
        distribute_sql=_fragment(text, tree.args["distribute"]) if tree.args.get("distribute") else None,
    )


def _sample_snapshot(tree: n.SampleSnapshot, text: str, position: Position) -> SampleSnapshot:
    return SampleSnapshot(
        text,
        position,
        parent=_ref(tree.this),
        stratify=tuple(ident_name(c) for c in tree.args.get("stratify") or ()),
        samples=tuple(
            SampleSpec(ident_name(s.this), float(s.args["ratio"].this), s.args.get("comment")) for s in tree.expressions
        ),
        split=bool(tree.args.get("split")),
    )


def _snapshot_command(tree: n.SnapshotCommand, text: str, position: Position) -> SnapshotCommand:
    return SnapshotCommand(text, position, action=tree.args["kind"].lower(), snapshot=_ref(tree.this))


_BUILDERS: dict[type[exp.Expr], Callable[..., AnyStatement]] = {
    n.Explain: _explain,
    n.CreateModel: _create_model,
    n.DropModel: _drop_model,
    n.EvaluateModel: _evaluate_model,
    n.CreateSnapshot: _create_snapshot,
    n.SampleSnapshot: _sample_snapshot,
    n.SnapshotCommand: _snapshot_command,
}
