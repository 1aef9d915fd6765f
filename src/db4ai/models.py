"""CREATE MODEL, EXPLAIN CREATE MODEL, PREDICT BY and DROP MODEL: the orchestration.

A CREATE MODEL flows one way (DESIGN §2): check the statement (openGauss's texts) -> resolve the
hyperparameters -> ``SELECT target, features FROM ...`` -> read the rows into numpy once through
:mod:`db4ai.data` (NULL rows discarded and counted) -> train -> one transaction that stores the
model and its training log. Nothing is written before that transaction, so a training that fails
or is interrupted leaves the warehouse as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from . import algorithms, warehouse
from .algorithms import hyperparameters as hyper
from .algorithms.gd_input import InputColumn
from .dialect.statements import CreateModel
from .errors import DataError, FeatureError, InvalidParameter
from .optim import PassRecord, verbose_line

if TYPE_CHECKING:  # pragma: no cover
    from .data import Cache

NAN_WARNING = "Training warning: weights are out of range, try again with another hyperparameter configuration"


@dataclass(frozen=True)
class _Plan:
    """A checked CREATE MODEL: algorithm, hyperparameters and the training query."""

    algorithm: algorithms.Algorithm
    implementation: Any
    hyperparameters: dict[str, hyper.Value]
    query: str


def _check_clauses(stmt: CreateModel, algorithm: algorithms.Algorithm) -> None:
    """openGauss's parse-time rules for FEATURES and TARGET (spec §3.2)."""
    if stmt.features_star:
        raise InvalidParameter("FEATURES clause cannot be *")
    if stmt.target_star:
        raise InvalidParameter("TARGET clause cannot be *")
    if algorithm.supervised:
        if not stmt.features:
            raise InvalidParameter("Supervised ML algorithms require FEATURES clause")
        if not stmt.target:
            raise InvalidParameter("Supervised ML algorithms require TARGET clause")
        if len(stmt.target) > 1:
            raise InvalidParameter("Target clause only supports one expression")
    elif stmt.target:
        raise InvalidParameter("Unsupervised ML algorithms cannot have TARGET clause")


def training_query(conn: psycopg.Connection, stmt: CreateModel) -> str:
    """``SELECT (<target>) AS "target", (<f1>) AS "f1", ... FROM <from>``: target first.

    The expressions are the user's SQL and run with the caller's privileges; the aliases are
    ours, so that every column has a distinct name.
    """
    items: list[sql.Composable] = []
    for item in stmt.target or ():
        items.append(sql.SQL("({}) AS {}").format(sql.SQL(item.sql), sql.Identifier("target")))  # type: ignore[arg-type]
    for i, item in enumerate(stmt.features or (), start=1):
        items.append(sql.SQL("({}) AS {}").format(sql.SQL(item.sql), sql.Identifier(f"f{i}")))  # type: ignore[arg-type]
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(items), sql.SQL(stmt.from_sql))  # type: ignore[arg-type]
    return query.as_string(conn)


def _plan(conn: psycopg.Connection, stmt: CreateModel) -> _Plan:
    algorithm = algorithms.get(stmt.algorithm)
    _check_clauses(stmt, algorithm)
    implementation = algorithms.implementation(algorithm)
    values = hyper.resolve(implementation.HYPERPARAMETERS, stmt.params)
    return _Plan(algorithm, implementation, values, training_query(conn, stmt))


def _describe(conn: psycopg.Connection, query: str) -> list[InputColumn]:
    """Names and type OIDs of the training query's columns, without reading rows."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(sql.SQL(query)))  # type: ignore[arg-type]
        return [InputColumn(d.name, int(d.type_code)) for d in cur.description or ()]


_LINEAGE = sql.SQL("""
WITH RECURSIVE reads(oid) AS (
    SELECT d.refobjid FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     WHERE r.ev_class = {view}::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
       AND d.refobjid <> r.ev_class
    UNION
    SELECT d.refobjid FROM reads
      JOIN pg_catalog.pg_rewrite r ON r.ev_class = reads.oid
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
)
SELECT DISTINCT s.id FROM reads
  JOIN pg_catalog.pg_class c ON c.oid = reads.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN db4ai.snapshot s ON s.schema = n.nspname AND s.name = c.relname AND c.relkind = 'v'
 ORDER BY 1
""")


def _snapshot_ids(conn: psycopg.Connection, query: str) -> list[int]:
    """db4ai.snapshot ids of every snapshot the training query reads (lineage for PURGE's check).

    PostgreSQL itself says what the query depends on: the query becomes a temporary view whose
    dependencies are followed through ordinary views, so a snapshot counts however it is named
    (``s@1.0.0``, ``"s@1.0.0"``, in a subquery or behind another view).
    """
    view = sql.Identifier("pg_temp", "_db4ai_lineage")
    with conn.transaction(force_rollback=True):  # the view only lives for this lookup
        # Citus: a temporary view is no business of the workers (it would warn that it cannot propagate it)
        conn.execute("SELECT set_config('citus.enable_ddl_propagation', 'off', true)")
        conn.execute(sql.SQL("CREATE TEMP VIEW {} AS {}").format(view, sql.SQL(query)))  # type: ignore[arg-type]
        rows = conn.execute(_LINEAGE.format(view=sql.Literal("pg_temp._db4ai_lineage"))).fetchall()
    return [int(r[0]) for r in rows]


def _notice(conn: psycopg.Connection, message: str) -> None:
    conn.execute("SELECT db4ai.notice(%s)", (message,))


def create_model(
    conn: psycopg.Connection,
    stmt: CreateModel,
    *,
    cache: "Cache | None" = None,
    parallel: int = 2,
    on_pass: Callable[[PassRecord], None] | None = None,
) -> None:
    """Train the model of a CREATE MODEL statement and store it.

    Raises db4ai errors with openGauss's texts for bad statements and inputs. ``on_pass`` is
    called after every training pass (an exception there aborts training, storing nothing).
    ``parallel``: connections reading the rows; :mod:`db4ai.data` uses the extra ones only for
    a plain table of several chunks read outside a transaction (all on one exported snapshot).
    """
    plan = _plan(conn, stmt)
    if warehouse.exists(conn, stmt.name):
        raise warehouse.exists_error(stmt.name)
    hp = dict(plan.hyperparameters)
    hp["seed"] = hyper.effective_seed(int(hp["seed"]))
    columns = _describe(conn, plan.query)
    target, features = columns[0], columns[1:]
    plan.implementation.check_input(target, features)

    from . import data  # the data layer pulls in its own dependencies; load it when training

    started = time.monotonic()
    builder = None
    discarded = 0
    for chunk in data.stream_matrix(conn, plan.query, cache=cache, parallel=parallel):  # scan order, bounded memory
        discarded += chunk.discarded
        if len(chunk) == 0:
            continue
        if builder is None:
            builder = plan.implementation.BatchBuilder(
                chunk.values.shape[1] - 1, int(hp["batch_size"]), track_scales=hp["optimizer"] == "ngd"
            )
        builder.add(chunk.values)
    if builder is None:
        raise DataError("Input data is empty")
    batches = builder.finish()
    rows = builder.rows
    read_seconds = time.monotonic() - started

    def report(record: PassRecord) -> None:
        if hp["verbose"] and record.pass_no > 0:
            _notice(conn, verbose_line(record, float(hp["tolerance"]), rows))
        if on_pass is not None:
            on_pass(record)

    train_started = time.monotonic()
    fit = plan.implementation.fit(batches, hp, start=started, on_pass=report)
    train_seconds = time.monotonic() - train_started
    if not (np.all(np.isfinite(fit.weights)) and np.all(np.isfinite(warehouse.float4_values(list(fit.scores.values()))))):
        _notice(conn, NAN_WARNING)  # openGauss stores the model anyway, with this notice

    table = plan.implementation.HYPERPARAMETERS
    model = warehouse.ModelData(
        algorithm=plan.algorithm.name,
        weights=fit.weights,
        feature_names=tuple(item.label for item in stmt.features or ()),
        feature_oids=tuple(c.type_oid for c in features),
        output_oid=target.type_oid,
        hyperparameters={k: hp[k] for k in (h.name for h in table)},
    )
    record = warehouse.ModelRecord(
        name=stmt.name,
        algorithm=plan.algorithm.name,
        query=stmt.text,
        data=model,
        processed=rows,
        discarded=discarded,
        preprocess_time=read_seconds,
        exec_time=train_seconds,
        iterations=fit.iterations,
        hyperparameter_names=[h.name for h in table],
        hyperparameter_values=hyper.texts(table, hp),
        hyperparameter_oids=[h.kind.oid for h in table],
        score_names=list(fit.scores),
        score_values=list(fit.scores.values()),
        snapshot_ids=_snapshot_ids(conn, plan.query),
        log=[
            warehouse.PassRow(p.pass_no, p.loss, p.delta_loss, p.learning_rate, p.elapsed)
            for p in fit.result.passes
        ],
    )
    warehouse.store(conn, record)


def explain_create_model(conn: psycopg.Connection, stmt: CreateModel) -> list[str]:
    """EXPLAIN CREATE MODEL: the input query's plan under ``Train Model - <algorithm>``; stores nothing."""
    plan = _plan(conn, stmt)
    options = stmt.explain_options.strip()
    query = "EXPLAIN " + (options + " " if options else "") + plan.query
    with conn.cursor() as cur:
        cur.adapters.register_loader("json", TextLoader)  # FORMAT JSON as the server's text, not parsed
        cur.execute(query.encode())
        lines = [str(r[0]) for r in cur.fetchall()]
    head = f"Train Model - {plan.algorithm.name}"
    if len(lines) == 1 and "\n" in lines[0]:  # FORMAT JSON / XML / YAML: one document
        return [head, *lines]
    return [head] + [("  ->  " if i == 0 else "      ") + line for i, line in enumerate(lines)]


def drop_model(conn: psycopg.Connection, name: str, *, if_exists: bool = False) -> None:
    """DROP MODEL [IF EXISTS]; only the owner (or a member of the owning role) may drop."""
    warehouse.drop(conn, name, if_exists=if_exists)


def prediction_sql(conn: psycopg.Connection, model: str, features: Sequence[Any]) -> str:
    """The SQL expression that PREDICT BY ``model`` (FEATURES ...) becomes.

    Plain arithmetic with the stored weights, converted to the target's type as openGauss does
    (integer targets truncate toward zero). NULL features give NULL.
    """
    if not features:
        raise FeatureError("Innput features for the model not specified")
    return warehouse.prediction_sql(conn, model, [str(f) for f in features])


__all__ = ["create_model", "drop_model", "explain_create_model", "prediction_sql", "training_query"]
