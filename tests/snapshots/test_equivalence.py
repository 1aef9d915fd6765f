"""Snapshots equal plain SQL on copy tables (openGauss tests 06_RAWvsMSS, 07_RAWvsCSS, 13_TrueSQL,
08_MSSvsCSS): one chain of operations written as short-SQL arrays and as true-SQL arrays gives
exactly the rows the same ordinary SQL gives on copy tables (multiset equality, EXCEPT ALL both
ways, column order positional), in MSS and CSS; CSS and MSS agree row for row, also after a
middle snapshot is purged."""

from __future__ import annotations

import pytest

from .conftest import MODES, Db, equal_relations

SELECT = "SELECT a1, a3, a6, a8, a2, pk, a1 b9, a7, a5"

# one step per snapshot version: (parent version, short-SQL array, true-SQL array, plain SQL on the copy "t")
STEPS = [
    ("1.0.0",
     ["UPDATE", "SET a1 = 5", "WHERE pk % 10 = 0",
      'ADD " u+ " INTEGER', 'ADD "x <> y"INT DEFAULT 2', "ADD t CHAR(10) DEFAULT ''",
      "DROP a2", "DROP COLUMN IF EXISTS b9", "DROP COLUMN IF EXISTS b10",
      "UPDATE", 'SET "x <> y" = 8', "WHERE pk < 100",
      'DROP " u+ "', 'DROP IF EXISTS " x+ "',
      "DELETE", "WHERE pk = 3"],
     ["UPDATE snapshot SET a1 = 5 WHERE pk % 10 = 0",
      """ADD " u+ " INTEGER, ADD "x <> y"INT DEFAULT 2, ADD t CHAR(10) DEFAULT ''""",
      "DROP a2, DROP COLUMN IF EXISTS b9, DROP COLUMN IF EXISTS b10",
      'UPDATE snapshot SET "x <> y" = 8  WHERE pk < 100',
      'DROP " u+ ", DROP IF EXISTS " x+ "',
      "DELETE FROM snapshot WHERE pk = 3"],
     ["UPDATE t SET a1 = 5 WHERE pk % 10 = 0",
      """ALTER TABLE t ADD " u+ " INTEGER, ADD "x <> y"INT DEFAULT 2, ADD t CHAR(10) DEFAULT '',
         DROP a2, DROP COLUMN IF EXISTS b9, DROP COLUMN IF EXISTS b10""",
      'UPDATE t SET "x <> y" = 8 WHERE pk < 100',
      'ALTER TABLE t DROP " u+ ", DROP IF EXISTS " x+ "',
      "DELETE FROM t WHERE pk = 3"]),
    ("2.0.0",
     ["UPDATE", "AS i", "SET a5 = o.a2", "FROM test_data o", "WHERE i.pk = o.pk AND o.a3 % 8 = 0"],
     ["UPDATE snapshot AS i SET a5 = o.a2 FROM test_data o WHERE i.pk = o.pk AND o.a3 % 8 = 0"],
     ["UPDATE t AS i SET a5 = o.a2 FROM test_data o WHERE i.pk = o.pk AND o.a3 % 8 = 0"]),
    ("2.0.1",
     ["DELETE", "USING test_data o", "WHERE snapshot.pk = o.pk AND o.A7 % 2 = 0"],
     ["DELETE FROM snapshot USING test_data o WHERE snapshot.pk = o.pk AND o.A7 % 2 = 0"],
     ["DELETE FROM t AS snapshot USING test_data o WHERE snapshot.pk = o.pk AND o.A7 % 2 = 0"]),
    ("2.1.0",
     ["INSERT", "SELECT a1, a3, a6, a8, a2, pk+1000 pk, a7, a5, a4", "FROM test_data", "WHERE pk % 10 = 4"],
     ["INSERT INTO snapshot SELECT a1, a3, a6, a8, a2, pk+1000 pk, a7, a5, a4 FROM test_data WHERE pk % 10 = 4"],
     ["INSERT INTO t SELECT a1, a3, a6, a8, a2, pk+1000 pk, a7, a5, a4 FROM test_data WHERE pk % 10 = 4"]),
]
VERSIONS = ["2.0.0", "2.0.1", "2.1.0", "2.2.0"]


def build_reference(db: Db, prefix: str) -> list[str]:
    """Plain tables ref_<v> built with ordinary SQL, one copy per version (as the openGauss test)."""
    names = [f"{prefix}_1_0_0"]
    db.rows(f"DROP TABLE IF EXISTS {names[0]}; CREATE TABLE {names[0]} AS {SELECT} FROM test_data")
    for (_, _, _, plain), version in zip(STEPS, VERSIONS, strict=True):
        name = f"{prefix}_{version.replace('.', '_')}"
        db.rows(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} AS SELECT * FROM {names[-1]}")
        for stmt in plain:
            db.rows(stmt.replace(" t ", f" {name} ", 1))  # the first " t " is the table
        names.append(name)
    return names


@pytest.mark.parametrize("form", ["short", "true"])
@pytest.mark.parametrize("mode", MODES)
def test_chain_equals_plain_sql(mdb: Db, mode: str, form: str) -> None:
    mdb.set_mode(mode)
    snap = f"eq_{mode}_{form}".lower()
    ref = build_reference(mdb, f"ref_{snap}")
    first = [SELECT, "FROM test_data", "DISTRIBUTE BY HASH(pk)"] if form == "short" else [
        f"{SELECT} FROM test_data DISTRIBUTE BY HASH(pk)"]
    mdb.rows("SELECT db4ai.create_snapshot('public', %s, %s)", (snap, first))
    for (parent, short, true, _), version in zip(STEPS, VERSIONS, strict=True):
        got = mdb.one("SELECT (db4ai.prepare_snapshot('public', %s, %s)).name",
                      (f"{snap}@{parent}", short if form == "short" else true))
        assert got == f"{snap}@{version}"
    # everything squashed into one call with a custom version
    squashed = [cmd for step in STEPS for cmd in (step[1] if form == "short" else step[2])]
    mdb.rows("SELECT db4ai.prepare_snapshot('public', %s, %s, 'squash')", (f"{snap}@1.0.0", squashed))
    for version, table in zip(["1.0.0", *VERSIONS, "squash"], [*ref, ref[-1]], strict=True):
        assert equal_relations(mdb, f'public."{snap}@{version}"', table), version
        # the catalog's row count is the view's
        assert mdb.one("SELECT row_count FROM db4ai.snapshot WHERE name = %s", (f"{snap}@{version}",)) == mdb.one(
            f'SELECT count(*) FROM public."{snap}@{version}"')
    # column names and types as the plain table's
    cols = """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
              WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"""
    assert mdb.rows(cols, (f'public."{snap}@squash"',)) == mdb.rows(cols, (ref[-1],))


def test_mss_equals_css_and_survives_purging_a_middle_snapshot(sdb: Db) -> None:
    """08_MSSvsCSS: the same operations in CSS and MSS give the same rows; purging a middle
    snapshot keeps its descendants intact; samples and splits agree between the modes."""
    for mode in MODES:
        sdb.set_mode(mode)
        s = mode.lower()
        sdb.rows("SELECT db4ai.create_snapshot('public', %s, %s)", (s, [SELECT, "FROM test_data"]))
        for parent, short, _, _ in STEPS:
            sdb.rows("SELECT db4ai.prepare_snapshot('public', %s, %s)", (f"{s}@{parent}", short))
        sdb.rows("SELECT db4ai.purge_snapshot('public', %s)", (f"{s}@2.0.1",))
        sdb.rows("SELECT db4ai.prepare_snapshot('public', %s, %s)", (f"{s}@2.2.0", ["UPDATE", "SET a1 = a1 + 1", "WHERE pk > 500"]))
        sdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_train,_test}', '{.8,.2}')", (f"{s}@2.2.1",))
        sdb.rows("SELECT db4ai.split_snapshot('public', %s, '{_a,_b}', '{.7,.3}', %s)", (f"{s}@2.0.0", ["x <> y"]))
        sdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_s}', '{.3}', '{t}')", (f"{s}@2.2.1",))
    for name in ["@1.0.0", "@2.0.0", "@2.1.0", "@2.2.0", "@2.2.1", "_train@2.2.1", "_test@2.2.1", "_a@2.0.0", "_b@2.0.0", "_s@2.2.1"]:
        assert equal_relations(sdb, f'"mss{name}"', f'"css{name}"'), name
        assert sdb.one(f'SELECT count(*) FROM "css{name}"') > 0
    # the purged snapshot's lineage was handed down
    assert sdb.rows("""SELECT c.commands, p.name FROM db4ai.snapshot c JOIN db4ai.snapshot p ON p.id = c.parent_id
                       WHERE c.name = 'css@2.1.0'""") == [(STEPS[1][1] + STEPS[2][1], "css@2.0.0")]
    # fresh samples are neither published nor archived; the lifecycle flags move as openGauss's
    assert sdb.one("SELECT bool_or(published OR archived) FROM db4ai.snapshot WHERE name LIKE 'css\\_%'") is False
    sdb.rows("SELECT db4ai.archive_snapshot('public', 'css_train@2.2.1')")
    assert sdb.rows("SELECT archived, published FROM db4ai.snapshot WHERE name = 'css_train@2.2.1'") == [(True, False)]
    sdb.rows("SELECT db4ai.publish_snapshot('public', 'css_train@2.2.1')")
    assert sdb.rows("SELECT archived, published FROM db4ai.snapshot WHERE name = 'css_train@2.2.1'") == [(False, True)]


def test_css_children_cost_only_what_they_change(sdb: Db) -> None:
    """CSS storage: a child stores only its changed rows; deleting costs no rows at all; the
    parent's rows are never rewritten; purging a child gives the space back."""
    sdb.set_mode("CSS")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'c', ARRAY['SELECT * FROM test_data'])")
    store = sdb.one("SELECT store::text FROM db4ai.snapshot_storage WHERE id = (SELECT id FROM db4ai.snapshot WHERE name = 'c@1.0.0')")
    xmins = sdb.one(f"SELECT sum(xmin::text::bigint) FROM {store}")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'c@1.0.0', '{DELETE, WHERE pk <= 100}')")
    assert sdb.one(f"SELECT count(*) FROM {store}") == 1000
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'c@1.0.0', '{UPDATE, SET a1 = -1, WHERE pk <= 10}')")
    assert sdb.one(f"SELECT count(*) FROM {store}") == 1010
    sdb.rows("""SELECT db4ai.prepare_snapshot('public', 'c@1.0.1', ARRAY['ADD flag boolean DEFAULT true', 'ADD note text'])""")
    assert sdb.one(f"SELECT count(*) FROM {store}") == 1010  # constant default and NULL: no row rewritten
    assert sdb.one(f"SELECT sum(xmin::text::bigint) FROM {store} WHERE _db4ai_rid < ((SELECT id + 1 FROM db4ai.snapshot WHERE name = 'c@1.0.0') << 32)") == xmins
    assert sdb.rows("SELECT count(*), count(*) FILTER (WHERE a1 = -1), bool_and(flag), count(note) FROM \"c@2.0.0\"") == [(1000, 10, True, 0)]
    assert sdb.one("SELECT count(*) FROM \"c@1.1.0\"") == 900
    # purge frees the rows only that child used
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'c@2.0.0')")
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'c@1.0.1')")
    assert sdb.one(f"SELECT count(*) FROM {store}") == 1000
    assert sdb.rows(f"""SELECT count(*) FROM pg_attribute WHERE attrelid = '{store}'::regclass AND attnum > 0
                        AND NOT attisdropped""") == [(10,)]  # the added fields were dropped again
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'c@1.1.0')")
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'c@1.0.0')")
    assert sdb.one(f"SELECT to_regclass('{store}')") is None
    assert sdb.one("SELECT count(*) FROM db4ai.snapshot_storage") == 0


def test_mode_can_change_between_calls(sdb: Db) -> None:
    """The mode may change between calls: a CSS child of an MSS snapshot starts a shared backing
    table of its own (an MSS table has no row ids to share), which its CSS descendants then share;
    once they append rows, the first snapshot's view filters by membership."""
    sdb.rows("SELECT db4ai.create_snapshot('public', 'm', ARRAY['SELECT pk, a1 FROM test_data WHERE pk <= 50'])")
    sdb.set_mode("CSS")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'm@1.0.0', ARRAY['INSERT', 'VALUES (-1, -1)'])")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'm@1.1.0', ARRAY['INSERT', 'VALUES (-2, -2)'])")
    sdb.set_mode("MSS")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'm@1.2.0', ARRAY['DELETE', 'WHERE pk < 0'])")
    assert [sdb.one(f'SELECT count(*) FROM "m@{v}"') for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")] == [50, 51, 52, 50]
    assert equal_relations(sdb, '"m@1.3.0"', '"m@1.0.0"')
    assert sdb.rows("""SELECT s.name, s.matrix_id = p.id, st.members IS NOT NULL, st.filtered FROM db4ai.snapshot s
                       JOIN db4ai.snapshot_storage st USING (id) LEFT JOIN db4ai.snapshot p ON p.name = 'm@1.1.0'
                       ORDER BY s.id""") == [
        ("m@1.0.0", None, False, False), ("m@1.1.0", True, True, True), ("m@1.2.0", True, True, True),
        ("m@1.3.0", None, False, False)]


# The same chain as openGauss SQL statements (spec §4.1 14_SQLSyntax), run through db4ai.connect().
STATEMENTS = [
    """CREATE SNAPSHOT {s} FROM @1.0.0 USING (
         UPDATE SNAPSHOT SET a1 = 5 WHERE pk % 10 = 0;
         ALTER SNAPSHOT ADD " u+ " INTEGER, ADD "x <> y"INT DEFAULT 2, ADD t CHAR(10) DEFAULT '';
         ALTER DROP a2, DROP COLUMN IF EXISTS b9, DROP COLUMN IF EXISTS b10;
         UPDATE SET "x <> y" = 8 WHERE pk < 100;
         ALTER DROP " u+ ", DROP IF EXISTS " x+ ";
         DELETE FROM SNAPSHOT WHERE pk = 3)""",
    "CREATE SNAPSHOT {s} FROM @2.0.0 USING (UPDATE SNAPSHOT AS i SET a5 = o.a2 FROM test_data o"
    " WHERE i.pk = o.pk AND o.a3 % 8 = 0)",
    "CREATE SNAPSHOT {s} FROM @2.0.1 USING (DELETE FROM SNAPSHOT USING test_data o"
    " WHERE SNAPSHOT.pk = o.pk AND o.A7 % 2 = 0)",
    "CREATE SNAPSHOT {s} FROM @2.1.0 USING (INSERT INTO SNAPSHOT SELECT a1, a3, a6, a8, a2, pk+1000 pk, a7, a5, a4"
    " FROM test_data WHERE pk % 10 = 4)",
]


@pytest.mark.parametrize("mode", MODES)
def test_sql_statements_equal_plain_sql_and_the_arrays(mdb: Db, mode: str) -> None:
    import psycopg

    import db4ai

    mdb.set_mode(mode)
    snap = f"eq_{mode}_stmt".lower()
    ref = build_reference(mdb, f"ref_{snap}")
    dsn = psycopg.conninfo.make_conninfo(
        **{o.keyword.decode(): o.val.decode() for o in mdb.conn.pgconn.info if o.val is not None})
    with db4ai.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET db4ai.snapshot_mode = '{mode}'")
        assert conn.execute(f"CREATE SNAPSHOT {snap} AS {SELECT} FROM test_data").fetchall() == [("public", f"{snap}@1.0.0")]
        for statement, version in zip(STATEMENTS, VERSIONS, strict=True):
            assert conn.execute(statement.format(s=snap)).fetchall() == [("public", f"{snap}@{version}")]
        for version, table in zip(["1.0.0", *VERSIONS], ref, strict=True):
            got = conn.execute(f"SELECT count(*) FROM {snap}@{version}").fetchone()[0]
            assert equal_relations(mdb, f'public."{snap}@{version}"', table), version
            assert got == mdb.one(f"SELECT count(*) FROM {table}")
    # the statements were stored as the openGauss command array
    assert mdb.one("SELECT commands FROM db4ai.snapshot WHERE name = %s", (f"{snap}@2.0.1",)) == [
        "UPDATE", "AS i", "SET a5 = o.a2", "FROM test_data o", "WHERE i.pk = o.pk AND o.a3 % 8 = 0"]
