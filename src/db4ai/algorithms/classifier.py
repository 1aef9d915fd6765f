"""What openGauss's gradient-descent classifiers share (logistic_regression, svm_classification,
multiclass): training binary models over the rows (optionally through svm's random features),
their scores, explain lines and PREDICT BY expressions.

A binary model decides from its margin ``m = x·w`` (bias last):

* logistic regression: ``1/(1+exp(−m)) < 0.5`` → the first class, else the second
  (logregr.cpp; at m = 0 the sigmoid is exactly 0.5: the second class);
* svm: ``m <= 0`` → the first class, else the second (svm.cpp; at m = 0: the first class).

The PREDICT BY expression computes that in SQL. PostgreSQL's ``exp`` raises an error where C
returns 0 or infinity, so the logistic sigmoid is taken of ``tanh(m)`` instead of m: it has m's
sign, stays within [−1, 1], equals m near 0 (so m = 0 and the margins whose sigmoid still rounds
to 0.5 decide as in C) and keeps NULL and NaN (NaN: the second class, as in C). Classes come back
in the TARGET's type (int2 as int4, openGauss's db4ai_predict_by_int32); a NULL input gives NULL.

Scores describe the stored weights over all processed rows (DESIGN §3 item 5): binary models use
openGauss's formulas (positive = the second class; precision, recall, f1 omitted when undefined);
one-vs-all, which openGauss leaves without counts, reports accuracy and scikit-learn's macro
averages over the classes seen (a class never predicted has no precision and is left out of its
average, as with ``zero_division=nan``). ``loss`` is the mean over rows of each row's loss
(cross-entropy computed stably; for one-vs-all summed over the class models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import expr
from ..errors import DataError
from . import gd, random_features
from .base import Signature, Trained, TrainingData
from .hyperparameters import float8_text

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

BOOL, INT2 = 16, 21
TOO_FEW = "At least two categories are needed"


@dataclass(frozen=True)
class Binary:
    """A binary model kind: its loss and the two class values its targets take."""

    name: str
    loss: int  # gd.LOGISTIC | gd.HINGE
    low: float
    high: float


LOGISTIC = Binary("logistic_regression", gd.LOGISTIC, 0.0, 1.0)
SVM = Binary("svm_classification", gd.HINGE, -1.0, 1.0)
BINARY_KINDS = {b.name: b for b in (LOGISTIC, SVM)}


# -- training -----------------------------------------------------------------------------------------


def kernel_for(hp: dict[str, Any] | Any, n_inputs: int) -> random_features.Kernel | None:
    """svm's random feature map for ``n_inputs`` features, or None for the linear kernel."""
    kernel = hp.get("kernel", "linear")
    if kernel == "gaussian":
        return random_features.Gaussian.draw(n_inputs, int(hp["components"]), float(hp["gamma"]), int(hp["seed"]))
    if kernel == "polynomial":
        return random_features.Polynomial.draw(n_inputs, int(hp["components"]), int(hp["degree"]),
                                               float(hp["coef0"]), int(hp["seed"]))
    return None


@dataclass
class _Reader:
    """Maps each chunk of rows ``[class, x]``: the class to the binary target value (or keeps the
    class number for one-vs-all), the inputs through the kernel drawn at the first chunk."""

    hp: Any
    binary: Binary | None  # None: one-vs-all, the class number stays
    use_kernel: bool
    kernel: random_features.Kernel | None = None
    n_inputs: int = 0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        x = values[:, 1:]
        if not self.n_inputs:
            self.n_inputs = x.shape[1]
            self.kernel = kernel_for(self.hp, self.n_inputs) if self.use_kernel else None
        if self.kernel is not None:  # the features go straight into the rows handed on
            out = np.empty((len(values), self.kernel.components + 1))
            self.kernel.transform(x, out[:, 1:])
        else:
            out = np.empty(values.shape)
            out[:, 1:] = x
        y = values[:, 0]
        out[:, 0] = y if self.binary is None else np.where(y == 0.0, self.binary.low, self.binary.high)
        return out


def read_rows(data: TrainingData, binary: Binary | None, *, use_kernel: bool,
              loss: gd.Loss) -> tuple[gd.RowBatches, _Reader, tuple[str, ...]]:
    """The rows batched for training, how they were mapped, and the classes (at least two)."""
    reader = _Reader(data.hyperparameters, binary, use_kernel)
    store = gd.read_batches(data, lambda k: gd.RowBatches(k, loss), reader)
    categories = tuple(data.target.categories or ()) if data.target is not None else ()
    if len(categories) < 2:
        raise DataError(TOO_FEW)
    return store, reader, categories  # type: ignore[return-value]


def binary_scores(confusion: np.ndarray, loss_total: float, rows: int) -> dict[str, float]:
    """openGauss's scores from the counts (gd_get_score), positive = the second class."""
    tn, fp = int(confusion[0, 0]), int(confusion[0, 1])
    fn, tp = int(confusion[1, 0]), int(confusion[1, 1])
    scores: dict[str, float] = {"accuracy": (tp + tn) / rows}
    has_p, has_r = tp + fp > 0, tp + fn > 0
    precision = tp / (tp + fp) if has_p else 0.0
    recall = tp / (tp + fn) if has_r else 0.0
    if (has_p and precision > 0) or (has_r and recall > 0):
        scores["f1"] = 2.0 * precision * recall / (precision + recall)
    if has_p:
        scores["precision"] = precision
    if has_r:
        scores["recall"] = recall
    scores["loss"] = loss_total / rows
    return scores


def multiclass_scores(confusion: np.ndarray, loss_total: float, rows: int) -> dict[str, float]:
    """Accuracy and scikit-learn's macro averages (``zero_division=nan``) over the classes seen."""
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    actual = confusion.sum(axis=1).astype(np.float64)
    seen = (predicted + actual) > 0
    scores: dict[str, float] = {"accuracy": float(tp.sum() / rows)}
    f1 = 2 * tp[seen] / (predicted[seen] + actual[seen])
    scores["f1"] = float(f1.mean())
    has_p, has_r = predicted > 0, actual > 0
    if has_p.any():
        scores["precision"] = float((tp[has_p] / predicted[has_p]).mean())
    if has_r.any():
        scores["recall"] = float((tp[has_r] / actual[has_r]).mean())
    scores["loss"] = loss_total / rows
    return scores


def trained(model: Any, result: Any, scores: dict[str, float]) -> Trained:
    return Trained(model=model, iterations=result.iterations, scores=scores, log=result.passes,
                   diverged=not bool(np.all(np.isfinite(result.weights))))


# -- explain lines ------------------------------------------------------------------------------------

_ARRAY_SPECIAL = set('{}",\\ \t\n\r\v\f')


def array_text(items: Sequence[str]) -> str:
    """PostgreSQL's text of a one-dimensional array of these element texts (array_out's quoting)."""
    out = []
    for item in items:
        if item == "" or item.upper() == "NULL" or any(ch in _ARRAY_SPECIAL for ch in item):
            item = '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(item)
    return "{" + ",".join(out) + "}"


def categories_line(categories: Sequence[str], output_oid: int) -> str:
    """openGauss's ``categories: {...}`` (an array of the target's type; bool prints f/t)."""
    if output_oid == BOOL:
        categories = ["t" if c == "true" else "f" if c == "false" else c for c in categories]
    return "categories: " + array_text(categories)


def weights_line(weights: np.ndarray) -> str:
    """``weights: {...}`` as PostgreSQL prints a float8 array (a matrix: one row per class)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 2:
        return "weights: {" + ",".join("{" + ",".join(float8_text(float(v)) for v in row) + "}" for row in w) + "}"
    return "weights: {" + ",".join(float8_text(float(v)) for v in w) + "}"


# -- prediction ---------------------------------------------------------------------------------------


def margin_nodes(weights: np.ndarray, signature: Signature, kernel: random_features.Kernel | None) -> list[expr.Node]:
    """``x·w + bias`` of each binary model (rows of ``weights``), over the kernel's features when
    there is one; an array feature is checked as openGauss checks it (NULL array: NULL)."""
    inputs = expr.inputs(signature.n_inputs, signature.array)
    features = kernel.nodes(inputs) if kernel is not None else inputs
    out = []
    for w in np.atleast_2d(weights):
        margin = expr.dot(features, [float(v) for v in w[:-1]], float(w[-1]))
        if signature.array:
            margin = expr.guard_array(signature.n_inputs, margin, null_result=expr.null("float8"))
        out.append(margin)
    return out


def positive_node(binary: Binary, margin: expr.Node) -> expr.Node:
    """True when the binary model predicts its second class (see the module docstring)."""
    if binary.loss == gd.HINGE:
        return expr.cmp(">", margin, expr.num(0.0))
    bounded = expr.fn("tanh", margin)  # same sign, |.| <= 1, equal to the margin near 0, NULL stays NULL
    sigmoid = expr.div(expr.num(1.0), expr.add(expr.num(1.0), expr.fn("exp", expr.neg(bounded))))
    return expr.cmp(">=", sigmoid, expr.num(0.5))


def class_prediction(index: expr.Node | None, categories: Sequence[str], output_oid: int,
                     positive: expr.Node | None = None) -> dict[str, Any]:
    """The class a classifier predicts, in the TARGET's type: the ``index``-th category (1-based),
    or for a binary model the second category when ``positive`` holds."""
    if positive is not None and output_oid == BOOL and tuple(categories) == ("false", "true"):
        return expr.prediction("boolean", positive)
    if index is None:
        assert positive is not None
        index = expr.add(expr.integer(1), expr.cast("int4", positive))
    if output_oid == INT2:
        return expr.prediction("int4", expr.pick(index, categories, "int4"))
    return expr.prediction("output", expr.pick(index, categories))


# -- models -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinaryModel:
    """A logistic regression or svm: weights (bias last) over the inputs or the kernel's features."""

    binary: Binary
    weights: np.ndarray
    categories: tuple[str, ...]
    n_inputs: int
    output_oid: int  # the TARGET's type
    kernel: random_features.Kernel | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"weights": np.asarray(self.weights, dtype=np.float64)}
        if self.kernel is not None:
            out.update(self.kernel.arrays())
        return out

    def settings(self) -> dict[str, Any]:
        return {"n_inputs": self.n_inputs}

    def coefficients(self) -> np.ndarray | None:
        """Linear in the inputs only without a kernel."""
        return self.weights if self.kernel is None else None

    def details(self) -> list[str]:
        lines = [] if self.kernel is None else [weights_line(self.weights)]  # else from the coefficients
        return lines + [categories_line(self.categories, self.output_oid)]

    def prediction(self, signature: Signature) -> dict[str, Any] | None:
        (margin,) = margin_nodes(self.weights, signature, self.kernel)
        return class_prediction(None, self.categories, signature.output_oid, positive_node(self.binary, margin))


@dataclass(frozen=True)
class OneVsAll:
    """multiclass: one binary model per class (rows of ``weights``); the class whose model scores
    highest wins, as openGauss's multiclass_predict decides (:func:`gd_kernels.ova_class`)."""

    binary: Binary
    weights: np.ndarray  # (classes, features + 1)
    categories: tuple[str, ...]
    n_inputs: int
    output_oid: int  # the TARGET's type
    kernel: random_features.Kernel | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"weights": np.asarray(self.weights, dtype=np.float64)}
        if self.kernel is not None:
            out.update(self.kernel.arrays())
        return out

    def settings(self) -> dict[str, Any]:
        return {"n_inputs": self.n_inputs}

    def coefficients(self) -> None:
        return None

    def details(self) -> list[str]:
        return [weights_line(self.weights), categories_line(self.categories, self.output_oid)]

    def prediction(self, signature: Signature) -> dict[str, Any] | None:
        margins = margin_nodes(self.weights, signature, self.kernel)
        index = expr.call("_ova_argmax", expr.array(margins))
        return class_prediction(index, self.categories, signature.output_oid)


def load_parts(data: ModelData) -> tuple[np.ndarray, tuple[str, ...], int, random_features.Kernel | None]:
    """Weights, categories, inputs and kernel of a stored classifier."""
    settings = data.settings
    weights = np.asarray(data.arrays["weights"], dtype=np.float64)
    kernel = random_features.load(dict(data.arrays))
    categories = tuple(str(c) for c in settings.get("categories", ()))
    n_inputs = int(settings.get("n_inputs", weights.shape[-1] - 1))
    return weights, categories, n_inputs, kernel


__all__ = [
    "BINARY_KINDS",
    "LOGISTIC",
    "SVM",
    "Binary",
    "BinaryModel",
    "OneVsAll",
    "array_text",
    "binary_scores",
    "categories_line",
    "class_prediction",
    "kernel_for",
    "load_parts",
    "margin_nodes",
    "multiclass_scores",
    "positive_node",
    "read_rows",
    "trained",
    "weights_line",
]
