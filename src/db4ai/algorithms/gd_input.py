"""Input rules shared by openGauss's gradient-descent family (spec §3.4, gd.cpp deferred_init).

Features: bool, int2/4/8, float4/8 and numeric scalars, or exactly one float4[]/float8[] column.
Targets: whatever the algorithm accepts; the texts of the errors are openGauss's.
db4ai's NULL policy differs on purpose: a row with a NULL target or a NULL feature is discarded
and counted (openGauss uses 0.0 for a NULL scalar feature).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import FeatureError
from .base import ARRAY_OIDS, InputColumn, Inputs

BOOL, INT2, INT4, INT8, FLOAT4, FLOAT8, NUMERIC = 16, 21, 23, 20, 700, 701, 1700
FLOAT4_ARRAY, FLOAT8_ARRAY = 1021, 1022

#: Scalar feature types openGauss converts to float8.
NUMERIC_TYPES = frozenset({BOOL, INT2, INT4, INT8, FLOAT4, FLOAT8, NUMERIC})
ARRAY_TYPES = ARRAY_OIDS

#: Target types openGauss's GD family reads at all (bit, varbit, bytea, "char", name, text, bpchar,
#: varchar, cstring, date, time, timestamp, timestamptz, timetz and the numeric types); anything
#: else is ``Datatype of target not supported``.
TARGET_TYPES = NUMERIC_TYPES | frozenset({1560, 1562, 17, 18, 19, 25, 1042, 1043, 2275, 1082, 1083, 1114, 1184, 1266})


def check_target_type(column: InputColumn) -> None:
    """Any target the GD family reads (classification targets may be of any of these types)."""
    if column.type_oid not in TARGET_TYPES:
        raise FeatureError("Datatype of target not supported")


def check_continuous_target(column: InputColumn) -> None:
    """A regression target must be numeric (or bool), as openGauss's datum_get_float8 requires."""
    check_target_type(column)
    if column.type_oid not in NUMERIC_TYPES:
        raise FeatureError(f"Oid type {column.type_oid} not yet supported")


def check_features(columns: Sequence[InputColumn]) -> Inputs:
    """Validate the feature columns: numeric scalars, or exactly one float array."""
    if not columns:
        raise FeatureError("At least one feature is required")
    arrays = [c for c in columns if c.type_oid in ARRAY_TYPES]
    for column in columns:
        if column.type_oid not in NUMERIC_TYPES and column.type_oid not in ARRAY_TYPES:
            raise FeatureError(f"Oid type {column.type_oid} not yet supported")
    if arrays and len(columns) > 1:
        raise FeatureError("Input array cannot be combined with other features")
    return Inputs(tuple(columns), array=bool(arrays))


def continuous_input(target: InputColumn | None, features: Sequence[InputColumn]) -> Inputs:
    """openGauss's checks for a regression: numeric target, numeric or array features."""
    assert target is not None
    check_continuous_target(target)
    return check_features(features)


def classification_input(target: InputColumn | None, features: Sequence[InputColumn]) -> Inputs:
    """openGauss's checks for a classifier: a target of any readable type, numeric or array features."""
    assert target is not None
    check_target_type(target)
    return check_features(features)


__all__ = [
    "ARRAY_TYPES",
    "NUMERIC_TYPES",
    "TARGET_TYPES",
    "InputColumn",
    "check_continuous_target",
    "check_features",
    "check_target_type",
    "classification_input",
    "continuous_input",
]
