"""The shim: a psycopg connection that also understands the DB4AI statements.

``db4ai.connect()`` returns a :class:`Connection`, a real ``psycopg.Connection`` whose
cursors parse each statement with the DB4AI dialect. Ordinary SQL goes to PostgreSQL
unchanged (the original text, not a regenerated one); statements with ``PREDICT BY`` or
``name@version`` references are rewritten into plain SQL; CREATE/DROP MODEL and the snapshot
statements are handled by :mod:`db4ai.models` and :mod:`db4ai.snapshots`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from . import dialect, models, snapshots
from .dialect.statements import (
    AnyStatement,
    CreateModel,
    CreateSnapshot,
    DropModel,
    EvaluateModel,
    Query,
    SampleSnapshot,
    SnapshotCommand,
)
from .errors import Error, InterfaceError, from_server_error
from .install import check_installed, install, installed_version
from .server import ENV_DSN, resolve_dsn

_NO_RESULT = "DO $db4ai$ BEGIN END $db4ai$"  # leaves a cursor with no result set


class Cursor(psycopg.Cursor[Any]):
    """A psycopg cursor whose ``execute`` also runs DB4AI statements."""

    _db4ai_status: str | None = None

    @property
    def statusmessage(self) -> str | None:
        """The command tag; DB4AI statements report openGauss's tags (``MODEL CREATED. PROCESSED 1``)."""
        if self._db4ai_status is not None:
            return self._db4ai_status
        return super().statusmessage

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Cursor:
        self._db4ai_status = None
        text = _as_text(query)
        if text is None:  # sql.Composable, or bytes we cannot decode: not ours to parse
            super().execute(query, params, prepare=prepare, binary=binary)
            return self
        statements = dialect.parse_script(text)
        if all(isinstance(s, Query) and s.verbatim for s in statements):
            super().execute(query, params, prepare=prepare, binary=binary)
            return self
        if params is not None and len(statements) > 1:
            raise InterfaceError("query parameters are not supported in a script of several statements")
        for statement in statements:
            self._run(statement, params, prepare=prepare, binary=binary)
        return self

    # -- one statement -------------------------------------------------------------------

    def executemany(self, query: Any, params_seq: Any, *, returning: bool = False) -> None:
        """Like psycopg's; a statement with PREDICT BY or ``name@version`` is rewritten once."""
        self._db4ai_status = None
        super().executemany(_one_statement_sql(self.connection, query), params_seq, returning=returning)

    def stream(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        """Like psycopg's; a statement with PREDICT BY or ``name@version`` is rewritten first."""
        self._db4ai_status = None
        return super().stream(_one_statement_sql(self.connection, query), params, **kwargs)

    def _run(self, stmt: AnyStatement, params: Any, *, prepare: bool | None, binary: bool | None) -> None:
        self._db4ai_status = None
        conn: Connection = self.connection  # type: ignore[assignment]
        if isinstance(stmt, Query):
            if not stmt.verbatim:
                conn.ensure_db4ai()  # PREDICT BY and the catalog names need the db4ai schema
            super().execute(_render(conn, stmt), params, prepare=prepare, binary=binary)
            return
        if params is not None:
            raise InterfaceError("query parameters are not supported in DB4AI statements")
        conn.ensure_db4ai()
        if isinstance(stmt, CreateModel):
            self._create_model(conn, stmt)
        elif isinstance(stmt, DropModel):
            models.drop_model(conn, stmt.name, if_exists=stmt.if_exists)
            self._finish("DROP MODEL")
        elif isinstance(stmt, EvaluateModel):
            self._server_call(*models.evaluate_call(stmt.name, stmt.relation_sql))
        elif isinstance(stmt, (CreateSnapshot, SampleSnapshot, SnapshotCommand)):
            call = snapshots.function_call(stmt)
            self._server_call(call.query, call.params)
        else:  # pragma: no cover - the dialect returns only the types above
            raise InterfaceError(f"unsupported statement {type(stmt).__name__}")

    def _create_model(self, conn: Connection, stmt: CreateModel) -> None:
        if stmt.explain:
            lines = models.explain_create_model(conn, stmt)
            super().execute('SELECT unnest(%s::text[]) AS "QUERY PLAN"', [lines])
            return
        models.create_model(conn, stmt, progress=conn.progress)
        self._finish("MODEL CREATED. PROCESSED 1")

    def _server_call(self, query: sql.SQL | sql.Composed, params: Sequence[Any]) -> None:
        """Run a call of a db4ai.* SQL function, turning its documented errors into db4ai errors."""
        try:
            super().execute(query, params)
        except psycopg.Error as exc:
            translated = from_server_error(exc)
            if translated is None:
                raise
            raise translated from exc

    def _finish(self, tag: str) -> None:
        super().execute(_NO_RESULT)
        self._db4ai_status = tag


class ServerCursor(psycopg.ServerCursor[Any]):
    """A named (server-side) cursor; a query with PREDICT BY or ``name@version`` is rewritten first."""

    def execute(self, query: Any, params: Any = None, *, binary: bool | None = None, **kwargs: Any) -> ServerCursor:
        super().execute(_one_statement_sql(self.connection, query), params, binary=binary, **kwargs)
        return self


def _one_statement_sql(conn: Any, query: Any) -> Any:
    """The SQL to send for an entry point that runs one plain statement (executemany, stream,
    server-side cursors): DB4AI constructs in queries are rendered, DB4AI statements refused."""
    text = _as_text(query)
    if text is None:
        return query
    statements = dialect.parse_script(text)
    if all(isinstance(s, Query) and s.verbatim for s in statements):
        return query
    if len(statements) != 1 or not isinstance(statements[0], Query):
        raise InterfaceError("CREATE/DROP MODEL and snapshot statements run through execute(), one script at a time")
    return _render(conn, statements[0])


def _render(conn: Any, stmt: Query) -> str:
    """PostgreSQL text of a query: PREDICT BY replaced by the model's SQL expression."""
    return dialect.render_query(stmt, lambda call: models.predict_by_sql(conn, call.model, call.features))


class Connection(psycopg.Connection[Any]):
    """A psycopg connection whose cursors understand DB4AI statements."""

    _db4ai_checked: bool = False
    #: watches each CREATE MODEL run on this connection (``db4ai sql`` on a terminal sets it)
    progress: models.Progress | None = None

    def ensure_db4ai(self) -> None:
        """Check once per connection that db4ai is installed in this database."""
        if not self._db4ai_checked:
            check_installed(self)
            self._db4ai_checked = True


def _as_text(query: Any) -> str | None:
    if isinstance(query, str):
        return query
    if isinstance(query, (bytes, bytearray, memoryview)):
        try:
            return bytes(query).decode()
        except UnicodeDecodeError:
            return None
    return None


def _host_of(dsn: str) -> str:
    try:
        return str(psycopg.conninfo.conninfo_to_dict(dsn).get("host", ""))
    except psycopg.Error:
        return dsn


def connect_dsn(dsn: str, **kwargs: Any) -> Connection:
    """``Connection.connect(dsn)``, with a one-line error where psycopg would fail with a long
    chained traceback: a host name no DNS could hold ("...", a placeholder left in) fails in
    Python's idna codec before any connection attempt."""
    try:
        return Connection.connect(dsn, **kwargs)
    except UnicodeError:
        raise InterfaceError(
            f"could not connect to the database: {_host_of(dsn)!r} is not a valid host name",
            hint="give a DSN such as postgresql://user@host:5432/dbname, or none for the embedded server",
        ) from None


def connect(dsn: str | None = None, **kwargs: Any) -> Connection:
    """Connect like ``psycopg.connect``; without a DSN use ``$DB4AI_DSN`` or the embedded server.

    The embedded database is db4ai's own: db4ai is installed there on first use.
    """
    explicit = dsn or os.environ.get(ENV_DSN)
    kwargs.setdefault("cursor_factory", Cursor)
    conn = connect_dsn(resolve_dsn(explicit), **kwargs)
    conn.server_cursor_factory = ServerCursor
    if not explicit and installed_version(conn) is None:
        install(conn)
        conn._db4ai_checked = True
    return conn


__all__ = ["Connection", "Cursor", "Error", "ServerCursor", "connect"]
