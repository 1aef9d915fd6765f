"""The README's quick start and what CI runs must not drift apart."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_quick_start_commands():
    demo, tests = quick_start_commands()
    assert demo.endswith("db4ai demo")
    assert tests.endswith("-m pytest -q")


def test_ci_runs_the_readme_test_command():
    readme_test = quick_start_commands()[1].split(" && ")[-1]
    ci = (ROOT / ".ci" / "run").read_text()
    ci_test = re.search(r"run_tests\(\) \{ (.*?) \"\$@\"; \}", ci).group(1)
    assert ci_test == readme_test
    assert 'pip install --quiet -e ".[dev]"' in ci
