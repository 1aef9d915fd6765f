"""Statement boundaries the way psql finds them, on sqlglot tokens.

A ``;`` ends a statement unless it is inside parentheses (so ``USING (cmd; cmd)`` and
``CREATE RULE ... DO (a; b)`` stay whole) or inside the ``BEGIN ... END`` body of
``CREATE [OR REPLACE] FUNCTION|PROCEDURE`` (psql's heuristic, reproduced). Strings, dollar
quotes and comments never produce semicolon tokens. A semicolon that does not end a
statement becomes a BREAK token: the parser reads it as the ``USING (...)`` separator and
reports it as a syntax error anywhere else.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

_NOT_WORDS = frozenset(
    {
        TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER, TokenType.BYTE_STRING, TokenType.BIT_STRING,
        TokenType.HEX_STRING, TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING, TokenType.NATIONAL_STRING,
        TokenType.RAW_STRING,
    }
)  # fmt: skip


def word(token: Token) -> str | None:
    """The upper-case text of an unquoted keyword or identifier token, else None."""
    if token.token_type in _NOT_WORDS or not (token.text[:1].isalpha() or token.text[:1] == "_"):
        return None
    return token.text.upper()


def _is_routine(words: list[str]) -> bool:
    """psql's test: the statement starts CREATE [OR REPLACE] FUNCTION|PROCEDURE."""
    kind = words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
    return words[:1] == ["CREATE"] and kind in (["FUNCTION"], ["PROCEDURE"])


def hide_nested_semicolons(tokens: list[Token]) -> list[Token]:
    """``tokens`` with every semicolon that does not end a statement turned into BREAK."""
    out: list[Token] = []
    words: list[str] = []  # the first words of the statement
    paren = begin = 0
    for token in tokens:
        kind = token.token_type
        if kind == TokenType.SEMICOLON:
            if paren == 0 and begin == 0:
                words, paren, begin = [], 0, 0
            else:
                token = Token(TokenType.BREAK, token.text, token.line, token.col, token.start, token.end, token.comments)
        elif kind == TokenType.L_PAREN:
            paren += 1
        elif kind == TokenType.R_PAREN:
            paren = max(0, paren - 1)
        elif (text := word(token)) is not None:
            if len(words) < 4:
                words.extend(text.split()[: 4 - len(words)])
            if paren == 0 and _is_routine(words):
                if text == "BEGIN" or (text == "CASE" and begin):
                    begin += 1
                elif text == "END" and begin:
                    begin -= 1
        out.append(token)
    return out


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """The non-empty statements of a script, without their terminating semicolons."""
    statements: list[list[Token]] = [[]]
    for token in hide_nested_semicolons(tokens):
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]
