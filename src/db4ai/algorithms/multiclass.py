"""multiclass: one-vs-all over the TARGET's classes (multiclass.cpp, optimizer_ova.cpp).

The classes are numbered in order of first appearance (any target type, :mod:`db4ai.targets`);
each batch trains one binary model per class in class order (target: the class against all
others), with ``classifier`` svm_classification (hinge, ``lambda``, svm's kernels) or
logistic_regression (no kernel: openGauss's logistic regression has none). The models share one
optimizer, as openGauss's do: one learning rate and, for ngd, one set of scales whose pass-0
rate N is accumulated once per class. A batch's test loss is the sum over the class models.

Prediction: the class whose model gives the highest score, where openGauss scores every model
with logistic regression's sigmoid rounded to a C float and the first of equal scores wins
(:func:`db4ai.algorithms.gd_kernels.ova_class`, ``db4ai_internal._ova_argmax`` in SQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import classifier, gd, gd_input
from .base import Algorithm, TargetKind, Trained, TrainingData
from .hyperparameters import MULTICLASS

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

NAME = "multiclass"
HYPERPARAMETERS = MULTICLASS


def _binary(hp: Mapping[str, Any]) -> classifier.Binary:
    return classifier.BINARY_KINDS[str(hp["classifier"])]


def train(data: TrainingData) -> Trained:
    hp = data.hyperparameters
    binary = _binary(hp)
    loss = gd.Loss(binary.loss, lam=float(hp["lambda"]), low=binary.low, high=binary.high, models=1)
    store, reader, categories = classifier.read_rows(data, None, use_kernel=binary is classifier.SVM, loss=loss)
    store.loss = gd.Loss(binary.loss, lam=loss.lam, low=binary.low, high=binary.high, models=len(categories))
    result = gd.run(data, store)
    total, confusion = store.scores(result.weights)
    assert data.target is not None
    model = classifier.OneVsAll(binary, result.weights, categories, reader.n_inputs, data.target.column.type_oid,
                                reader.kernel)
    return classifier.trained(model, result, classifier.multiclass_scores(confusion, total, data.rows))


def load(data: ModelData) -> classifier.OneVsAll:
    weights, categories, n_inputs, kernel = classifier.load_parts(data)
    return classifier.OneVsAll(_binary(data.hyperparameters), weights, categories, n_inputs, data.output_oid, kernel)


ALGORITHM = Algorithm(
    name=NAME,
    target=TargetKind.CATEGORICAL,
    hyperparameters=HYPERPARAMETERS,
    check_input=gd_input.classification_input,
    train=train,
    load=load,
)

__all__ = ["ALGORITHM", "HYPERPARAMETERS", "NAME", "load", "train"]
