"""Scripts -> statements: tokenize once, split like psql (``_split``), parse only what is ours.

A statement is parsed with sqlglot only when it may hold a DB4AI construct: it starts with
a DB4AI verb, contains ``PREDICT BY``, or contains ``@``. Every other statement is a
``Query`` whose text goes to PostgreSQL verbatim, whatever sqlglot thinks of it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ..errors import ParseError
from ._build import BuildError, build
from ._dialect import DB4AI
from ._parser import DB4AIParser, SyntaxFailure
from ._render import PredictCall, predict_nodes, render_query
from ._source import SourceIndex
from ._split import hide_nested_semicolons, split_statements, word
from .statements import AnyStatement, Query

# Names openGauss keeps in pg_catalog; through the shim they resolve to db4ai's without a schema.
# (function name, True when it must be followed by "(")
_CATALOG_NAMES = {"gs_explain_model": True, "gs_model_warehouse": False}

# Statements that are DB4AI's by their first words (EXPLAIN ... CREATE MODEL is found below).
_DB4AI_STARTS = (
    ("CREATE", "MODEL"),
    ("CREATE", "OR", "REPLACE", "MODEL"),
    ("CREATE", "SNAPSHOT"),
    ("CREATE", "TEMP", "SNAPSHOT"),
    ("CREATE", "TEMPORARY", "SNAPSHOT"),
    ("DROP", "MODEL"),
    ("EVALUATE", "MODEL"),
    ("SAMPLE", "SNAPSHOT"),
    ("SPLIT", "SNAPSHOT"),
    ("PUBLISH", "SNAPSHOT"),
    ("ARCHIVE", "SNAPSHOT"),
    ("PURGE", "SNAPSHOT"),
)

# Unterminated literal -> PostgreSQL's message, by how the literal starts.
_UNTERMINATED = (
    ('"', "unterminated quoted identifier"),
    ("$", "unterminated dollar-quoted string"),
    ("U&'", "unterminated quoted string"),
    ("'", "unterminated quoted string"),
    ("E'", "unterminated quoted string"),
    ("B'", "unterminated bit string literal"),
    ("X'", "unterminated hexadecimal string literal"),
)


def tokenize(text: str) -> list[Token]:
    """sqlglot tokens of ``text`` in the DB4AI dialect (raises ``sqlglot.errors.TokenError``)."""
    return DB4AI.Tokenizer(dialect=DB4AI).tokenize(text)


def is_complete(text: str) -> bool:
    """True when ``text`` ends with a semicolon that ends a statement (psql's rule).

    For an interactive prompt: unterminated literals, open parentheses and open
    ``BEGIN ATOMIC`` bodies mean more input is needed.
    """
    try:
        tokens = hide_nested_semicolons(tokenize(text))
    except TokenError:
        return False
    return bool(tokens) and tokens[-1].token_type == TokenType.SEMICOLON


def parse_script(text: str) -> list[AnyStatement]:
    """Split ``text`` into statements and parse the DB4AI ones.

    Each statement carries its exact source slice (without the ``;``) and the position of its
    first token. Raises :class:`db4ai.errors.ParseError` for a malformed DB4AI statement or an
    unterminated literal, with the 1-based line and column of the offending token.
    """
    source = SourceIndex(text)
    parser = DB4AIParser(dialect=DB4AI)
    parser.source = source
    return [_statement(parser, source, tokens) for tokens in split_statements(_tokens(source))]


def _tokens(source: SourceIndex) -> list[Token]:
    tokenizer = DB4AI.Tokenizer(dialect=DB4AI)
    try:
        return tokenizer.tokenize(source.text)
    except TokenError as exc:
        start = getattr(getattr(tokenizer, "_core", None), "_start", None)  # where the bad literal begins
        if not isinstance(start, int):
            start = tokenizer.tokens[-1].end + 1 if tokenizer.tokens else 0
        head = source.text[start : start + 3].upper()
        message = next((m for prefix, m in _UNTERMINATED if head.startswith(prefix)), "syntax error")
        at = source.position(start)
        raise ParseError(message, line=at.line, col=at.col) from exc


def _starts_with(tokens: list[Token], words: tuple[str, ...]) -> bool:
    return len(tokens) >= len(words) and all(word(t) == w for t, w in zip(tokens, words, strict=False))


def _pairs(tokens: list[Token], first: str, second: str) -> list[Token]:
    return [a for a, b in itertools.pairwise(tokens) if word(a) == first and word(b) == second]


def _catalog_spans(tokens: list[Token], base: int) -> tuple[tuple[int, int], ...]:
    """Offsets (relative to ``base``) of unqualified gs_explain_model(...) / gs_model_warehouse."""
    spans = []
    for i, tok in enumerate(tokens):
        if tok.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        quoted = tok.token_type == TokenType.IDENTIFIER
        name = tok.text if quoted else tok.text.lower()
        needs_paren = _CATALOG_NAMES.get(name)
        if needs_paren is None:
            continue
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if before is not None and before.token_type == TokenType.DOT:
            continue  # already qualified
        if after is not None and after.token_type == TokenType.DOT:
            continue  # a schema of that name
        if needs_paren != (after is not None and after.token_type == TokenType.L_PAREN):
            continue
        spans.append((tok.start - base, tok.end + 1 - base))  # an IDENTIFIER token's span includes its quotes
    return tuple(spans)


def _statement(parser: DB4AIParser, source: SourceIndex, tokens: list[Token]) -> AnyStatement:
    statement = _parse_statement(parser, source, tokens)
    if isinstance(statement, Query):
        spans = _catalog_spans(tokens, tokens[0].start)
        if spans:
            return replace(statement, catalog_spans=spans)
    return statement


def _parse_statement(parser: DB4AIParser, source: SourceIndex, tokens: list[Token]) -> AnyStatement:
    first, last = tokens[0], tokens[-1]
    text = source.text[first.start : last.end + 1]
    position = source.position(first.start)
    predicts = _pairs(tokens, "PREDICT", "BY")
    strict = bool(predicts) or any(_starts_with(tokens, w) for w in _DB4AI_STARTS) or (
        word(first) == "EXPLAIN" and bool(_pairs(tokens, "CREATE", "MODEL") or _pairs(tokens, "REPLACE", "MODEL"))
    )
    if not strict and not any(t.token_type == TokenType.PARAMETER and t.text == "@" for t in tokens):
        return Query(text, position)

    parser.base = first.start
    parser.saw_versioned = False
    try:
        tree = parser.parse(tokens, source.text)[0]
    except SyntaxFailure as exc:
        if strict or parser.saw_versioned:
            raise _parse_error(source, exc.db4ai_message, exc.token, last, exc.hint) from None
        return Query(text, position)
    except Exception as exc:  # sqlglot failing in an unexpected way on unusual SQL
        if strict:
            raise _parse_error(source, None, parser._curr or None, last) from exc
        return Query(text, position)
    if tree is None:
        return Query(text, position)

    found = {node.meta["start"] for node in predict_nodes(tree)}
    for token in predicts:
        if token.start not in found:  # swallowed, e.g. by a statement sqlglot keeps as a Command
            at = source.position(token.start)
            raise ParseError("PREDICT BY is not supported in this statement", line=at.line, col=at.col)
    try:
        return build(tree, text, position)
    except BuildError as exc:
        raise ParseError(str(exc), line=exc.position.line, col=exc.position.col) from None


def _parse_error(source: SourceIndex, message: str | None, token: Token | None, last: Token,
                 hint: str | None = None) -> ParseError:
    if token is None:
        at = source.position(last.end + 1)
        return ParseError(message or "syntax error at end of input", line=at.line, col=at.col, hint=hint)
    at = source.position(token.start)
    near = source.text[token.start : token.end + 1]
    return ParseError(message or f'syntax error at or near "{near}"', line=at.line, col=at.col, hint=hint)


def _no_predict(call: PredictCall) -> str:
    raise ParseError("PREDICT BY is not supported here; predict in SQL through db4ai.connect()",
                     line=call.position.line, col=call.position.col)


def postgres_text(query: str) -> str:
    """One query's PostgreSQL text, with ``name@version`` references quoted (``"name@version"``).

    For callers below the shim (``db4ai.data``) that take a query as text; PREDICT BY is
    refused there, since it needs the model warehouse.
    """
    statements = parse_script(query)
    if len(statements) != 1 or not isinstance(statements[0], Query):
        return query  # not one plain query: PostgreSQL reports what is wrong with it
    return render_query(statements[0], _no_predict)
