"""CREATE MODEL, EXPLAIN CREATE MODEL, PREDICT BY and DROP MODEL: the orchestration.

A CREATE MODEL flows one way (DESIGN §2), the same for every algorithm (each honours
:mod:`db4ai.algorithms.base`; nothing here knows an algorithm by name):

1. plan: check the statement (openGauss's texts), resolve the hyperparameters, build
   ``SELECT target, features FROM ...``;
2. inputs: the algorithm checks the query's column types; lineage (which snapshots it reads) is
   taken and those snapshots are held against PURGE until the model is stored;
3. target: classification targets are numbered in order of appearance (:mod:`db4ai.targets`);
4. train: the algorithm reads the rows through :mod:`db4ai.data` (NULL rows discarded and counted)
   and returns the model with its scores and per-pass log;
5. store: one transaction stores the model, its prediction expression and its training log.

Nothing is written before that transaction, so a training that fails or is interrupted leaves the
warehouse as it was.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from . import _lineage as lineage
from . import algorithms, runs, targets, warehouse
from .algorithms import hyperparameters as hyper
from .algorithms.base import Algorithm, InputColumn, Inputs, Signature, Target, TargetKind, Trained
from .algorithms.optim import PassRecord
from .dialect.statements import CreateModel
from .errors import DataError, FeatureError, InvalidParameter, TrainingWarning, from_server_error

if TYPE_CHECKING:  # pragma: no cover
    from .data import Cache

NAN_WARNING = "Training warning: weights are out of range, try again with another hyperparameter configuration"
DIVERGED_DETAIL = "warning: training diverged (weights out of range); predictions are not meaningful"


class Progress(Protocol):
    """Watches one CREATE MODEL while it trains (``db4ai sql`` draws it on a terminal). Called
    from the training, so each call must be quick; it sees what the training log records, nothing
    it could change. :func:`create_model` calls :meth:`start` once the statement is checked and
    :meth:`end` however the training ends."""

    def start(self, model: str, hyperparameters: Mapping[str, hyper.Value]) -> None:
        """Training of ``model`` begins, with these (resolved) hyperparameters."""

    def rows(self, read: int) -> None:
        """``read`` rows of the training data have been read so far, in the current scan."""

    def passed(self, record: PassRecord) -> None:
        """A training pass ended (the row gs_model_training_log gets)."""

    def end(self) -> None:
        """Training ended: stored, failed or cancelled."""


@dataclass(frozen=True)
class _Plan:
    """A checked CREATE MODEL: algorithm, hyperparameters and the training query."""

    algorithm: Algorithm
    hyperparameters: dict[str, hyper.Value]
    query: str


def _check_clauses(stmt: CreateModel, supervised: bool) -> None:
    """openGauss's parse-time rules for FEATURES and TARGET (spec §3.2)."""
    if stmt.features_star:
        raise InvalidParameter("FEATURES clause cannot be *")
    if stmt.target_star:
        raise InvalidParameter("TARGET clause cannot be *")
    if supervised:
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
    ours, so that every column has a distinct name. Without FEATURES (unsupervised algorithms
    only) the features are every column of the FROM list, as openGauss does.
    """
    items: list[sql.Composable] = []
    for item in stmt.target or ():
        items.append(sql.SQL("({}) AS {}").format(sql.SQL(item.sql), sql.Identifier("target")))
    for i, item in enumerate(stmt.features or (), start=1):
        items.append(sql.SQL("({}) AS {}").format(sql.SQL(item.sql), sql.Identifier(f"f{i}")))
    select = sql.SQL(", ").join(items) if items else sql.SQL("*")
    query = sql.SQL("SELECT {} FROM {}").format(select, sql.SQL(stmt.from_sql))
    return query.as_string(conn)


def _plan(conn: psycopg.Connection, stmt: CreateModel) -> _Plan:
    warehouse.check_name(stmt.name)
    registered = algorithms.get(stmt.algorithm)
    _check_clauses(stmt, registered.supervised)
    algorithm = algorithms.implementation(registered)
    values = hyper.resolve(algorithm.hyperparameters, stmt.params)
    return _Plan(algorithm, values, training_query(conn, stmt))


def _describe(conn: psycopg.Connection, query: str) -> list[InputColumn]:
    """Names and type OIDs of the training query's columns, without reading rows."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(sql.SQL(query)))
        return [InputColumn(d.name, int(d.type_code)) for d in cur.description or ()]


_SNAPSHOT_LOCK = sql.SQL("SELECT pg_advisory_lock_shared(hashtextextended('db4ai snapshot id ' || id, 0))"
                         " FROM unnest({}::int8[]) AS id ORDER BY id")


@contextmanager
def _holding_snapshots(session: psycopg.Connection, ids: Sequence[int]) -> Iterator[None]:
    """Hold the snapshots a training reads against PURGE until the model is stored.

    PURGE takes the same key exclusively (sql/snapshot/storage.sql ``_get_snapshot``), so it waits
    for this training, then finds the stored model and refuses; derivations take it shared and do
    not wait. The locks are taken on the training run's own session, which ends with the training
    however it ends (a lost client ends it too), so the caller's transaction state never matters.
    """
    if ids:
        session.execute(_SNAPSHOT_LOCK.format(sql.Literal(list(ids))))
    try:
        yield
    finally:
        if ids and not session.closed:
            session.execute("SELECT pg_advisory_unlock_all()")


@contextmanager
def _watched(progress: Progress | None, model: str, hyperparameters: Mapping[str, hyper.Value]) -> Iterator[None]:
    """``progress`` (if any) started for the training inside, and ended however it ends."""
    if progress is None:
        yield
        return
    progress.start(model, hyperparameters)
    try:
        yield
    finally:
        progress.end()


@dataclass
class _Training:
    """A :class:`~db4ai.algorithms.base.TrainingData`: the rows of one CREATE MODEL, read through
    :mod:`db4ai.data`, with the target encoded, NOTICEs and per-pass reports."""

    conn: psycopg.Connection
    query: str
    inputs: Inputs
    target: Target | None
    hyperparameters: dict[str, hyper.Value]
    start: float
    cache: Cache | None = None
    parallel: int | None = None
    encoder: targets.StreamEncoder | None = None
    on_pass: Callable[[PassRecord], None] | None = None
    on_rows: Callable[[int], None] | None = None
    feature_names: tuple[str, ...] = ()
    read_seconds: float = 0.0
    _rows: int = 0
    _discarded: int = 0
    _passes: list[PassRecord] = field(default_factory=list)

    def chunks(self, *, points: int | None = None, missing: str = "discard") -> Iterator[np.ndarray]:
        from . import data  # the data layer pulls in its own dependencies; load it when training

        started = time.monotonic()
        rows = discarded = 0
        query = self.query if points is None else data.points_query(self.conn, self.query, points)
        for chunk in data.stream_matrix(self.conn, query, cache=self.cache, parallel=self.parallel, missing=missing):
            discarded += chunk.discarded
            values = chunk.values
            if missing != "discard" and self.target is not None and len(values):
                unlabeled = np.isnan(values[:, 0])  # a NULL target is never a missing value
                if unlabeled.any():
                    discarded += int(np.count_nonzero(unlabeled))
                    values = values[~unlabeled]
            if self.encoder is not None and len(values):
                values = values.copy() if not values.flags.writeable else values
                values[:, 0] = self.encoder(values[:, 0])
            if points is not None:  # dead points count as discarded, not as processed rows
                dead = int(np.count_nonzero(values[:, 0]))
                discarded += dead
                rows -= dead
            rows += len(values)
            if self.on_rows is not None:
                self.on_rows(rows)
            yield values
        self._rows, self._discarded = rows, discarded
        self.read_seconds += time.monotonic() - started
        if self.encoder is not None and self.target is not None:
            self.target = Target(self.target.column, self.encoder.categories)

    def first_array_length(self) -> int | None:
        from . import data

        started = time.monotonic()
        try:
            return data.first_array_length(self.conn, self.query)
        finally:
            self.read_seconds += time.monotonic() - started

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def discarded(self) -> int:
        return self._discarded

    def counted(self, rows: int, discarded: int) -> None:
        self._rows, self._discarded = rows, discarded

    def notice(self, message: str) -> None:
        self.conn.execute("SELECT db4ai.notice(%s)", (message,))

    def progress(self, record: PassRecord) -> None:
        self._passes.append(record)
        if self.on_pass is not None:
            self.on_pass(record)


def create_model(
    conn: psycopg.Connection,
    stmt: CreateModel,
    *,
    cache: Cache | None = None,
    parallel: int | None = None,
    on_pass: Callable[[PassRecord], None] | None = None,
    progress: Progress | None = None,
) -> None:
    """Train the model of a CREATE MODEL statement and store it.

    Raises db4ai errors with openGauss's texts for bad statements and inputs. ``on_pass`` is
    called after every training pass (an exception there aborts training, storing nothing);
    ``progress`` watches the rows read and the passes (:class:`Progress`).
    ``parallel``: connections reading the rows (None: the ``db4ai.parallel`` setting, else automatic;
    :func:`db4ai.data.resolve_parallel`); :mod:`db4ai.data` uses the extra ones for a plain or
    distributed table read outside a transaction (all on one exported snapshot).
    """
    plan = _plan(conn, stmt)
    algorithm = plan.algorithm
    if not stmt.replace and warehouse.exists(conn, stmt.name):
        raise warehouse.exists_error(stmt.name)
    hp = dict(plan.hyperparameters)
    if "seed" in hp:
        hp["seed"] = hyper.effective_seed(int(hp["seed"]))
    target_column, inputs = _inputs(conn, plan)
    snapshot_ids = lineage.snapshot_ids(conn, plan.query)
    with _watched(progress, stmt.name, hp), \
            runs.start(conn, stmt.name, kind="create_model", params=hp, source=plan.query,
                       snapshot_ids=snapshot_ids) as run, _holding_snapshots(run.session, snapshot_ids):

        def logged(record: PassRecord) -> None:
            run.log(record.pass_no, loss=record.loss, delta_loss=record.delta_loss,
                    learning_rate=record.learning_rate)
            if on_pass is not None:
                on_pass(record)
            if progress is not None:
                progress.passed(record)

        encoding = targets.encode(conn, plan.query, algorithm.target, target_column, inputs.columns,
                                  algorithm.max_categories)
        training = _Training(
            conn=conn, query=encoding.query, inputs=inputs,
            target=None if target_column is None else Target(target_column, encoding.categories),
            hyperparameters=hp, start=time.monotonic(), cache=cache, parallel=parallel,
            encoder=encoding.encoder, on_pass=logged, on_rows=progress.rows if progress is not None else None,
            feature_names=_feature_names(stmt, inputs),
        )
        trained = algorithm.train(training)
        if training.rows == 0:
            raise DataError("Input data is empty")
        if training.target is not None and algorithm.target in (TargetKind.BINARY, TargetKind.CATEGORICAL):
            targets.check_count(training.target.categories or ())
        record = _record(stmt, plan, training, trained, snapshot_ids)
        with conn.transaction():  # the model and its run's success commit together
            warehouse.store(conn, record, replace=stmt.replace)
            run.succeed(conn, model=stmt.name, rows_read=training.rows)


def _inputs(conn: psycopg.Connection, plan: _Plan) -> tuple[InputColumn | None, Inputs]:
    """The TARGET column (supervised) and the accepted features of the training query."""
    algorithm = plan.algorithm
    columns = _describe(conn, plan.query)
    target_column = columns[0] if algorithm.supervised else None
    return target_column, algorithm.check_input(target_column, columns[1:] if algorithm.supervised else columns)


def _record(stmt: CreateModel, plan: _Plan, training: _Training, trained: Trained,
            snapshot_ids: Sequence[int]) -> warehouse.ModelRecord:
    """The warehouse row of a trained model."""
    algorithm = plan.algorithm
    hp = training.hyperparameters
    inputs = training.inputs
    output_oid = algorithm.output_oid if algorithm.output_oid is not None else (
        training.target.column.type_oid if training.target is not None else None)
    assert output_oid is not None, "an unsupervised algorithm declares the type of its predictions"
    hp = {**hp, **(trained.hyperparameters or {})}  # what training settled (an inferred dimension)
    model = trained.model
    details = list(model.details())
    scores = dict(trained.scores)
    diverged = trained.diverged or not np.all(np.isfinite(warehouse.float4_values(list(scores.values()))))
    if diverged:
        training.notice(NAN_WARNING)  # openGauss stores the model anyway, with this notice
        warnings.warn(f'model "{stmt.name}": {NAN_WARNING}', TrainingWarning, stacklevel=3)
        details.append(DIVERGED_DETAIL)
    n_inputs = _n_inputs(model, inputs)
    signature = Signature(n_inputs=n_inputs, array=inputs.array, output_oid=output_oid)
    table = algorithm.hyperparameters
    data = warehouse.ModelData(
        algorithm=algorithm.name,
        feature_names=_feature_names(stmt, inputs),
        feature_oids=inputs.oids,
        output_oid=output_oid,
        hyperparameters={k: hp[k] for k in (h.name for h in table)},
        arrays=model.arrays(),
        settings={**model.settings(), "n_inputs": n_inputs,
                  **({"categories": list(training.target.categories)} if training.target and training.target.categories else {})},
    )
    exec_seconds = max(0.0, time.monotonic() - training.start - training.read_seconds)
    return warehouse.ModelRecord(
        name=stmt.name,
        algorithm=algorithm.name,
        query=stmt.text,
        data=data,
        processed=training.rows,
        discarded=training.discarded,
        preprocess_time=training.read_seconds,
        exec_time=exec_seconds,
        iterations=trained.iterations,
        hyperparameter_names=[h.name for h in table],
        hyperparameter_values=hyper.texts(table, hp),
        hyperparameter_oids=[h.kind.oid for h in table],
        score_names=list(scores),
        score_values=list(scores.values()),
        prediction=_with_target(model.prediction(signature), stmt, algorithm, training.target),
        coefficients=model.coefficients(),
        details=details,
        snapshot_ids=snapshot_ids,
        log=[warehouse.PassRow(p.pass_no, p.loss, p.delta_loss, p.learning_rate, p.elapsed) for p in trained.log],
    )


def _with_target(prediction: dict[str, Any] | None, stmt: CreateModel, algorithm: Algorithm,
                 target: Target | None) -> dict[str, Any] | None:
    """The stored prediction with what it predicts, for db4ai.evaluate_model: the columns an
    evaluation relation must have (the FEATURES and TARGET items' names: alias, else the column
    referenced, else the expression text), how it is evaluated (the algorithm's target kind) and,
    for binary classifiers, the positive class (the second one, as openGauss counts it)."""
    if prediction is None or target is None or not stmt.target:
        return prediction
    about: dict[str, Any] = {"column": stmt.target[0].output_name, "kind": algorithm.target.value,
                             "features": [item.output_name for item in stmt.features or ()]}
    if algorithm.target is TargetKind.BINARY and target.categories and len(target.categories) == 2:
        about["positive"] = target.categories[1]
    return {**prediction, "target": about}


def _feature_names(stmt: CreateModel, inputs: Inputs) -> tuple[str, ...]:
    """The FEATURES items as the user named them (alias, column, expression text)."""
    return tuple(item.label for item in stmt.features) if stmt.features else tuple(c.name for c in inputs.columns)


def _n_inputs(model: Any, inputs: Inputs) -> int:
    """Values a prediction reads: scalar features, or the elements of the one array feature (the
    model's own ``n_inputs`` setting, else its linear coefficients less the bias)."""
    if not inputs.array:
        return len(inputs.columns)
    settings = model.settings()
    if "n_inputs" in settings:
        return int(settings["n_inputs"])
    return len(model.coefficients()) - 1


def explain_create_model(conn: psycopg.Connection, stmt: CreateModel) -> list[str]:
    """EXPLAIN CREATE MODEL: the input query's plan under ``Train Model - <algorithm>`` (for training that
    computes in SQL, the plan of the statement it runs); stores nothing."""
    plan = _plan(conn, stmt)
    statement = plan.query
    if plan.algorithm.statement is not None:  # training computes in SQL: show the plan of what it runs
        target_column, inputs = _inputs(conn, plan)
        described = _Training(conn=conn, query=plan.query, inputs=inputs,
                              target=None if target_column is None else Target(target_column),
                              hyperparameters=dict(plan.hyperparameters), start=time.monotonic())
        statement = plan.algorithm.statement(described) or plan.query
    options = stmt.explain_options.strip()
    query = "EXPLAIN " + (options + " " if options else "") + statement
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
    warehouse.check_name(name)
    warehouse.drop(conn, name, if_exists=if_exists)


def load_model(conn: psycopg.Connection, name: str) -> Any:
    """A stored model as an object of the library that trained it, where there is one (xgboost_*: an
    ``xgboost.Booster``, to predict, dump or export with XGBoost's own tools); otherwise db4ai's model
    object (its ``arrays()``, ``settings()``, ``details()``). Reads no pickle."""
    stored = warehouse.load(conn, name)
    model = algorithms.load(stored.algorithm).load(stored.data)
    native = getattr(model, "native", None)
    return native() if callable(native) else model


def evaluate_call(model: str, relation: str) -> tuple[sql.SQL, list[str]]:
    """EVALUATE MODEL ``model`` FROM ``relation``: the db4ai.evaluate_model call and its parameters
    (the metrics are computed in PostgreSQL; see sql/model/evaluate.sql)."""
    warehouse.check_name(model)
    return sql.SQL("SELECT * FROM db4ai.evaluate_model(%s, %s)"), [model, relation]


def evaluate(conn: psycopg.Connection, model: str, relation: str) -> list[tuple[str, float | None, str | None, str | None]]:
    """The rows of db4ai.evaluate_model (metric, value, actual, predicted) for ``relation``, a
    relation name or ``name@version``."""
    query, params = evaluate_call(model, relation)
    try:
        return conn.execute(query, params).fetchall()
    except psycopg.Error as exc:
        translated = from_server_error(exc)
        if translated is None:
            raise
        raise translated from exc


def prediction_sql(conn: psycopg.Connection, model: str, features: Sequence[Any]) -> str:
    """The SQL expression that PREDICT BY ``model`` (FEATURES ...) means, over the feature texts."""
    if not features:
        raise FeatureError("Innput features for the model not specified")
    warehouse.check_name(model)
    return warehouse.prediction_sql(conn, model, [str(f) for f in features])


def predict_by_sql(conn: psycopg.Connection, model: str, features: Sequence[Any]) -> str:
    """What PREDICT BY ``model`` (FEATURES ...) becomes in a query: a call of the model's generated
    function, which PostgreSQL inlines (same value as :func:`prediction_sql`)."""
    if not features:
        raise FeatureError("Innput features for the model not specified")
    warehouse.check_name(model)
    return warehouse.predict_call_sql(conn, model, [str(f) for f in features])


__all__ = ["create_model", "drop_model", "evaluate", "evaluate_call", "explain_create_model", "load_model",
           "predict_by_sql", "prediction_sql", "training_query"]
