"""`db4ai server start|stop|status|dsn`, and the test harness's own embedded server never
outliving the pytest run that started it (a normal end, or the run killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support import docker_engine_answers, pg_binary

ROOT = Path(__file__).resolve().parents[2]


def db4ai(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DB4AI_DSN"}
    env["DB4AI_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "db4ai.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def postmasters_under(folder: Path) -> list[psutil.Process]:
    """Running PostgreSQL servers whose data directory is inside ``folder``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(str(folder) in part for part in cmdline) and "-D" in cmdline:
            found.append(proc)
    return found


def test_server_start_dsn_status_stop(outside_tmp_path):
    home = outside_tmp_path / "home"
    try:
        status = db4ai("server", "status", home=home)
        assert status.returncode == 3 and status.stdout.startswith("not running")
        start = db4ai("server", "start", home=home)
        assert start.returncode == 0, start.stderr
        assert start.stdout.startswith("server running (pid ")
        dsn = db4ai("server", "dsn", home=home).stdout.strip()
        # what the README shows: psql "$(db4ai server dsn)", with db4ai already installed there
        psql = subprocess.run([pg_binary("psql"), dsn, "-X", "-At", "-c", "SELECT db4ai.version()"],
                              capture_output=True, text=True, timeout=60)
        assert psql.returncode == 0, psql.stderr
        from db4ai import __version__

        assert psql.stdout.strip() == __version__
        # a db4ai process using it does not stop it on exit: it was started to stay
        assert db4ai("sql", "-c", "SELECT 1", home=home).returncode == 0
        status = db4ai("server", "status", home=home)
        assert status.returncode == 0
        assert status.stdout.splitlines()[0].endswith("kept running by db4ai server start)")
        assert f"dsn: {dsn}" in status.stdout
        stop = db4ai("server", "stop", home=home)
        assert stop.stdout == "server stopped\n"
        assert db4ai("server", "status", home=home).returncode == 3
        assert not postmasters_under(home)
        assert db4ai("server", "stop", home=home).stdout == "server was not running\n"
        # unpinned again: db4ai uses it and stops it when done, as before
        assert db4ai("sql", "-c", "SELECT 1", home=home).returncode == 0
        assert not postmasters_under(home)
    finally:
        db4ai("server", "stop", home=home)


CHILD_TEST = "tests/core/test_harness_smoke.py::test_fresh_database_has_db4ai"


def child_pytest(tmp: Path) -> subprocess.Popen:
    """A pytest run of one test on its own embedded server, its temporary files under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DB4AI_TEST_DSN", "DB4AI_DSN")}
    env["TMPDIR"] = str(tmp)
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CHILD_TEST], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(docker_engine_answers(), reason="with a Docker engine the harness uses a container, not pgserver")
def test_the_harness_server_stops_when_pytest_ends(outside_tmp_path):
    tmp_path = outside_tmp_path
    child = child_pytest(tmp_path)
    output, _ = child.communicate(timeout=180)
    assert child.returncode == 0, output
    assert wait_until(lambda: not postmasters_under(tmp_path), 10), "the harness left its server running"
    assert not list(tmp_path.glob("db4ai-test-*/PG_VERSION"))


@pytest.mark.skipif(docker_engine_answers(), reason="with a Docker engine the harness uses a container, not pgserver")
def test_the_harness_server_stops_when_pytest_is_killed(outside_tmp_path):
    tmp_path = outside_tmp_path
    child = child_pytest(tmp_path)
    try:
        assert wait_until(lambda: postmasters_under(tmp_path) or child.poll() is not None, 60)
        child.send_signal(signal.SIGKILL)  # no teardown, no atexit
        child.wait(timeout=10)
        assert wait_until(lambda: not postmasters_under(tmp_path), 15), "a killed run left its server running"
    finally:
        if child.poll() is None:
            child.kill()
