"""The session behind ``db4ai sql``: statements and backslash commands, printed as psql does.

A :class:`Shell` runs what the user typed: SQL and DB4AI statements (through the shim), psql's
backslash commands (:mod:`db4ai._meta`), and the ones that change the session itself: ``\\i``
(run a file), ``\\o`` (send results to a file), ``\\q``. Ctrl-C while a statement runs cancels
it on the server and the session goes on, as in psql. The prompt itself (line editing, history,
completion) is :mod:`db4ai._prompt`; piped input and ``\\i`` files go through :meth:`Shell.feed`.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import psycopg
from pgspecial.main import CommandNotFound

from . import dialect
from ._meta import make_special
from ._output import ResultSet, format_expanded, format_table, print_result, python_cell, report_error, server_rows
from .connection import Connection
from .errors import Error

CANCELED = "ERROR:  canceling statement due to user request\n"


class Quit(Exception):
    """``\\q``: leave the session."""


def format_timing(ms: float) -> str:
    """psql's ``\\timing`` line (PrintTiming)."""
    if ms < 1000.0:
        return f"Time: {ms:.3f} ms"
    seconds = ms / 1000.0
    minutes, seconds = divmod(seconds, 60.0)
    if minutes < 60:
        return f"Time: {ms:.3f} ms ({int(minutes):02d}:{seconds:06.3f})"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"Time: {ms:.3f} ms ({int(hours):02d}:{int(minutes):02d}:{seconds:06.3f})"
    days, hours = divmod(hours, 24)
    return f"Time: {ms:.3f} ms ({int(days)} d {int(hours):02d}:{int(minutes):02d}:{seconds:06.3f})"


class Shell:
    """One ``db4ai sql`` session on ``conn``; results go to ``out`` (or the ``\\o`` file)."""

    def __init__(self, conn: Connection, out: TextIO, err: TextIO):
        self.conn = conn
        self.stdout = out
        self.out = out
        self.err = err
        self.special = make_special()
        self.changed = False  # a statement ran that may have changed the catalog (for completion)

    # -- statements ------------------------------------------------------------------------------

    def run_sql(self, text: str, *, echo: bool = False) -> bool:
        """Run every statement of ``text``; report errors; False after the first error or Ctrl-C."""
        try:
            statements = dialect.parse_script(text)
        except Error as exc:
            report_error(exc, self.err)
            return False
        for stmt in statements:
            if echo:
                self.out.write(stmt.text.strip() + ";\n")
            started = time.perf_counter()
            try:
                with self.conn.cursor() as cur:
                    cur.execute(stmt.text)
                    self.changed = self.changed or cur.description is None
                    print_result(cur, self.out, expanded=self.special.expanded_output)
            except KeyboardInterrupt:
                # psycopg has sent the server a cancel request and waited for it (the connection is
                # usable); a training in Python has rolled back. Say so as psql does.
                self.err.write("Cancel request sent\n" + CANCELED)
                return False
            except (psycopg.Error, Error) as exc:
                report_error(exc, self.err)
                self._hint_snapshot_version(exc)
                return False
            finally:
                self.out.flush()
                self.err.flush()
            if self.special.timing_enabled:
                self.out.write(format_timing((time.perf_counter() - started) * 1000.0) + "\n")
        return True

    def _hint_snapshot_version(self, exc: BaseException) -> None:
        """``relation "houses" does not exist`` where snapshots houses@... exist: name the form to use."""
        if not isinstance(exc, psycopg.errors.UndefinedTable) or exc.diag.message_hint:
            return
        found = re.fullmatch(r'relation "(?:[^"]*\.)?([^".]+)" does not exist', exc.diag.message_primary or "")
        if not found or self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return
        try:
            with psycopg.Cursor(self.conn) as cur:
                cur.execute("SELECT pg_catalog.to_regclass('db4ai.snapshot') IS NOT NULL")
                row = cur.fetchone()
                if not row or not row[0]:
                    return
                cur.execute("""SELECT "name" FROM db4ai.snapshot WHERE pg_catalog.split_part("name", '@', 1) = %s
                                ORDER BY id DESC LIMIT 1""", [found.group(1)])
                latest = cur.fetchone()
        except psycopg.Error:
            return
        if latest:
            self.err.write(f"HINT:  {found.group(1)} is a db4ai snapshot: name a version, e.g. {latest[0]}\n")

    # -- backslash commands -----------------------------------------------------------------------

    def run_meta(self, line: str) -> bool:
        """One backslash command; False when it failed. Raises :class:`Quit` for ``\\q``."""
        command, _, argument = line.strip().partition(" ")
        argument = argument.strip()
        if command == "\\q":
            raise Quit
        if command in ("\\i", "\\include", "\\ir", "\\include_relative"):
            return self._include(argument)
        if command == "\\o":
            return self._output_to(argument)
        started = time.perf_counter()
        try:
            with psycopg.Cursor(self.conn) as cur:  # plain cursor: catalog queries need no DB4AI parsing
                results = self.special.execute(cur, line.strip())
                for title, rows, headers, status in results:
                    self._print_special(title, rows, headers, status, cur)
        except CommandNotFound:
            self.err.write(f"invalid command {command}\nTry \\? for help.\n")
            return False
        except KeyboardInterrupt:
            self.err.write("Cancel request sent\n" + CANCELED)
            return False
        except (psycopg.Error, Error) as exc:
            report_error(exc, self.err)
            return False
        finally:
            self.out.flush()
        if self.special.timing_enabled and command not in ("\\timing", "\\x", "\\?"):
            self.out.write(format_timing((time.perf_counter() - started) * 1000.0) + "\n")
        return True

    def _print_special(self, title: str | None, rows: Any, headers: Any, status: str | None, cur: Any) -> None:
        listing = status is not None and status.startswith("SELECT ")  # a catalog query: psql shows a row count
        if headers:
            if rows is cur:
                result = server_rows(cur)
                assert result is not None
                result.names = list(headers)
            else:
                texts = [[None if v is None else python_cell(v) for v in row] for row in (rows or [])]
                result = ResultSet(list(headers), [False] * len(headers), texts)
            if self.special.expanded_output:
                self.out.write(format_expanded(result.names, result.rows))
            else:
                self.out.write(format_table(result.names, result.numeric, result.rows, title=title, footer=listing))
        if status and not listing:
            self.out.write(status.rstrip("\n") + "\n")
        if headers:
            self.out.write("\n")

    def _include(self, argument: str) -> bool:
        names = shlex.split(argument) if argument else []
        if len(names) != 1:
            self.err.write("\\i: missing required argument\n")
            return False
        path = Path(names[0]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.err.write(f"{path}: {getattr(exc, 'strerror', None) or exc}\n")
            return False
        return self.feed(text.splitlines())

    def _output_to(self, argument: str) -> bool:
        if self.out is not self.stdout:
            self.out.close()
            self.out = self.stdout
        if argument:
            name = shlex.split(argument)[0]
            try:
                self.out = open(Path(name).expanduser(), "w", encoding="utf-8")
            except OSError as exc:
                self.err.write(f"{name}: {exc.strerror or exc}\n")
                return False
        return True

    def close(self) -> None:
        if self.out is not self.stdout:
            self.out.close()
            self.out = self.stdout

    # -- input -----------------------------------------------------------------------------------

    def handle(self, text: str) -> bool:
        """One unit of input from the prompt: a backslash command, or complete statements."""
        if text.lstrip().startswith("\\"):
            return self.run_meta(text.strip())
        if text.strip() in ("quit", "exit"):
            raise Quit
        return self.run_sql(text) if text.strip() else True

    def feed(self, lines: Iterable[str], *, stop_on_error: bool = False) -> bool:
        """Run input line by line as psql reads a file: statements end at ``;``, a line starting
        with a backslash is a command. False if anything failed."""
        buffer: list[str] = []
        ok = True
        for line in lines:
            line = line.rstrip("\n")
            if not buffer and line.lstrip().startswith("\\"):
                done = self.run_meta(line)
            else:
                buffer.append(line)
                text = "\n".join(buffer)
                if not text.strip():
                    buffer.clear()
                    continue
                if not dialect.is_complete(text):
                    continue
                buffer.clear()
                done = self.run_sql(text)
            ok = ok and done
            if not done and stop_on_error:
                return False
        if buffer and "\n".join(buffer).strip():
            ok = self.run_sql("\n".join(buffer)) and ok
        return ok
