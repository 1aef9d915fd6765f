"""The interactive prompt of ``db4ai sql`` (prompt_toolkit), for a terminal.

psql's habits: Enter runs the input once it is a complete statement (ends with ``;``) or a
backslash command, and otherwise starts a new line; a statement of several lines is one history
entry (kept in ``<data home>/sql_history``); Ctrl-C clears the input (and, while a statement runs,
cancels it: :class:`db4ai._shell.Shell`); Ctrl-D on an empty line quits. Tab completes SQL and
DB4AI keywords, tables, views, models, snapshots (``name@version``) and backslash commands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import psycopg
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from . import dialect
from ._shell import Quit, Shell
from ._version import __version__
from .server import data_home

KEYWORDS = (
    # SQL
    "ALTER", "AND", "AS", "ASC", "BEGIN", "BETWEEN", "BY", "CASE", "CAST", "COMMIT", "CREATE", "DELETE",
    "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXISTS", "EXPLAIN", "FALSE", "FROM", "FULL", "FUNCTION",
    "GROUP", "HAVING", "IF", "IN", "INDEX", "INNER", "INSERT", "INTO", "IS", "JOIN", "LEFT", "LIKE", "LIMIT",
    "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER", "REPLACE", "RETURNING", "RIGHT", "ROLLBACK",
    "SCHEMA", "SELECT", "SET", "TABLE", "THEN", "TRUE", "TRUNCATE", "UNION", "UPDATE", "USING", "VALUES",
    "VIEW", "WHEN", "WHERE", "WITH",
    # DB4AI (openGauss grammar)
    "ARCHIVE", "AT", "COMMENT", "FEATURES", "MODEL", "PREDICT", "PUBLISH", "PURGE", "RATIO", "SAMPLE",
    "SNAPSHOT", "SPLIT", "STRATIFY", "TARGET",
)

CATALOG_NAMES = """
    SELECT c.relname::text FROM pg_catalog.pg_class c
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_catalog.pg_table_is_visible(c.oid)
       AND c.relname !~ '^_db4ai_t' AND c.relname !~ '@'
    UNION SELECT s.name::text FROM db4ai.snapshot s
    UNION SELECT m.modelname::text FROM db4ai.gs_model_warehouse m
"""
VISIBLE_TABLES = CATALOG_NAMES.split("UNION")[0]

_WORD = re.compile(r"[\w@.$\\]*$")


class SqlCompleter(Completer):
    """Keywords, then names from the catalog (refreshed by :meth:`refresh`), by prefix."""

    def __init__(self, commands: Iterable[str]):
        self.commands = sorted(commands)
        self.names: list[str] = []

    def refresh(self, conn: psycopg.Connection) -> None:
        """Reload the catalog's names (not inside a transaction the user has open)."""
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return
        with psycopg.Cursor(conn) as cur:
            try:
                installed = cur.execute("SELECT pg_catalog.to_regclass('db4ai.snapshot') IS NOT NULL").fetchone()
                cur.execute(CATALOG_NAMES if installed and installed[0] else VISIBLE_TABLES)
                self.names = sorted(r[0] for r in cur.fetchall())
            except psycopg.Error:
                pass  # completion is a convenience: never an error for the user

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        word = _WORD.search(document.text_before_cursor)
        prefix = word.group(0) if word else ""
        if not prefix and not complete_event.completion_requested:
            return
        if prefix.startswith("\\"):
            candidates: Iterable[str] = self.commands
        else:
            lower = prefix.islower()
            candidates = [k.lower() if lower else k for k in KEYWORDS] + self.names
        for candidate in candidates:
            if candidate.lower().startswith(prefix.lower()) and candidate != prefix:
                yield Completion(candidate, start_position=-len(prefix))


def _ready(text: str) -> bool:
    """Does Enter run this input (rather than start a new line)?"""
    stripped = text.strip()
    return (not stripped or stripped.startswith("\\") or stripped in ("quit", "exit")
            or dialect.is_complete(text))


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None:  # Enter picks the highlighted completion
            buffer.complete_state = None
            return
        if _ready(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return bindings


def run(shell: Shell) -> int:
    """The interactive loop on a terminal; returns the exit status."""
    conn = shell.conn
    superuser = conn.info.parameter_status("is_superuser") == "on"
    mark = "#" if superuser else ">"
    completer = SqlCompleter(shell.special.commands)
    completer.refresh(conn)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(data_home() / "sql_history")),
        completer=completer,
        complete_while_typing=False,
        multiline=True,
        key_bindings=_key_bindings(),
        prompt_continuation=lambda width, line, wrap: f"{conn.info.dbname}-{mark} ".rjust(width),
    )
    shell.out.write(f"db4ai {__version__} (PostgreSQL {conn.info.parameter_status('server_version')})\n"
                    'Type "\\?" for help, "\\q" to quit.\n\n')
    while True:
        try:
            text = session.prompt(f"{conn.info.dbname}={mark} ")
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the input, as in psql
        except EOFError:
            shell.out.write("\\q\n")
            return 0
        try:
            shell.handle(text)
        except Quit:
            return 0
        if shell.changed:
            shell.changed = False
            completer.refresh(conn)
