"""svm_classification: a binary support vector machine trained by openGauss's GD loop (svm.cpp).

Per batch (features with the bias 1.0 last, target y = −1 for the first class, +1 for the second):
for the rows with ``1 − y·(x·w) > 0`` the gradient gathers ``−y·x``, then is scaled by
``2·lambda``; the test loss is the mean hinge ``max(0, 1 − y·x·w)``. With ``kernel`` gaussian or
polynomial the inputs first go through openGauss's random feature map
(:mod:`db4ai.algorithms.random_features`, ``components`` features drawn from ``seed``), at
training and in the PREDICT BY expression. Prediction: ``x·w <= 0`` → the first class, else the
second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import classifier, gd, gd_input
from .base import Algorithm, TargetKind, Trained, TrainingData
from .hyperparameters import SVM_CLASSIFICATION

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

NAME = "svm_classification"
HYPERPARAMETERS = SVM_CLASSIFICATION
KIND = classifier.SVM


def train(data: TrainingData) -> Trained:
    hp = data.hyperparameters
    loss = gd.Loss(KIND.loss, lam=float(hp["lambda"]), low=KIND.low, high=KIND.high)
    store, reader, categories = classifier.read_rows(data, KIND, use_kernel=True, loss=loss)
    result = gd.run(data, store)
    total, confusion = store.scores(result.weights)
    assert data.target is not None
    model = classifier.BinaryModel(KIND, result.weights, categories, reader.n_inputs, data.target.column.type_oid,
                                   reader.kernel)
    return classifier.trained(model, result, classifier.binary_scores(confusion, total, data.rows))


def load(data: ModelData) -> classifier.BinaryModel:
    weights, categories, n_inputs, kernel = classifier.load_parts(data)
    return classifier.BinaryModel(KIND, weights, categories, n_inputs, data.output_oid, kernel)


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
