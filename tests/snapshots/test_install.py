"""Installing the snapshot module again is an upgrade that keeps every snapshot; uninstalling
removes the views and backing tables that live outside schema db4ai."""

from __future__ import annotations

from db4ai.install import expand_script, sql_dir

from .conftest import Db, equal_relations


def make_some(db: Db) -> None:
    db.rows("SELECT db4ai.create_snapshot('public', 'm', ARRAY['SELECT * FROM test_data WHERE pk <= 100'])")
    db.set_mode("CSS")
    db.rows("SELECT db4ai.create_snapshot('public', 'c', ARRAY['SELECT * FROM test_data WHERE pk <= 100'])")
    db.rows("SELECT db4ai.prepare_snapshot('public', 'c@1.0.0', '{UPDATE, SET a1 = 0, WHERE pk < 5}')")
    db.rows("SELECT db4ai.split_snapshot('public', 'c@1.0.1', '{_a,_b}', '{.5,.5}')")
    db.rows("RESET db4ai.snapshot_mode")


def test_reinstall_keeps_snapshots(sdb: Db) -> None:
    make_some(sdb)
    before = sdb.state()
    sdb.rows(("BEGIN;\n" + expand_script(sql_dir() / "snapshot" / "_all.sql") + "\nCOMMIT;").encode())
    assert sdb.state() == before
    assert [sdb.one(f'SELECT count(*) FROM "{name}"') for name in ("m@1.0.0", "c@1.0.1", "c_a@1.0.1", "c_b@1.0.1")] == [100, 100, 50, 50]
    assert not equal_relations(sdb, '"c@1.0.0"', '"c@1.0.1"')
    sdb.rows("SELECT db4ai.prepare_snapshot('public', 'c@1.0.1', '{DELETE}')")
    assert sdb.one("SELECT count(*) FROM pg_policies WHERE schemaname = 'db4ai' AND tablename LIKE 'snapshot%'") == 8


def test_uninstall_removes_views_and_backing_tables(sdb: Db) -> None:
    make_some(sdb)
    sdb.rows(("BEGIN;\n" + expand_script(sql_dir() / "snapshot" / "uninstall.sql") + "\nDROP SCHEMA db4ai CASCADE;\nCOMMIT;").encode())
    assert sdb.rows("SELECT relname FROM pg_class WHERE relname LIKE '%%@%%' OR relname LIKE '\\_db4ai%%'") == []
    assert sdb.one("SELECT count(*) FROM test_data") == 1000
