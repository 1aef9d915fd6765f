"""linear_regression WITH optimizer = 'normal_equations': exact least squares in one aggregate scan.

Ordinary least squares needs only the moments of the rows (n, the means of [x, y] and their centred
cross products), which PostgreSQL's parallel-safe ``regr_*`` aggregates compute where the rows are:
in parallel workers, and on Citus's workers. The SQL layer (``sql/solver/``) builds that aggregate
query for the training query, runs it, and solves: Cholesky with diagonal pivoting of the
features' correlation matrix, the pseudo-inverse's minimum-norm solution when X is rank-deficient,
and the inference statistics (standard errors, t statistics, p-values, r², adjusted r², the
condition number). ``db4ai.linregr()`` runs the same SQL from any client, so both give the same
coefficients. Nothing but the moments leaves the server: no row is read into Python.

The model is stored like any linear model (``weights``, bias last; PREDICT BY and the generated
function are the same), with its statistics as extra arrays in modeldata, which
``db4ai.linregr_summary('<model>')`` reads back in SQL. The GD hyperparameters are validated and
stored but do not affect the solution; there is one pass (``iterations = 1``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ..errors import from_server_error
from .base import Trained, TrainingData
from .hyperparameters import float8_text
from .linear_model import LinearModel
from .optim import PassRecord, verbose_line

if TYPE_CHECKING:  # pragma: no cover
    from ..warehouse import ModelData

#: The optimizer value (a db4ai addition to openGauss's enum) that selects this solver.
OPTIMIZER = "normal_equations"

#: modeldata arrays beyond the weights: per coefficient (bias last), and the fit's scalars.
FIT = ("r2", "adj_r2", "condition_number", "mse")


@dataclass(frozen=True)
class LeastSquaresModel(LinearModel):
    """A linear model solved exactly, with statsmodels-style inference statistics."""

    std_errors: np.ndarray
    t_stats: np.ndarray
    p_values: np.ndarray
    r2: float
    adj_r2: float
    condition_number: float
    mse: float
    rank: int  # of [features, 1]
    solver: str  # "cholesky" | "pseudo-inverse"

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            **super().arrays(),
            "std_errors": np.asarray(self.std_errors, dtype=np.float64),
            "t_stats": np.asarray(self.t_stats, dtype=np.float64),
            "p_values": np.asarray(self.p_values, dtype=np.float64),
            "fit": np.array([self.r2, self.adj_r2, self.condition_number, self.mse], dtype=np.float64),
        }

    def settings(self) -> dict[str, Any]:
        return {"solver": self.solver, "rank": self.rank}

    def details(self) -> list[str]:
        """gs_explain_model's lines after ``weights``: the statistics, in float8's text form."""
        return [
            f"std_errors: {_array_text(self.std_errors)}",
            f"t_stats: {_array_text(self.t_stats)}",
            f"p_values: {_array_text(self.p_values)}",
            f"r2: {_text(self.r2)}",
            f"adj_r2: {_text(self.adj_r2)}",
            f"condition_number: {_text(self.condition_number)}",
            f"rank: {self.rank}",
            f"solver: {self.solver}",
        ]


def _text(value: float) -> str:
    """A float as PostgreSQL prints float8 (NaN, Infinity, shortest exact digits)."""
    return float8_text(float(value))


def _array_text(values: np.ndarray) -> str:
    return "{" + ",".join(_text(v) for v in values) + "}"


def stored(data: ModelData) -> bool:
    """Whether a stored linear_regression model came from this solver."""
    return "fit" in data.arrays


def load(data: ModelData) -> LeastSquaresModel:
    fit = np.asarray(data.arrays["fit"], dtype=np.float64)
    return LeastSquaresModel(
        weights=np.asarray(data.arrays["weights"], dtype=np.float64),
        std_errors=np.asarray(data.arrays["std_errors"], dtype=np.float64),
        t_stats=np.asarray(data.arrays["t_stats"], dtype=np.float64),
        p_values=np.asarray(data.arrays["p_values"], dtype=np.float64),
        r2=float(fit[0]), adj_r2=float(fit[1]), condition_number=float(fit[2]), mse=float(fit[3]),
        rank=int(data.settings["rank"]), solver=str(data.settings["solver"]),
    )


# -- training -----------------------------------------------------------------------------------------

_MOMENTS = ("SELECT db4ai_internal._linregr_moments_sql(%s, %s::text[], %s::oid[]::regtype[],"
            " pg_catalog.current_setting('search_path'))")
_FIT = "SELECT * FROM db4ai_internal._linregr_fit(%s, %s::text[], pg_catalog.current_setting('search_path'))"


def _server(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    """One row of a db4ai SQL function; its documented errors become db4ai errors."""
    try:
        row = conn.execute(query, params).fetchone()
    except psycopg.Error as exc:
        translated = from_server_error(exc)
        if translated is None:
            raise
        raise translated from exc
    assert row is not None
    return tuple(row)


def statement(data: TrainingData) -> str:
    """The moments query over ``data.query`` (target first, then the features) that training runs."""
    assert data.target is not None, "linear_regression is supervised"
    columns = (data.target.column, *data.inputs.columns)
    return str(_server(data.conn, _MOMENTS, (data.query, [c.name for c in columns], [c.type_oid for c in columns]))[0])


def train(data: TrainingData) -> Trained:
    """Solve least squares in the database; NULL rows are discarded and counted there."""
    names = [c.name for c in data.inputs.columns]
    (_, coefficients, std_errors, t_stats, p_values, r2, adj_r2, condition_number, mse, rank, solver,
     processed, discarded) = _server(data.conn, _FIT, (statement(data), names))
    data.counted(int(processed), int(discarded))
    model = LeastSquaresModel(
        weights=np.array(coefficients, dtype=np.float64),
        std_errors=np.array(std_errors, dtype=np.float64),
        t_stats=np.array(t_stats, dtype=np.float64),
        p_values=np.array(p_values, dtype=np.float64),
        r2=float(r2), adj_r2=float(adj_r2), condition_number=float(condition_number), mse=float(mse),
        rank=int(rank), solver=str(solver),
    )
    # one pass; its loss is the gradient-descent family's test loss of one batch holding every row
    record = PassRecord(pass_no=1, loss=model.mse / 2.0, delta_loss=None, learning_rate=None,
                        elapsed=time.monotonic() - data.start, weights=model.weights, stop=None)
    data.progress(record)
    if data.hyperparameters.get("verbose"):
        data.notice(verbose_line(record, float(data.hyperparameters["tolerance"]), int(processed)))
    return Trained(model=model, iterations=1, scores={"mse": model.mse}, log=(record,))


__all__ = ["FIT", "OPTIMIZER", "LeastSquaresModel", "load", "statement", "stored", "train"]
