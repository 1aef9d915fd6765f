"""Frame (typed columns with NULL masks) and Matrix (float64 rows for training)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import FeatureError
from ._types import Column, codec, native_dtype

ARRAY_ERROR = "Input array must be 1-dimensional and must not contain nulls"


@dataclass
class Frame:
    """A block of rows in scan order.

    ``arrays[name]`` is 1-D for scalar columns (int16/int32/int64, float32/float64, bool;
    numeric becomes float64) and 2-D ``(n, k)`` float64 for array columns. ``nulls[name]``
    is True where the value is NULL; for an array column, where the array is NULL or holds
    a NULL element (such a row has zeros in ``arrays``). Column names must be unique.
    """

    columns: tuple[Column, ...]
    arrays: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray]
    length: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.length < 0:
            first = next(iter(self.arrays.values()), None)
            self.length = 0 if first is None else len(first)

    def __len__(self) -> int:
        return self.length

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values()) + sum(m.nbytes for m in self.nulls.values())


@dataclass(frozen=True)
class Matrix:
    """All columns of a query as one C-contiguous float64 ``(n, k)`` matrix.

    bool becomes 0/1; a float array column expands in place into its elements. Rows where
    some column was NULL (or an array was NULL or held a NULL) or not finite (NaN, ±Infinity,
    a numeric beyond float8's range) are left out and counted in ``discarded``; with
    ``missing="nan"`` NULL and NaN scalars stay as NaN instead (see :data:`MISSING`).
    """

    values: np.ndarray
    discarded: int
    columns: tuple[Column, ...]

    def __len__(self) -> int:
        return int(self.values.shape[0])


def empty_frame(columns: tuple[Column, ...]) -> Frame:
    arrays: dict[str, np.ndarray] = {}
    for col in columns:
        if col.kind == "float_array":
            arrays[col.name] = np.zeros((0, 0), dtype=np.float64)
        else:
            arrays[col.name] = np.zeros(0, dtype=native_dtype(codec(col)))
    nulls = {col.name: np.zeros(0, dtype=bool) for col in columns}
    return Frame(columns, arrays, nulls, 0)


def array_width(frames: Sequence[Frame], col: Column) -> int:
    """The common element count of an array column over frames (0 if all NULL)."""
    widths = {f.arrays[col.name].shape[1] for f in frames if (~f.nulls[col.name]).any()}
    if len(widths) > 1:
        raise FeatureError(
            ARRAY_ERROR, detail=f'column "{col.name}" holds arrays of {min(widths)} and {max(widths)} elements',
            hint="all arrays of a feature column must have the same length")
    return widths.pop() if widths else 0


def _widen(array: np.ndarray, width: int) -> np.ndarray:
    """An all-NULL chunk's (n, 0) array as (n, width) zeros."""
    if array.shape[1] == width:
        return array
    return np.zeros((array.shape[0], width), dtype=np.float64)


def concat(frames: Sequence[Frame], columns: tuple[Column, ...]) -> Frame:
    """One Frame holding the rows of ``frames`` in order."""
    if not frames:
        return empty_frame(columns)
    if len(frames) == 1:
        return frames[0]
    arrays: dict[str, np.ndarray] = {}
    for col in columns:
        parts = [f.arrays[col.name] for f in frames]
        if col.kind == "float_array":
            width = array_width(frames, col)
            parts = [_widen(p, width) for p in parts]
        arrays[col.name] = np.concatenate(parts)
    nulls = {col.name: np.concatenate([f.nulls[col.name] for f in frames]) for col in columns}
    return Frame(columns, arrays, nulls, sum(len(f) for f in frames))


# How a matrix treats missing values: "discard" drops (and counts) every row with a NULL or a
# value that is not finite; "nan" keeps NULL and NaN scalars as NaN, for algorithms that handle
# missing values themselves, and still drops rows with an infinity or a NULL (element of an) array.
MISSING = ("discard", "nan")


def to_matrix(frame: Frame, width: int | None = None, missing: str = "discard") -> Matrix:
    """The float64 matrix of a Frame, rows with NULL or non-finite values dropped and counted.

    ``width``: the element count an array column must have (for chunks after the first).
    ``missing``: one of :data:`MISSING`.
    """
    cols = frame.columns
    n = len(frame)
    arrays = [c for c in cols if c.kind == "float_array"]
    if len(arrays) > 1:
        raise FeatureError("Input array cannot be combined with other features",
                           hint="use at most one float4[]/float8[] column")
    keep_nan = missing == "nan"
    bad = np.zeros(n, dtype=bool)
    for col in cols:
        if not keep_nan or col.kind == "float_array":
            bad |= frame.nulls[col.name]
    keep = ~bad
    widths = []
    for col in cols:
        a = frame.arrays[col.name]
        if col.kind == "float_array":
            k = a.shape[1] if keep.any() else (width or 0)
            if width is not None and keep.any() and k != width:
                raise FeatureError(
                    ARRAY_ERROR, detail=f'column "{col.name}" holds arrays of {width} and {k} elements',
                    hint="all arrays of a feature column must have the same length")
            widths.append(k)
        else:
            widths.append(1)
    m = int(keep.sum())
    out = np.empty((m, sum(widths)), dtype=np.float64)
    pos = 0
    for col, k in zip(cols, widths, strict=True):
        a = frame.arrays[col.name]
        if col.kind == "float_array":
            if k:
                out[:, pos:pos + k] = _widen(a, k)[keep]
        else:
            out[:, pos] = a[keep]
            if keep_nan:
                out[frame.nulls[col.name][keep], pos] = np.nan
        pos += k
    # One pass over the matrix: rows with NaN (unless kept) or an infinity go too.
    unusable = np.isinf(out).any(axis=1) if keep_nan else ~np.isfinite(out).all(axis=1)
    if unusable.any():
        out = out[~unusable]
    return Matrix(out, n - len(out), cols)


def matrix_width(columns: tuple[Column, ...], array_width_: int) -> int:
    """Columns of the matrix for these columns when the array column has array_width_ elements."""
    return sum(array_width_ if c.kind == "float_array" else 1 for c in columns)
