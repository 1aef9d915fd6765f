"""db4ai.data.read / stream: every supported type equals psycopg's fetchall, NULL masks included,
whether the rows come by ctid ranges or grouped row numbers, in one chunk or many, on one
connection or several."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from db4ai import data
from db4ai.data import _packed, _source
from db4ai.errors import FeatureError, InvalidParameter

from .conftest import assert_frame_matches, object_counts, reference

TABLE_QUERY = "SELECT * FROM alltypes"
GENERIC_QUERY = "SELECT * FROM alltypes ORDER BY id DESC"


def test_table_query_is_read_by_ctid_ranges_and_ordered_query_by_row_groups(alltypes):
    columns = data.describe(alltypes, TABLE_QUERY)
    assert _source.table_scan(alltypes, TABLE_QUERY, columns) is not None
    aliased = "SELECT a.i2 AS x, a.f8 * 2 AS y FROM public.alltypes a WHERE a.id > 3"
    assert _source.table_scan(alltypes, aliased, data.describe(alltypes, aliased)) is not None
    for query in (GENERIC_QUERY, "SELECT sum(f8) FROM alltypes", "SELECT f8, row_number() OVER () FROM alltypes",
                  "SELECT f8 FROM alltypes LIMIT 5", "SELECT x.f8 FROM alltypes x JOIN alltypes y USING (id)",
                  "SELECT generate_series(1, 2) AS g, f8 FROM alltypes", "SELECT DISTINCT b FROM alltypes",
                  "SELECT f8 FROM alltypes WHERE id IN (SELECT id FROM alltypes WHERE b)"):
        assert _source.table_scan(alltypes, query, data.describe(alltypes, query)) is None, query


@pytest.mark.parametrize("chunk_rows", [1, 13, 65536])
def test_table_read_equals_fetchall(alltypes, chunk_rows):
    names, rows = reference(alltypes, TABLE_QUERY + " ORDER BY ctid")
    assert_frame_matches(data.read(alltypes, TABLE_QUERY, chunk_rows=chunk_rows), names, rows)


@pytest.mark.parametrize("chunk_rows", [1, 13, 65536])
def test_generic_query_read_equals_fetchall_in_order(alltypes, chunk_rows):
    names, rows = reference(alltypes, GENERIC_QUERY)
    assert_frame_matches(data.read(alltypes, GENERIC_QUERY, chunk_rows=chunk_rows), names, rows)


@pytest.mark.parametrize("parallel", [2, 3])
def test_parallel_table_read_gives_the_rows_of_one_reader_in_order(alltypes, parallel):
    names, rows = reference(alltypes, TABLE_QUERY + " ORDER BY ctid")
    assert_frame_matches(data.read(alltypes, TABLE_QUERY, parallel=parallel, chunk_rows=20), names, rows)


def test_stream_chunks_concatenate_to_the_reference_and_respect_chunk_rows(alltypes):
    names, rows = reference(alltypes, GENERIC_QUERY)
    frames = list(data.stream(alltypes, GENERIC_QUERY, chunk_rows=50))
    assert [len(f) for f in frames] == [50] * 8 + [6]
    assert_frame_matches(data._frame.concat(frames, frames[0].columns), names, rows)
    pages = alltypes.execute("SELECT relpages FROM pg_class WHERE relname = 'alltypes'").fetchone()[0]
    table_frames = list(data.stream(alltypes, TABLE_QUERY, chunk_rows=50))
    assert len(table_frames) > 1 and sum(map(len, table_frames)) == len(rows)
    assert max(map(len, table_frames)) <= 50 and pages > 1  # at most chunk_rows, whatever the pages hold


@pytest.mark.parametrize("parallel", [1, 2])
def test_no_chunk_exceeds_chunk_rows_whatever_the_page_layout(db, parallel):
    """DELETE + VACUUM leave the first 90% of the pages empty; the statistics then say 20 rows a
    page while the last pages hold about 220 (issue 14.5a: a chunk of 327,450 rows against
    chunk_rows 65,536). Peak rows per chunk, counted: never above chunk_rows."""
    db.execute("CREATE TABLE sparse (id int4, x float4) WITH (autovacuum_enabled = false)")
    db.execute("INSERT INTO sparse SELECT g, g FROM generate_series(1, 50000) g")
    db.execute("DELETE FROM sparse WHERE id <= 45000")
    db.execute("VACUUM ANALYZE sparse")
    pages, tuples = db.execute("SELECT relpages, reltuples FROM pg_class WHERE relname = 'sparse'").fetchone()
    assert tuples == 5000 and 5000 / pages < 25  # the layout of the issue: few rows a page on average
    for chunk_rows in (1000, 100, 7):
        frames = list(data.stream(db, "SELECT id, x FROM sparse", chunk_rows=chunk_rows, parallel=parallel))
        assert max(map(len, frames)) <= chunk_rows, chunk_rows
        assert np.array_equal(np.concatenate([f.arrays["id"] for f in frames]), np.arange(45001, 50001))
        matrices = list(data.stream_matrix(db, "SELECT id, x FROM sparse", chunk_rows=chunk_rows, parallel=parallel))
        assert max(len(m) + m.discarded for m in matrices) <= chunk_rows
        parts = [f for part in range(3) for f in data.stream_part(db, "SELECT id FROM sparse", part, 3, chunk_rows=chunk_rows)]
        assert max(map(len, parts)) <= chunk_rows and sum(map(len, parts)) == 5000


def test_projection_filter_and_aliases_on_a_table(alltypes):
    query = "SELECT t.id AS k, t.f8 * 2 AS twice, t.i4 IS NULL AS missing FROM alltypes AS t WHERE t.id % 3 = 1"
    names, rows = reference(alltypes, query + " ORDER BY t.ctid")
    assert_frame_matches(data.read(alltypes, query, chunk_rows=7), names, rows)
    assert_frame_matches(data.read(alltypes, query, chunk_rows=7, parallel=2), names, rows)


def test_mixed_case_names_and_schema_off_the_search_path(db):
    db.execute('CREATE SCHEMA "Odd Schema"; CREATE TABLE "Odd Schema"."My Table" ("Value" float8, "n" int4);'
               ' INSERT INTO "Odd Schema"."My Table" SELECT g / 2.0, g FROM generate_series(1, 300) g')
    query = 'SELECT "Value", n FROM "Odd Schema"."My Table" WHERE n > 10'
    assert _source.table_scan(db, query, data.describe(db, query)) is not None
    names, rows = reference(db, query)
    assert_frame_matches(data.read(db, query, chunk_rows=16), names, rows)


def test_empty_results_keep_their_columns(alltypes):
    for query in ("SELECT * FROM alltypes WHERE false", "SELECT * FROM alltypes WHERE id < 0 ORDER BY id"):
        frame = data.read(alltypes, query)
        assert len(frame) == 0 and [c.name for c in frame.columns] == reference(alltypes, query)[0]
        matrix = data.read_matrix(alltypes, "SELECT f8, i4 FROM alltypes WHERE false")
        assert matrix.values.shape == (0, 2) and matrix.discarded == 0


def test_describe_names_types_and_kinds(alltypes):
    cols = data.describe(alltypes, TABLE_QUERY)
    assert [(c.name, c.type_name, c.kind) for c in cols] == [
        ("id", "bigint", "int"), ("i2", "smallint", "int"), ("i4", "integer", "int"), ("i8", "bigint", "int"),
        ("f4", "real", "float"), ("f8", "double precision", "float"), ("num", "numeric", "numeric"),
        ("b", "boolean", "bool"), ("a4", "real[]", "float_array"), ("a8", "double precision[]", "float_array")]


@pytest.mark.parametrize("expr, oid, type_name", [
    ("'x'::text", 25, "text"), ("'x'::varchar", 1043, "character varying"), ("now()", 1184, None),
    ("ARRAY[1, 2]", 1007, "integer[]"), ("'1 day'::interval", 1186, "interval")])
def test_unsupported_type_names_column_and_type(db, expr, oid, type_name):
    with pytest.raises(FeatureError, match=f'^Oid type {oid} not yet supported: column "bad"') as err:
        data.read(db, f"SELECT 1.5::float8 AS fine, {expr} AS bad")
    assert type_name is None or err.value.message.endswith(f"has type {type_name}")
    assert err.value.sqlstate == "0A000"


def test_domains_over_supported_types_are_read_as_their_base_type(db):
    db.execute("CREATE DOMAIN positive AS float8 CHECK (VALUE > 0);"
               " CREATE TABLE dom (v positive); INSERT INTO dom VALUES (1.5), (NULL), (2.5)")
    frame = data.read(db, "SELECT v FROM dom")
    assert frame.arrays["v"].tolist() == [1.5, 0.0, 2.5] and frame.nulls["v"].tolist() == [False, True, False]


@pytest.mark.parametrize("rows, detail", [
    ("('{1,2}'), ('{1,2,3}')", "different shapes"),
    ("('{{1,2},{3,4}}'), ('{{1,2},{3,4}}')", "not 1-dimensional"),
    ("('{1,2}'), ('{}')", "not 1-dimensional"),
])
@pytest.mark.parametrize("query", ["SELECT a FROM arr", "SELECT a FROM arr ORDER BY 1"])
def test_arrays_must_be_one_dimensional_and_equally_long(db, rows, detail, query):
    db.execute(f"CREATE TABLE arr (a float8[]); INSERT INTO arr VALUES {rows}")
    with pytest.raises(FeatureError) as err:
        data.read(db, query)
    assert err.value.message == "Input array must be 1-dimensional and must not contain nulls"  # openGauss's text
    assert detail in err.value.detail
    assert db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_arrays_of_different_length_in_different_chunks_are_refused(db):
    db.execute("CREATE TABLE arr (id int, a float8[]);"
               " INSERT INTO arr SELECT g, CASE WHEN g < 50 THEN '{1,2}'::float8[] ELSE '{1,2,3}' END"
               " FROM generate_series(1, 100) g")
    for query in ("SELECT a FROM arr", "SELECT a FROM arr ORDER BY id"):
        with pytest.raises(FeatureError, match='^Input array must be 1-dimensional'):
            data.read(db, query, chunk_rows=10)


def test_duplicate_column_names_are_refused(alltypes):
    with pytest.raises(InvalidParameter, match='column name "f8" appears more than once'):
        data.read(alltypes, "SELECT f8, f8 FROM alltypes")


def test_bad_arguments(alltypes):
    with pytest.raises(InvalidParameter, match="no columns"):
        data.read(alltypes, "SELECT FROM alltypes")
    with pytest.raises(InvalidParameter, match="chunk_rows"):
        data.read(alltypes, TABLE_QUERY, chunk_rows=0)
    with pytest.raises(InvalidParameter, match="parallel"):
        data.read(alltypes, TABLE_QUERY, parallel=0)


def test_reads_leave_nothing_behind_and_restore_the_session(alltypes):
    before = object_counts(alltypes)
    settings = "SELECT current_setting('synchronize_seqscans'), current_setting('max_parallel_workers_per_gather')"
    old = alltypes.execute(settings).fetchone()
    for query in (TABLE_QUERY, GENERIC_QUERY):
        data.read(alltypes, query, parallel=2, chunk_rows=30)
        assert alltypes.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    it = data.stream(alltypes, GENERIC_QUERY, chunk_rows=10)
    next(it)
    it.close()  # abandoning a stream ends its transaction
    it = data.stream(alltypes, TABLE_QUERY, chunk_rows=10, parallel=2)
    next(it)
    it.close()
    assert alltypes.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert alltypes.execute(settings).fetchone() == old
    assert object_counts(alltypes, before) == before


def test_a_read_inside_a_transaction_sees_its_rows_and_keeps_its_settings(db_dsn):
    with psycopg.connect(db_dsn) as conn:  # not autocommit
        conn.execute("CREATE TABLE t (x float8); INSERT INTO t SELECT g FROM generate_series(1, 500) g")
        conn.execute("SET LOCAL synchronize_seqscans = on")
        frame = data.read(conn, "SELECT x FROM t", parallel=2, chunk_rows=50)  # one reader: uncommitted rows
        assert sorted(frame.arrays["x"].tolist()) == list(map(float, range(1, 501)))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SELECT current_setting('synchronize_seqscans')").fetchone()[0] == "on"
        conn.rollback()


def test_a_failed_read_inside_a_transaction_aborts_only_its_savepoint(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        conn.execute("CREATE TABLE arr (a float8[]); INSERT INTO arr VALUES ('{1}'), ('{1,2}')")
        with pytest.raises(FeatureError):
            data.read(conn, "SELECT a FROM arr")
        assert conn.execute("SELECT count(*) FROM arr").fetchone()[0] == 2
        conn.rollback()


def test_query_errors_stay_psycopg_errors(db):
    with pytest.raises(psycopg.errors.UndefinedTable):
        data.read(db, "SELECT * FROM no_such_table")
    with pytest.raises(psycopg.errors.DivisionByZero):
        db.execute("CREATE TABLE z (x int); INSERT INTO z VALUES (0)")
        data.read(db, "SELECT 1 / x AS r FROM z")
    assert db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_trailing_semicolon_and_percent_signs_are_fine(db):
    db.execute("CREATE TABLE p (s text, v float8); INSERT INTO p VALUES ('a%', 1), ('b', 2)")
    assert data.read(db, "SELECT v FROM p WHERE s LIKE 'a%';").arrays["v"].tolist() == [1.0]
    assert data.read(db, "SELECT v FROM p WHERE s NOT LIKE '%a%' ORDER BY v;").arrays["v"].tolist() == [2.0]


def test_reads_run_with_a_stable_scan_order(db):
    # Synchronized scans (tables over a quarter of shared_buffers) and parallel plans would let
    # the row order change from pass to pass; a read turns both off while it runs.
    query = ("SELECT current_setting('synchronize_seqscans') = 'off' AS sync_off,"
             " current_setting('max_parallel_workers_per_gather') = '0' AS serial")
    frame = data.read(db, query)
    assert frame.arrays["sync_off"].tolist() == [True] and frame.arrays["serial"].tolist() == [True]
    db.execute("CREATE TABLE one (x int); INSERT INTO one VALUES (1)")
    frame = data.read(db, "SELECT current_setting('synchronize_seqscans') = 'off' AS sync_off FROM one", parallel=2)
    assert frame.arrays["sync_off"].tolist() == [True]


def test_row_groups_keep_scan_order_when_the_hash_aggregate_spills_to_disk(db):
    # Each chunk of a non-table query is one group of a hash aggregate; with a tiny work_mem the
    # aggregate spills most groups to disk and re-reads them later: rows must keep their order.
    db.execute("CREATE TABLE spill AS SELECT g AS id, (g * 7919) % 10007 AS k FROM generate_series(1, 30000) g")
    db.execute("SET work_mem = '64kB'; SET enable_hashagg = off")  # both would favour sorting
    query = "SELECT id, k FROM spill ORDER BY k, id"
    columns = data.describe(db, query)
    stmt = _packed.grouped_query(columns, psycopg.sql.SQL(query), 50)
    plan = "\n".join(r[0] for r in db.execute(psycopg.sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {}")
                                                .format(stmt)).fetchall())
    assert "HashAggregate" in plan and "Disk Usage" in plan  # the case this test is about
    names, rows = reference(db, query)
    assert_frame_matches(data.read(db, query, chunk_rows=50), names, rows)


def test_reads_through_the_db4ai_shim_connection(alltypes, db_dsn):
    import db4ai

    names, rows = reference(alltypes, GENERIC_QUERY)
    with db4ai.connect(db_dsn, autocommit=True) as shim:
        assert_frame_matches(data.read(shim, GENERIC_QUERY, chunk_rows=100), names, rows)
        names, rows = reference(alltypes, TABLE_QUERY + " ORDER BY ctid")
        assert_frame_matches(data.read(shim, TABLE_QUERY, parallel=2, chunk_rows=100), names, rows)


def test_parallel_reads_as_a_password_role_and_of_temporary_tables(db, make_role):
    alice = make_role("alice")
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE mine AS SELECT g AS id FROM generate_series(1, 3000) g;"
                     " CREATE TEMP TABLE scratch AS SELECT g AS id FROM generate_series(1, 3000) g")
        for table in ("mine", "scratch"):  # siblings log in as alice; a temp table is read alone
            frame = data.read(conn, f"SELECT id FROM {table}", parallel=2, chunk_rows=200)
            assert sorted(frame.arrays["id"].tolist()) == list(range(1, 3001)), table


def test_snapshot_references_in_the_query_text(db):
    """name@version works in db4ai.data queries as it does through the shim."""
    import db4ai.data as data

    db.execute("CREATE TABLE src AS SELECT g AS id, g * 0.5 AS x FROM generate_series(1, 100) g")
    db.execute("SELECT db4ai.create_snapshot('public', 'src', '{\"SELECT * FROM src\"}')")
    frame = data.read(db, "SELECT id, x FROM src@1.0.0 WHERE id <= 10")
    assert frame.arrays["id"].tolist() == list(range(1, 11))
    assert [c.name for c in data.describe(db, "SELECT x FROM public.src @ 1.0.0")] == ["x"]


def test_split_reads_agree_whatever_analyze_did_in_between(db):
    """stream_part callers (the torch workers) must cut the same ranges even when the
    statistics change between them: together they read every row exactly once."""
    db.execute("CREATE TABLE parts AS SELECT g AS id, g * 1.0 AS x FROM generate_series(1, 20000) g")
    db.execute("ALTER TABLE parts SET (autovacuum_enabled = false)")
    first = [f.arrays["id"] for f in data.stream_part(db, "SELECT id, x FROM parts", 0, 2, chunk_rows=1000)]
    db.execute("ANALYZE parts")
    second = [f.arrays["id"] for f in data.stream_part(db, "SELECT id, x FROM parts", 1, 2, chunk_rows=1000)]
    ids = np.concatenate(first + second)
    assert len(ids) == 20000 and len(np.unique(ids)) == 20000
