"""Turns parsed statements back into PostgreSQL text by editing their source.

Only the DB4AI constructs are rewritten: a versioned relation ``s@1.0.0`` becomes the quoted
view name ``"s@1.0.0"`` and each ``PREDICT BY`` becomes the caller's SQL expression in
parentheses. Everything else is the user's text, character for character (comments,
spelling, ``%s`` placeholders), so nothing sqlglot would normalise can change its meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlglot.expressions as exp

from . import _nodes as n
from ._source import Span, ident_name, quote_ident
from .statements import Position, Query


@dataclass(frozen=True)
class PredictCall:
    """One ``PREDICT BY`` to replace.

    ``features`` are PostgreSQL expression texts as the user wrote them (with any inner
    DB4AI constructs already rendered); wrap each in parentheses when embedding it.
    """

    model: str
    features: tuple[str, ...]
    position: Position


PredictSQL = Callable[[PredictCall], str]


@dataclass(frozen=True)
class _Edit:
    span: Span
    text: str | None = None  # fixed replacement
    predict: n.PredictBy | None = None


def _edits(trees: Iterable[exp.Expr | None]) -> list[_Edit]:
    edits = []
    for tree in trees:
        if tree is None:
            continue
        for node in tree.walk():
            if isinstance(node, exp.Table) and n.VERSIONED in node.meta:
                versioned = node.meta[n.VERSIONED]
                edits.append(_Edit(versioned.span, text=quote_ident(f"{versioned.name}@{versioned.version}")))
            elif isinstance(node, n.PredictBy):
                edits.append(_Edit(node.meta[n.SPAN], predict=node))
    edits.sort(key=lambda e: e.span.start)
    return edits


def predict_nodes(tree: exp.Expr) -> tuple[n.PredictBy, ...]:
    """The PredictBy nodes of ``tree`` in source order."""
    return tuple(e.predict for e in _edits([tree]) if e.predict is not None)


def _default_alias(node: n.PredictBy) -> str | None:
    """openGauss names a bare SELECT-list PREDICT BY ``<model>_pred`` (spec §3.6)."""
    if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
        return f"{ident_name(node.this)}_pred"
    return None


class _Splicer:
    def __init__(self, text: str, edits: list[_Edit], predict_sql: PredictSQL | None):
        self.text = text
        self.edits = edits
        self.predict_sql = predict_sql

    def render(self, span: Span) -> str:
        out = []
        pos = span.start
        for edit in self.edits:
            if edit.span.start < pos or edit.span.end > span.end:
                continue  # nested in an edit already done, or outside the span
            out.append(self.text[pos : edit.span.start])
            out.append(edit.text if edit.text is not None else self._predict(edit.predict))
            pos = edit.span.end
        out.append(self.text[pos : span.end])
        return "".join(out)

    def _predict(self, node: n.PredictBy | None) -> str:
        assert node is not None and self.predict_sql is not None, "PREDICT BY is rejected where it cannot be rendered"
        features = tuple(self.render(f.meta[n.SPAN]) for f in node.expressions)
        sql = f"({self.predict_sql(PredictCall(ident_name(node.this), features, node.meta[n.POSITION]))})"
        alias = _default_alias(node)
        return f"{sql} AS {quote_ident(alias)}" if alias else sql


def render_fragment(text: str, span: Span, *trees: exp.Expr | None) -> str:
    """The source slice ``span`` of a statement with its versioned relations quoted."""
    return _Splicer(text, _edits(trees), None).render(span)


def render_query(q: Query, predict_sql: PredictSQL) -> str:
    """PostgreSQL text for ``q``: PREDICT BY replaced through ``predict_sql``, ``s@v`` quoted,
    unqualified ``gs_explain_model`` / ``gs_model_warehouse`` qualified with ``db4ai``.

    A PREDICT BY that is a bare SELECT-list item gets the column name ``<model>_pred``.
    """
    if q.verbatim:
        return q.text
    edits = _edits([q.tree]) + [
        _Edit(Span(start, end), text="db4ai." + q.text[start:end]) for start, end in q.catalog_spans
    ]
    edits.sort(key=lambda e: e.span.start)
    return _Splicer(q.text, edits, predict_sql).render(Span(0, len(q.text)))

