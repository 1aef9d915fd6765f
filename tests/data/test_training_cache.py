"""CREATE MODEL with a 1 MB cache trains exactly the model of an unlimited cache and of no cache
(the cache changes where chunks live, never what the training sees)."""

from __future__ import annotations

import pytest

from db4ai import data, models
from db4ai.dialect import parse_script

from .test_cache import _backing_relation, make_snapshot, tamper


@pytest.fixture
def points(db):
    # 100 000 rows of 3 float8 (2.4 MB): more than twice the 1 MB cache.
    db.execute("SELECT setseed(0.3); CREATE TABLE pts AS SELECT g AS id, random() AS x1, random() AS x2,"
               " 2 * g % 5 + random() AS y FROM generate_series(1, 100000) g")
    make_snapshot(db, "pts", "pts")
    return db


def _train(conn, name: str, cache: data.Cache | None) -> tuple:
    stmt = parse_script(f"CREATE MODEL {name} USING linear_regression FEATURES x1, x2 TARGET y FROM pts@1.0.0"
                        " WITH optimizer = gd, batch_size = 700, max_iterations = 5, seed = 11")[0]
    models.create_model(conn, stmt, cache=cache)
    return conn.execute("SELECT modeldata, processedtuples, discardedtuples, iterations, trainingscoresvalue"
                        " FROM db4ai.gs_model_warehouse WHERE modelname = %s", (name,)).fetchone()


def test_a_1mb_cache_trains_the_same_model_as_an_unlimited_cache(points):
    reference = _train(points, "m_none", None)
    assert reference[1] == 100000
    with data.Cache(memory_limit=1 << 20) as small, data.Cache() as unlimited:
        first = [_train(points, "m_small", small), _train(points, "m_unlimited", unlimited)]
        assert small.disk_used > 1 << 20 and small.memory_used <= 1 << 20 and len(small) == 1
        assert unlimited.disk_used == 0 and len(unlimited) == 1
        # Change the rows under the snapshot (never done in real life): a model trained from the
        # cache cannot see it, one trained without the cache can.
        backing = _backing_relation(points, 'public."pts@1.0.0"')
        tamper(points, backing, "SET y = 0")
        again = [_train(points, "m_small_2", small), _train(points, "m_unlimited_2", unlimited)]
        assert _train(points, "m_none_2", None) != reference
    for got in first + again:
        assert got == reference
