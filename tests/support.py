"""Helpers shared by tests (importable as tests.support)."""

from __future__ import annotations

import os
from pathlib import Path


def docker_engine_answers() -> bool:
    """True when a Docker engine answers a ping within a second or two."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker  # installed with testcontainers

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:
        return False
