"""Source text bookkeeping shared by the parser and the renderer: spans, positions, names."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import sqlglot.expressions as exp

from .statements import Position

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Span:
    """Half-open character range ``[start, end)`` in one statement's text."""

    start: int
    end: int


@dataclass(frozen=True)
class VersionedName:
    """What a versioned table reference ``name@version`` was written as.

    ``span`` covers ``name`` through the version (a schema prefix stays outside it).
    """

    name: str
    version: str
    span: Span


class SourceIndex:
    """Maps character offsets of a script to 1-based (line, column) positions."""

    def __init__(self, text: str):
        self.text = text
        starts = [0]
        at = text.find("\n")
        while at != -1:
            starts.append(at + 1)
            at = text.find("\n", at + 1)
        self._line_starts = starts

    def position(self, offset: int) -> Position:
        line = bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1)


def fold(name: str, quoted: bool) -> str:
    """PostgreSQL case folding: unquoted names are lower-cased (ASCII only), quoted kept."""
    return name if quoted else name.translate(_ASCII_LOWER)


def ident_name(node: exp.Expr) -> str:
    """The folded name of an ``exp.Identifier``."""
    assert isinstance(node, exp.Identifier)
    return fold(node.this, bool(node.args.get("quoted")))


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL quoted identifier."""
    return '"' + name.replace('"', '""') + '"'
