"""The DB4AI parser: PostgreSQL's sqlglot parser plus the openGauss DB4AI grammar.

Built from stock sub-parsers (see /work/shared/notes/sqlglot-dialect.md for why each hook
is where it is). The DB4AI words are not reserved: they stay ordinary identifiers and are
matched by text only where the grammar expects them. Every node that later needs its
source text gets a :class:`Span` (offsets into the statement text) in its ``meta``.

The parser is driven one statement at a time by :mod:`._script`, which sets
:attr:`DB4AIParser.source` and :attr:`DB4AIParser.base` first. Syntax errors raise
:class:`SyntaxFailure` carrying the offending token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import sqlglot.expressions as exp
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import Token, TokenType

from . import _nodes as n
from ._source import SourceIndex, Span, VersionedName, fold
from ._split import hide_nested_semicolons
from .statements import Position

_QUOTED = frozenset({TokenType.IDENTIFIER, TokenType.STRING})
_NUMERIC_VERSION_CHARS = frozenset("0123456789.")


class SyntaxFailure(SqlglotParseError):
    """A DB4AI syntax error: ``message`` None means PostgreSQL's generic syntax error text;
    ``token`` None means the statement ended too early."""

    def __init__(self, message: str | None, token: Token | None, *, hint: str | None = None):
        super().__init__(message or "syntax error")
        self.db4ai_message = message
        self.token = token
        self.hint = hint


# Statement verbs, longest first: word sequence -> parse method (gets the first token).
_VERBS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("CREATE", "TEMP", "SNAPSHOT"), "_parse_create_temp_snapshot"),
    (("CREATE", "TEMPORARY", "SNAPSHOT"), "_parse_create_temp_snapshot"),
    (("CREATE", "SNAPSHOT"), "_parse_create_snapshot"),
    (("CREATE", "OR", "REPLACE", "MODEL"), "_parse_create_or_replace_model"),
    (("CREATE", "MODEL"), "_parse_create_model"),
    (("DROP", "MODEL"), "_parse_drop_model"),
    (("EVALUATE", "MODEL"), "_parse_evaluate_model"),
    (("SAMPLE", "SNAPSHOT"), "_parse_sample_snapshot"),
    (("SPLIT", "SNAPSHOT"), "_parse_split_snapshot"),
    (("PUBLISH", "SNAPSHOT"), "_parse_snapshot_command"),
    (("ARCHIVE", "SNAPSHOT"), "_parse_snapshot_command"),
    (("PURGE", "SNAPSHOT"), "_parse_snapshot_command"),
    (("EXPLAIN",), "_parse_explain"),
)

_EXPLAIN_WORDS = ("ANALYZE", "ANALYSE", "VERBOSE")
_QUERY_STARTS = frozenset({TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.TABLE, TokenType.L_PAREN})
_SNAPSHOT_VERBS = ("INSERT", "UPDATE", "DELETE", "ALTER")


class DB4AIParser(PostgresParser):
    FUNCTIONS = {k: v for k, v in PostgresParser.FUNCTIONS.items() if k != "PREDICT"}
    NO_PAREN_FUNCTION_PARSERS = {
        **PostgresParser.NO_PAREN_FUNCTION_PARSERS,
        "PREDICT": lambda self: self._parse_predict_by(),
    }

    # Per-statement context, set by the script layer before each parse (defaults suit
    # sqlglot.parse(sql, read="db4ai")).
    source: SourceIndex | None = None
    base: int = 0  # offset of the statement's first character in the script
    saw_versioned: bool = False  # a name@version reference was read (even if parsing failed later)

    # -- plumbing --------------------------------------------------------------------------

    def parse(self, raw_tokens: list[Token], sql: str) -> list[exp.Expr | None]:
        """Stock parse, except that semicolons inside USING (...) do not split statements."""
        return super().parse(hide_nested_semicolons(raw_tokens), sql)

    def raise_error(self, message: str, token: Token | None = None) -> None:
        raise SyntaxFailure(None, token or self._curr or None)

    def _warn_unsupported(self) -> None:
        """Stock sqlglot logs a warning when it falls back to a Command; the script layer decides."""

    def _fail(self, message: str | None = None, token: Token | None = None, *, hint: str | None = None) -> Any:
        raise SyntaxFailure(message, token if token is not None else (self._curr or None), hint=hint)

    def _position(self, token: Token) -> Position:
        if self.source is None or self.source.text is not self.sql:
            self.source = SourceIndex(self.sql)
        return self.source.position(token.start)

    def _span(self, first: Token, last: Token) -> Span:
        return Span(first.start - self.base, last.end + 1 - self.base)

    def _raw(self, first: Token, last: Token, tree: exp.Expr | None = None) -> n.RawSQL:
        node = n.RawSQL(this=self._find_sql(first, last), expression=tree)
        node.meta[n.SPAN] = self._span(first, last)
        return node

    def _expect(self, token_type: TokenType) -> Token:
        if not self._match(token_type):
            self._fail()
        return self._prev

    def _expect_words(self, *words: str) -> None:
        for word in words:
            if not self._match_text_seq(word):
                self._fail()

    def _at_word(self, word: str) -> bool:
        return bool(self._curr) and self._curr.token_type not in _QUOTED and self._curr.text.upper() == word

    def _name(self) -> exp.Identifier:
        """A plain (possibly quoted) identifier."""
        if self._curr.token_type == TokenType.IDENTIFIER or self._curr.token_type in self.ID_VAR_TOKENS:
            self._advance()
            quoted = self._prev.token_type == TokenType.IDENTIFIER
            return self.expression(exp.Identifier(this=self._prev.text, quoted=quoted), self._prev)
        return self._fail()

    def _string(self) -> str:
        return self._expect(TokenType.STRING).text

    def _spanned(self, parse: Callable[[], exp.Expr | None]) -> exp.Expr:
        """Run ``parse`` (it must find something) and record the source span it consumed."""
        first = self._curr
        node = parse()
        if node is None or not first:
            return self._fail()
        node.meta[n.SPAN] = self._span(first, self._prev)
        return node

    def _until_end(self) -> Token:
        """The last token of the statement."""
        return self._tokens[-1]

    # -- statements ------------------------------------------------------------------------

    def _parse_statement(self) -> exp.Expr | None:
        first = self._curr
        if first and first.token_type not in _QUOTED:
            for words, method in _VERBS:
                if self._match_text_seq(*words):
                    node = getattr(self, method)(first)
                    if first.comments:
                        node.add_comments(first.comments, prepend=True)
                    return node
        return super()._parse_statement()

    def _parse_explain(self, first: Token) -> n.Explain:
        options_first = self._curr
        if self._match(TokenType.L_PAREN):
            depth = 1
            while depth:
                if not self._curr:
                    self._fail()
                depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(self._curr.token_type, 0)
                self._advance()
        else:
            while self._match_texts(_EXPLAIN_WORDS):
                pass
        options = self._find_sql(options_first, self._prev) if self._prev is not first else ""
        if not self._curr:
            self._fail()
        inner = self._parse_statement()
        if inner is None:
            self._fail()
        return self.expression(n.Explain(this=inner, options=options or None), first)

    # CREATE MODEL name USING algo [FEATURES ...] [TARGET ...] FROM from_list [WITH p = v, ...]
    def _parse_create_model(self, first: Token) -> n.CreateModel:
        name = self._model_name()
        self._expect(TokenType.USING)
        algorithm = self._name()
        features = self._model_items("TARGET") if self._match_text_seq("FEATURES") else None
        target = self._model_items(None) if self._match_text_seq("TARGET") else None
        self._expect(TokenType.FROM)
        from_first = self._curr
        source = self._parse_table(joins=True)
        if source is None:
            self._fail()
        from_ = self.expression(exp.From(this=source))
        from_.meta[n.SPAN] = self._span(from_first, self._prev)
        params = self._parse_csv(self._model_param) if self._match(TokenType.WITH) else None
        node = n.CreateModel(this=name, algorithm=algorithm, features=features, target=target, from_=from_, params=params)
        return self.expression(node, first)

    # CREATE OR REPLACE MODEL (BigQuery ML): the same statement, the old model kept until the new one is stored
    def _parse_create_or_replace_model(self, first: Token) -> n.CreateModel:
        node = self._parse_create_model(first)
        node.set("replace", True)
        return node

    def _model_name(self) -> exp.Identifier:
        first = self._curr
        name = self._name()
        if self._curr.token_type == TokenType.DOT:
            self._fail("model name cannot be qualified", first)
        return name

    def _model_items(self, stop_word: str | None) -> list[exp.Expr]:
        def item() -> exp.Expr:
            if self._match(TokenType.STAR):
                return self.expression(exp.Star(), self._prev)
            expression = self._spanned(self._parse_assignment)
            if stop_word and self._at_word(stop_word):
                return expression
            return cast(exp.Expr, self._parse_alias(expression))

        return self._parse_csv(item)

    def _model_param(self) -> n.ModelParam:
        name = self._name()
        self._expect(TokenType.EQ)
        return self.expression(n.ModelParam(this=name, value=self._model_value()))

    def _model_value(self) -> exp.Expr:
        if self._match(TokenType.DEFAULT):
            return exp.var("DEFAULT")
        sign = self._match_set((TokenType.DASH, TokenType.PLUS)) and self._prev.token_type
        if self._match(TokenType.NUMBER):
            value: exp.Expr = exp.Literal.number(self._prev.text)
        elif self._match_pair(TokenType.DOT, TokenType.NUMBER):
            value = exp.Literal.number(f"0.{self._prev.text}")
        elif sign:
            return self._fail()
        elif self._match(TokenType.STRING):
            return exp.Literal.string(self._prev.text)
        elif self._match_set((TokenType.TRUE, TokenType.FALSE)):
            return exp.Boolean(this=self._prev.token_type == TokenType.TRUE)
        else:
            return self._name()
        return exp.Neg(this=value) if sign == TokenType.DASH else value

    def _parse_drop_model(self, first: Token) -> n.DropModel:
        exists = self._parse_exists()
        name = self._model_name()
        cascade = self._match_texts(("CASCADE", "RESTRICT")) and self._prev.text.upper()
        return self.expression(n.DropModel(this=name, exists=bool(exists), cascade=cascade or None), first)

    # EVALUATE MODEL name FROM relation (db4ai's held-out evaluation; not openGauss grammar)
    def _parse_evaluate_model(self, first: Token) -> n.EvaluateModel:
        name = self._model_name()
        self._expect(TokenType.FROM)
        relation_first = self._curr
        relation = self._parse_table_parts() if relation_first else None
        if relation is None:
            return self._fail()
        relation.meta[n.SPAN] = self._span(relation_first, self._prev)
        return self.expression(n.EvaluateModel(this=name, relation=relation), first)

    # -- PREDICT BY ------------------------------------------------------------------------

    def _parse_predict_by(self) -> exp.Expr | None:
        predict = self._prev
        if not self._match_text_seq("BY"):
            # a column or user function called predict
            self._retreat(self._index - 1)
            return self._parse_function(optional_parens=False)
        name = self._model_name()
        self._expect(TokenType.L_PAREN)
        if not self._match_text_seq("FEATURES") or self._curr.token_type == TokenType.R_PAREN:
            if self._curr.token_type == TokenType.R_PAREN:
                self._fail("Innput features for the model not specified", self._curr)
            self._fail()
        features = self._parse_csv(lambda: self._spanned(self._parse_assignment))
        self._expect(TokenType.R_PAREN)
        node = self.expression(n.PredictBy(this=name, expressions=features), predict)
        node.meta[n.SPAN] = self._span(predict, self._prev)
        node.meta[n.POSITION] = self._position(predict)
        return node

    # -- versioned relations: name@version -------------------------------------------------

    def _parse_table_parts(self, *args: Any, **kwargs: Any) -> exp.Table | exp.Dot | None:
        table = super()._parse_table_parts(*args, **kwargs)
        if (
            isinstance(table, exp.Table)
            and isinstance(table.this, exp.Identifier)
            and self._curr.token_type == TokenType.PARAMETER
            and self._prev.start == table.this.meta.get("start", self._prev.start)
        ):
            name_token = self._prev
            self.saw_versioned = True
            self._advance()
            version = self._version()
            name = fold(name_token.text, name_token.token_type == TokenType.IDENTIFIER)
            ident = exp.Identifier(this=f"{name}@{version}", quoted=True)
            ident.update_positions(name_token)
            table.set("this", ident)
            table.meta[n.VERSIONED] = VersionedName(name, version, self._span(name_token, self._prev))
        return table

    def _version(self) -> str:
        """The version after ``@``: 2, 1.0, 1.0.0, train, "rev 1" or 'rev 1' (no delimiter)."""
        first = self._curr
        if first.token_type in _QUOTED:
            self._advance()
            return first.text
        if first.token_type == TokenType.NUMBER:
            self._advance()
            while self._curr.token_type in (TokenType.DOT, TokenType.NUMBER) and self._curr.start == self._prev.end + 1:
                self._advance()
            text = self._find_sql(first, self._prev)
            if not set(text) <= _NUMERIC_VERSION_CHARS or text.endswith(".") or ".." in text:
                self._fail(f'invalid snapshot version "{text}"', first)
            return text
        raw = self._find_sql(first, first) if first else ""
        if raw[:1].isalpha() or raw[:1] == "_":
            self._advance()
            return fold(raw, False)
        return self._fail()

    # -- snapshots -------------------------------------------------------------------------

    def _snapshot_name(self, version_required: bool) -> n.SnapshotName:
        first = self._curr
        this = self._name()
        db = None
        if self._match(TokenType.DOT):
            db, this = this, self._name()
        version = None
        if self._match(TokenType.PARAMETER):
            version = self._version()
        elif version_required:
            self._fail(hint=f"a snapshot is named with its version: {this}@1.0.0, for instance")
        return self.expression(n.SnapshotName(this=this, db=db, version=version), first)

    def _comment_is(self) -> str | None:
        if self._match_text_seq("COMMENT"):
            self._expect(TokenType.IS)
            return self._string()
        return None

    def _parse_create_temp_snapshot(self, first: Token) -> n.CreateSnapshot:
        return self._fail("Temporary snapshots are not supported.", self._tokens[self._index - 2])

    def _parse_create_snapshot(self, first: Token) -> n.CreateSnapshot:
        name = self._snapshot_name(version_required=False)
        from_version = None
        distribute = self._distribution()
        if distribute is None and self._match(TokenType.FROM):
            self._expect(TokenType.PARAMETER)
            from_version = self._version()
            if self._curr and self._curr.token_type == TokenType.DISTRIBUTE_BY:
                self._fail("illegal DISTRIBUTE BY clause in CREATE SNAPSHOT ... FROM", self._curr,
                           hint="DISTRIBUTE BY is inherited from parent snapshot.")
        self._no_cluster()
        comment = self._comment_is()
        if from_version is None:
            self._expect(TokenType.ALIAS)
            node = n.CreateSnapshot(this=name, comment=comment, expression=self._snapshot_query(),
                                    distribute=distribute)
        else:
            node = n.CreateSnapshot(
                this=name, from_version=from_version, comment=comment, actions=self._snapshot_actions()
            )
        return self.expression(node, first)

    def _distribution(self) -> n.RawSQL | None:
        """``DISTRIBUTE BY ...`` of CREATE SNAPSHOT ... AS, kept as raw text: the snapshot function
        checks it and, as on a single openGauss node, ignores it."""
        if not (self._curr and self._curr.token_type == TokenType.DISTRIBUTE_BY):
            return None
        first = self._curr
        depth = 0
        while self._curr:
            kind = self._curr.token_type
            if depth == 0 and self._curr is not first and (
                kind in (TokenType.ALIAS, TokenType.COMMENT) or self._at_word("TO")
            ):
                break
            depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
            self._advance()
        return self._raw(first, self._prev)

    def _no_cluster(self) -> None:
        """``TO GROUP g`` / ``TO NODE (...)``: openGauss's distributed-only clause."""
        if self._at_word("TO") and self._next and self._next.text.upper() in ("GROUP", "NODE"):
            self._fail("Clustered snapshots are not supported.", self._curr)

    def _snapshot_query(self) -> n.RawSQL:
        """AS <query>: the raw text; parsed too when sqlglot can (to find snapshot references)."""
        first = self._curr
        if not first or first.token_type not in _QUERY_STARTS:
            self._fail()
        last = self._until_end()
        tree = self._try_parse(self._parse_ddl_select)
        if tree is not None and self._curr:
            tree = None  # sqlglot stopped early: keep the raw text, PostgreSQL will judge it
        self._retreat(len(self._tokens))
        return self._raw(first, last, tree)

    def _snapshot_actions(self) -> list[n.SnapshotAction]:
        using = self._expect(TokenType.USING)
        depth = 0
        while self._match(TokenType.L_PAREN):
            depth += 1
        if not depth:
            self._fail()
        actions: list[n.SnapshotAction] = []
        while True:
            if self._match(TokenType.BREAK):
                continue
            if self._curr.token_type == TokenType.R_PAREN or not self._curr:
                break
            actions.append(self._snapshot_action())
            if not self._match(TokenType.BREAK) and self._curr.token_type != TokenType.R_PAREN:
                self._fail()
        for _ in range(depth):
            self._expect(TokenType.R_PAREN)
        if not actions:
            self._fail("List of snapshot modifications is empty.", using)
        return actions

    def _snapshot_action(self) -> n.SnapshotAction:
        verb = self._curr
        if not self._match_texts(_SNAPSHOT_VERBS):
            self._fail()
        kind = verb.text.upper()
        clauses = getattr(self, f"_snapshot_{kind.lower()}")()
        return self.expression(n.SnapshotAction(this=kind, expressions=clauses), verb)

    def _snapshot_insert(self) -> list[n.RawSQL]:
        self._match_text_seq("INTO", "SNAPSHOT")
        first = self._curr
        if self._curr.token_type == TokenType.L_PAREN and self._next.token_type not in _QUERY_STARTS:
            self._parse_wrapped_id_vars()
        query = self._parse_ddl_select()
        if query is None:
            self._fail()
        return [self._raw(first, self._prev, query)]

    def _alias_clause(self) -> list[n.RawSQL]:
        if not self._match(TokenType.ALIAS):
            return []
        first = self._prev
        alias = self._name()
        return [self._raw(first, self._prev, alias)]

    def _where_clause(self) -> list[n.RawSQL]:
        first = self._curr
        where = self._parse_where()
        return [self._raw(first, self._prev, where)] if where else []

    def _snapshot_update(self) -> list[n.RawSQL]:
        self._match_text_seq("SNAPSHOT")
        clauses = self._alias_clause()
        set_token = self._expect(TokenType.SET)
        assignments = self._parse_csv(self._parse_update_assignment)
        if not assignments:
            self._fail()
        clauses.append(self._raw(set_token, self._prev, exp.Tuple(expressions=assignments)))
        if self._curr.token_type == TokenType.FROM:
            clauses.append(self._from_clause())
        return clauses + self._where_clause()

    def _from_clause(self) -> n.RawSQL:
        first = self._curr
        from_ = self._parse_from(joins=True)
        if from_ is None or from_.this is None:
            self._fail()
        return self._raw(first, self._prev, from_)

    def _snapshot_delete(self) -> list[n.RawSQL]:
        self._match_text_seq("FROM", "SNAPSHOT")
        clauses = self._alias_clause()
        if self._match(TokenType.USING):
            first = self._prev
            tables = self._parse_csv(lambda: self._parse_table(joins=True))
            if not tables:
                self._fail()
            clauses.append(self._raw(first, self._prev, exp.Tuple(expressions=tables)))
        return clauses + self._where_clause()

    def _snapshot_alter(self) -> list[n.RawSQL]:
        self._match_text_seq("SNAPSHOT")
        clauses = []
        while True:
            first = self._curr
            if self._match_text_seq("ADD"):
                self._match(TokenType.COLUMN)
                self._name()
                if not self._skip_column_definition():
                    self._fail()
            elif self._match(TokenType.DROP):
                self._match(TokenType.COLUMN)
                self._parse_exists()
                self._name()
                self._match_texts(("CASCADE", "RESTRICT"))
            else:
                self._fail()
            clauses.append(self._raw(first, self._prev))
            if not self._match(TokenType.COMMA):
                return clauses

    def _skip_column_definition(self) -> bool:
        """Consume a column's type and options up to a top-level ',' ';' or ')'.

        The text goes to ALTER TABLE unchanged (PostgreSQL judges the type), so only the
        extent matters here.
        """
        depth = 0
        start = self._index
        while self._curr and self._curr.token_type != TokenType.BREAK:
            token_type = self._curr.token_type
            if depth == 0 and token_type in (TokenType.COMMA, TokenType.R_PAREN):
                break
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token_type, 0)
            self._advance()
        return self._index > start

    def _parse_sample_snapshot(self, first: Token) -> n.SampleSnapshot:
        return self._sample(first, split=False)

    def _parse_split_snapshot(self, first: Token) -> n.SampleSnapshot:
        return self._sample(first, split=True)

    def _sample(self, first: Token, split: bool) -> n.SampleSnapshot:
        parent = self._snapshot_name(version_required=True)
        stratify = self._parse_csv(self._name) if self._match_text_seq("STRATIFY", "BY") else None
        samples = self._parse_csv(self._snapshot_sample)
        return self.expression(n.SampleSnapshot(this=parent, stratify=stratify, expressions=samples, split=split), first)

    def _snapshot_sample(self) -> n.SnapshotSample:
        first = self._expect(TokenType.ALIAS)
        label = self._name()
        self._expect_words("AT", "RATIO")
        if self._match(TokenType.NUMBER):
            ratio = exp.Literal.number(self._prev.text)
        elif self._match_pair(TokenType.DOT, TokenType.NUMBER):
            ratio = exp.Literal.number(f"0.{self._prev.text}")
        else:
            return self._fail()
        return self.expression(n.SnapshotSample(this=label, ratio=ratio, comment=self._comment_is()), first)

    def _parse_snapshot_command(self, first: Token) -> n.SnapshotCommand:
        return self.expression(n.SnapshotCommand(this=self._snapshot_name(version_required=True), kind=first.text.upper()), first)
