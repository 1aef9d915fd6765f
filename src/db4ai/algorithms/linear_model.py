"""The linear model ``x·w + bias`` that both linear_regression trainers produce (openGauss's GD/NGD
loop, :mod:`.linear_regression`; db4ai's exact solver, :mod:`.least_squares`), and its prediction
converted to the TARGET's type as openGauss does (integer targets truncate toward zero, bool is
``<> 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import expr
from .base import Signature

#: The SQL type predictions have, by TARGET type (openGauss's db4ai_predict_by_<type>; int2 -> int4).
PREDICTION_TYPES = {16: "boolean", 21: "int4", 23: "int4", 20: "int8", 700: "float4", 701: "float8", 1700: "numeric"}


@dataclass(frozen=True)
class LinearModel:
    """``x·w + bias``; ``weights`` holds the feature weights then the bias."""

    weights: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": np.asarray(self.weights, dtype=np.float64)}

    def settings(self) -> dict[str, Any]:
        return {}

    def coefficients(self) -> np.ndarray:
        return self.weights

    def details(self) -> list[str]:
        return []  # "weights: {...}" comes from the coefficients column

    def prediction(self, signature: Signature) -> dict[str, Any] | None:
        returns = PREDICTION_TYPES.get(signature.output_oid)
        if returns is None:
            return None
        w = self.weights
        value = expr.dot(expr.inputs(signature.n_inputs, signature.array), w[:-1], w[-1])
        if signature.array:
            value = expr.guard_array(signature.n_inputs, value, null_result=expr.null("float8"))
        if returns == "float8":
            converted = value
        elif returns == "boolean":
            converted = expr.cmp("<>", value, expr.num(0.0))
        elif returns in ("float4", "numeric"):
            converted = expr.cast(returns, value)
        else:  # integers: C's cast truncates toward zero
            converted = expr.cast(returns, expr.fn("trunc", value))
        return expr.prediction(returns, converted)


__all__ = ["PREDICTION_TYPES", "LinearModel"]
