"""The algorithm registry: openGauss's algorithm names and what db4ai implements of them.

Each entry is data: its name, whether it is supervised (needs FEATURES and one TARGET) and, when
db4ai implements it, the module with its hyperparameter table and trainer. Adding an algorithm
means adding a module and setting ``implementation`` here; the training loop does not change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import ModuleType

from ..errors import FeatureError, InvalidParameter
from . import linear_regression


@dataclass(frozen=True)
class Algorithm:
    name: str
    supervised: bool
    implementation: ModuleType | None = None  # None: an openGauss algorithm db4ai lacks yet


#: openGauss's registry (catalog/aifuncs.cpp), in its order.
REGISTRY: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("logistic_regression", True),
        Algorithm("svm_classification", True),
        Algorithm("linear_regression", True, linear_regression),
        Algorithm("pca", False),
        Algorithm("kmeans", False),
        Algorithm("xgboost_regression_logistic", True),
        Algorithm("xgboost_binary_logistic", True),
        Algorithm("xgboost_regression_squarederror", True),
        Algorithm("xgboost_regression_gamma", True),
        Algorithm("multiclass", True),
    )
}


def get(name: str) -> Algorithm:
    """The registered algorithm; ``Invalid ML algorithm '<name>'`` otherwise."""
    algorithm = REGISTRY.get(name)
    if algorithm is None:
        close = difflib.get_close_matches(name, REGISTRY, n=1)
        raise InvalidParameter(f"Invalid ML algorithm '{name}'", hint=f"did you mean '{close[0]}'?" if close else None)
    return algorithm


def implementation(algorithm: Algorithm) -> ModuleType:
    """The module training ``algorithm``; FeatureError for openGauss algorithms db4ai lacks."""
    if algorithm.implementation is None:
        implemented = ", ".join(a.name for a in REGISTRY.values() if a.implementation is not None)
        raise FeatureError(
            f"ML algorithm '{algorithm.name}' is not yet supported by db4ai",
            hint=f"db4ai implements: {implemented}",
        )
    return algorithm.implementation


__all__ = ["REGISTRY", "Algorithm", "get", "implementation"]
