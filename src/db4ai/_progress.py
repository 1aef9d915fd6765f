"""CREATE MODEL's progress on a terminal, for ``db4ai sql``: one line (tqdm) that shows the rows
read, pass k of n and the loss while a model trains, and disappears when it ends.

Only for a terminal: :func:`for_terminal` gives None unless both output streams are terminals,
so a script's output that is piped or redirected never carries it. Trainings shorter than
``delay`` seconds draw nothing at all. It is a :class:`db4ai.models.Progress`: it knows the
hyperparameters by name only for the number of passes (``max_iterations``, where an algorithm has
one; otherwise the line counts passes without a total).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from .algorithms.optim import PassRecord

#: seconds a training runs before its line appears
DELAY = 0.5


class TerminalProgress:
    """A :class:`db4ai.models.Progress` drawn with tqdm on ``stream`` (a terminal)."""

    def __init__(self, stream: TextIO, *, delay: float = DELAY):
        self.stream = stream
        self.delay = delay
        self._bar: Any = None
        self._rows = ""
        self._loss = ""

    def start(self, model: str, hyperparameters: Mapping[str, Any]) -> None:
        from tqdm import tqdm  # imported when a model trains on a terminal

        total = hyperparameters.get("max_iterations")
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        passes = "pass {n}/{total}" if total is not None else "pass {n}"
        self._rows = self._loss = ""
        self._bar = tqdm(
            total=total, desc=f"CREATE MODEL {model}", file=self.stream, leave=False, delay=self.delay,
            dynamic_ncols=True, mininterval=0.2,
            bar_format="{desc}: " + ("{bar:20} " if total is not None else "") + passes + " [{elapsed}{postfix}]",
        )

    def rows(self, read: int) -> None:
        self._rows = f"{read:,} rows read"
        self._show(0)

    def passed(self, record: PassRecord) -> None:
        if record.loss is not None:
            self._loss = f"loss {record.loss:.6g}"
        self._show(record.pass_no - self._bar.n if self._bar is not None else 0)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _show(self, advance: int) -> None:
        if self._bar is None:
            return
        self._bar.set_postfix_str(", ".join(p for p in (self._rows, self._loss) if p), refresh=False)
        self._bar.update(advance)  # redraws at most every mininterval seconds


def for_terminal(out: TextIO, err: TextIO) -> TerminalProgress | None:
    """A progress line on ``err`` when both ``out`` and ``err`` are terminals, else None."""
    try:
        if out.isatty() and err.isatty():
            return TerminalProgress(err)
    except (AttributeError, ValueError):  # a stream without isatty, or closed
        pass
    return None
