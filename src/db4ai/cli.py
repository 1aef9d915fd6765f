"""Command line: ``db4ai install | sql | demo``.

``db4ai sql`` behaves like psql for what it prints: results as aligned tables, command tags
for statements without rows, NOTICEs and errors on stderr, exit code 1 on the first error.
Without a DSN (``-d`` or ``$DB4AI_DSN``) it uses the embedded PostgreSQL and installs db4ai
there on first use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import psycopg

from . import dialect
from ._version import __version__
from .connection import Connection, connect
from .errors import Error, InterfaceError
from . import extension
from .install import install, installed_version
from .server import ENV_DSN, data_home, resolve_dsn

# Type OIDs whose values psql right-aligns.
_NUMERIC_OIDS = frozenset({20, 21, 23, 26, 700, 701, 1700, 790})


class CommandError(Exception):
    """A failure already reported to the user; the CLI exits with status 1."""


# -- output ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(_array_item(v) for v in value) + "}"
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else str(value).replace("inf", "Infinity").replace("nan", "NaN")
    return str(value)


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    text = _cell(value)
    if text == "" or any(c in text for c in ' ,{}"\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _center(text: str, width: int) -> str:
    left = (width - len(text)) // 2  # psql puts the odd space on the right
    return " " * left + text + " " * (width - len(text) - left)


def format_table(names: Sequence[str], numeric: Sequence[bool], rows: Iterable[Sequence[Any]]) -> str:
    """Render rows exactly as psql's aligned format does, multi-line cells included
    (each line but a cell's last carries psql's ``+`` continuation mark)."""
    cells = [[_cell(v).split("\n") for v in row] for row in rows]
    widths = [max([len(n)] + [len(line) for r in cells for line in r[i]]) for i, n in enumerate(names)]
    out = [" " + " | ".join(_center(n, w) for n, w in zip(names, widths)) + " ",
           "-" + "-+-".join("-" * w for w in widths) + "-"]
    last = len(names) - 1
    for row in cells:
        for k in range(max(len(lines) for lines in row) if row else 0):
            parts = []
            for i, (lines, w, num) in enumerate(zip(row, widths, numeric)):
                text = lines[k] if k < len(lines) else ""
                more = k < len(lines) - 1
                if i == last and not more and not num:
                    parts.append(" " + text)  # psql does not pad a left-aligned last cell
                else:
                    parts.append(" " + (text.rjust(w) if num else text.ljust(w)) + ("+" if more else (" " if i != last else "")))
            out.append("|".join(parts))
    out.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(out) + "\n"


def _print_result(cur: psycopg.Cursor, out: TextIO) -> None:
    if cur.description is not None:
        names = [c.name for c in cur.description]
        numeric = [c.type_code in _NUMERIC_OIDS for c in cur.description]
        out.write(format_table(names, numeric, cur.fetchall()) + "\n")
    elif cur.statusmessage:
        out.write(cur.statusmessage + "\n")


def _report_error(exc: BaseException, err: TextIO) -> None:
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        severity = exc.diag.severity or "ERROR"
        err.write(f"{severity}:  {exc.diag.message_primary}\n")
        if exc.diag.message_detail:
            err.write(f"DETAIL:  {exc.diag.message_detail}\n")
        if exc.diag.message_hint:
            err.write(f"HINT:  {exc.diag.message_hint}\n")
    elif isinstance(exc, Error):
        err.write(f"ERROR:  {exc}\n")
        if exc.hint:
            err.write(f"HINT:  {exc.hint}\n")
    else:
        err.write(f"ERROR:  {_one_line(str(exc))}\n")


def _one_line(message: str) -> str:
    """The informative line of a (possibly multi-line) libpq message."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return message
    first = lines[0].removeprefix("connection failed: ")
    return first


# -- running scripts -------------------------------------------------------------------------


def run_script(conn: Connection, text: str, out: TextIO, err: TextIO, *, echo: bool = False) -> None:
    """Execute every statement of ``text``; raise CommandError after reporting the first error."""
    try:
        statements = dialect.parse_script(text)
    except Error as exc:
        _report_error(exc, err)
        raise CommandError from exc
    for stmt in statements:
        if echo:
            out.write(stmt.text.strip() + ";\n")
        try:
            with conn.cursor() as cur:
                cur.execute(stmt.text)
                _print_result(cur, out)
        except (psycopg.Error, Error) as exc:
            _report_error(exc, err)
            raise CommandError from exc
        finally:
            out.flush()


def _print_notice(err: TextIO):
    def handler(diag: psycopg.errors.Diagnostic) -> None:
        err.write(f"{diag.severity}:  {diag.message_primary}\n")
        err.flush()

    return handler


def open_connection(dsn: str | None, err: TextIO, *, plain: bool = False) -> Connection:
    """Connect (embedded server when no DSN); one clear line on failure. ``plain``: do not install
    db4ai into the embedded database on first use (``db4ai install`` decides how to install)."""
    try:
        if plain:
            conn = Connection.connect(resolve_dsn(dsn), autocommit=True)
        else:
            conn = connect(dsn, autocommit=True)  # no DSN: $DB4AI_DSN, else the embedded server (set up on first use)
    except psycopg.Error as exc:  # unreachable, refused, bad password, malformed DSN
        err.write(f"db4ai: could not connect to the database: {_one_line(str(exc))}\n")
        raise CommandError from exc
    except InterfaceError as exc:
        err.write(f"db4ai: {exc}\n")
        raise CommandError from exc
    conn.add_notice_handler(_print_notice(err))
    return conn


# -- interactive prompt ----------------------------------------------------------------------


def interactive(conn: Connection, out: TextIO, err: TextIO) -> int:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        readline = None  # type: ignore[assignment]
    history = data_home() / "history"
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    out.write(f"db4ai {__version__} ({conn.info.dbname}); end statements with ';', \\q quits\n")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input(f"{conn.info.dbname}{'-' if buffer else '='}> ")
            except EOFError:
                out.write("\n")
                break
            if not buffer and line.strip() in ("\\q", "quit", "exit"):
                break
            buffer.append(line)
            text = "\n".join(buffer)
            if not text.strip():
                buffer.clear()
                continue
            if dialect.is_complete(text):
                buffer.clear()
                try:
                    run_script(conn, text, out, err)
                except CommandError:
                    pass  # reported; the session goes on, as in psql
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass
    return 0


# -- commands --------------------------------------------------------------------------------


def install_message(before: str | None, after: str, dbname: str, *, extension: bool) -> str:
    """What ``db4ai install`` did, in one line."""
    where = f"in database {dbname}" + (" (extension)" if extension else "")
    if before is None:
        return f"db4ai {after} installed {where}"
    if before == after:
        return f"db4ai already at {after} {where}"
    return f"db4ai upgraded from {before} to {after} {where}"


def cmd_install(args: argparse.Namespace) -> int:
    conn = open_connection(args.dsn, sys.stderr, plain=True)
    with conn:
        dbname = conn.info.dbname
        try:
            as_extension = args.extension or extension.installed_as_extension(conn) is not None
            if as_extension:
                before, after = extension.install_extension(conn)
            else:
                before = installed_version(conn)
                after = install(conn)
        except (psycopg.Error, Error) as exc:
            _report_error(exc, sys.stderr)
            return 1
    print(install_message(before, after, dbname, extension=as_extension))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    conn = open_connection(args.dsn, sys.stderr)
    with conn:
        scripts: list[str] = list(args.command or [])
        if args.file:
            try:
                scripts.append(sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                sys.stderr.write(f"db4ai: cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}\n")
                return 1
        if not scripts:
            return interactive(conn, sys.stdout, sys.stderr)
        for script in scripts:
            run_script(conn, script, sys.stdout, sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    conn = open_connection(args.dsn, sys.stderr)
    script = resources.files("db4ai").joinpath("demo.sql").read_text(encoding="utf-8")
    with conn:
        install(conn)
        print(f"db4ai demo on database {conn.info.dbname} ({conn.info.parameter_status('server_version')})\n")
        run_script(conn, script, sys.stdout, sys.stderr, echo=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="db4ai", description="openGauss-style in-database machine learning for PostgreSQL")
    parser.add_argument("--version", action="version", version=f"db4ai {__version__}")
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    dsn_help = f"PostgreSQL connection string (default: ${ENV_DSN}, else the embedded server)"

    p = sub.add_parser("install", help="install or upgrade db4ai in a database",
                       description="Install or upgrade db4ai: the objects of psql -f sql/install.sql, or with --extension "
                                   "the extension files in a local server's extension directory and CREATE EXTENSION db4ai.")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.add_argument("--extension", action="store_true",
                   help="install as an extension (needs a superuser and a server on this machine); "
                        "a database that has the extension is always upgraded this way")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("sql", help="run SQL and DB4AI statements", description="Run SQL and DB4AI statements like psql: from -c, -f, or an interactive prompt.")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.add_argument("-c", "--command", action="append", metavar="STATEMENTS", help="statements to run (repeatable, run in order)")
    p.add_argument("-f", "--file", metavar="FILE", help="file of statements to run after any -c ('-' reads stdin)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("demo", help="a short guided tour on sample data", description="Install db4ai and walk through snapshots and models on sample data.")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError:
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
