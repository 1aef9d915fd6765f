"""PostgreSQL column types that db4ai.data reads, as one table, and query description.

Every supported type maps to a fixed-width binary form that the server produces in bulk
(``array_send`` of the per-chunk ``array_agg``) and numpy views without per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql

from ..dialect import postgres_text
from ..errors import FeatureError


@dataclass(frozen=True)
class Column:
    """One result column: name, PostgreSQL type oid and name, and the db4ai kind.

    ``kind`` is ``"int"``, ``"float"``, ``"bool"``, ``"numeric"`` or ``"float_array"``.
    """

    name: str
    type_oid: int
    type_name: str
    kind: str


@dataclass(frozen=True)
class Codec:
    """How one PostgreSQL type travels: the SQL type it is cast to before packing, the
    big-endian element type of its binary array form, and the native numpy dtype."""

    kind: str
    sql_type: str  # cast target on the server (numeric -> float8, float4[] -> float8[])
    wire: str  # numpy dtype of one element in array_send output
    native: str  # numpy dtype handed to callers
    zero: str  # SQL literal that replaces NULL inside the packed array


CODECS: dict[int, Codec] = {
    16: Codec("bool", "bool", "?", "?", "false"),
    21: Codec("int", "int2", ">i2", "<i2", "0"),
    23: Codec("int", "int4", ">i4", "<i4", "0"),
    20: Codec("int", "int8", ">i8", "<i8", "0"),
    700: Codec("float", "float4", ">f4", "<f4", "0"),
    701: Codec("float", "float8", ">f8", "<f8", "0"),
    1700: Codec("numeric", "float8", ">f8", "<f8", "0"),
    1021: Codec("float_array", "float8[]", ">f8", "<f8", ""),  # float4[]
    1022: Codec("float_array", "float8[]", ">f8", "<f8", ""),  # float8[]
}

# Native dtypes use the machine's byte order; '<' above is replaced when it differs.
_NATIVE = "<" if np.little_endian else ">"


def native_dtype(codec: Codec) -> np.dtype:
    """The numpy dtype a column of this codec has in a Frame."""
    return np.dtype(codec.native.replace("<", _NATIVE))


def codec(column: Column) -> Codec:
    return CODECS[column.type_oid]


def _subquery(query: str) -> sql.Composable:
    """The caller's query as trusted SQL text (it runs with the caller's privileges)."""
    return sql.SQL(query.strip().rstrip(";"))


def describe(conn: psycopg.Connection, query: str) -> tuple[Column, ...]:
    """Column metadata of ``query`` without reading its rows.

    Raises FeatureError naming the first column whose type db4ai.data cannot read.
    """
    return describe_sql(conn, postgres_text(query))


def describe_sql(conn: psycopg.Connection, query: str) -> tuple[Column, ...]:
    """:func:`describe` of a query that is already PostgreSQL text (``name@version`` quoted)."""
    stmt = sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(_subquery(query))
    with conn.cursor() as cur:
        cur.execute(stmt)
        desc = cur.description or []
        oids = [d.type_code for d in desc]
        cur.execute(sql.SQL("SELECT t.oid::int8, format_type(t.oid, NULL) FROM pg_type t"
                            " WHERE t.oid = ANY(%s::oid[])"), (oids,))
        names = {int(oid): name for oid, name in cur.fetchall()}
    columns = []
    for d in desc:
        oid = d.type_code
        type_name = names.get(oid, str(oid))
        found = CODECS.get(oid)
        if found is None:
            raise FeatureError(
                f'Oid type {oid} not yet supported: column "{d.name}" has type {type_name}',
                hint="db4ai.data reads bool, int2, int4, int8, float4, float8, numeric, "
                     "float4[] and float8[] columns; cast the column in the query "
                     "(for example col::float8)")
        columns.append(Column(d.name, oid, type_name, found.kind))
    return tuple(columns)
