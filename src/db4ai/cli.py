"""Command line: ``db4ai install | sql | demo [--torch] | server | plot-run``.

``db4ai sql`` behaves like psql: results as aligned tables in PostgreSQL's text form, command
tags for statements without rows, NOTICEs and errors (with psql's ``LINE n:`` and caret) on
stderr, exit code 1 on the first error of ``-c``/``-f``; without them, an interactive prompt
(:mod:`db4ai._prompt`) with psql's backslash commands (:mod:`db4ai._shell`, :mod:`db4ai._meta`).
On a terminal, a long CREATE MODEL shows its progress (:mod:`db4ai._progress`).
Without a DSN (``-d`` or ``$DB4AI_DSN``) it uses the embedded PostgreSQL and installs db4ai
there on first use.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TextIO, cast

import psycopg

from . import extension, server
from ._output import format_table, one_line, report_error
from ._progress import for_terminal
from ._shell import Quit, Shell
from ._version import __version__
from .connection import Connection, connect, connect_dsn
from .errors import Error, InterfaceError
from .install import install, installed_version
from .server import ENV_DSN, resolve_dsn

__all__ = ["CommandError", "format_table", "main", "run_script"]


class CommandError(Exception):
    """A failure already reported to the user; the CLI exits with status 1."""


# -- running scripts -------------------------------------------------------------------------


def run_script(conn: Connection, text: str, out: TextIO, err: TextIO, *, echo: bool = False) -> None:
    """Execute every statement of ``text``; raise CommandError after reporting the first error."""
    if not Shell(conn, out, err).run_sql(text, echo=echo):
        raise CommandError


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
            conn = connect_dsn(resolve_dsn(dsn), autocommit=True)
        else:
            conn = connect(dsn, autocommit=True)  # no DSN: $DB4AI_DSN, else the embedded server (set up on first use)
    except psycopg.Error as exc:  # unreachable, refused, bad password, malformed DSN
        err.write(f"db4ai: could not connect to the database: {one_line(str(exc))}\n")
        raise CommandError from exc
    except InterfaceError as exc:
        err.write(f"db4ai: {exc}\n")
        raise CommandError from exc
    conn.add_notice_handler(_print_notice(err))
    return conn


# -- interactive prompt ----------------------------------------------------------------------


def interactive(conn: Connection, out: TextIO, err: TextIO) -> int:
    """The prompt on a terminal; piped input is read as psql reads a file (no prompts)."""
    shell = Shell(conn, out, err)
    try:
        if sys.stdin.isatty() and out.isatty():
            from ._prompt import run  # prompt_toolkit: only for a terminal

            return run(shell)
        shell.feed(sys.stdin)
    except Quit:
        pass
    finally:
        shell.close()
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


def _install(conn: Connection, *, as_extension: bool) -> tuple[str | None, str, bool]:
    """Install or upgrade db4ai; a database that has the extension is upgraded as one. Returns the
    versions before (None: not installed) and after, and whether it is an extension."""
    as_extension = as_extension or extension.installed_as_extension(conn) is not None
    if as_extension:
        before, after = extension.install_extension(conn)
    else:
        before = installed_version(conn)
        after = install(conn)
    return before, after, as_extension


def cmd_install(args: argparse.Namespace) -> int:
    conn = open_connection(args.dsn, sys.stderr, plain=True)
    with conn:
        dbname = conn.info.dbname
        try:
            before, after, as_extension = _install(conn, as_extension=args.extension)
        except (psycopg.Error, Error) as exc:
            report_error(exc, sys.stderr)
            return 1
    print(install_message(before, after, dbname, extension=as_extension))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    conn = open_connection(args.dsn, sys.stderr)
    conn.progress = for_terminal(sys.stdout, sys.stderr)  # CREATE MODEL's progress line: terminals only
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
        shell = Shell(conn, sys.stdout, sys.stderr)
        for script in scripts:
            try:  # a -c that starts with a backslash is one backslash command, as in psql
                ok = shell.run_meta(script) if script.lstrip().startswith("\\") else shell.run_sql(script)
            except Quit:
                break
            if not ok:
                return 1
        shell.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "torch", False):
        return cmd_demo_torch(args)
    conn = open_connection(args.dsn, sys.stderr)
    script = resources.files("db4ai").joinpath("demo.sql").read_text(encoding="utf-8")
    with conn:
        try:
            _install(conn, as_extension=False)
        except (psycopg.Error, Error) as exc:
            report_error(exc, sys.stderr)
            return 1
        print(f"db4ai demo on database {conn.info.dbname} (PostgreSQL {conn.info.parameter_status('server_version')})")
        if not tell_story(Shell(conn, sys.stdout, sys.stderr), script):
            raise CommandError
    return 0


def cmd_demo_torch(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("db4ai demo --torch: skipped, PyTorch is not installed (pip install 'db4ai[torch]')")
        return 0
    from .torch_demo import run_demo

    conn = open_connection(args.dsn, sys.stderr)
    with conn:
        try:
            _install(conn, as_extension=False)
            print(f"db4ai PyTorch demo on database {conn.info.dbname} ({conn.info.parameter_status('server_version')})\n")
            run_demo(conn, sys.stdout)
        except (psycopg.Error, Error) as exc:
            report_error(exc, sys.stderr)
            return 1
    return 0


def cmd_plot_run(args: argparse.Namespace) -> int:
    from .plot import plot_run

    conn = open_connection(args.dsn, sys.stderr)
    with conn:
        try:
            path = plot_run(conn, args.run, args.output)
        except (psycopg.Error, Error) as exc:
            report_error(exc, sys.stderr)
            return 1
    print(f"wrote {path}")
    return 0


def tell_story(shell: Shell, script: str) -> bool:
    """Run a script whose ``--> `` lines are the story: each is printed, then the statements
    after it run with their text shown. What comes before the first one runs quietly (cleanup)."""
    told, pending = False, []
    quiet, tail = io.StringIO(), _Tail(shell.out)
    shell.out = shell.stdout = out = cast(TextIO, tail)
    for line in script.splitlines() + ["--> "]:
        if not line.startswith("--> "):
            pending.append(line)
            continue
        text = "\n".join(pending).strip()
        pending = []
        if text:
            if told:
                ok = shell.run_sql(text, echo=True)
            else:  # the cleanup: no output unless it fails
                shell.out, saved = quiet, shell.out
                ok = shell.run_sql(text)
                shell.out = saved
            if not ok:
                return False
        if line[4:].strip():
            out.write(("" if tail.tail == "\n\n" else "\n") + line[4:].strip() + "\n")
            told = True
    return True


class _Tail(io.TextIOBase):
    """A text stream passing writes on and remembering the last two characters written."""

    def __init__(self, stream: TextIO):
        self.stream, self.tail = stream, ""

    def write(self, text: str) -> int:
        self.tail = (self.tail + text)[-2:]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def cmd_server(args: argparse.Namespace) -> int:
    """db4ai server start | stop | status | dsn: the embedded PostgreSQL for other clients."""
    try:
        if args.action == "stop":
            print("server stopped" if server.stop_server() else "server was not running")
            return 0
        state = server.server_state()
        if args.action == "status":
            if not state.running:
                print(f"not running (data directory {state.pgdata})")
                return 3  # pg_ctl status says "not running" with 3 too
            kept = "kept running by db4ai server start" if server.pinned() else "stops when its last db4ai process exits"
            print(f"running (pid {state.pid}, {kept})\ndata directory: {state.pgdata}\ndsn: {state.dsn}")
            return 0
        if args.action == "start" or not (state.running and server.pinned()):
            state = server.start_server()  # dsn starts it too, so that psql "$(db4ai server dsn)" works
        print(state.dsn if args.action == "dsn" else f"server running (pid {state.pid}); connect with: psql \"{state.dsn}\"")
        return 0
    except (psycopg.Error, Error) as exc:
        sys.stderr.write(f"db4ai: {one_line(str(exc))}\n")
        return 1


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

    p = sub.add_parser("sql", help="run SQL and DB4AI statements",
                       description="Run SQL and DB4AI statements like psql: from -c, -f, or an interactive prompt.")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.add_argument("-c", "--command", action="append", metavar="STATEMENTS", help="statements to run (repeatable, run in order)")
    p.add_argument("-f", "--file", metavar="FILE", help="file of statements to run after any -c ('-' reads stdin)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("demo", help="a short guided tour on sample data",
                       description="Install db4ai and walk through snapshots and models on sample data.")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.add_argument("--torch", action="store_true", help="the PyTorch tour: training run, artifact, evaluation (needs torch)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("plot-run", help="plot a training run's metrics to a PNG (needs matplotlib)",
                       description="Plot each metric of a training run against its step into a PNG file.")
    p.add_argument("run", help="run id, or a run name (its latest run)")
    p.add_argument("-o", "--output", metavar="FILE", help="PNG file to write (default: run-<id>.png)")
    p.add_argument("-d", "--dsn", help=dsn_help)
    p.set_defaults(func=cmd_plot_run)

    p = sub.add_parser("server", help="start, stop or show the embedded PostgreSQL",
                       description="The embedded PostgreSQL that db4ai uses when no DSN is given. 'start' keeps it "
                                   "running for other clients until 'stop'; 'dsn' prints its connection string "
                                   "(starting it if needed), e.g. psql \"$(db4ai server dsn)\".")
    p.add_argument("action", choices=("start", "stop", "status", "dsn"))
    p.set_defaults(func=cmd_server)
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
