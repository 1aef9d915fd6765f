"""The xgboost_* algorithms: gradient-boosted trees trained by the XGBoost library, as openGauss does
(algorithms/xgboost/xgboost.cpp).

openGauss's loop, kept: the rows (float32 in XGBoost) come in scan order and are cut into batches of
``batch_size``; every batch adds ``n_iter`` boosting rounds to the same booster (the first batch starts
it, the next ones continue it). The score is the eval metric of the last round on the last batch;
``iterations`` is ``n_iter``. With ``eval_metric`` auc or aucpr, a batch with only positive or only
negative labels is openGauss's error. Predictions are float8, whatever the TARGET's type.

Deliberate differences (README "Differences from openGauss"): ``base_score`` is 0.5, as XGBoost 1.x
(which openGauss's outputs assume) defaulted to, where a modern XGBoost estimates it from the data;
only NULL (and NaN) is a missing value, where openGauss passes −1 as XGBoost's missing marker (so a
real −1 became missing) and drops rows with a NULL feature; ``min_child_weight`` is applied (openGauss
sets the misspelled ``min_child_wight``, which XGBoost ignores).

The rows travel from :mod:`db4ai.data` straight into an ``xgboost.DMatrix`` per batch (never pandas).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DataError, FeatureError, InvalidParameter
from .base import Algorithm, InputColumn, Inputs, TargetKind, Trained, TrainingData
from .boosting_trees import FLOAT8, BoostedModel, load_model, require_xgboost
from .gd_input import check_continuous_target, check_features
from .hyperparameters import DBL_MAX, INT4_MAX, Hyperparameter, Kind
from .optim import PassRecord

#: openGauss's xgboost_hyperparameter_definitions, in its order (ITER_MAX 10000, MAX_BATCH_SIZE 0xfffff).
HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    Hyperparameter("n_iter", Kind.INT4, 10, 1, True, 10000, True),
    Hyperparameter("batch_size", Kind.INT4, 10000, 1, True, 0x0FFFFF, True),
    Hyperparameter("max_depth", Kind.INT4, 5, 0, True, INT4_MAX, True),
    Hyperparameter("min_child_weight", Kind.INT4, 1, 0, True, INT4_MAX, True),
    Hyperparameter("gamma", Kind.FLOAT8, 0.0, 0.0, True, DBL_MAX, True),
    Hyperparameter("eta", Kind.FLOAT8, 0.3, 0.0, True, 1.0, True),
    Hyperparameter("nthread", Kind.INT4, 1, 0, True, 100, True),
    Hyperparameter("verbosity", Kind.INT4, 1, 0, True, 3, True),
    Hyperparameter("seed", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("booster", Kind.ENUM, "gbtree", values=("gbtree", "gblinear", "dart")),
    Hyperparameter("tree_method", Kind.ENUM, "auto", values=("auto", "exact", "approx", "hist", "gpu_hist")),
    Hyperparameter("eval_metric", Kind.ENUM, "rmse", values=("rmse", "rmsle", "map", "mae", "auc", "aucpr")),
)

#: Hyperparameters passed to XGBoost under the same name.
PASSED = ("max_depth", "min_child_weight", "gamma", "eta", "nthread", "verbosity", "seed", "booster", "eval_metric")

#: What only a tree booster reads (gblinear would warn that they are unused).
TREE_ONLY = ("max_depth", "min_child_weight", "gamma", "tree_method")

#: XGBoost 1.x's default, which openGauss's outputs assume.
BASE_SCORE = 0.5

EMPTY = "Training data is empty, please check the input data."
ONE_CLASS = "The dataset only contains pos or neg samples for auc or aucpr"


def check_input(target: InputColumn | None, features: Sequence[InputColumn]) -> Inputs:
    """A numeric TARGET and numeric scalar features (openGauss reads each with datum_get_float8)."""
    assert target is not None
    check_continuous_target(target)
    inputs = check_features(features)
    if inputs.array:
        raise FeatureError(f"Oid type {inputs.columns[0].type_oid} not yet supported",
                           hint="xgboost takes scalar features, one column each")
    require_xgboost()
    return inputs


def _params(objective: str, hp: Mapping[str, Any]) -> dict[str, Any]:
    xgb = require_xgboost()
    params: dict[str, Any] = {"objective": objective, "base_score": BASE_SCORE,
                              **{name: hp[name] for name in PASSED}}
    if hp["tree_method"] == "gpu_hist":  # XGBoost 2 spells it tree_method=hist on device cuda
        if not xgb.build_info().get("USE_CUDA"):
            raise InvalidParameter("tree_method 'gpu_hist' needs XGBoost built with CUDA and a GPU; this XGBoost has none",
                                   hint="use tree_method 'hist' (or 'auto', 'exact', 'approx')")
        params.update(tree_method="hist", device="cuda")
    elif hp["tree_method"] != "auto":
        params["tree_method"] = hp["tree_method"]
    if hp["nthread"] == 0:
        del params["nthread"]  # XGBoost's own default: every core
    if hp["booster"] == "gblinear":
        params = {k: v for k, v in params.items() if k not in TREE_ONLY}
    return params


def _batches(data: TrainingData, batch_size: int) -> Iterator[np.ndarray]:
    """Rows ``[y, x...]`` in scan order, cut into batches of ``batch_size`` (the last may be shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for chunk in data.chunks(missing="nan"):
        while len(chunk):
            take = chunk[: batch_size - held]
            chunk = chunk[len(take):]
            pending.append(take)
            held += len(take)
            if held == batch_size:
                yield np.concatenate(pending)
                pending, held = [], 0
    if held:
        yield np.concatenate(pending)


def _round_reporter(xgb: Any, data: TrainingData, metric: str, eta: float, log: list[PassRecord]) -> Any:
    """An XGBoost callback that reports every boosting round as it ends (the training log, progress, the
    run registry): an exception there (an interrupted CREATE MODEL) stops XGBoost at once."""

    class Reporter(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[float]]]) -> bool:
            record = PassRecord(pass_no=len(log), loss=float(evals_log["train"][metric][-1]), delta_loss=None,
                                learning_rate=eta, elapsed=time.monotonic() - data.start, weights=np.empty(0),
                                stop=None)
            log.append(record)
            data.progress(record)
            return False

    return Reporter()


def _train(objective: str, data: TrainingData) -> Trained:
    xgb = require_xgboost()
    hp = dict(data.hyperparameters)
    params = _params(objective, hp)
    metric = str(hp["eval_metric"])
    n_iter = int(hp["n_iter"])
    booster = None
    log: list[PassRecord] = []
    reporter = _round_reporter(xgb, data, metric, float(hp["eta"]), log)
    for batch in _batches(data, int(hp["batch_size"])):
        labels = batch[:, 0]
        if metric in ("auc", "aucpr"):
            positive = int(np.count_nonzero(labels > 0))
            if positive in (0, len(labels)):
                raise DataError(ONE_CLASS)
        dtrain = xgb.DMatrix(batch[:, 1:].astype(np.float32), label=labels.astype(np.float32), missing=np.nan,
                             nthread=params.get("nthread", -1))
        try:
            booster = xgb.train(params, dtrain, num_boost_round=n_iter, evals=[(dtrain, "train")],
                                xgb_model=booster, verbose_eval=False, callbacks=[reporter])
        except xgb.core.XGBoostError as exc:  # e.g. labels outside [0, 1] for a logistic objective
            raise DataError(_xgboost_message(exc)) from None
    if booster is None:
        raise DataError(EMPTY)
    score = log[-1].loss  # the metric of the last round, on the last batch
    assert score is not None
    model = BoostedModel(bytes(booster.save_raw(raw_format="ubj")), tuple(data.feature_names))
    return Trained(model=model, iterations=n_iter, scores={metric: score}, log=tuple(log))


def _xgboost_message(exc: Exception) -> str:
    """XGBoost's own sentence, without its source location (openGauss keeps what follows the last ':')."""
    lines = [line for line in str(exc).splitlines() if line.strip() and not line.lstrip().startswith("Stack trace")]
    first = lines[0] if lines else str(exc)
    return first.split(": ", 1)[1].strip() if first.startswith("[") and ": " in first else first.strip()


def _algorithm(name: str, objective: str) -> Algorithm:
    return Algorithm(
        name=name,
        target=TargetKind.CONTINUOUS,
        hyperparameters=HYPERPARAMETERS,
        check_input=check_input,
        train=lambda data: _train(objective, data),
        load=lambda stored: load_model(stored.arrays, stored.settings),
        output_oid=FLOAT8,
    )


REGRESSION_LOGISTIC = _algorithm("xgboost_regression_logistic", "reg:logistic")
BINARY_LOGISTIC = _algorithm("xgboost_binary_logistic", "binary:logistic")
REGRESSION_SQUAREDERROR = _algorithm("xgboost_regression_squarederror", "reg:squarederror")
REGRESSION_GAMMA = _algorithm("xgboost_regression_gamma", "reg:gamma")

__all__ = [
    "BASE_SCORE",
    "BINARY_LOGISTIC",
    "HYPERPARAMETERS",
    "REGRESSION_GAMMA",
    "REGRESSION_LOGISTIC",
    "REGRESSION_SQUAREDERROR",
    "check_input",
]
