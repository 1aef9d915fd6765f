"""Cache: snapshots (immutable) are served from the cache, tables never; a purged and re-created
snapshot of the same name is not served stale; spilling to memory-mapped files or dropping
entries past the limits changes nothing in the rows."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from db4ai import data

from .conftest import assert_frame_matches, reference


def _has_snapshot_api(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regprocedure('db4ai.create_snapshot(name,name,text[],name,text)') IS NOT NULL"
                        " AND to_regprocedure('db4ai.purge_snapshot(name,name)') IS NOT NULL").fetchone()[0]


def make_snapshot(conn: psycopg.Connection, name: str, source: str) -> str:
    """Create snapshot ``name@1.0.0`` of ``SELECT * FROM source``; return its quoted view name.

    Uses db4ai.create_snapshot when installed, else a minimal stand-in with the same catalog
    columns (id from a sequence, schema, name, created) and the same view name.
    """
    if _has_snapshot_api(conn):
        conn.execute("SELECT db4ai.create_snapshot('public', %s, ARRAY['SELECT *', %s])", (name, f"FROM {source}"))
    else:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS db4ai.stand_in_seq;"
                     " CREATE TABLE IF NOT EXISTS db4ai.snapshot (id bigint UNIQUE, schema name, name name,"
                     "  created timestamp DEFAULT clock_timestamp(), PRIMARY KEY (schema, name))")
        conn.execute(f'CREATE TABLE db4ai."t_{name}" AS SELECT * FROM {source};'
                     f' CREATE VIEW public."{name}@1.0.0" AS SELECT * FROM db4ai."t_{name}"')
        conn.execute("INSERT INTO db4ai.snapshot (id, schema, name)"
                     " VALUES (nextval('db4ai.stand_in_seq'), 'public', %s)", (f"{name}@1.0.0",))
    return f'"{name}@1.0.0"'


def purge_snapshot(conn: psycopg.Connection, name: str) -> None:
    if _has_snapshot_api(conn):
        conn.execute("SELECT db4ai.purge_snapshot('public', %s)", (f"{name}@1.0.0",))
    else:
        conn.execute(f'DROP VIEW public."{name}@1.0.0"; DROP TABLE db4ai."t_{name}"')
        conn.execute("DELETE FROM db4ai.snapshot WHERE schema = 'public' AND name = %s", (f"{name}@1.0.0",))


@pytest.fixture
def snap(alltypes: psycopg.Connection) -> str:
    return make_snapshot(alltypes, "cached", "alltypes")


def test_a_snapshot_is_served_from_the_cache(alltypes, snap):
    query = f"SELECT id, f8, a4, b FROM {snap}"
    names, rows = reference(alltypes, query)
    with data.Cache() as cache:
        key = data.cache_key(alltypes, query)
        assert key is not None and key.query == query and len(key.snapshots) == 1
        assert_frame_matches(data.read(alltypes, query, cache=cache, chunk_rows=50), names, rows)
        assert key in cache and cache.memory_used > 0
        # Prove the second read comes from the cache: change the backing rows underneath (never
        # done in real life; snapshots are immutable).
        tamper(alltypes, _backing_relation(alltypes, snap), "SET f8 = 12345")
        assert set(data.read(alltypes, query).arrays["f8"].tolist()) == {12345.0}  # without the cache
        assert_frame_matches(data.read(alltypes, query, cache=cache), names, rows)


def tamper(conn: psycopg.Connection, table: str, set_clause: str) -> None:
    """UPDATE a snapshot's backing table past the trigger that makes it read-only, as only its
    owner could (ALTER TABLE ... DISABLE TRIGGER), to prove that a later read did not look at it."""
    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER _db4ai_immutable")
    conn.execute(f"UPDATE {table} {set_clause}")
    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER _db4ai_immutable")


def _backing_relation(conn: psycopg.Connection, view: str) -> str:
    """The table under a snapshot view (following views down to the first table)."""
    rel = conn.execute("SELECT %s::regclass::oid", (view,)).fetchone()[0]
    while True:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = %s", (rel,)).fetchone()[0]
        if kind != "v":
            return conn.execute("SELECT %s::regclass::text", (rel,)).fetchone()[0]
        rel = conn.execute(
            "SELECT DISTINCT d.refobjid FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid"
            " WHERE r.ev_class = %s AND d.refobjid <> %s AND d.classid = 'pg_rewrite'::regclass"
            " AND d.refclassid = 'pg_class'::regclass", (rel, rel)).fetchone()[0]


def test_a_table_is_never_served_from_the_cache(alltypes):
    query = "SELECT id, f8 FROM alltypes"
    assert data.cache_key(alltypes, query) is None
    with data.Cache() as cache:
        first = data.read(alltypes, query, cache=cache)
        alltypes.execute("UPDATE alltypes SET f8 = 7 WHERE id = 1")
        second = data.read(alltypes, query, cache=cache)
        assert len(cache) == 0 and cache.memory_used == 0
        i = int(np.flatnonzero(second.arrays["id"] == 1)[0])
        assert second.arrays["f8"][i] == 7 and first.arrays["f8"][i] != 7


@pytest.mark.parametrize("query", [
    "SELECT f8 FROM {snap} JOIN alltypes USING (id)",  # a table is involved
    "SELECT f8, random() AS r FROM {snap}",  # volatile function
    "SELECT f8, clock_timestamp() IS NULL AS t FROM {snap}",
    "SELECT f8, now() IS NULL AS t FROM {snap}",  # stable is not enough: changes between transactions
    "SELECT 1.0::float8 AS one",  # no relation at all
    "SELECT f8 FROM (SELECT * FROM {snap}) s WHERE f8 > (SELECT avg(f8) FROM alltypes)",
])
def test_only_queries_over_snapshots_alone_with_immutable_functions_are_cacheable(alltypes, snap, query):
    assert data.cache_key(alltypes, query.format(snap=snap)) is None


def test_cacheable_queries_over_snapshots(alltypes, snap):
    other = make_snapshot(alltypes, "other", "alltypes WHERE id < 100")
    for query in (f"SELECT f8, abs(i4) AS a FROM {snap} WHERE id % 2 = 0",
                  f"SELECT s.f8 FROM {snap} s JOIN public.{other} o USING (id)",
                  f"WITH c AS (SELECT * FROM {snap}) SELECT f8 FROM c ORDER BY id"):
        key = data.cache_key(alltypes, query)
        assert key is not None, query
    two = data.cache_key(alltypes, f"SELECT s.f8 FROM {snap} s JOIN public.{other} o USING (id)")
    assert len(two.snapshots) == 2


def test_a_purged_and_recreated_snapshot_is_not_served_stale(alltypes, snap):
    query = f"SELECT id, f8 FROM {snap}"
    with data.Cache() as cache:
        old_key = data.cache_key(alltypes, query)
        data.read(alltypes, query, cache=cache)
        purge_snapshot(alltypes, "cached")
        alltypes.execute("UPDATE alltypes SET f8 = 99")
        make_snapshot(alltypes, "cached", "alltypes")
        new_key = data.cache_key(alltypes, query)
        assert new_key != old_key and old_key in cache
        frame = data.read(alltypes, query, cache=cache)
        assert set(frame.arrays["f8"].tolist()) == {99.0}
        assert new_key in cache


@pytest.mark.parametrize("limits", [dict(memory_limit=0), dict(memory_limit=3000), dict(memory_limit=0, disk_limit=0),
                                    dict(memory_limit=3000, disk_limit=5000)])
def test_small_limits_spill_or_restream_with_the_same_rows(alltypes, snap, limits, tmp_path):
    query = f"SELECT * FROM {snap} ORDER BY id"
    names, rows = reference(alltypes, query)
    with data.Cache(directory=str(tmp_path / "c"), **limits) as cache:
        for _ in range(3):
            assert_frame_matches(data.read(alltypes, query, cache=cache, chunk_rows=40), names, rows)
        assert cache.memory_used <= limits["memory_limit"]
        if limits.get("disk_limit") is None:
            assert cache.disk_used > 0 and len(cache) == 1
            assert any((tmp_path / "c").iterdir())
        else:
            assert cache.disk_used <= limits["disk_limit"] and len(cache) == 0
        matrices = list(data.stream_matrix(alltypes, f"SELECT f8, a8 FROM {snap} ORDER BY id", cache=cache,
                                           chunk_rows=40))
        again = list(data.stream_matrix(alltypes, f"SELECT f8, a8 FROM {snap} ORDER BY id", cache=cache,
                                        chunk_rows=40))
        assert all(np.array_equal(a.values, b.values, equal_nan=True) and a.discarded == b.discarded
                   for a, b in zip(matrices, again, strict=True))
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_an_abandoned_read_is_not_cached(alltypes, snap):
    with data.Cache() as cache:
        it = data.stream(alltypes, f"SELECT * FROM {snap}", cache=cache, chunk_rows=30)
        next(it)
        it.close()
        assert len(cache) == 0 and cache.memory_used == 0


def test_cached_frames_are_read_only(alltypes, snap):
    with data.Cache() as cache:
        data.read(alltypes, f"SELECT f8 FROM {snap}", cache=cache, chunk_rows=1000)
        frame = data.read(alltypes, f"SELECT f8 FROM {snap}", cache=cache)
        with pytest.raises(ValueError):
            frame.arrays["f8"][0] = 1.0


def test_cache_is_keyed_by_role(alltypes, snap, make_role):
    key = data.cache_key(alltypes, f"SELECT f8 FROM {snap}")
    alice = make_role("alice")
    alltypes.execute(f"GRANT SELECT ON {snap} TO {alice.name}; GRANT USAGE ON SCHEMA db4ai TO {alice.name};"
                     f" GRANT SELECT ON db4ai.snapshot TO {alice.name}")
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        other = data.cache_key(conn, f"SELECT f8 FROM {snap}")
    assert other is not None and other != key and other.role == alice.name
