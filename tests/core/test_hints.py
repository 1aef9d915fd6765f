"""Typos get a hint naming what was meant: algorithms, hyperparameters, snapshot versions."""

from __future__ import annotations

import subprocess
import sys

import pytest

from db4ai import InvalidParameter, ParseError
from db4ai.algorithms import get
from db4ai.algorithms.hyperparameters import GD_SUPERVISED, resolve
from db4ai.dialect import parse_script


@pytest.mark.parametrize(("typo", "hint"), [("linear_regresion", "did you mean 'linear_regression'?"),
                                            ("logistic_regresion", "did you mean 'logistic_regression'?"),
                                            ("kmean", "did you mean 'kmeans'?"), ("zzz", None)])
def test_unknown_algorithm_names_the_closest(typo, hint):
    with pytest.raises(InvalidParameter, match=f"^Invalid ML algorithm '{typo}'$") as info:
        get(typo)
    assert info.value.hint == hint


@pytest.mark.parametrize(("typo", "hint"), [("learning_rat", "did you mean learning_rate?"),
                                            ("batchsize", "did you mean batch_size?"), ("xyz", None)])
def test_unknown_hyperparameter_names_the_closest(typo, hint):
    with pytest.raises(InvalidParameter, match=f"^Invalid hyperparameter {typo}$") as info:
        resolve(GD_SUPERVISED, [(typo, 1)])
    assert info.value.hint == hint


@pytest.mark.parametrize("statement", ["PUBLISH SNAPSHOT houses", "PURGE SNAPSHOT public.houses",
                                       "SAMPLE SNAPSHOT houses AS _a AT RATIO .5", "SPLIT SNAPSHOT houses AS _a AT RATIO 1"])
def test_a_snapshot_statement_without_version_shows_the_form(statement):
    with pytest.raises(ParseError) as info:
        parse_script(statement)
    assert info.value.hint == "a snapshot is named with its version: houses@1.0.0, for instance"


def test_db4ai_sql_names_the_version_of_a_snapshot_queried_without_one(db_dsn):
    run = [sys.executable, "-m", "db4ai.cli", "sql", "-d", db_dsn, "-c"]
    setup = subprocess.run(run + ["CREATE TABLE t AS SELECT 1 AS a; CREATE SNAPSHOT s AS SELECT * FROM t;"
                                  " CREATE SNAPSHOT s FROM @1.0.0 USING (UPDATE SET a = 2)"], capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    result = subprocess.run(run + ["SELECT * FROM s"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ['ERROR:  relation "s" does not exist', "LINE 1: SELECT * FROM s",
                                          "                      ^", "HINT:  s is a db4ai snapshot: name a version, e.g. s@1.0.1"]
    other = subprocess.run(run + ["SELECT * FROM nosuch"], capture_output=True, text=True)
    assert "HINT" not in other.stderr
