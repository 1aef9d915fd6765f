"""A trained XGBoost booster as a db4ai model: stored in XGBoost's own UBJSON format (no pickle),
explained, and compiled to a plain SQL expression for PREDICT BY.

The expression is what ``Booster.predict`` computes, read from the booster's JSON dump:

* gbtree / dart: every tree becomes nested ``CASE`` over the feature expressions; the leaf values
  are summed (dart: each tree weighted by its ``weight_drop``, as XGBoost predicts with all trees)
  with the base margin;
* gblinear: ``bias + Σ wᵢ·xᵢ`` over the features that are not missing, plus the base margin;
* the objective's link turns the margin into the prediction: ``1/(1+exp(−s))`` for the logistic
  objectives, ``exp(s)`` for gamma, the margin itself for squared error.

XGBoost reads features as float32 and goes left when ``float32(x) < threshold`` (a float32), to the
tree's default branch when the value is missing (NULL, or NaN). SQL sees the float8 value; rounding
to float32 is monotonic, so ``float32(x) < t`` is ``x < m`` with ``m`` the float64 midpoint between
``t`` and the float32 below it (``x <= m`` when that midpoint rounds down to the lower one, i.e. when
``t``'s last mantissa bit is odd: round half to even). One float8 comparison per node, no cast (a
value beyond float4's range cannot fail), and the comparison is written so that NULL and NaN both
fall to the ELSE branch, which is the default one: ``x < m`` when the default goes right, ``−x <= −m``
(true only for a number ``x >= m``) when it goes left.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import expr
from ..errors import FeatureError
from .base import Signature

if TYPE_CHECKING:  # pragma: no cover
    import xgboost

FLOAT8 = 701

def _sigmoid(s: expr.Node) -> expr.Node:
    """``1/(1+exp(−s))``, the margin clamped to ±700: PostgreSQL's exp raises on overflow where C
    returns infinity, and beyond 700 the float32 probability is 0 or 1 either way."""
    clamped = expr.fn("least", expr.fn("greatest", s, expr.num(-700.0)), expr.num(700.0))
    return expr.div(expr.num(1.0), expr.add(expr.num(1.0), expr.fn("exp", expr.neg(clamped))))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


#: XGBoost objective -> (margin of a base_score, link from margin to prediction).
LINKS: dict[str, tuple[Callable[[float], float], Callable[[expr.Node], expr.Node]]] = {
    "reg:squarederror": (lambda p: p, lambda s: s),
    "reg:logistic": (_logit, _sigmoid),
    "binary:logistic": (_logit, _sigmoid),
    "reg:gamma": (math.log, lambda s: expr.fn("exp", s)),
}


def require_xgboost() -> Any:
    """The ``xgboost`` module; a clear error naming the extra when it is not installed."""
    try:
        import xgboost
    except ImportError:
        raise FeatureError("the xgboost_* algorithms need the xgboost package, which is not installed",
                           hint="pip install 'db4ai[xgboost]'") from None
    return xgboost


def split_test(value: expr.Node, threshold: float, default_left: bool) -> tuple[expr.Node, bool]:
    """A condition that is true for a number on the branch away from the default, false for NULL
    and NaN; and whether that branch is the left one (``float32(value) < threshold``)."""
    t = np.float32(threshold)
    below = np.nextafter(t, np.float32(-np.inf))
    if not np.isfinite(below):  # t = -FLT_MAX: only -inf is below, which float8 values reach as -inf
        m, strict = float(t), True
    else:
        m = (float(below) + float(t)) / 2.0  # exact in float64
        strict = int(t.view(np.uint32)) & 1 == 0  # a tie rounds to t (even): not below t
    if default_left:  # away from the default = right = float32(x) >= t: -x <= -m (or -x < -m)
        return expr.cmp("<=" if strict else "<", expr.neg(value), expr.num(-m)), False
    return expr.cmp("<" if strict else "<=", value, expr.num(m)), True


def tree_node(tree: dict[str, Any], values: Sequence[expr.Node], node: int = 0) -> expr.Node:
    """One tree of the JSON dump as nested CASE (leaf values in ``split_conditions``)."""
    left, right = tree["left_children"][node], tree["right_children"][node]
    if left == -1:
        return expr.num(float(np.float32(tree["split_conditions"][node])))
    cond, away_is_left = split_test(values[tree["split_indices"][node]], tree["split_conditions"][node],
                                    bool(tree["default_left"][node]))
    away, default = (left, right) if away_is_left else (right, left)
    return expr.case([(cond, tree_node(tree, values, away))], tree_node(tree, values, default))


def _base_score(model: dict[str, Any]) -> float:
    raw = model["learner"]["learner_model_param"]["base_score"]
    text = str(raw).strip("[]")  # XGBoost 3 writes a vector: "[5E-1]"
    return float(text.split(",")[0])


@dataclass
class BoostedModel:
    """A booster, in XGBoost's UBJSON bytes, with the names of its features."""

    raw: bytes
    feature_names: tuple[str, ...]
    _json: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _booster: xgboost.Booster | None = field(default=None, repr=False, compare=False)

    # -- what the warehouse keeps -------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        return {"booster": np.frombuffer(self.raw, dtype=np.uint8)}

    def settings(self) -> dict[str, Any]:
        return {"format": "xgboost-ubjson", "features": list(self.feature_names)}

    def coefficients(self) -> np.ndarray | None:
        return None

    def native(self) -> xgboost.Booster:
        """The library's own object (``db4ai.load_model``): predict, export, dump with XGBoost."""
        xgb = require_xgboost()
        booster = xgb.Booster()
        booster.load_model(bytearray(self.raw))
        return booster

    def dump(self) -> dict[str, Any]:
        """The booster as XGBoost's JSON model."""
        if self._json is None:
            self._json = json.loads(bytes(self._loaded().save_raw(raw_format="json")))
        return self._json

    def _loaded(self) -> xgboost.Booster:
        """The booster, loaded once for this model's own reading (dump, importance)."""
        if self._booster is None:
            self._booster = self.native()
        return self._booster

    # -- parts of the dump ----------------------------------------------------------------------------

    @property
    def booster(self) -> str:
        return str(self.dump()["learner"]["gradient_booster"]["name"])

    @property
    def objective(self) -> str:
        return str(self.dump()["learner"]["objective"]["name"])

    def trees(self) -> tuple[list[dict[str, Any]], list[float]]:
        """The trees and their weights (1 for gbtree; dart's ``weight_drop``)."""
        gb = self.dump()["learner"]["gradient_booster"]
        if gb["name"] == "dart":
            return gb["gbtree"]["model"]["trees"], [float(w) for w in gb["weight_drop"]]
        trees = gb["model"]["trees"]
        return trees, [1.0] * len(trees)

    def gain_importance(self) -> dict[str, float]:
        """Mean gain of each feature's splits, as ``Booster.get_score(importance_type="gain")``."""
        if self.booster == "gblinear":
            return {}
        scores = self._loaded().get_score(importance_type="gain")
        named: dict[str, float] = {}
        for key, score in scores.items():
            value = float(score[0] if isinstance(score, list) else score)
            index = int(key[1:]) if key.startswith("f") and key[1:].isdigit() else None
            named[self.feature_names[index] if index is not None and index < len(self.feature_names) else key] = value
        return named

    # -- explain and predict --------------------------------------------------------------------------

    def details(self) -> list[str]:
        # openGauss explains its model size (bytes) only; the booster is among the hyperparameters
        lines = [f"model size: {len(self.raw)}"]
        if self.booster == "gblinear":
            weights = self.dump()["learner"]["gradient_booster"]["model"]["weights"]
            lines.append("weights: {" + ",".join(repr(float(w)) for w in weights) + "}")
        else:
            lines.append(f"trees: {len(self.trees()[0])}")
            gains = self.gain_importance()
            order = [n for n in self.feature_names if n in gains] + [n for n in gains if n not in self.feature_names]
            lines.append("importance (gain): {" + ",".join(f"{n}: {gains[n]:.10f}" for n in order) + "}")
        return lines

    def margin(self, values: Sequence[expr.Node]) -> expr.Node:
        """The raw score: base margin plus the trees' leaves (or gblinear's weighted sum)."""
        to_margin, _ = LINKS[self.objective]
        base = to_margin(_base_score(self.dump()))
        if self.booster == "gblinear":
            weights = [float(np.float32(w)) for w in self.dump()["learner"]["gradient_booster"]["model"]["weights"]]
            terms: list[expr.Node] = []
            for value, w in zip(values, weights, strict=False):  # missing (NULL, NaN) adds nothing
                missing = expr.or_(expr.is_null(value), expr.cmp("=", value, expr.num(math.nan)))
                terms.append(expr.case([(missing, expr.num(0.0))], expr.mul(value, expr.num(w))))
            return expr.add_grouped([expr.num(base + weights[len(values)]), *terms])
        trees, weights = self.trees()
        parts = [tree_node(t, values) if w == 1.0 else expr.mul(expr.num(w), tree_node(t, values))
                 for t, w in zip(trees, weights, strict=True)]
        return expr.add_grouped([expr.num(base), *parts])

    def prediction(self, signature: Signature) -> dict[str, Any] | None:
        values = expr.inputs(signature.n_inputs, signature.array)
        _, link = LINKS[self.objective]
        return expr.prediction("float8", link(self.margin(values)))


def load_model(arrays: Mapping[str, np.ndarray], settings: Mapping[str, Any]) -> BoostedModel:
    """The model back from the warehouse (the bytes are only parsed by XGBoost, when used)."""
    return BoostedModel(bytes(np.asarray(arrays["booster"], dtype=np.uint8)), tuple(settings.get("features", ())))


__all__ = ["LINKS", "BoostedModel", "load_model", "require_xgboost", "split_test", "tree_node"]
