"""db4ai: openGauss-style in-database machine learning for PostgreSQL.

``db4ai.connect()`` gives a psycopg connection that also understands CREATE MODEL,
PREDICT BY, DROP MODEL and the snapshot statements; ``sql/install.sql`` (or
``db4ai.install``) adds the ``db4ai`` schema to a database.
"""

from ._version import __version__
from .errors import (
    DataError,
    DependencyError,
    Error,
    FeatureError,
    InterfaceError,
    InvalidParameter,
    ObjectExists,
    ObjectNotFound,
    ParseError,
    PrivilegeError,
)
from .install import install, uninstall

_SHIM = frozenset({"Connection", "Cursor", "connect"})
_SUBMODULES = frozenset({"artifacts", "data", "runs"})  # ``db4ai.runs.start(...)`` after ``import db4ai``


def __getattr__(name: str):  # the shim pulls in sqlglot and the model code: load it on first use
    if name in _SHIM:
        from . import connection

        return getattr(connection, name)
    if name == "load_model":
        from .models import load_model

        return load_model
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'db4ai' has no attribute {name!r}")

__all__ = [
    "Connection",
    "Cursor",
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
    "__version__",
    "connect",
    "install",
    "load_model",
    "uninstall",
]
