"""kmeans: openGauss's k-means (executor/algorithms/kmeans.cpp); the numerics are in :mod:`.kmeans_core`.

Input is one float8[] column (FEATURES optional: without it, the FROM list's only column). Each row
whose array is a 1-D float8 array of ``num_features`` values without NULLs is a point; any other
row (wrong length, a NULL element, not 1-D, a NULL array) is a *dead point*: it is not clustered,
it is counted once in ``discardedtuples``, and it predicts -1. ``num_features`` defaults to the
length of the first non-NULL array in scan order and is stored with the model, as openGauss does.

The warehouse row: ``processedtuples`` the valid points, ``discardedtuples`` the dead ones,
``iterations`` the Lloyd iterations run, one score named after the distance function holding the
objective (the sum over the points of the distance to their centroid). Prediction is the id of
the nearest centroid by the model's distance, an expression PostgreSQL inlines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import expr
from ..errors import DataError, InvalidParameter
from . import kmeans_core as core
from .base import Algorithm, InputColumn, Inputs, Signature, TargetKind, Trained, TrainingData
from .hyperparameters import INT4_MAX, Hyperparameter, Kind, float8_text

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

NAME = "kmeans"
FLOAT8_ARRAY, INT4 = 1022, 23

#: openGauss's kmeans_hyperparameter_definitions, in its order. num_features 0 means "the length of
#: the first array" (a value given must be at least 1).
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter("seeding_function", Kind.ENUM, "Random++", values=core.SEEDINGS),
    Hyperparameter("distance_function", Kind.ENUM, "L2_Squared", values=core.DISTANCES),
    Hyperparameter("verbose", Kind.INT4, 0, 0, True, 2, True),
    Hyperparameter("num_centroids", Kind.INT4, 1, 1, True, 1_000_000, True),
    Hyperparameter("max_iterations", Kind.INT4, 10, 1, True, 10000, True),
    Hyperparameter("num_features", Kind.INT4, 0, 1, True, INT4_MAX, True),
    Hyperparameter("batch_size", Kind.INT4, 1000, 1, True, 0x0FFFFF, True),
    Hyperparameter("seed", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("tolerance", Kind.FLOAT8, 0.00001, 0.0, False, 1.0, True),
)

NOT_AN_ARRAY = "k-means exec: data is not of type float8 (double precision) array"
MORE_THAN_ONE = ("k-means exec: relation should contain only a single attribute "
                 "(point coordinates in a double precision array)")
PREDICT_ARGUMENTS = "k-means predict: only a single attribute containing the coordinates is accepted"
PREDICT_TYPE = "k-means predict: only double precision array of coordinates is accepted"


def check_input(target: InputColumn | None, features: Sequence[InputColumn]) -> Inputs:
    """openGauss's checks, in its order: the first column must be float8[], and the only one."""
    if not features or features[0].type_oid != FLOAT8_ARRAY:
        raise InvalidParameter(NOT_AN_ARRAY)
    if len(features) != 1:
        raise InvalidParameter(MORE_THAN_ONE)
    return Inputs((features[0],), array=True)


# -- the model ------------------------------------------------------------------------------------


def _distance(values: list[expr.Node], centroid: np.ndarray, kind: str) -> expr.Node:
    """The distance of the input point to one centroid, as openGauss's distance functions define it."""
    diffs = [expr.sub(v, expr.num(c)) for v, c in zip(values, centroid, strict=True)]
    if kind == "L1":
        return expr.add(*[expr.fn("abs", d) for d in diffs])
    if kind == "Linf":
        return expr.fn("greatest", *[expr.fn("abs", d) for d in diffs])
    squared = expr.add(*[expr.mul(d, d) for d in diffs])
    return expr.fn("sqrt", squared) if kind == "L2" else squared


@dataclass(frozen=True)
class KMeansModel:
    """Centroids (ids 1..k in row order) with the statistics of the last assignment."""

    centroids: np.ndarray
    sizes: np.ndarray
    objectives: np.ndarray
    min_distances: np.ndarray
    max_distances: np.ndarray
    avg_distances: np.ndarray
    std_distances: np.ndarray
    distance: str
    iterations: int

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "centroids": np.ascontiguousarray(self.centroids, dtype=np.float64),
            "sizes": np.asarray(self.sizes, dtype=np.int64),
            "objectives": np.asarray(self.objectives, dtype=np.float64),
            "min_distances": np.asarray(self.min_distances, dtype=np.float64),
            "max_distances": np.asarray(self.max_distances, dtype=np.float64),
            "avg_distances": np.asarray(self.avg_distances, dtype=np.float64),
            "std_distances": np.asarray(self.std_distances, dtype=np.float64),
        }

    def settings(self) -> dict[str, Any]:
        return {"distance_function": self.distance, "iterations": int(self.iterations),
                "n_inputs": int(self.centroids.shape[1])}

    def coefficients(self) -> None:
        return None

    def details(self) -> list[str]:
        """openGauss's explain lines: counts, then per centroid its id, size, coordinates and distances."""
        lines = [f"Actual number of centroids: {len(self.centroids)}", f"Number of iterations: {self.iterations}"]
        for c in range(len(self.centroids)):
            coords = ",".join(float8_text(float(v)) for v in self.centroids[c])
            lines += [f"ID: {c + 1}", f"Cluster size: {int(self.sizes[c])}", f"Coordinates: {{{coords}}}",
                      f"Objective function: {self.objectives[c]:.10f}",
                      f"Maximum cluster distance: {self.max_distances[c]:.10f}",
                      f"Minimum cluster distance: {self.min_distances[c]:.10f}",
                      f"Average cluster distance: {self.avg_distances[c]:.10f}",
                      f"Standard deviation of cluster distances: {self.std_distances[c]:.10f}"]
        return lines

    def prediction(self, signature: Signature) -> dict[str, Any]:
        """``CASE least(d1..dk) WHEN d1 THEN 1 ...`` (the first nearest centroid), -1 for a dead point."""
        n = self.centroids.shape[1]
        values = expr.inputs(n, True)
        dead = expr.integer(-1)
        nearest = expr.argmin([_distance(values, c, self.distance) for c in self.centroids],
                              [expr.integer(i + 1) for i in range(len(self.centroids))], dead)
        body = expr.case([(expr.is_null(expr.array_feature(1)), dead), (expr.not_(expr.array_ok(1, n)), dead),
                          (expr.holds_null(1), dead)], nearest)
        return expr.prediction("int4", body, messages={"arguments": PREDICT_ARGUMENTS, "type": PREDICT_TYPE})


def load(data: ModelData) -> KMeansModel:
    a, s = data.arrays, data.settings
    return KMeansModel(
        centroids=np.asarray(a["centroids"], dtype=np.float64), sizes=np.asarray(a["sizes"], dtype=np.int64),
        objectives=np.asarray(a["objectives"]), min_distances=np.asarray(a["min_distances"]),
        max_distances=np.asarray(a["max_distances"]), avg_distances=np.asarray(a["avg_distances"]),
        std_distances=np.asarray(a["std_distances"]), distance=str(s["distance_function"]),
        iterations=int(s["iterations"]))


# -- training -------------------------------------------------------------------------------------


def read_points(data: TrainingData, width: int) -> core.Points:
    """Every row with its array present, in scan order: the valid points and which rows are dead."""
    points: list[np.ndarray] = []
    dead: list[np.ndarray] = []
    for values in data.chunks(points=width):
        flags = values[:, 0] != 0
        dead.append(flags)
        points.append(values[~flags, 1:] if flags.any() else values[:, 1:])
    X = np.ascontiguousarray(np.concatenate(points)) if points else np.zeros((0, width))
    flags = np.concatenate(dead) if dead else np.zeros(0, dtype=bool)
    return core.Points(X, flags, data.discarded - int(flags.sum()))


def train(data: TrainingData) -> Trained:
    hp = data.hyperparameters
    verbose = int(hp["verbose"])
    given = int(hp["num_features"])
    started = time.monotonic()
    width = given if given > 0 else (data.first_array_length() or 0)
    if width < 1:  # no rows, or the first array is empty: no row can be a point
        raise DataError(core.NO_POINTS)
    points = read_points(data, width)
    for line in core.initial_statistics(width, data.rows, data.discarded, time.monotonic() - started, verbose):
        data.notice(line)
    if data.rows == 0:
        raise DataError(core.NO_POINTS)
    settings = core.Settings(
        num_centroids=int(hp["num_centroids"]), distance=str(hp["distance_function"]),
        seeding=str(hp["seeding_function"]), max_iterations=int(hp["max_iterations"]),
        tolerance=float(hp["tolerance"]), seed=int(hp["seed"]), verbose=verbose, batch_size=int(hp["batch_size"]))
    result = core.fit(points, settings, notice=data.notice, initial_seconds=time.monotonic() - started)
    model = KMeansModel(result.centroids, result.sizes, result.objectives, result.min_distances,
                        result.max_distances, result.avg_distances, result.std_distances, settings.distance,
                        result.iterations)
    return Trained(model=model, iterations=result.iterations, scores={settings.distance: result.objective},
                   hyperparameters={"num_features": width})


ALGORITHM = Algorithm(
    name=NAME,
    target=TargetKind.NONE,
    hyperparameters=HYPERPARAMETERS,
    check_input=check_input,
    train=train,
    load=load,
    output_oid=INT4,
)

__all__ = ["ALGORITHM", "HYPERPARAMETERS", "MORE_THAN_ONE", "NAME", "NOT_AN_ARRAY", "KMeansModel", "check_input",
           "load", "train"]
