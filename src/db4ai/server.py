"""Where the database comes from: ``-d DSN`` > ``DB4AI_DSN`` > an embedded PostgreSQL.

The embedded server is the ``pgserver`` package's PostgreSQL, kept in the user's data
directory (``$XDG_DATA_HOME/db4ai/pgdata``, override with ``DB4AI_HOME``). It is started on
demand, reused by later runs (same data directory, so installed objects, snapshots and models
persist) and stopped cleanly when the last process using it exits. Under root, pgserver runs
PostgreSQL as an unprivileged system user of its own.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from .errors import InterfaceError

ENV_DSN = "DB4AI_DSN"
ENV_HOME = "DB4AI_HOME"


def data_home() -> Path:
    """The folder for db4ai's embedded server (created if missing)."""
    if os.environ.get(ENV_HOME):
        home = Path(os.environ[ENV_HOME]).expanduser()
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        home = base / "db4ai"
    home.mkdir(parents=True, exist_ok=True)
    return home


def embedded_server(pgdata: Path | None = None, *, cleanup: str | None = "stop") -> Any:
    """Start (or attach to) the embedded PostgreSQL and return its pgserver handle.

    ``cleanup``: "stop" stops the server when the last process holding it exits,
    "delete" also removes the data directory, None leaves it running.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        try:
            import pgserver
        except ImportError as exc:  # pragma: no cover - pgserver is a hard dependency
            raise InterfaceError("the embedded PostgreSQL needs the pgserver package") from exc
        target = pgdata if pgdata is not None else data_home() / "pgdata"
        try:
            return pgserver.get_server(target, cleanup_mode=cleanup)
        except Exception as exc:  # pgserver raises plain subprocess/OS errors
            raise InterfaceError(f"could not start the embedded PostgreSQL in {target}: {exc}") from exc


def resolve_dsn(dsn: str | None = None) -> str:
    """The DSN to use: the given one, else ``$DB4AI_DSN``, else the embedded server's."""
    if dsn:
        return dsn
    if os.environ.get(ENV_DSN):
        return os.environ[ENV_DSN]
    return str(embedded_server().get_uri())


def sibling_conninfo(conn: Any) -> str:
    """A conninfo string for another connection to the same database as the same role (the
    parallel readers, a training run's own session)."""
    import psycopg

    options = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val is not None}
    return psycopg.conninfo.make_conninfo(**options)
