"""The package version (kept in sync with pyproject.toml and sql/core.sql by tests/core/test_version.py)."""

__version__ = "0.2.0"
