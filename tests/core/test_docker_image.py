"""The docker/ image: PostgreSQL with the db4ai extension created at init (needs a Docker engine)."""

from pathlib import Path

import psycopg
import pytest

from tests.support import docker_engine_answers

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docker


@pytest.mark.skipif(not docker_engine_answers(), reason="no Docker engine answers (docker info fails); the image is tested where one runs")
def test_image_starts_with_db4ai_installed():
    from testcontainers.core.image import DockerImage
    from testcontainers.postgres import PostgresContainer

    with DockerImage(path=str(ROOT), dockerfile_path="docker/Dockerfile", tag="db4ai-postgres:test") as image:
        with PostgresContainer(str(image), driver=None) as pg:
            with psycopg.connect(pg.get_connection_url()) as conn:
                assert conn.execute("SELECT db4ai.version()").fetchone()[0]
                assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'db4ai'").fetchone()[0]
                assert conn.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 0
