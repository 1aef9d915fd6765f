"""The SQL layer's sources and the version a database holds: where ``install.sql`` is (the wheel's
``db4ai/_sql``, else the source checkout's ``sql/``), its text with psql's ``\\ir`` includes expanded,
and ``db4ai.version()``. Shared by the two ways to install: :mod:`db4ai.install` (the script) and
:mod:`db4ai.extension` (CREATE EXTENSION).
"""

from __future__ import annotations

from pathlib import Path

import psycopg

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


def installed_version(conn: psycopg.Connection) -> str | None:
    """The db4ai version installed in the connected database, or None."""
    row = conn.execute("SELECT to_regprocedure('db4ai.version()') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    version = conn.execute("SELECT db4ai.version()").fetchone()
    return str(version[0]) if version else None
