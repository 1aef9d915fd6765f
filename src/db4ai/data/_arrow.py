"""Any query through ADBC: binary COPY parsed in C++ into Arrow, then viewed by numpy.

Used for queries that are not a plain table scan (joins, views, snapshots, ORDER BY): the
server streams rows as they come (no aggregation of the whole result on the server, as the
row-number groups of :mod:`._packed` need), and the ADBC PostgreSQL driver parses PostgreSQL's
binary COPY format in C++ in bulk. It reads on a connection of its own, opened with the
caller's credentials, on the caller's exported snapshot and with the caller's session settings
(SET search_path, statement_timeout, ...), so it sees what the caller's connection sees,
except the caller's temporary tables: a query that fails there before its first row is read by
the caller's connection instead (the caller's error then comes from PostgreSQL through psycopg).

Rows arrive in Arrow batches (about 16 MB each) and leave as Frames of exactly ``chunk_rows``
rows (the last one shorter): memory stays at about one batch plus one chunk. NULLs come from
Arrow's validity bitmaps; array columns are read by :mod:`._packed` (arrays of the wrong shape
must be refused, which needs the server's view of their dimensions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import psycopg
from psycopg import sql

from ._frame import Frame
from ._parallel import session_settings, sibling_conninfo
from ._types import Column, _subquery, codec, native_dtype


class Unavailable(Exception):
    """The query cannot be read through ADBC (before any row was read)."""


def usable(columns: tuple[Column, ...]) -> bool:
    """ADBC is installed and every column is a scalar db4ai.data reads."""
    if any(c.kind == "float_array" for c in columns):
        return False
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - both are dependencies
        return False
    return True


def _select(conn: psycopg.Connection, query: str, columns: tuple[Column, ...]) -> str:
    """The query with positional column names, each cast to the type it travels as."""
    names = [sql.Identifier(f"c{i}") for i in range(len(columns))]
    items = [sql.SQL("q.{}::{}").format(n, sql.SQL(codec(c).sql_type)) for n, c in zip(names, columns, strict=True)]
    return sql.SQL("SELECT {} FROM ({}) AS q({})").format(
        sql.SQL(", ").join(items), _subquery(query), sql.SQL(", ").join(names)).as_string(conn)


def _frame(table: object, columns: tuple[Column, ...]) -> Frame:
    import pyarrow.compute as pc

    arrays: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    for i, col in enumerate(columns):
        arr = table.column(i).combine_chunks()  # type: ignore[attr-defined]
        cd = codec(col)
        if arr.null_count:
            nulls[col.name] = arr.is_null().to_numpy(zero_copy_only=False)
            arr = pc.fill_null(arr, False if cd.kind == "bool" else 0)
        else:
            nulls[col.name] = np.zeros(len(arr), dtype=bool)
        arrays[col.name] = arr.to_numpy(zero_copy_only=False).astype(native_dtype(cd), copy=False)
    return Frame(columns, arrays, nulls, len(table))  # type: ignore[arg-type]


def _psycopg_error(exc: Exception) -> Exception:
    """An ADBC (or Arrow stream) error as the psycopg error class of its SQLSTATE."""
    state = getattr(exc, "sqlstate", None)
    if not state:
        found = re.search(r"SQLSTATE: ([0-9A-Z]{5})", str(exc))
        state = found.group(1) if found else None
    try:
        cls = psycopg.errors.lookup(state) if state else psycopg.errors.DatabaseError
    except KeyError:
        cls = psycopg.errors.DatabaseError
    return cls(str(exc))


def frames(conn: psycopg.Connection, query: str, columns: tuple[Column, ...], chunk_rows: int,
           settings: dict[str, str]) -> Iterator[Frame]:
    """The rows of ``query`` in Frames of ``chunk_rows`` rows, read through ADBC on the snapshot
    of ``conn``'s transaction (which must be the read's own REPEATABLE READ transaction).

    Raises :class:`Unavailable` when the query fails before its first row is read.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    failures = (adbc_driver_manager.Error, pa.ArrowException, OSError)

    snapshot = conn.execute(sql.SQL("SELECT pg_export_snapshot()")).fetchone()[0]  # type: ignore[index]
    setup = {**session_settings(conn), **settings}
    select = _select(conn, query, columns)
    try:
        other = adbc.connect(sibling_conninfo(conn), autocommit=True)
    except adbc_driver_manager.Error as exc:
        raise Unavailable(str(exc)) from exc
    with other, other.cursor() as cur:
        try:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the server's own token
            for name, value in setup.items():
                cur.execute("SELECT set_config($1, $2, true)", (name, value))
                cur.fetchall()
            cur.execute(select)
            batches = cur.fetch_record_batch()
        except failures as exc:
            raise Unavailable(str(exc)) from exc
        pending: list[pa.RecordBatch] = []
        held = 0
        started = False
        try:
            for batch in batches:
                started = True
                pending.append(batch)
                held += batch.num_rows
                while held >= chunk_rows:
                    table = pa.Table.from_batches(pending)
                    yield _frame(table.slice(0, chunk_rows), columns)
                    rest = table.slice(chunk_rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                yield _frame(pa.Table.from_batches(pending), columns)
        except failures as exc:
            if not started:
                raise Unavailable(str(exc)) from exc
            raise _psycopg_error(exc) from exc
        finally:
            try:
                cur.execute("ROLLBACK")
            except failures:
                pass
