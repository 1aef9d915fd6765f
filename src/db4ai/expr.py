"""Prediction expressions: what a trained model becomes for PREDICT BY, as a small tree of data.

Every algorithm assembles its prediction from these nodes (m2cgen's approach: assemblers per model
kind, one printer per target language). The tree is stored as JSON in
``gs_model_warehouse.prediction`` and printed to SQL by exactly one printer, the PL/pgSQL function
``db4ai_internal._expr_sql`` (sql/model/predict.sql). The printer runs on the server, for PREDICT BY through
the shim and for the generated ``db4ai.<model>_pred`` function; it accepts only the node kinds
below, numbers and whitelisted names, so a stored model can never carry SQL text.

Nodes (JSON):

==============================  ================================================================
``1.5``                         float8 constant (``{"c": "NaN"}`` for NaN and ±Infinity)
``{"i": 3}``                    int4 constant
``{"x": i}``                    scalar feature ``i`` (1-based) as float8 (bool counts 0/1)
``{"xa": i}``                   array feature ``i`` as float8[]
``{"xe": [i, j]}``              element ``j`` of array feature ``i`` as float8
``{"+": [...]}``, ``{"*": [...]}``  sum, product
``{"-": [a, b]}``, ``{"-": [a]}``, ``{"/": [a, b]}``
``{"f": name, "a": [...]}``     a function of FUNCTIONS
``{"<": [a, b]}`` (``<= > >= = <>``), ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": a}``
``{"isnull": a}``               a IS NULL
``{"case": [[cond, value], ...], "else": value}``
``{"out": "text"}``             a constant of the model's output (target) type, e.g. a category
``{"cast": type, "a": node}``   a cast to one of TYPES
``{"null": type}``              a typed NULL
``{"arr": [...]}``              ARRAY[...] of float8
``{"call": name, "a": [...]}``  a db4ai helper function of CALLS
``{"array_ok": [i, n]}``        array feature ``i`` is 1-D with ``n`` elements from index 1
``{"argmin": [v...], "a": [r...], "else": e}``  the ``r`` paired with the smallest ``v`` (the first
                                on ties), ``e`` when every ``v`` is NULL:
                                ``CASE least(v1, ...) WHEN v1 THEN r1 ... ELSE e END``
``{"pick": i, "a": [...]}``     the ``i``-th (1-based) of text constants of the output type, or of
                                type ``"t"`` when given (a class of a classifier: NULL ``i`` or one
                                out of range gives NULL)
==============================  ================================================================

The whole prediction is ``{"returns": type-or-"output", "expr": node}``, optionally with
``"messages"``: the algorithm's own error texts for a wrong number of features (``"arguments"``) and
for an array argument of another type (``"type"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Node = float | int | dict[str, Any]

#: SQL functions the printer accepts in ``{"f": ...}``.
FUNCTIONS = frozenset({"exp", "ln", "sqrt", "cos", "sin", "tanh", "abs", "trunc", "floor", "ceil", "sign", "power",
                       "greatest", "least", "array_position"})
#: Types the printer accepts in casts, typed NULLs and ``returns``.
TYPES = frozenset({"float4", "float8", "numeric", "int2", "int4", "int8", "boolean", "text", "float8[]"})
#: db4ai helper functions the printer accepts in ``{"call": ...}`` (schema db4ai, IMMUTABLE).
CALLS = frozenset({"_input_array_error", "_ova_argmax"})

#: Error texts a prediction may name for itself (openGauss's per-algorithm texts): a wrong number of
#: feature expressions, and an argument that is not a float8[] (for models with an array input).
MESSAGES = frozenset({"arguments", "type"})


def num(value: float) -> Node:
    """A float8 constant."""
    value = float(value)
    if math.isfinite(value):
        return value
    return {"c": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}


def integer(value: int) -> Node:
    return {"i": int(value)}


def feature(i: int) -> Node:
    """Scalar feature ``i`` (1-based)."""
    return {"x": int(i)}


def array_feature(i: int) -> Node:
    return {"xa": int(i)}


def element(i: int, j: int) -> Node:
    """Element ``j`` (1-based) of array feature ``i``."""
    return {"xe": [int(i), int(j)]}


def add(*terms: Node) -> Node:
    return terms[0] if len(terms) == 1 else {"+": list(terms)}


def add_grouped(terms: Sequence[Node], fan: int = 64) -> Node:
    """The sum of many terms as sums of at most ``fan`` sums: PostgreSQL parses ``a + b + c ...`` as a
    chain as deep as it is long, and its recursive passes (function inlining, planning) run out of
    stack at a few thousand terms (a boosted model's trees); grouped, the depth is ``fan · log_fan(n)``."""
    level = list(terms)
    while len(level) > fan:
        level = [add(*level[i:i + fan]) for i in range(0, len(level), fan)]
    return add(*level)


def mul(*factors: Node) -> Node:
    return factors[0] if len(factors) == 1 else {"*": list(factors)}


def sub(a: Node, b: Node) -> Node:
    return {"-": [a, b]}


def neg(a: Node) -> Node:
    return {"-": [a]}


def div(a: Node, b: Node) -> Node:
    return {"/": [a, b]}


def fn(name: str, *args: Node) -> Node:
    if name not in FUNCTIONS:
        raise ValueError(f"function {name!r} is not printable")
    return {"f": name, "a": list(args)}


def cmp(op: str, a: Node, b: Node) -> Node:
    if op not in ("<", "<=", ">", ">=", "=", "<>"):
        raise ValueError(f"comparison {op!r} is not printable")
    return {op: [a, b]}


def and_(*conds: Node) -> Node:
    return conds[0] if len(conds) == 1 else {"and": list(conds)}


def or_(*conds: Node) -> Node:
    return conds[0] if len(conds) == 1 else {"or": list(conds)}


def not_(cond: Node) -> Node:
    return {"not": cond}


def is_null(a: Node) -> Node:
    return {"isnull": a}


def case(branches: Iterable[tuple[Node, Node]], otherwise: Node) -> Node:
    return {"case": [[c, v] for c, v in branches], "else": otherwise}


def output(text: str) -> Node:
    """A constant of the model's output type, given as PostgreSQL text (e.g. a category)."""
    return {"out": str(text)}


def cast(type_name: str, a: Node) -> Node:
    if type_name not in TYPES:
        raise ValueError(f"type {type_name!r} is not printable")
    return {"cast": type_name, "a": a}


def null(type_name: str) -> Node:
    if type_name not in TYPES:
        raise ValueError(f"type {type_name!r} is not printable")
    return {"null": type_name}


def array(items: Iterable[Node]) -> Node:
    return {"arr": list(items)}


def call(name: str, *args: Node) -> Node:
    if name not in CALLS:
        raise ValueError(f"db4ai function {name!r} is not printable")
    return {"call": name, "a": list(args)}


def pick(index: Node, texts: Sequence[str], type_name: str | None = None) -> Node:
    """The ``index``-th (1-based) of ``texts`` as constants of the model's output type (or of
    ``type_name``): a classifier's class, as ``(CAST(ARRAY[...] AS type[]))[index]``."""
    node: dict[str, Any] = {"pick": index, "a": [str(t) for t in texts]}
    if type_name is not None:
        if type_name not in TYPES:
            raise ValueError(f"type {type_name!r} is not printable")
        node["t"] = type_name
    return node


def array_ok(i: int, n: int) -> Node:
    return {"array_ok": [int(i), int(n)]}


def holds_null(i: int) -> Node:
    """Array feature ``i`` (1-D: test :func:`array_ok` first) has a NULL element."""
    return not_(is_null(fn("array_position", array_feature(i), null("float8"))))


def argmin(values: Sequence[Node], results: Sequence[Node], otherwise: Node) -> Node:
    """The result paired with the smallest value, the first one on ties (a nearest-centroid choice);
    ``otherwise`` when every value is NULL. Each value is printed twice (in ``least`` and in its
    ``WHEN``), but PostgreSQL evaluates ``least`` once and the ``WHEN`` values only up to the match."""
    if not values or len(values) != len(results):
        raise ValueError("argmin needs as many results as values, at least one")
    return {"argmin": list(values), "a": list(results), "else": otherwise}


def inputs(n_inputs: int, array_input: bool) -> list[Node]:
    """The model's input values as nodes: features 1..n, or the n elements of one array feature."""
    if array_input:
        return [element(1, j) for j in range(1, n_inputs + 1)]
    return [feature(i) for i in range(1, n_inputs + 1)]


def dot(values: Sequence[Node], weights: Iterable[float], bias: float | None = None) -> Node:
    """``Σ values[i] · weights[i] (+ bias)``."""
    terms = [mul(v, num(w)) for v, w in zip(values, weights, strict=True)]
    if bias is not None:
        terms.append(num(bias))
    return add(*terms)


def guard_array(n_inputs: int, body: Node, *, null_result: Node, invalid: Node | None = None) -> Node:
    """``body`` for a valid array feature of ``n_inputs`` elements: NULL array -> ``null_result``, wrong
    shape -> ``invalid`` (default: openGauss's input-array error)."""
    if invalid is None:
        invalid = call("_input_array_error", integer(n_inputs), array_feature(1))
    return case([(is_null(array_feature(1)), null_result), (array_ok(1, n_inputs), body)], invalid)


def prediction(returns: str, node: Node, *, messages: dict[str, str] | None = None) -> dict[str, Any]:
    """The stored form: the expression and its SQL result type (``"output"``: the target's type),
    with the algorithm's own error texts (:data:`MESSAGES`) when it has them."""
    if returns != "output" and returns not in TYPES:
        raise ValueError(f"type {returns!r} is not printable")
    if messages and not set(messages) <= MESSAGES:
        raise ValueError(f"unknown prediction messages: {sorted(set(messages) - MESSAGES)}")
    return {"returns": returns, "expr": node, **({"messages": dict(messages)} if messages else {})}


__all__ = [
    "CALLS",
    "FUNCTIONS",
    "MESSAGES",
    "TYPES",
    "Node",
    "add",
    "add_grouped",
    "and_",
    "argmin",
    "array",
    "array_feature",
    "array_ok",
    "call",
    "case",
    "cast",
    "cmp",
    "div",
    "dot",
    "element",
    "feature",
    "fn",
    "guard_array",
    "holds_null",
    "inputs",
    "integer",
    "is_null",
    "mul",
    "neg",
    "not_",
    "null",
    "num",
    "or_",
    "output",
    "pick",
    "prediction",
    "sub",
]
