"""Names that could jam PURGE and DROP (issue 14.3a/b): control characters are refused wherever a
name enters, and PURGE cleans up a snapshot whose backing table is gone."""

from __future__ import annotations

import pytest

from .conftest import MODES, Db

HINT = "use printable characters in snapshot names, versions, sample infixes and split names"
BAD = [chr(1), chr(2), "\n", "\t", chr(31)]


def shown(text: str) -> str:
    """The name as the error shows it: control characters as \\xNN."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 32 else c for c in text)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", BAD, ids=lambda c: f"0x{ord(c):02x}")
def test_control_characters_are_refused_wherever_a_name_enters(mdb: Db, mode: str, bad: str) -> None:
    mdb.set_mode(mode)
    mdb.rows("DROP SCHEMA IF EXISTS cc CASCADE; CREATE SCHEMA cc")
    mdb.rows("SELECT db4ai.create_snapshot('cc', 'p', '{SELECT pk, FROM test_data}')")

    def refused(call: str, params: tuple, name: str, what: str = "snapshot name") -> None:
        mdb.fails(call, params, message=f"{what} must not contain control characters: '{shown(name)}'", hint=HINT,
                  sqlstate="22023")

    create = "SELECT db4ai.create_snapshot('cc', %s, '{SELECT pk, FROM test_data}', %s)"
    refused(create, (f"a{bad}b", None), f"a{bad}b@1.0.0")
    if bad != chr(2):  # chr(2) in a version is openGauss's encoding of the version separator
        refused(create, ("a", f"1{bad}0"), f"a@1{bad}0")
        refused("SELECT db4ai.prepare_snapshot('cc', 'p@1.0.0', '{DELETE}', %s)", (f"v{bad}",), f"p@v{bad}")
    refused("SELECT db4ai.sample_snapshot('cc', 'p@1.0.0', %s, '{.5,.5}')", ([ "_ok", f"_s{bad}"],), f"p_s{bad}@1.0.0")
    refused("SELECT db4ai.split_snapshot('cc', 'p@1.0.0', %s, '{.5,.5}')", ([f"_a{bad}", "_b"],), f"p_a{bad}@1.0.0")
    schema = f"s{bad}x"
    mdb.rows("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE")
    mdb.rows("CREATE SCHEMA \"" + schema + "\"")
    refused("SELECT db4ai.create_snapshot(%s, 'a', '{SELECT pk, FROM test_data}')", (schema,), schema, "schema name")
    mdb.rows("DROP SCHEMA \"" + schema + "\"")
    mdb.rows("DROP VIEW \"cc\".\"p@1.0.0\"; DELETE FROM db4ai.snapshot WHERE schema = 'cc'")


def test_encoded_version_separator_still_works(mdb: Db) -> None:
    mdb.rows("DROP SCHEMA IF EXISTS enc CASCADE; CREATE SCHEMA enc")
    assert mdb.one("SELECT (db4ai.create_snapshot('enc', 'e', '{SELECT pk, FROM test_data}', %s)).name",
                   (f"2{chr(2)}0{chr(2)}1",)) == "e@2.0.1"
    mdb.rows("SELECT db4ai.purge_snapshot('enc', 'e@2.0.1')")


@pytest.mark.parametrize("mode", MODES)
def test_purge_after_the_backing_table_was_dropped(sdb: Db, mode: str) -> None:
    sdb.set_mode(mode)
    sdb.rows("SELECT db4ai.create_snapshot('public', 'g', ARRAY['SELECT pk, a1 FROM test_data'])")
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'g@1.0.0', '{UPDATE, SET a1 = 0, WHERE pk < 10}')")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'h', '{SELECT pk, FROM test_data}')")
    for (store,) in sdb.rows("SELECT DISTINCT store::text FROM db4ai.snapshot_storage st JOIN db4ai.snapshot s USING (id)"
                             " WHERE s.name LIKE 'g@%%'"):
        sdb.rows(f"DROP TABLE {store} CASCADE")  # by hand: the views go with it
    sdb.rows("DROP VIEW \"h@1.0.0\"")  # only the view gone: purge drops the table
    for name in ("g@1.0.1", "g@1.0.0", "h@1.0.0"):
        assert sdb.rows("SELECT * FROM db4ai.purge_snapshot('public', %s)", (name,)) == [("public", name)]
    assert sdb.rows("SELECT * FROM db4ai.snapshot") == []
    assert sdb.rows("SELECT * FROM db4ai.snapshot_storage") == []
    assert sdb.rows("SELECT relname FROM pg_class WHERE relname LIKE '%%@%%' OR relname LIKE '\\_db4ai\\_%%'") == []
