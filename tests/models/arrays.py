"""In-memory training input for unit tests of algorithms (the TrainingData contract without a database)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from db4ai.algorithms.base import InputColumn, Inputs, Target
from db4ai.optim import PassRecord


@dataclass
class ArrayTraining:
    """Rows ``[y, x1..xk]`` (or ``[x1..xk]`` unsupervised) served in ``parts`` chunks, in order."""

    values: np.ndarray
    hyperparameters: Mapping[str, Any]
    parts: int = 1
    categories: tuple[str, ...] | None = None
    supervised: bool = True
    conn: Any = None
    query: str = ""
    start: float = field(default_factory=time.monotonic)
    notices: list[str] = field(default_factory=list)
    passes: list[PassRecord] = field(default_factory=list)

    @property
    def inputs(self) -> Inputs:
        k = self.values.shape[1] - (1 if self.supervised else 0)
        return Inputs(tuple(InputColumn(f"f{i}", 701) for i in range(1, k + 1)))

    @property
    def target(self) -> Target | None:
        return Target(InputColumn("target", 701), self.categories) if self.supervised else None

    def chunks(self) -> Iterator[np.ndarray]:
        yield from np.array_split(np.asarray(self.values, dtype=np.float64), self.parts)

    @property
    def rows(self) -> int:
        return len(self.values)

    @property
    def discarded(self) -> int:
        return 0

    def counted(self, rows: int, discarded: int) -> None:
        raise NotImplementedError("ArrayTraining serves rows through chunks(); it has no SQL statement to count")

    def notice(self, message: str) -> None:
        self.notices.append(message)

    def progress(self, record: PassRecord) -> None:
        self.passes.append(record)
