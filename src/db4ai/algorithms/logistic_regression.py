"""logistic_regression: a binary classifier trained by openGauss's GD loop (algorithms/logregr.cpp).

Per batch of n rows (features x with the bias 1.0 last, target y = 0 for the first class, 1 for the
second): gradient ``Xᵀ(sigmoid(Xw) − y)``, test loss the mean cross-entropy
``−(y·log p + (1−y)·log(1−p))``. Classes: bool targets are [false, true]; otherwise the first value
in the scan is the first class (:mod:`db4ai.targets`). Prediction: ``sigmoid(x·w) < 0.5`` → the
first class, else the second (:mod:`db4ai.algorithms.classifier`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import classifier, gd, gd_input
from .base import Algorithm, TargetKind, Trained, TrainingData
from .hyperparameters import GD_SUPERVISED

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

NAME = "logistic_regression"
HYPERPARAMETERS = GD_SUPERVISED
KIND = classifier.LOGISTIC


def train(data: TrainingData) -> Trained:
    loss = gd.Loss(KIND.loss, low=KIND.low, high=KIND.high)
    store, reader, categories = classifier.read_rows(data, KIND, use_kernel=False, loss=loss)
    result = gd.run(data, store)
    total, confusion = store.scores(result.weights)
    assert data.target is not None
    model = classifier.BinaryModel(KIND, result.weights, categories, reader.n_inputs, data.target.column.type_oid)
    return classifier.trained(model, result, classifier.binary_scores(confusion, total, data.rows))


def load(data: ModelData) -> classifier.BinaryModel:
    weights, categories, n_inputs, _ = classifier.load_parts(data)
    return classifier.BinaryModel(KIND, weights, categories, n_inputs, data.output_oid)


ALGORITHM = Algorithm(
    name=NAME,
    target=TargetKind.BINARY,
    hyperparameters=HYPERPARAMETERS,
    check_input=gd_input.classification_input,
    train=train,
    load=load,
    max_categories=2,
)

__all__ = ["ALGORITHM", "HYPERPARAMETERS", "NAME", "load", "train"]
