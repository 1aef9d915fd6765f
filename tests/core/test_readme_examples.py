"""Every example of README.md runs as written (issue 15.5): its ```sql and ```python blocks, in
order, in one fresh database.

* a ```sql block runs as ``db4ai sql`` runs a script (db4ai.connect(), the CLI's Shell: DB4AI
  statements and plain SQL mixed); any ERROR or WARNING it prints fails it;
* a ```python block runs with ``dsn`` bound to the database's connection string;
* other blocks (```sh, ```text, output) are not run;
* a block right after a line ``<!-- not run: why -->`` is skipped, with that reason; one that
  needs an optional package that is not installed (``import torch``, ``USING xgboost...``) is
  skipped naming the package. Keep such exceptions few: an example that cannot run is a bug.

Model examples must converge with the settings they show: a TrainingWarning (openGauss's
"weights are out of range") fails the block, and so does a training run whose logged loss ends
non-finite or above where it started.

Each block is its own test (``-k line123``); running one runs the blocks before it first.
"""

from __future__ import annotations

import importlib.util
import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from db4ai.errors import TrainingWarning

from tests.support import cloned_database

README = Path(__file__).resolve().parents[2] / "README.md"

FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<why>.+?)\s*-->\s*$")
RUNS = ("sql", "python")
#: optional packages, and how a block shows that it needs one
NEEDS = (
    ("torch", re.compile(r"^\s*(?:import|from)\s+torch\b", re.M)),
    ("xgboost", re.compile(r"\bUSING\s+xgboost|\bload_model\(", re.I)),
)


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    not_run: str | None = None  # the reason of a <!-- not run: ... --> mark

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.lang}"


def blocks(markdown: str) -> list[Block]:
    """The ```sql and ```python blocks of ``markdown``, in order, with their not-run marks."""
    found = []
    for match in FENCE.finditer(markdown):
        lang = match["lang"].lower()
        if lang not in RUNS:
            continue
        before = markdown[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = NOT_RUN.search(before)
        found.append(Block(markdown.count("\n", 0, match.start()) + 1, lang, match["body"],
                           mark["why"] if mark else None))
    return found


def test_blocks_and_their_marks():
    text = ("intro\n```sh\nls\n```\n```sql\nSELECT 1;\n```\n<!-- not run: needs a cluster -->\n"
            "```python\nboom()\n```\n```\nplain\n```\n```Python\nx = 1\n```\n")
    assert blocks(text) == [Block(5, "sql", "SELECT 1;\n"), Block(9, "python", "boom()\n", "needs a cluster"),
                            Block(15, "python", "x = 1\n")]


BLOCKS = blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_examples_to_run():
    langs = [b.lang for b in BLOCKS]
    assert langs.count("sql") >= 8 and langs.count("python") >= 3
    assert len([b for b in BLOCKS if b.not_run]) <= 2  # exceptions stay few


# -- running them --------------------------------------------------------------------------------

@dataclass
class Outcome:
    skipped: str | None = None
    failed: str | None = None


def missing_package(block: Block) -> str | None:
    for package, pattern in NEEDS:
        if pattern.search(block.text) and importlib.util.find_spec(package) is None:
            return package
    return None


@dataclass
class Readme:
    """The README's blocks run in one database, each once, in order."""

    dsn: str
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    checked_run: int = 0  # training runs up to this id were checked for convergence

    def through(self, index: int) -> Outcome:
        for i in range(index + 1):
            if i not in self.outcomes:
                self.outcomes[i] = self.run(BLOCKS[i])
        return self.outcomes[index]

    def run(self, block: Block) -> Outcome:
        if block.not_run:
            return Outcome(skipped=f"README.md:{block.line}: not run: {block.not_run}")
        package = missing_package(block)
        if package:
            return Outcome(skipped=f"README.md:{block.line}: needs the {package} package")
        with warnings.catch_warnings():
            warnings.simplefilter("error", TrainingWarning)  # a model that diverges is a failed example
            try:
                failure = self.run_sql(block) if block.lang == "sql" else self.run_python(block)
            except Exception as exc:  # the example's own error, whatever it is, is the finding
                failure = f"{type(exc).__name__}: {exc}"
        if failure:
            return Outcome(failed=f"README.md:{block.line}: {failure}")
        return self.unconverged(block)

    def run_sql(self, block: Block) -> str | None:
        from db4ai import cli
        from db4ai._shell import Shell

        out, err = io.StringIO(), io.StringIO()
        conn = cli.open_connection(self.dsn, err)  # what db4ai sql -d DSN opens
        with conn:
            ok = Shell(conn, out, err).run_sql(block.text)
        bad = [line for line in err.getvalue().splitlines() if line.startswith(("ERROR:", "WARNING:"))]
        if not ok or bad:
            return "\n".join(bad) or err.getvalue() or "failed"
        return None

    def run_python(self, block: Block) -> str | None:
        exec(compile(block.text, f"README.md:{block.line}", "exec"), {"dsn": self.dsn, "__name__": "__readme__"})
        return None

    def unconverged(self, block: Block) -> Outcome:
        """A CREATE MODEL of the block whose loss ended non-finite or above its first value."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(
                """SELECT r.id, r.model, array_agg(m.value ORDER BY m.step) FILTER (WHERE m.name = 'loss')
                     FROM db4ai.training_run r LEFT JOIN db4ai.training_run_metric m ON m.run_id = r.id
                    WHERE r.kind = 'create_model' AND r.state = 'succeeded' AND r.id > %s
                    GROUP BY r.id, r.model ORDER BY r.id""", [self.checked_run]).fetchall()
        for run_id, model, losses in rows:
            self.checked_run = max(self.checked_run, run_id)
            if losses and (not all(math.isfinite(v) for v in losses) or losses[-1] > losses[0]):
                return Outcome(failed=f"README.md:{block.line}: model {model} did not converge: loss {losses}")
        return Outcome()


@pytest.fixture(scope="module")
def readme(pg_server) -> Iterator[Readme]:
    with cloned_database(pg_server, prefix="db4ai_readme") as dsn:
        yield Readme(dsn)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[b.id for b in BLOCKS])
def test_readme_example_runs_as_written(readme, index):
    outcome = readme.through(index)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if outcome.failed:
        pytest.fail(outcome.failed, pytrace=False)
