"""db4ai: openGauss-style in-database machine learning for PostgreSQL."""

__version__ = "0.1.0"
