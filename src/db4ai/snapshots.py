"""Snapshot SQL syntax -> calls of the ``db4ai.*`` snapshot functions (spec §2).

Each statement becomes one ``SELECT * FROM db4ai.<function>(...)`` with every value passed
as a query parameter, so the result set is openGauss's ``schema | name`` rows and no user text
is ever spliced into SQL. The version delimiter and separator are the database settings
(``db4ai.version_delimiter``, ``db4ai.version_separator``): the statement syntax always uses
``@`` and ``.``, translated server-side when the settings differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from .dialect.statements import CreateSnapshot, SampleSnapshot, SnapshotCommand
from .errors import InvalidParameter

# The parent reference "name<delimiter>version" is built in SQL from the current settings.
_VERSIONED_NAME = sql.SQL(
    "({name}::text || coalesce(nullif(current_setting('db4ai.version_delimiter', true), ''), '@')"
    " || translate({version}::text, '.', coalesce(nullif(current_setting('db4ai.version_separator', true), ''), '.')))::name"
)
_VERSION = sql.SQL(
    "translate({version}::text, '.', coalesce(nullif(current_setting('db4ai.version_separator', true), ''), '.'))::name"
)


@dataclass(frozen=True)
class FunctionCall:
    query: sql.Composed
    params: tuple[Any, ...]


def _versioned() -> sql.Composed:
    """``name@version`` as a name, from two parameters (name, version)."""
    return _VERSIONED_NAME.format(name=sql.Placeholder(), version=sql.Placeholder())


def function_call(stmt: CreateSnapshot | SampleSnapshot | SnapshotCommand) -> FunctionCall:
    """The db4ai function call that carries out a snapshot statement."""
    if isinstance(stmt, CreateSnapshot):
        return _create(stmt)
    if isinstance(stmt, SampleSnapshot):
        return _sample(stmt)
    function = sql.Identifier("db4ai", f"{stmt.action}_snapshot")
    query = sql.SQL("SELECT * FROM {}({}::name, {})").format(function, sql.Placeholder(), _versioned())
    return FunctionCall(query, (stmt.snapshot.schema, stmt.snapshot.name, stmt.snapshot.version))


def _optional_version(version: str | None) -> tuple[sql.Composable, tuple[Any, ...]]:
    if version is None:
        return sql.SQL("NULL::name"), ()
    return _VERSION.format(version=sql.Placeholder()), (version,)


def _create(stmt: CreateSnapshot) -> FunctionCall:
    version_sql, version_params = _optional_version(stmt.version)
    if stmt.from_version is None:
        query = sql.SQL("SELECT * FROM db4ai.create_snapshot({}::name, {}::name, {}::text[], {}, {}::text)").format(
            sql.Placeholder(), sql.Placeholder(), sql.Placeholder(), version_sql, sql.Placeholder()
        )
        commands = [stmt.query_sql] + ([stmt.distribute_sql] if stmt.distribute_sql else [])
        params = (stmt.schema, stmt.name, commands) + version_params + (stmt.comment,)
        return FunctionCall(query, params)
    query = sql.SQL("SELECT * FROM db4ai.prepare_snapshot({}::name, {}, {}::text[], {}, {}::text)").format(
        sql.Placeholder(), _versioned(), sql.Placeholder(), version_sql, sql.Placeholder()
    )
    params = (stmt.schema, stmt.name, stmt.from_version, list(stmt.commands)) + version_params + (stmt.comment,)
    return FunctionCall(query, params)


def _sample(stmt: SampleSnapshot) -> FunctionCall:
    parent = stmt.parent
    infixes = [s.infix for s in stmt.samples]
    ratios = [s.ratio for s in stmt.samples]
    stratify = list(stmt.stratify) or None
    if stmt.split:
        split_comments = sorted({s.comment for s in stmt.samples if s.comment is not None})
        if len(split_comments) > 1:
            raise InvalidParameter(
                "SPLIT SNAPSHOT stores one comment for all parts",
                hint="write COMMENT IS once (db4ai.split_snapshot takes a single i_comment)",
            )
        query = sql.SQL("SELECT * FROM db4ai.split_snapshot("
                        "{}::name, {}, {}::name[], {}::numeric[], {}::name[], {}::text)").format(
            sql.Placeholder(), _versioned(), sql.Placeholder(), sql.Placeholder(), sql.Placeholder(), sql.Placeholder()
        )
        comment = split_comments[0] if split_comments else None
        return FunctionCall(query, (parent.schema, parent.name, parent.version, infixes, ratios, stratify, comment))
    comments = [s.comment for s in stmt.samples]
    query = sql.SQL("SELECT * FROM db4ai.sample_snapshot("
                    "{}::name, {}, {}::name[], {}::numeric[], {}::name[], {}::text[])").format(
        sql.Placeholder(), _versioned(), sql.Placeholder(), sql.Placeholder(), sql.Placeholder(), sql.Placeholder()
    )
    return FunctionCall(
        query,
        (parent.schema, parent.name, parent.version, infixes, ratios, stratify,
         comments if any(c is not None for c in comments) else None),
    )
