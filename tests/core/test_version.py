"""One version everywhere: the package, pyproject.toml and the SQL layer."""

import re
from pathlib import Path

from db4ai import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_versions_agree(db):
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"$', pyproject, re.M).group(1) == __version__
    assert re.search(r"SELECT '([^']+)'::text", (ROOT / "sql" / "core.sql").read_text()).group(1) == __version__
    assert db.execute("SELECT db4ai.version()").fetchone()[0] == __version__
