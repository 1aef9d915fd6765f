"""The training-run registry: runs committed live on their own connection, states, RLS, lineage."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

import db4ai
from db4ai import runs
from db4ai.errors import InterfaceError, InvalidParameter, ObjectNotFound

from .conftest import wait_for


def pg(value: float) -> str:
    """PostgreSQL's float8 text: the shortest exact digits, as Python's repr, without a trailing .0."""
    return repr(value).removesuffix(".0")


def state_of(conn: psycopg.Connection, run_id: int) -> str:
    return conn.execute("SELECT state FROM db4ai.training_runs WHERE id = %s", (run_id,)).fetchone()[0]


def test_a_logged_loop_is_visible_from_another_session_while_it_runs(points, db_dsn):
    watcher = psycopg.connect(db_dsn, autocommit=True)
    with db4ai.connect(db_dsn) as conn:  # not autocommit: the run must not depend on the caller committing
        with db4ai.runs.start(conn, "loop", params={"lr": 0.1, "layers": [4, 2]}, source="pts@1.0.0") as run:
            for epoch in range(3):
                run.log(epoch, loss=1.0 / (epoch + 1), accuracy=0.5 + epoch / 10)
                seen = watcher.execute("SELECT state, last_step, steps, metrics FROM db4ai.training_run_progress"
                                       " WHERE id = %s", (run.id,)).fetchone()
                assert seen[:3] == ("running", epoch, epoch + 1)
                assert seen[3] == f"accuracy={pg(0.5 + epoch / 10)}, loss={pg(1.0 / (epoch + 1))}"
            run.set_rows_read(200)
            assert watcher.execute("SELECT rows_read FROM db4ai.training_runs WHERE id = %s", (run.id,)).fetchone()[0] == 200
        conn.rollback()  # nothing of the run was in the caller's transaction
    info = runs.get(watcher, run.id)
    snapshot_id = watcher.execute("SELECT id FROM db4ai.snapshot WHERE name = 'pts@1.0.0'").fetchone()[0]
    assert (info.state, info.kind, info.name, info.error) == ("succeeded", "external", "loop", None)
    assert info.params == {"lr": 0.1, "layers": [4, 2]}
    assert info.source == "pts@1.0.0" and info.snapshot_ids == (snapshot_id,) and info.rows_read == 200
    assert info.finished >= info.started
    assert runs.metrics(watcher, run.id) == {"accuracy": ([0, 1, 2], [0.5, 0.6, 0.7]), "loss": ([0, 1, 2], [1.0, 0.5, 1 / 3])}
    watcher.close()


def test_an_exception_fails_the_run_with_its_text_and_propagates(db):
    with pytest.raises(ZeroDivisionError):
        with runs.start(db, "boom") as run:
            run.log(0, loss=2.5)
            1 / 0
    info = runs.get(db, run.id)
    assert info.state == "failed" and info.error == "ZeroDivisionError: division by zero"
    assert info.finished is not None
    assert runs.metrics(db, run.id) == {"loss": ([0], [2.5])}
    with pytest.raises(InterfaceError, match="is closed"):
        run.log(1, loss=1.0)


def test_ctrl_c_marks_the_run_interrupted(db):
    with pytest.raises(KeyboardInterrupt):
        with runs.start(db, "stopped") as run:
            raise KeyboardInterrupt
    assert runs.get(db, run.id).state == "interrupted"


def test_non_finite_metrics_and_params_are_kept(db):
    with runs.start(db, "odd", params={"eps": float("inf"), "np": __import__("numpy").float32(0.5)}) as run:
        run.log(0, loss=float("nan"), grad=float("inf"))
        run.log(0, loss=3.0)  # again at the same step: replaced
        run.log_params(batch=64)
    got = runs.metrics(db, run.id)
    assert got["grad"] == ([0], [math.inf]) and got["loss"] == ([0], [3.0])
    assert runs.get(db, run.id).params == {"eps": "inf", "np": 0.5, "batch": 64}


_KILLED_CLIENT = textwrap.dedent("""
    import sys, time, psycopg
    from db4ai import runs
    conn = psycopg.connect(sys.argv[1], autocommit=True)
    run = runs.start(conn, "killed", params={"epochs": 100})
    run.log(0, loss=1.0)
    print(run.id, flush=True)
    time.sleep(600)
""")


def test_a_killed_client_leaves_a_run_that_shows_interrupted(db, db_dsn):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, db_dsn], stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(proc.stdout.readline())
        assert state_of(db, run_id) == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert wait_for(lambda: state_of(db, run_id) == "interrupted")
    stored = db.execute("SELECT state, finished FROM db4ai.training_run WHERE id = %s", (run_id,)).fetchone()
    assert stored == ("running", None)  # the view says so; nobody had to update the row
    with runs.start(db, "later"):  # a later start makes it permanent
        pass
    stored = db.execute("SELECT state, error FROM db4ai.training_run WHERE id = %s", (run_id,)).fetchone()
    assert stored == ("interrupted", "the session running it ended before the run did")
    assert runs.close_interrupted(db) == 0


def test_recorder_success_commits_with_the_callers_transaction(db_dsn):
    """The CREATE MODEL wiring: success is written in the caller's transaction, with what it stores."""
    watcher = psycopg.connect(db_dsn, autocommit=True)
    with psycopg.connect(db_dsn) as conn:
        conn.execute("CREATE TABLE stored_thing (x int)")
        conn.commit()
        with runs.start(conn, "m1", kind="create_model", params={"batch_size": 1000}, source="SELECT 1 AS x") as run:
            run.log(1, loss=0.5)
            with conn.transaction():
                conn.execute("INSERT INTO stored_thing VALUES (1)")
                assert run.succeed(conn, model="m1", rows_read=10)
                assert state_of(watcher, run.id) == "running"  # not committed yet
            assert state_of(watcher, run.id) == "succeeded"
        conn.commit()
    info = runs.get(watcher, run.id)
    assert (info.kind, info.model, info.rows_read, info.snapshot_ids) == ("create_model", "m1", 10, ())
    watcher.close()


def test_recorder_store_that_rolls_back_leaves_the_run_failed_not_succeeded(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            with runs.start(conn, "m2", kind="create_model") as run:
                with conn.transaction():
                    assert run.succeed(conn, model="m2")
                    conn.execute("INSERT INTO no_such_table VALUES (1)")  # the store fails after the update
        info = runs.get(conn, run.id)
        assert info.state == "failed" and "no_such_table" in info.error and info.model is None


def test_a_failure_after_success_committed_does_not_overwrite_it(db):
    with pytest.raises(RuntimeError):
        with runs.start(db, "done") as run:
            assert run.succeed(db)
            raise RuntimeError("cleanup failed")
    assert runs.get(db, run.id).state == "succeeded"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "needs a name"),
    ({"name": "x", "kind": "batch"}, "invalid training run kind"),
    ({"name": "x", "params": [1, 2]}, "params must be a mapping"),
    ({"name": "x", "source": "no_such_table"}, "is not a relation or query"),
])
def test_bad_starts_raise_clear_errors_and_record_nothing(db, kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(InvalidParameter, match=message):
        runs.start(db, name, **kwargs)
    assert db.execute("SELECT count(*) FROM db4ai.training_run").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'db4ai run'").fetchone()[0] == 0


def test_bad_metrics_raise_clear_errors(db):
    with runs.start(db, "x") as run:
        with pytest.raises(InvalidParameter, match="must be numbers"):
            run.log(0, loss="high")
        with pytest.raises(InvalidParameter, match="step must be an integer"):
            run.log(0.5, loss=1.0)
    with pytest.raises(InvalidParameter, match="ends as succeeded, failed or interrupted"):
        runs._call(db, "SELECT db4ai.end_run(%s, 'running')", (run.id,))
    with pytest.raises(ObjectNotFound, match="training run 999 does not exist"):
        runs._call(db, "SELECT db4ai.log_metrics(999, 0, '{a}', '{1}')", ())


def test_a_uri_source_is_recorded_without_lineage(db):
    with runs.start(db, "x", source="s3://bucket/cifar") as run:
        pass
    info = runs.get(db, run.id)
    assert info.source == "s3://bucket/cifar" and info.snapshot_ids == ()


def test_sql_clients_record_runs_with_the_same_functions(db):
    run_id = db.execute("SELECT db4ai.start_run('from-sql', '{\"lr\": 0.01}', 'pts')").fetchone()[0]
    db.execute("SELECT db4ai.log_metrics(%s, 1, '{loss}', '{0.75}')", (run_id,))
    assert db.execute("SELECT db4ai.end_run(%s, 'failed', 'diverged')", (run_id,)).fetchone()[0] is True
    assert db.execute("SELECT db4ai.end_run(%s)", (run_id,)).fetchone()[0] is False
    row = db.execute("SELECT state, error, metrics FROM db4ai.training_run_progress WHERE id = %s", (run_id,)).fetchone()
    assert row == ("failed", "diverged", "loss=0.75")


def test_owners_see_and_change_their_runs_others_do_not(db, db_dsn, make_role):
    alice, bob, monitor = make_role("alice"), make_role("bob"), make_role("monitor")
    db.execute(f'GRANT pg_read_all_stats TO "{monitor.name}"')
    with psycopg.connect(alice.dsn, autocommit=True) as a, psycopg.connect(bob.dsn, autocommit=True) as b, \
            psycopg.connect(monitor.dsn, autocommit=True) as m:
        with runs.start(a, "alice-run", params={"secret": "x"}) as run:
            run.log(0, loss=1.0)
            assert b.execute("SELECT count(*) FROM db4ai.training_runs").fetchone()[0] == 0
            assert b.execute("SELECT count(*) FROM db4ai.training_run_metric").fetchone()[0] == 0
            assert m.execute("SELECT name, state FROM db4ai.training_runs").fetchall() == [("alice-run", "running")]
            for other in (b, m):
                with pytest.raises(ObjectNotFound):
                    runs._call(other, "SELECT db4ai.end_run(%s, 'failed', 'sabotage')", (run.id,))
                with pytest.raises(ObjectNotFound):
                    runs._call(other, "SELECT db4ai.log_metrics(%s, 1, '{loss}', '{9}')", (run.id,))
                assert other.execute("UPDATE db4ai.training_run SET state = 'failed', finished = now()"
                                     " WHERE id = %s", (run.id,)).rowcount == 0
                assert other.execute("DELETE FROM db4ai.training_run WHERE id = %s", (run.id,)).rowcount == 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                b.execute("UPDATE db4ai.training_run SET owner = 10")  # who ran it is fixed
            # A run may not claim a snapshot its role cannot read.
            a.execute("CREATE TABLE mine AS SELECT 1 AS x")
            a.execute("SELECT db4ai.create_snapshot('public', 'mine', ARRAY['SELECT * FROM mine'])")
            snap = a.execute("SELECT id FROM db4ai.snapshot WHERE name = 'mine@1.0.0'").fetchone()[0]
            with pytest.raises(ObjectNotFound, match="is not readable"):
                runs.start(b, "claim", snapshot_ids=[snap])
        assert runs.get(a, run.id).state == "succeeded"
        assert runs.metrics(a, run.id) == {"loss": ([0], [1.0])}
        assert a.execute("DELETE FROM db4ai.training_run WHERE id = %s", (run.id,)).rowcount == 1
        assert db.execute("SELECT count(*) FROM db4ai.training_run_metric").fetchone()[0] == 0


def test_reinstalling_keeps_runs_and_artifacts(db):
    import numpy as np

    from db4ai import artifacts

    with runs.start(db, "kept") as run:
        run.log(0, loss=1.0)
        artifacts.save(db, "kept-w", {"w": np.arange(3.0)}, run=run, chunk_size=8)
    db4ai.install(db)
    assert runs.get(db, run.id).state == "succeeded"
    assert runs.metrics(db, run.id) == {"loss": ([0], [1.0])}
    assert np.array_equal(artifacts.load(db, "kept-w")["w"], np.arange(3.0))
    with runs.start(db, "after") as later:  # the identity sequences went on
        pass
    assert later.id == run.id + 1
