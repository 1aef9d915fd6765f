"""The ``db4ai`` sqlglot dialect: PostgreSQL plus the openGauss DB4AI statements.

Importing this module registers the dialect under the name ``"db4ai"`` (sqlglot registers
every Dialect subclass by its lower-cased class name), so ``sqlglot.parse_one(sql,
read="db4ai")`` works once :mod:`db4ai.dialect` is imported.
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType

from ._generator import DB4AIGenerator
from ._parser import DB4AIParser


class DB4AI(Postgres):
    class Tokenizer(Postgres.Tokenizer):
        # EXPLAIN stays a plain word (a column may be called explain); the parser matches it
        # at the start of a statement.
        KEYWORDS = {k: v for k, v in Postgres.Tokenizer.KEYWORDS.items() if k != "EXPLAIN"}
        # No "rest of the statement is one string" mode (VACUUM, DO, CALL, ...): every
        # statement is tokenized fully, so splitting a script never depends on it.
        COMMANDS: ClassVar[set[TokenType]] = set()

    Parser = DB4AIParser
    Generator = DB4AIGenerator
