"""Every CREATE MODEL records a training run: visible live with its per-pass loss from another
session, succeeded in the transaction that stores the model, failed with the error text,
interrupted when the client is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

from db4ai import runs

from .conftest import wait_for

WIRING = textwrap.dedent('''
    def recorded_create_model(conn, text, on_pass=None):
        """CREATE MODEL through the orchestration; returns the training run it recorded."""
        from db4ai import models, runs
        from db4ai.dialect import parse_script
        stmt = parse_script(text)[0]

        def watched(record):
            if on_pass is not None:
                (run,) = [r for r in runs.find(conn, stmt.name) if r.state == "running"]
                on_pass(run, record)
        try:
            models.create_model(conn, stmt, on_pass=watched)
        finally:
            found = runs.find(conn, stmt.name)
        assert len(found) == 1, found
        return found[0]
''')
namespace: dict = {}
exec(WIRING, namespace)
recorded_create_model = namespace["recorded_create_model"]

STATEMENT = ("CREATE MODEL {name} USING linear_regression FEATURES x1, x2 TARGET y FROM pts@1.0.0"
             " WITH optimizer = 'ngd', max_iterations = {passes}, batch_size = 50, seed = 3, tolerance = 1e-300")


def test_create_model_runs_are_live_and_succeed_with_the_model(points, db_dsn):
    watcher = psycopg.connect(db_dsn, autocommit=True)
    seen = []

    def watch(run, record):
        row = watcher.execute("SELECT state, last_step, metrics FROM db4ai.training_run_progress WHERE id = %s",
                              (run.id,)).fetchone()
        model = watcher.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0]
        seen.append((row[0], row[1], model))

    with psycopg.connect(db_dsn, autocommit=True) as conn:
        run = recorded_create_model(conn, STATEMENT.format(name="m_live", passes=5), on_pass=watch)
    assert seen == [("running", p, 0) for p in range(6)]  # pass 0 and 5 more, each visible; no model yet
    info = runs.get(watcher, run.id)
    assert (info.state, info.kind, info.model, info.rows_read) == ("succeeded", "create_model", "m_live", 200)
    assert info.snapshot_ids == tuple(r[0] for r in watcher.execute("SELECT id FROM db4ai.snapshot"))
    log = watcher.execute("SELECT pass, loss FROM db4ai.gs_model_training_log WHERE modelname = 'm_live'"
                          " AND loss IS NOT NULL ORDER BY pass").fetchall()
    steps, losses = runs.metrics(watcher, run.id)["loss"]
    assert list(zip(steps, losses)) == [(p, pytest.approx(l)) for p, l in log]
    watcher.close()


def test_a_failing_create_model_fails_its_run_and_stores_nothing(points, db_dsn):
    points.execute("CREATE TABLE empty_pts AS SELECT * FROM pts WHERE false")
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(Exception, match="Input data is empty"):
            recorded_create_model(conn, "CREATE MODEL m_empty USING linear_regression FEATURES x1 TARGET y FROM empty_pts")
    (info,) = runs.find(points, "m_empty")
    assert info.state == "failed" and info.error == "DataError: Input data is empty" and info.model is None
    assert points.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 0


_KILLED = WIRING + textwrap.dedent('''
    import sys, time, psycopg
    def slow(run, record):
        print(run.id, flush=True)
        time.sleep(0.5)
    with psycopg.connect(sys.argv[1], autocommit=True) as conn:
        recorded_create_model(conn, sys.argv[2], on_pass=slow)
''')


def test_a_killed_create_model_shows_interrupted_and_stores_nothing(points, db_dsn):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, db_dsn, STATEMENT.format(name="m_killed", passes=1000)],
                            stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(proc.stdout.readline())
        assert runs.get(points, run_id).state == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert wait_for(lambda: runs.get(points, run_id).state == "interrupted")
    assert points.execute("SELECT count(*) FROM db4ai.gs_model_warehouse").fetchone()[0] == 0
