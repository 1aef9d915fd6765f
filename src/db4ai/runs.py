"""Training runs recorded in the database: MLflow's tracking vocabulary, kept next to the data.

    with db4ai.runs.start(conn, "resnet-cifar", params={"lr": 0.1}, source="images@1.0.0") as run:
        for epoch in range(10):
            ...
            run.log(epoch, loss=loss, accuracy=acc)

A run is a row of ``db4ai.training_run`` (state ``running`` -> ``succeeded`` / ``failed`` /
``interrupted``) with params (jsonb), its data source and snapshot lineage, rows read, the model
it produced, and metric values per step in ``db4ai.training_run_metric``. :func:`start` opens a
connection of its own in autocommit mode, so the run and each logged step are committed at once
and other sessions watch them live (``SELECT * FROM db4ai.training_run_progress``). Leaving the
``with`` block normally ends the run ``succeeded``; an exception ends it ``failed`` with the
exception's text (``interrupted`` for Ctrl-C) and propagates. A client that dies leaves its run
``running`` with a session that is gone, which ``db4ai.training_runs`` shows as ``interrupted``.

Recording another job (CREATE MODEL's orchestration does this): :func:`start` with
``kind="create_model"``, :meth:`Run.log` per pass, then :meth:`Run.succeed` with the caller's
connection INSIDE the transaction that stores the model, so the run's success commits (or rolls
back) with it; :meth:`Run.fail` on error; :meth:`Run.close` at the end.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ._lineage import source_snapshot_ids
from .errors import InterfaceError, InvalidParameter, ObjectNotFound, from_server_error
from .server import sibling_conninfo

KINDS = ("external", "create_model")
END_STATES = ("succeeded", "failed", "interrupted")
APPLICATION_NAME = "db4ai run"


def _json_value(value: Any) -> Any:
    """A JSON-safe copy of a param value: numpy scalars as numbers, NaN/Infinity as text, else str()."""
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return _json_value(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _params(params: Mapping[str, Any] | None) -> Jsonb:
    if params is None:
        return Jsonb({})
    if not isinstance(params, Mapping):
        raise InvalidParameter(f"params must be a mapping of names to values, not {type(params).__name__}")
    return Jsonb(_json_value(params), dumps=lambda o: json.dumps(o, allow_nan=False))


def _call(conn: psycopg.Connection, query: str, params: Sequence[Any]) -> Any:
    """Run one ``db4ai.*`` run function; its documented errors become db4ai errors."""
    try:
        row = conn.execute(query, params).fetchone()
    except (psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedTable) as exc:
        raise InterfaceError("this database's db4ai has no training-run registry",
                             hint='run "db4ai install" to upgrade it') from exc
    except psycopg.Error as exc:
        translated = from_server_error(exc)
        if translated is None:
            raise
        raise translated from exc
    return None if row is None else row[0]


def _sibling_conninfo(conn: psycopg.Connection) -> str:
    """Connection string of another session to the same database as the same role."""
    return psycopg.conninfo.make_conninfo(sibling_conninfo(conn), application_name=APPLICATION_NAME)


def _error_text(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return str(error)


@dataclass
class Run:
    """A running training run, recorded on its own connection (see the module docstring)."""

    id: int
    name: str
    kind: str
    snapshot_ids: tuple[int, ...]
    _conn: psycopg.Connection = field(repr=False)
    state: str = "running"
    rows_read: int | None = None

    # -- recording -----------------------------------------------------------------------------
    def log(self, step: int, **metrics: float | None) -> None:
        """Record metric values at ``step`` (an epoch, a pass, a global step), committed at once.
        A value of None is skipped (e.g. a loss not computed in pass 0)."""
        given = {k: v for k, v in metrics.items() if v is not None}
        if not given:
            return
        if isinstance(step, bool) or not isinstance(step, int):
            try:
                step = int(step.__index__())
            except (AttributeError, TypeError):
                raise InvalidParameter(f"step must be an integer, not {step!r}") from None
        try:
            values = [float(v) for v in given.values()]
        except (TypeError, ValueError) as exc:
            raise InvalidParameter(f"metric values must be numbers: {exc}") from exc
        _call(self._open(), "SELECT db4ai.log_metrics(%s, %s, %s::text[], %s::float8[])",
              (self.id, step, list(given), values))

    def log_params(self, **params: Any) -> None:
        """Add (or overwrite) params after the start, e.g. values only known once data is read."""
        try:
            self._open().execute("UPDATE db4ai.training_run SET params = params || %s WHERE id = %s",
                                 (_params(params), self.id))
        except psycopg.Error as exc:
            translated = from_server_error(exc)
            if translated is None:
                raise
            raise translated from exc

    def set_rows_read(self, rows: int) -> None:
        """Record how many rows the run read (visible to watchers before it ends)."""
        self.rows_read = int(rows)
        self._open().execute("UPDATE db4ai.training_run SET rows_read = %s WHERE id = %s", (self.rows_read, self.id))

    # -- ending --------------------------------------------------------------------------------
    def succeed(self, conn: psycopg.Connection | None = None, *, model: str | None = None,
                rows_read: int | None = None) -> bool:
        """End the run ``succeeded``; False when it had already ended.

        With ``conn`` the update runs on that connection, inside its current transaction: call
        it in the transaction that stores what the run produced, so both commit or neither does
        (if that transaction rolls back, the run is still running and :meth:`fail` can end it).
        """
        rows = self.rows_read if rows_read is None else int(rows_read)
        ended = bool(_call(conn if conn is not None else self._open(),
                           "SELECT db4ai.end_run(%s, 'succeeded', NULL, %s::name, %s)", (self.id, model, rows)))
        if ended:
            self.state = "succeeded"
        return ended

    def fail(self, error: BaseException | str, *, state: str = "failed") -> bool:
        """End the run ``failed`` (or ``interrupted``) with the error's text, on the run's own
        connection; False when it had already ended (e.g. its success was committed)."""
        if state not in ("failed", "interrupted"):
            raise InvalidParameter(f"a run fails as 'failed' or 'interrupted', not {state!r}")
        ended = bool(_call(self._open(), "SELECT db4ai.end_run(%s, %s, %s, NULL, %s)",
                           (self.id, state, _error_text(error), self.rows_read)))
        if ended:
            self.state = state
        return ended

    def close(self) -> None:
        """Close the run's connection (a run still running then shows as interrupted)."""
        if not self._conn.closed:
            self._conn.close()

    @property
    def session(self) -> psycopg.Connection:
        """The run's own autocommit connection: it lives as long as the run (a training may hold
        session-level locks on it that must end with the run)."""
        return self._open()

    def _open(self) -> psycopg.Connection:
        if self._conn.closed:
            raise InterfaceError(f"training run {self.id} is closed", hint="start a new run with db4ai.runs.start()")
        return self._conn

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:
                if self.state == "running":
                    self.succeed()
            elif not self._conn.closed:
                state = "failed" if isinstance(exc, Exception) else "interrupted"
                try:
                    self.fail(exc, state=state)
                except Exception as report:  # never hide the training's own exception
                    warnings.warn(f"could not record the failure of training run {self.id}: {report}",
                                  RuntimeWarning, stacklevel=2)
        finally:
            self.close()


def start(conn: psycopg.Connection, name: str, *, params: Mapping[str, Any] | None = None,
          source: str | None = None, snapshot_ids: Iterable[int] | None = None,
          kind: str = "external") -> Run:
    """Start a run named ``name``, committed on a new connection of its own (same database, role).

    ``source``: what the run reads, a snapshot (``images@1.0.0``), a table, a query or a URI;
    its snapshot lineage is looked up on ``conn`` unless ``snapshot_ids`` are given. ``params``:
    hyperparameters, stored as jsonb. Use the result as a context manager.
    """
    if kind not in KINDS:
        raise InvalidParameter(f"invalid training run kind: {kind!r}", hint="kind is 'external' or 'create_model'")
    if not isinstance(name, str) or not name:
        raise InvalidParameter("a training run needs a name")
    payload = _params(params)
    if snapshot_ids is not None:
        ids = [int(i) for i in snapshot_ids]
    else:
        ids = source_snapshot_ids(conn, source) if source is not None else []
    own = psycopg.connect(_sibling_conninfo(conn), autocommit=True)
    try:
        run_id = _call(own, "SELECT db4ai.start_run(%s, %s, %s, %s::int8[], %s)",
                       (name, payload, source, ids or None, kind))
    except BaseException:
        own.close()
        raise
    return Run(id=int(run_id), name=name, kind=kind, snapshot_ids=tuple(ids), _conn=own)


@dataclass(frozen=True)
class RunInfo:
    """A run as ``db4ai.training_runs`` shows it."""

    id: int
    name: str
    kind: str
    owner: str
    state: str
    started: datetime
    finished: datetime | None
    error: str | None
    params: dict[str, Any]
    source: str | None
    snapshot_ids: tuple[int, ...]
    rows_read: int | None
    model: str | None


_INFO = ("SELECT id, name, kind, owner, state, started, finished, error, params, source, snapshot_ids,"
         " rows_read, model FROM db4ai.training_runs")


def _info(row: Sequence[Any]) -> RunInfo:
    return RunInfo(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], dict(row[8] or {}),
                   row[9], tuple(row[10] or ()), row[11], row[12])


def get(conn: psycopg.Connection, run: int | Run) -> RunInfo:
    """A run by id; ObjectNotFound when there is none (or it is not visible to this role)."""
    run_id = run.id if isinstance(run, Run) else int(run)
    row = conn.execute(sql.SQL(_INFO + " WHERE id = %s"), (run_id,)).fetchone()
    if row is None:
        raise ObjectNotFound(f"training run {run_id} does not exist", hint="db4ai.training_runs lists your runs")
    return _info(row)


def find(conn: psycopg.Connection, name: str | None = None) -> list[RunInfo]:
    """Visible runs, newest first; only those named ``name`` when given."""
    if name is None:
        rows = conn.execute(sql.SQL(_INFO + " ORDER BY id DESC")).fetchall()
    else:
        rows = conn.execute(sql.SQL(_INFO + " WHERE name = %s ORDER BY id DESC"), (name,)).fetchall()
    return [_info(r) for r in rows]


def metrics(conn: psycopg.Connection, run: int | Run) -> dict[str, tuple[list[int], list[float]]]:
    """Each metric of a run as (steps, values), in step order."""
    run_id = get(conn, run).id
    out: dict[str, tuple[list[int], list[float]]] = {}
    for name, step, value in conn.execute(
            "SELECT name, step, value FROM db4ai.training_run_metric WHERE run_id = %s ORDER BY name, step",
            (run_id,)):
        steps, values = out.setdefault(name, ([], []))
        steps.append(int(step))
        values.append(float(value))
    return out


def close_interrupted(conn: psycopg.Connection) -> int:
    """Mark this role's running runs whose session is gone as interrupted; returns how many."""
    return int(_call(conn, "SELECT db4ai.close_interrupted_runs()", ()))


__all__ = ["END_STATES", "KINDS", "Run", "RunInfo", "close_interrupted", "find", "get", "metrics", "start"]
