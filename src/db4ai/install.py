"""Install, upgrade and remove the SQL layer (``sql/install.sql``) from Python.

The SQL files ship inside the wheel as ``db4ai/_sql``; in a source checkout (editable
install) they are read from the repository's ``sql/`` folder. ``install.sql`` only uses the
psql meta-commands ``\\ir`` (include relative to the current file), expanded here, and ``\\set``
(psql's display settings, dropped here), so ``db4ai install`` runs exactly the SQL that
``psql -f sql/install.sql`` runs.
"""

from __future__ import annotations

import psycopg

from ._sql_layer import expand_script, installed_version, sql_dir
from ._version import __version__
from .errors import InterfaceError
from .extension import install_extension


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
        return install_extension(conn)[1]
    _run(conn, expand_script(sql_dir() / "install.sql"))
    row = conn.execute("SELECT db4ai.version()").fetchone()
    assert row is not None
    return str(row[0])


def uninstall(conn: psycopg.Connection) -> None:
    """Remove every db4ai object (snapshots and models included) from the connected database."""
    _run(conn, expand_script(sql_dir() / "uninstall.sql"))


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


__all__ = ["check_installed", "expand_script", "install", "installed_version", "sql_dir", "uninstall"]
