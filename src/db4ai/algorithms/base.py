"""The contract every algorithm honours; the orchestration (:mod:`db4ai.models`) knows nothing else.

An algorithm module exposes one :class:`Algorithm` value, ``ALGORITHM``: its name, the kind of
TARGET it takes, its hyperparameter table (data, with openGauss's texts), and three functions:

* ``check_input(target, features)`` -- openGauss's input checks on the training query's columns
  (types only, before any row is read); returns the accepted :class:`Inputs`;
* ``train(data)`` -- trains from a :class:`TrainingData` (rows in scan order through
  :mod:`db4ai.data`, or the query itself for algorithms that compute in SQL) and returns a
  :class:`Trained`: the :class:`Model`, iterations, scores of the stored model, a per-pass log;
  an algorithm that computes in SQL reports the rows it used with ``data.counted`` and may name the
  statement it runs (``statement(data)``) so that EXPLAIN CREATE MODEL shows that statement's plan;
* ``load(model_data)`` -- the :class:`Model` back from its stored numbers (no pickle).

A :class:`Model` serialises to named arrays and JSON settings, writes its own gs_explain_model
lines, and assembles its prediction as an expression tree (:mod:`db4ai.expr`) that the one SQL
printer turns into PREDICT BY and the generated ``db4ai.<model>_pred`` function.

Targets are encoded before the algorithm sees them: continuous targets as float64; binary and
categorical ones as the class number 0, 1, ... in the order the classes first appear in the scan
(bool: false = 0, true = 1), with :attr:`Target.categories` holding each class's PostgreSQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .hyperparameters import Hyperparameter, Value

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

    from ..warehouse import ModelData
    from .optim import PassRecord

ARRAY_OIDS = frozenset({1021, 1022})  # float4[], float8[]


class TargetKind(Enum):
    """What TARGET an algorithm takes (spec §3.4)."""

    CONTINUOUS = "continuous"  # numeric, predicted in its own type
    BINARY = "binary"  # two classes: bool is [false, true], otherwise in order of appearance
    CATEGORICAL = "categorical"  # any number of classes, in order of appearance, any type
    NONE = "none"  # unsupervised: no TARGET clause


@dataclass(frozen=True)
class InputColumn:
    """A column of the training query: its label and PostgreSQL type OID."""

    name: str
    type_oid: int


@dataclass(frozen=True)
class Inputs:
    """The accepted feature columns: scalars, or exactly one float array whose elements are the inputs."""

    columns: tuple[InputColumn, ...]
    array: bool = False

    @property
    def oids(self) -> tuple[int, ...]:
        return tuple(c.type_oid for c in self.columns)


@dataclass(frozen=True)
class Signature:
    """What a prediction expression is written against."""

    n_inputs: int  # values per row: scalar features, or the elements of the one array feature
    array: bool  # the inputs are the elements of array feature 1
    output_oid: int  # the type predictions have (the target's type for supervised models)


@dataclass(frozen=True)
class Target:
    """The TARGET column and, for classification, the classes (index = encoded value)."""

    column: InputColumn
    categories: tuple[str, ...] | None = None  # PostgreSQL text of each class


class TrainingData(Protocol):
    """What an algorithm trains from (implemented by the orchestration)."""

    conn: psycopg.Connection
    query: str  # SELECT "target", "f1", ... FROM ...: the target (if any) first, encoded as above
    inputs: Inputs
    target: Target | None
    start: float  # time.monotonic() when training began (for max_seconds)
    feature_names: tuple[str, ...]  # the FEATURES items as the user named them (the query says f1, f2, ...)

    @property
    def hyperparameters(self) -> Mapping[str, Value]:
        """The validated hyperparameters, defaults filled in."""

    def chunks(self, *, points: int | None = None, missing: str = "discard") -> Iterator[np.ndarray]:
        """float64 rows ``[target, x1..xk]`` (no target column when unsupervised) in scan order, a chunk
        at a time (bounded memory). Rows with a NULL value are left out and counted in
        :attr:`discarded`. May be called again for another pass over the rows.

        ``missing="nan"``: a NULL (or NaN) scalar feature comes as NaN instead, for algorithms that
        treat it as a missing value; rows with a NULL target are still left out and counted.

        ``points=w`` (one array feature, unsupervised): every row whose array is not NULL comes as
        ``[dead, x1..xw]``: ``dead`` 0 for a 1-D array of ``w`` elements without NULLs, else 1 with
        ``w`` zeros (a "dead point", kept in its place in the scan); :attr:`rows` then counts the
        valid points and :attr:`discarded` the NULL arrays and the dead points."""
        ...

    def first_array_length(self) -> int | None:
        """Elements of the first non-NULL array of the one array feature, in scan order (None: no row)."""
        ...

    @property
    def rows(self) -> int:
        """Rows yielded by the last complete pass of :meth:`chunks`."""
        ...

    @property
    def discarded(self) -> int:
        """Rows left out by the last complete pass of :meth:`chunks`."""
        ...

    def counted(self, rows: int, discarded: int) -> None:
        """For algorithms that compute in SQL instead of reading :meth:`chunks`: the rows their statement
        used and the rows it left out for NULLs (they become :attr:`rows` and :attr:`discarded`)."""
        ...

    def notice(self, message: str) -> None:
        """Send a NOTICE to the client (verbose training output, openGauss's texts)."""
        ...

    def progress(self, record: PassRecord) -> None:
        """Report a finished pass (the training log, progress bars, the run registry)."""
        ...


class Model(Protocol):
    """A trained model: numbers, settings, explain lines and its prediction."""

    def arrays(self) -> dict[str, np.ndarray]:
        """The model's numbers, stored in modeldata."""
        ...

    def settings(self) -> dict[str, Any]:
        """JSON-able settings stored in modeldata (kernel parameters, categories, ...)."""
        ...

    def coefficients(self) -> np.ndarray | None:
        """Linear models: weights with the bias last (gs_model_warehouse.coefficients); else None."""
        ...

    def details(self) -> list[str]:
        """gs_explain_model's lines after the hyperparameters and scores (``"label: value"``)."""
        ...

    def prediction(self, signature: Signature) -> dict[str, Any] | None:
        """The prediction as :func:`db4ai.expr.prediction`; None when it cannot be predicted in SQL."""
        ...


@dataclass(frozen=True)
class Trained:
    """What training produced."""

    model: Model
    iterations: int
    scores: dict[str, float]  # of the stored model over all processed rows (DESIGN §3 item 5)
    log: tuple[PassRecord, ...] = ()  # one per pass (gs_model_training_log)
    diverged: bool = False  # non-finite weights: openGauss's NOTICE, a Python warning, an explain line
    hyperparameters: Mapping[str, Value] | None = None  # values settled by training (kmeans's inferred num_features)


@dataclass(frozen=True)
class Algorithm:
    """One algorithm: the registry entry and everything the orchestration calls."""

    name: str
    target: TargetKind
    hyperparameters: tuple[Hyperparameter, ...]
    check_input: Callable[[InputColumn | None, Sequence[InputColumn]], Inputs]
    train: Callable[[TrainingData], Trained]
    load: Callable[[ModelData], Model]
    output_oid: int | None = None  # the type of predictions (None: the target's; unsupervised must say)
    max_categories: int | None = None  # BINARY: 2
    #: For training that computes in SQL: the statement ``train`` runs for this data and these
    #: hyperparameters (EXPLAIN CREATE MODEL shows its plan); None, or returning None: ``train``
    #: reads the rows of ``data.query``. It sees the query and inputs, not the target's encoding.
    statement: Callable[[TrainingData], str | None] | None = None

    @property
    def supervised(self) -> bool:
        return self.target is not TargetKind.NONE


__all__ = [
    "ARRAY_OIDS",
    "Algorithm",
    "InputColumn",
    "Inputs",
    "Model",
    "Signature",
    "Target",
    "TargetKind",
    "Trained",
    "TrainingData",
]
