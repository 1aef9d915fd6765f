"""Install, upgrade and remove the SQL layer (``sql/install.sql``) from Python.

The SQL files ship inside the wheel as ``db4ai/_sql``; in a source checkout (editable
install) they are read from the repository's ``sql/`` folder. ``install.sql`` only uses the
psql meta-commands ``\\ir`` (include relative to the current file), expanded here, and ``\\set``
(psql's display settings, dropped here), so ``db4ai install`` runs exactly the SQL that
``psql -f sql/install.sql`` runs.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from ._version import __version__
from .errors import InterfaceError

_PACKAGE_SQL = Path(__file__).resolve().parent / "_sql"
_SOURCE_SQL = Path(__file__).resolve().parents[2] / "sql"


def sql_dir() -> Path:
    """The folder holding install.sql: the packaged copy, else the source checkout's."""
    for candidate in (_PACKAGE_SQL, _SOURCE_SQL):
        if (candidate / "install.sql").is_file():
            return candidate
    raise InterfaceError("db4ai SQL files not found: the package is incomplete (no db4ai/_sql/install.sql)")


def expand_script(path: Path, _seen: tuple[Path, ...] = ()) -> str:
    """The text of a SQL file with every ``\\ir file`` line replaced by that file, recursively."""
    path = path.resolve()
    if path in _seen:
        raise InterfaceError(f"circular \\ir include of {path}")
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("\\ir ") or stripped.startswith("\\include_relative "):
            target = stripped.split(None, 1)[1].strip().strip("'\"")
            out.append(expand_script(path.parent / target, _seen + (path,)))
        elif stripped.startswith("\\set "):
            continue  # psql display settings (QUIET): nothing to run
        elif stripped.startswith("\\"):
            raise InterfaceError(f"{path.name}: unsupported psql meta-command {stripped.split()[0]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _run(conn: psycopg.Connection, script: str) -> None:
    """Run a whole script (it manages its own transaction) on an idle connection."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise InterfaceError("db4ai install needs a connection that is not inside a transaction")
    previous = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute(script.encode())  # bytes: no client-side placeholder parsing of the SQL text
    finally:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            conn.execute("ROLLBACK")  # the script's own BEGIN failed part-way: end it, keep the real error
        if conn.autocommit != previous and not conn.closed:
            conn.autocommit = previous


def install(conn: psycopg.Connection) -> str:
    """Install or upgrade db4ai in the connected database; returns the installed version.
    A database that has the db4ai extension is upgraded as one (:mod:`db4ai.extension`)."""
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    has_extension = conn.execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'db4ai'").fetchone()
    if idle and not conn.autocommit:
        conn.rollback()  # leave the connection as it came
    if has_extension:
        from .extension import install_extension

        return install_extension(conn)[1]
    _run(conn, expand_script(sql_dir() / "install.sql"))
    row = conn.execute("SELECT db4ai.version()").fetchone()
    assert row is not None
    return str(row[0])


def uninstall(conn: psycopg.Connection) -> None:
    """Remove every db4ai object (snapshots and models included) from the connected database."""
    _run(conn, expand_script(sql_dir() / "uninstall.sql"))


def installed_version(conn: psycopg.Connection) -> str | None:
    """The db4ai version installed in the connected database, or None."""
    row = conn.execute("SELECT to_regprocedure('db4ai.version()') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    version = conn.execute("SELECT db4ai.version()").fetchone()
    return str(version[0]) if version else None


def check_installed(conn: psycopg.Connection) -> str:
    """The installed version; a clear error when db4ai is missing or from another release."""
    version = installed_version(conn)
    if version is None:
        raise InterfaceError(
            f'db4ai is not installed in database "{conn.info.dbname}"',
            hint='run "db4ai install" or psql -f sql/install.sql',
        )
    if version.split(".")[:2] != __version__.split(".")[:2]:
        raise InterfaceError(
            f"database has db4ai {version}, this package is {__version__}",
            hint='run "db4ai install" to upgrade the database',
        )
    return version
