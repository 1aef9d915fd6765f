"""Where the database comes from: ``-d DSN`` > ``DB4AI_DSN`` > an embedded PostgreSQL.

The embedded server is the ``pgserver`` package's PostgreSQL, kept in the user's data
directory (``$XDG_DATA_HOME/db4ai/pgdata``, override with ``DB4AI_HOME``). It is started on
demand, reused by later runs (same data directory, so installed objects, snapshots and models
persist) and stopped cleanly when the last process using it exits. Under root, pgserver runs
PostgreSQL as an unprivileged system user of its own.

``db4ai server start`` pins it instead: it keeps running for other clients (``psql "$(db4ai
server dsn)"``) until ``db4ai server stop``. The pin is a file next to the data directory, so
every db4ai process sees it, including those already running when it appeared.
"""

from __future__ import annotations

import atexit
import logging
import os
import warnings
from dataclasses import dataclass
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


def _pin_file() -> Path:
    return data_home() / "server.pinned"


def pinned() -> bool:
    """Was the embedded server started by ``db4ai server start`` (and not stopped since)?"""
    return _pin_file().exists()


def _quiet_pgserver_import() -> None:
    """Import pgserver without its warnings (platformdirs warns when XDG_RUNTIME_DIR is unset, as in
    containers and CI; harmless here) and with its log at WARNING."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        try:
            import pgserver
            import pgserver.utils  # noqa: F401
        except ImportError as exc:  # pragma: no cover - pgserver is a hard dependency
            raise InterfaceError("the embedded PostgreSQL needs the pgserver package") from exc


def embedded_server(pgdata: Path | None = None, *, cleanup: str | None = "stop") -> Any:
    """Start (or attach to) the embedded PostgreSQL and return its pgserver handle.

    ``cleanup``: "stop" stops the server when the last process holding it exits (unless it is
    pinned by ``db4ai server start`` by then), "delete" also removes the data directory, None
    leaves it running.
    """
    _quiet_pgserver_import()
    import pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = pgdata if pgdata is not None else data_home() / "pgdata"
        try:
            server = pgserver.get_server(target, cleanup_mode=cleanup)
        except Exception as exc:  # pgserver raises plain subprocess/OS errors
            raise InterfaceError(f"could not start the embedded PostgreSQL in {target}: {exc}") from exc
    if pgdata is None and cleanup == "stop":
        # atexit runs this before pgserver's own handler (registered earlier): a server pinned
        # meanwhile by `db4ai server start` keeps running when this process, its last user, exits.
        atexit.register(lambda: setattr(server, "cleanup_mode", None) if pinned() else None)
    return server


@dataclass(frozen=True)
class ServerState:
    """What ``db4ai server status`` reports about the embedded server."""

    pgdata: Path
    running: bool
    pid: int | None = None
    dsn: str | None = None


def server_state() -> ServerState:
    """The embedded server's state, read from its data directory (starts nothing)."""
    _quiet_pgserver_import()
    from pgserver.utils import PostmasterInfo

    pgdata = (data_home() / "pgdata").resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "postmaster.pid").exists() else None
    if info is None or not info.is_running():
        return ServerState(pgdata, False)
    return ServerState(pgdata, True, info.pid, info.get_uri())


def start_server() -> ServerState:
    """Start the embedded server (if it is not running) and pin it: it keeps running after this
    process exits, until :func:`stop_server`. db4ai is installed in its database if missing."""
    _pin_file().touch()
    server = embedded_server(cleanup=None)
    import psycopg

    from .install import install, installed_version

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        if installed_version(conn) is None:
            install(conn)
    return server_state()


def stop_server() -> bool:
    """Unpin and stop the embedded server (fast shutdown: open sessions are ended). False when it
    was not running."""
    _pin_file().unlink(missing_ok=True)
    state = server_state()
    if not state.running:
        return False
    import subprocess

    _quiet_pgserver_import()
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None  # pgserver's system user under root
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=state.pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise InterfaceError(f"could not stop the embedded PostgreSQL in {state.pgdata}: {exc.stderr or exc}") from exc
    return True


def resolve_dsn(dsn: str | None = None) -> str:
    """The DSN to use: the given one, else ``$DB4AI_DSN``, else the embedded server's."""
    if dsn:
        return dsn
    if os.environ.get(ENV_DSN):
        return os.environ[ENV_DSN]
    return str(embedded_server().get_uri())


def sibling_conninfo(conn: Any, **overrides: str) -> str:
    """A conninfo string for another connection to the same database as the same role (the
    parallel readers, a training run's own session); ``host``/``port`` overrides reach another
    node of a cluster with the same credentials."""
    import psycopg

    options = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val is not None}
    if "host" in overrides:
        options.pop("hostaddr", None)
    options.update(overrides)
    return psycopg.conninfo.make_conninfo(**options)
