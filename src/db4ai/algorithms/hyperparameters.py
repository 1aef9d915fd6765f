"""Hyperparameters declared as data, validated with openGauss's error texts.

Each algorithm lists its hyperparameters as a tuple of :class:`Hyperparameter` entries, in
openGauss's definition order (the order of ``gs_model_warehouse.hyperparametersnames``). One
entry both checks a ``WITH name = value`` item and writes the message when it is wrong, so the
texts below are the only place they exist (openGauss: executor/hyperparameter_validation.cpp).

Value forms follow openGauss's grammar: an integer parameter needs an integer literal that
fits in int4 (a bigger number is a float constant there); a float accepts integers and floats;
a boolean accepts TRUE/FALSE, the strings ``'true'``/``'false'`` or an integer; an enum needs a
string or a bare word from its list. ``= DEFAULT`` takes the default. WITH items are checked
in the order written, so the first wrong one is reported; a repeated name overrides.
"""

from __future__ import annotations

import difflib
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from ..dialect.statements import DEFAULT, ParamValue
from ..errors import InvalidParameter

INT4_MAX = 2_147_483_647
INT4_MIN = -2_147_483_648
DBL_MAX = 1.7976931348623157e308

Value = int | float | bool | str


class Kind(Enum):
    """Hyperparameter type; the value is the type OID stored in ``hyperparametersoids``."""

    INT4 = 23
    FLOAT8 = 701
    BOOL = 16
    ENUM = 1043  # openGauss stores enum values as varchar

    @property
    def oid(self) -> int:
        return self.value


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: name, type, default and the accepted range or values."""

    name: str
    kind: Kind
    default: Value
    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True
    values: tuple[str, ...] = ()

    def convert(self, raw: ParamValue) -> Value:
        """The typed value of one ``WITH`` item, or InvalidParameter with openGauss's text."""
        if raw is DEFAULT:
            return self.default
        name = self.name
        if self.kind is Kind.INT4:
            if not _is_int4(raw):
                raise InvalidParameter(f"Hyperparameter {name} must be an integer")
            value: Value = int(raw)  # type: ignore[arg-type]
        elif self.kind is Kind.FLOAT8:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise InvalidParameter(f"Hyperparameter {name} must be a floating point number")
            value = float(raw)
        elif self.kind is Kind.BOOL:
            value = _to_bool(name, raw)
        else:
            if not isinstance(raw, str):
                raise InvalidParameter(f"Hyperparameter {name} must be a string")
            value = raw
        self.validate(value)
        return value

    def validate(self, value: Value) -> None:
        """Range and allowed-values checks (openGauss's validate_hyperparameter)."""
        if self.kind is Kind.ENUM:
            if value not in self.values:
                raise InvalidParameter(
                    f"Invalid hyperparameter value for {self.name}. Valid values are: {', '.join(self.values)}."
                )
            return
        if self.kind is Kind.BOOL or self.low is None or self.high is None:
            return
        x = float(value)
        below = x < self.low or (not self.low_inclusive and x <= self.low)
        above = x > self.high or (not self.high_inclusive and x >= self.high)
        if below or above:
            raise InvalidParameter(f"Hyperparameter {self.name} must be in the range {self.range_text()}")

    def range_text(self) -> str:
        """``[1,1048575]`` / ``(0,1.7976931e+308]``: ints as %d, floats as %.8g."""
        fmt = "%d" if self.kind is Kind.INT4 else "%.8g"
        lo = fmt % self.low
        hi = fmt % self.high
        return f"{'[' if self.low_inclusive else '('}{lo},{hi}{']' if self.high_inclusive else ')'}"

    def text(self, value: Value) -> str:
        """The value as stored in ``hyperparametersvalues`` (PostgreSQL's output format)."""
        if self.kind is Kind.BOOL:
            return "true" if value else "false"
        if self.kind is Kind.FLOAT8:
            return float8_text(float(value))
        return str(value)


def _is_int4(raw: ParamValue) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool) and INT4_MIN <= raw <= INT4_MAX


def _to_bool(name: str, raw: ParamValue) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        if raw == "true":
            return True
        if raw == "false":
            return False
        raise InvalidParameter(f"Hyperparameter {name} is not a valid string for boolean (i.e. 'true' or 'false')")
    if _is_int4(raw):
        return raw != 0
    raise InvalidParameter(f"Hyperparameter {name} must be a boolean or integer")


def float8_text(x: float) -> str:
    """``x`` as PostgreSQL prints a float8: shortest exact digits, fixed notation for decimal
    exponents in [-4, 15), else ``d.ddde+XX`` (src/common/d2s.c)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign = "-" if x < 0 else ""
    parts = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, parts.digits))
    exponent = len(digits) - 1 + int(parts.exponent)
    if -4 <= exponent < 15:
        point = exponent + 1  # digits before the decimal point
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def resolve(
    table: Sequence[Hyperparameter], params: Sequence[tuple[str, ParamValue]]
) -> dict[str, Value]:
    """All hyperparameters of ``table`` (definition order) with the ``WITH`` items applied.

    Unknown names raise ``Invalid hyperparameter <name>``; items are checked in the order
    written, as openGauss does.
    """
    by_name = {hp.name: hp for hp in table}
    values: dict[str, Value] = {hp.name: hp.default for hp in table}
    for name, raw in params:
        hp = by_name.get(name)
        if hp is None:
            close = difflib.get_close_matches(name, by_name, n=1)
            raise InvalidParameter(f"Invalid hyperparameter {name}", hint=f"did you mean {close[0]}?" if close else None)
        values[name] = hp.convert(raw)
    return values


def with_values(table: Sequence[Hyperparameter], name: str, values: tuple[str, ...]) -> tuple[Hyperparameter, ...]:
    """``table`` with the enum ``name`` accepting ``values`` (an algorithm's own choices, e.g. an optimizer)."""
    if not any(hp.name == name and hp.kind is Kind.ENUM for hp in table):
        raise ValueError(f"no enum hyperparameter {name!r}")
    return tuple(replace(hp, values=values) if hp.name == name else hp for hp in table)


def effective_seed(seed: int) -> int:
    """openGauss replaces seed 0 by a fresh one (it uses the clock); the result is stored."""
    return seed if seed != 0 else secrets.randbelow(INT4_MAX) + 1


def texts(table: Sequence[Hyperparameter], values: Mapping[str, Value]) -> list[str]:
    return [hp.text(values[hp.name]) for hp in table]


#: openGauss GD_HYPERPARAMETERS_SUPERVISED (gd.h): linear_regression, logistic_regression and the
#: first nine of svm_classification / multiclass. ITER_MAX = 10000, MAX_BATCH_SIZE = 0x0fffff.
GD_SUPERVISED: tuple[Hyperparameter, ...] = (
    Hyperparameter("batch_size", Kind.INT4, 1000, 1, True, 0x0FFFFF, True),
    Hyperparameter("decay", Kind.FLOAT8, 0.95, 0.0, False, DBL_MAX, True),
    Hyperparameter("learning_rate", Kind.FLOAT8, 0.8, 0.0, False, DBL_MAX, True),
    Hyperparameter("max_iterations", Kind.INT4, 100, 1, True, 10000, True),
    Hyperparameter("max_seconds", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("optimizer", Kind.ENUM, "gd", values=("gd", "ngd")),
    Hyperparameter("tolerance", Kind.FLOAT8, 0.0005, 0.0, False, DBL_MAX, True),
    Hyperparameter("seed", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("verbose", Kind.BOOL, False),
)

#: openGauss GD_HYPERPARAMETERS_SVM_CLASSIFICATION (gd.h): the supervised set, then the svm's own.
SVM_CLASSIFICATION: tuple[Hyperparameter, ...] = GD_SUPERVISED + (
    Hyperparameter("lambda", Kind.FLOAT8, 0.01, 0.0, False, DBL_MAX, True),
    Hyperparameter("kernel", Kind.ENUM, "linear", values=("linear", "gaussian", "polynomial")),
    Hyperparameter("components", Kind.INT4, 0, 0, True, INT4_MAX, True),
    Hyperparameter("gamma", Kind.FLOAT8, 0.5, 0.0, False, DBL_MAX, True),
    Hyperparameter("degree", Kind.INT4, 2, 2, True, 9, True),
    Hyperparameter("coef0", Kind.FLOAT8, 1.0, 0.0, True, DBL_MAX, True),
)

#: openGauss multiclass_hyperparameter_definitions (multiclass.cpp): the svm set and the classifier.
MULTICLASS: tuple[Hyperparameter, ...] = SVM_CLASSIFICATION + (
    Hyperparameter("classifier", Kind.ENUM, "svm_classification", values=("svm_classification", "logistic_regression")),
)

__all__ = [
    "GD_SUPERVISED",
    "MULTICLASS",
    "SVM_CLASSIFICATION",
    "Hyperparameter",
    "Kind",
    "Value",
    "effective_seed",
    "float8_text",
    "resolve",
    "texts",
    "with_values",
]
