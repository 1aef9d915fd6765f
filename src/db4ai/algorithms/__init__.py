"""The algorithm registry: openGauss's algorithm names and what db4ai implements of them.

Each entry is data: its name, whether it is supervised (needs FEATURES and one TARGET) and, when
db4ai implements it, its :class:`~db4ai.algorithms.base.Algorithm` (one module per algorithm,
honouring the contract in :mod:`db4ai.algorithms.base`). Adding an algorithm means adding a module
and naming its ``ALGORITHM`` here; the orchestration does not change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import FeatureError, InvalidParameter
from . import boosting, kmeans, linear_regression, logistic_regression, multiclass, pca, svm_classification
from .base import Algorithm


@dataclass(frozen=True)
class Registered:
    name: str
    supervised: bool
    algorithm: Algorithm | None = None  # None: an openGauss algorithm db4ai lacks yet


#: openGauss's registry (catalog/aifuncs.cpp), in its order.
REGISTRY: dict[str, Registered] = {
    r.name: r
    for r in (
        Registered("logistic_regression", True, logistic_regression.ALGORITHM),
        Registered("svm_classification", True, svm_classification.ALGORITHM),
        Registered("linear_regression", True, linear_regression.ALGORITHM),
        Registered("pca", False, pca.ALGORITHM),
        Registered("kmeans", False, kmeans.ALGORITHM),
        Registered("xgboost_regression_logistic", True, boosting.REGRESSION_LOGISTIC),
        Registered("xgboost_binary_logistic", True, boosting.BINARY_LOGISTIC),
        Registered("xgboost_regression_squarederror", True, boosting.REGRESSION_SQUAREDERROR),
        Registered("xgboost_regression_gamma", True, boosting.REGRESSION_GAMMA),
        Registered("multiclass", True, multiclass.ALGORITHM),
    )
}


def get(name: str) -> Registered:
    """The registered algorithm; ``Invalid ML algorithm '<name>'`` otherwise."""
    registered = REGISTRY.get(name)
    if registered is None:
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        raise InvalidParameter(f"Invalid ML algorithm '{name}'", hint=f"did you mean '{close[0]}'?" if close else None)
    return registered


def implementation(registered: Registered) -> Algorithm:
    """What trains ``registered``; FeatureError for openGauss algorithms db4ai lacks."""
    if registered.algorithm is None:
        implemented = ", ".join(r.name for r in REGISTRY.values() if r.algorithm is not None)
        raise FeatureError(
            f"ML algorithm '{registered.name}' is not yet supported by db4ai",
            hint=f"db4ai implements: {implemented}",
        )
    return registered.algorithm


def load(algorithm: str) -> Algorithm:
    """The implementation that reads models stored by ``algorithm`` (gs_model_warehouse.modeltype)."""
    return implementation(get(algorithm))


__all__ = ["REGISTRY", "Algorithm", "Registered", "get", "implementation", "load"]
