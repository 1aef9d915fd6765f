"""publish / archive / purge (spec §1.5, §1.7; openGauss tests 02, 03, 05) and lineage safety:
PURGE refuses roots with children and snapshots a stored model was trained on."""

from __future__ import annotations

import pytest

from .conftest import MODES, Db

NAME_HINT = "reference a snapshot using the format: snapshot_name@version"


@pytest.mark.parametrize("function", ["publish", "archive", "purge"])
@pytest.mark.parametrize("mode", MODES)
def test_name_errors(mdb: Db, mode: str, function: str) -> None:
    mdb.set_mode(mode)
    call = f"SELECT db4ai.{function}_snapshot"
    mdb.fails(f"{call}(null, null)", message="i_name cannot be NULL or empty", sqlstate="22023")
    for name in ("name", "name@org@com"):
        mdb.fails(f"{call}(null, %s)", (name,), message="i_name must contain exactly one '@' character",
                  hint=NAME_HINT, sqlstate="22023")
    mdb.fails(f"{call}('_db4ai test', 'name@1.0.0')", message='snapshot "_db4ai test"."name@1.0.0" does not exist',
              sqlstate="42704")


@pytest.mark.parametrize("mode", MODES)
def test_publish_archive_state_machine(sdb: Db, mode: str) -> None:
    sdb.set_mode(mode)
    sdb.rows("SELECT db4ai.create_snapshot('_db4ai test', 'test', '{SELECT 1 a, FROM dual}')")
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.0.0', '{DELETE}')")
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.0.0', '{ADD b int}')")
    state = "SELECT published, archived FROM db4ai.snapshot WHERE schema = '_db4ai test' AND name = %s"
    assert sdb.rows(state, ("test@1.0.0",)) == [(True, False)]  # created: published
    assert sdb.rows(state, ("test@1.1.0",)) == [(False, False)]  # prepared: draft
    for name in ("test@1.1.0", "test@2.0.0"):
        assert sdb.rows("SELECT * FROM db4ai.publish_snapshot('_db4ai test', %s)", (name,)) == [("_db4ai test", name)]
        assert sdb.rows(state, (name,)) == [(True, False)]
        assert sdb.rows("SELECT * FROM db4ai.archive_snapshot('_db4ai test', %s)", (name,)) == [("_db4ai test", name)]
        assert sdb.rows(state, (name,)) == [(False, True)]
        sdb.rows("SELECT db4ai.archive_snapshot('_db4ai test', %s)", (name,))  # idempotent
        assert sdb.rows(state, (name,)) == [(False, True)]
    # derivation does not depend on the state (openGauss): an archived parent still has children
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.1.0', '{UPDATE, SET a = 2}')")


@pytest.mark.parametrize("mode", MODES)
def test_purge_merges_lineage_and_refuses_roots_with_children(sdb: Db, mode: str) -> None:
    sdb.set_mode(mode)
    sdb.rows("SELECT db4ai.create_snapshot('_db4ai test', 'test', ARRAY['SELECT pk, a1 FROM test_data WHERE pk <= 20'], NULL, 'root')")
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.0.0', '{DELETE, WHERE pk > 15}', NULL, 'first')")
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.1.0', '{UPDATE, SET a1 = 0}', NULL, 'second')")
    sdb.rows("SELECT db4ai.prepare_snapshot('_db4ai test', 'test@1.1.0', '{DELETE, WHERE pk > 10}')")
    sdb.fails("SELECT db4ai.purge_snapshot('_db4ai test', 'test@1.0.0')",
              message="""cannot purge root snapshot '"_db4ai test"."test@1.0.0"' having dependent snapshots""",
              hint="purge all dependent snapshots first", sqlstate="2BP01")
    before = sdb.rows('SELECT * FROM "_db4ai test"."test@1.1.1" ORDER BY pk')
    assert sdb.rows("SELECT * FROM db4ai.purge_snapshot('_db4ai test', 'test@1.1.0')") == [("_db4ai test", "test@1.1.0")]
    assert sdb.one("SELECT to_regclass('\"_db4ai test\".\"test@1.1.0\"')") is None
    assert sdb.rows('SELECT * FROM "_db4ai test"."test@1.1.1" ORDER BY pk') == before  # children keep their rows
    lineage = sdb.rows("""SELECT c.name, p.name, c.commands, c.comment FROM db4ai.snapshot c JOIN db4ai.snapshot p
                          ON p.id = c.parent_id ORDER BY c.name""")
    assert lineage == [
        ("test@1.1.1", "test@1.0.0", ["DELETE", "WHERE pk > 15", "UPDATE", "SET a1 = 0"], "first | second"),
        ("test@1.2.0", "test@1.0.0", ["DELETE", "WHERE pk > 15", "DELETE", "WHERE pk > 10"], "first"),
    ]
    for name in ("test@1.1.1", "test@1.2.0", "test@1.0.0"):
        sdb.rows("SELECT db4ai.purge_snapshot('_db4ai test', %s)", (name,))
    # nothing left: views, backing tables, catalog and storage rows
    assert sdb.rows("SELECT relname FROM pg_class WHERE relnamespace = '\"_db4ai test\"'::regnamespace") == []
    assert sdb.rows("SELECT count(*) FROM db4ai.snapshot UNION ALL SELECT count(*) FROM db4ai.snapshot_storage") == [(0,), (0,)]


@pytest.mark.parametrize("mode", MODES)
def test_purge_refuses_snapshots_a_model_was_trained_on(sdb: Db, mode: str) -> None:
    sdb.set_mode(mode)
    # a stand-in with the two columns purge reads (the real warehouse of sql/model, whose rows must be
    # whole models, is moved aside in this throwaway database; tests/core covers the real thing)
    sdb.rows("""DO $$ BEGIN
                    IF to_regclass('db4ai.gs_model_warehouse') IS NOT NULL THEN
                        ALTER TABLE db4ai.gs_model_warehouse RENAME TO gs_model_warehouse_real;
                    END IF;
                END $$""")
    sdb.rows("CREATE TABLE db4ai.gs_model_warehouse (modelname name, snapshot_ids bigint[])")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'houses', ARRAY['SELECT * FROM test_data'])")
    sdb.rows("SELECT db4ai.split_snapshot('public', 'houses@1.0.0', '{_train,_test}', '{.8,.2}')")
    train = sdb.one("SELECT id FROM db4ai.snapshot WHERE name = 'houses_train@1.0.0'")
    sdb.rows("INSERT INTO db4ai.gs_model_warehouse (modelname, snapshot_ids) VALUES ('Price Model', %s)", ([train],))
    sdb.fails("SELECT db4ai.purge_snapshot('public', 'houses_train@1.0.0')",
              message='cannot purge snapshot public."houses_train@1.0.0": model "Price Model" was trained on it',
              hint="drop the model first", sqlstate="2BP01")
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'houses_test@1.0.0')")  # no model on that one
    sdb.rows("DELETE FROM db4ai.gs_model_warehouse WHERE modelname = 'Price Model'")
    sdb.rows("SELECT db4ai.purge_snapshot('public', 'houses_train@1.0.0')")
