"""db4ai error classes.

A DB4AI statement that is wrong raises a subclass of :class:`Error` whose message is the
openGauss text where the spec names one. Errors raised by the PL/pgSQL layer cross into
Python by SQLSTATE (:func:`from_server_error`); ordinary SQL keeps psycopg's errors.
"""

from __future__ import annotations

import psycopg


class Error(Exception):
    """Base class of every db4ai error. ``sqlstate`` mirrors PostgreSQL's code."""

    sqlstate: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InterfaceError(Error):
    """db4ai cannot reach or use the database (bad DSN, db4ai not installed, ...)."""

    sqlstate = "08000"


class ParseError(Error):
    """A DB4AI statement does not parse. ``line``/``col`` are 1-based."""

    sqlstate = "42601"

    def __init__(self, message: str, *, line: int | None = None, col: int | None = None, **kw: str | None):
        super().__init__(message, **kw)
        self.line = line
        self.col = col

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.message} (line {self.line}, column {self.col})"
        return self.message


class InvalidParameter(Error):
    """A bad argument: hyperparameter, ratio, name, version, ... (22023)."""

    sqlstate = "22023"


class FeatureError(Error):
    """Unsupported FEATURES/TARGET input (types, counts, NULL arrays)."""

    sqlstate = "0A000"


class DataError(Error):
    """The training input is unusable (e.g. empty)."""

    sqlstate = "22000"


class ObjectExists(Error):
    """A model or snapshot of that name already exists (42710)."""

    sqlstate = "42710"


class ObjectNotFound(Error):
    """A model or snapshot does not exist (42704)."""

    sqlstate = "42704"


class PrivilegeError(Error):
    """The caller may not do this to an object it does not own (42501)."""

    sqlstate = "42501"


class DependencyError(Error):
    """An object is still in use, e.g. a snapshot a model was trained on (2BP01)."""

    sqlstate = "2BP01"


class TrainingWarning(UserWarning):
    """A model was stored, but something about its training deserves attention (e.g. it diverged)."""


_BY_SQLSTATE: dict[str, type[Error]] = {
    cls.sqlstate: cls
    for cls in (ParseError, InvalidParameter, FeatureError, DataError, ObjectExists,
                ObjectNotFound, PrivilegeError, DependencyError)
}
_BY_SQLSTATE.update({
    "42723": ObjectExists,  # duplicate_function: a model's prediction function name is taken
    "42622": InvalidParameter,  # name_too_long
    "XX001": DataError,  # data_corrupted: a stored model that cannot be read
})


def from_server_error(err: psycopg.Error) -> Error | None:
    """The db4ai error for a PL/pgSQL error raised by a ``db4ai.*`` function, else None.

    Only SQLSTATEs that the db4ai SQL layer documents are translated; anything else
    (a syntax error in a user's SELECT, a lost connection) stays a psycopg error.
    """
    diag = err.diag
    cls = _BY_SQLSTATE.get(diag.sqlstate or "")
    if cls is None or diag.message_primary is None:
        return None
    new = cls(diag.message_primary, hint=diag.message_hint, detail=diag.message_detail)
    new.sqlstate = diag.sqlstate
    return new


__all__ = [
    "DataError",
    "DependencyError",
    "Error",
    "FeatureError",
    "InterfaceError",
    "InvalidParameter",
    "ObjectExists",
    "ObjectNotFound",
    "ParseError",
    "PrivilegeError",
    "TrainingWarning",
    "from_server_error",
]
