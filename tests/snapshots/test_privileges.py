"""Ownership and privileges (DESIGN §3.2, §4): non-superusers can use snapshots; only the owner or a
member of the owning role manages a snapshot; others see rows only when granted; views are read-only;
the catalog can only be written for one's own rows; db4ai's own code ignores the caller's search_path."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from .conftest import MODES, Db


def connect(role) -> Db:
    return Db(psycopg.connect(role.dsn, autocommit=True))


@pytest.fixture
def people(sdb: Db, make_role):
    """alice owns a table and snapshots; bob is a stranger; carol is a member of alice."""
    alice, bob, carol = make_role("alice"), make_role("bob"), make_role("carol")
    sdb.rows(sql.SQL("GRANT {} TO {}").format(sql.Identifier(alice.name), sql.Identifier(carol.name)))
    sdb.rows(sql.SQL("GRANT SELECT ON test_data TO {}").format(sql.Identifier(alice.name)))
    sdb.rows(sql.SQL("CREATE SCHEMA bobs AUTHORIZATION {}").format(sql.Identifier(bob.name)))
    dbs = {name: connect(role) for name, role in (("alice", alice), ("bob", bob), ("carol", carol))}
    yield {"alice": alice, "bob": bob, "carol": carol, **{f"{k}_db": v for k, v in dbs.items()}}
    for db in dbs.values():
        db.conn.close()


@pytest.mark.parametrize("mode", MODES)
def test_non_superuser_can_do_everything_with_own_snapshots(people, mode: str) -> None:
    a: Db = people["alice_db"]
    a.set_mode(mode)
    a.rows("SELECT db4ai.create_snapshot('public', 's', ARRAY['SELECT pk, a1, a2 FROM test_data'])")
    a.rows("SELECT db4ai.prepare_snapshot('public', 's@1.0.0', '{UPDATE, SET a1 = 0, WHERE pk < 10, ADD z int}')")
    a.rows("SELECT db4ai.sample_snapshot('public', 's@2.0.0', '{_s}', '{.5}')")
    a.rows("SELECT db4ai.split_snapshot('public', 's@2.0.0', '{_tr,_te}', '{.8,.2}')")
    a.rows("SELECT db4ai.publish_snapshot('public', 's_tr@2.0.0')")
    a.rows("SELECT db4ai.archive_snapshot('public', 's_te@2.0.0')")
    assert a.one('SELECT count(*) FROM "s_tr@2.0.0"') == 800
    for name in ("s_tr@2.0.0", "s_te@2.0.0", "s_s@2.0.0", "s@2.0.0", "s@1.0.0"):
        a.rows("SELECT db4ai.purge_snapshot('public', %s)", (name,))
    assert a.rows("SELECT relname FROM pg_class WHERE relname LIKE '%%@%%' OR relname LIKE '\\_db4ai\\_t%%'") == []


def test_snapshot_views_are_read_only_even_for_the_owner(people) -> None:
    """Strangers lack the privilege; the owner has it, and meets the trigger (test_immutable.py)."""
    a: Db = people["alice_db"]
    b: Db = people["bob_db"]
    a.rows("SELECT db4ai.create_snapshot('public', 'ro', ARRAY['SELECT pk FROM test_data WHERE pk < 5'])")
    a.rows(sql.SQL('GRANT SELECT ON "ro@1.0.0" TO {}').format(sql.Identifier(people["bob"].name)))
    for stmt, verb in (('INSERT INTO "ro@1.0.0" VALUES (99)', "insert into"), ('UPDATE "ro@1.0.0" SET pk = 0', "update"),
                       ('DELETE FROM "ro@1.0.0"', "delete from")):
        a.fails(stmt, message=f'cannot {verb} snapshot public."ro@1.0.0"', sqlstate="55000")
        b.fails(stmt, message="permission denied for view ro@1.0.0", sqlstate="42501")
    assert a.one('SELECT count(*) FROM "ro@1.0.0"') == 4


@pytest.mark.parametrize("mode", MODES)
def test_strangers_see_nothing_and_manage_nothing(people, mode: str) -> None:
    a: Db = people["alice_db"]
    b: Db = people["bob_db"]
    b.set_mode(mode)
    a.rows("SELECT db4ai.create_snapshot('public', 'secret', ARRAY['SELECT * FROM test_data'])")
    store = a.one("SELECT store::text FROM db4ai.snapshot_storage")
    b.fails('SELECT * FROM "secret@1.0.0"', message="permission denied for view secret@1.0.0", sqlstate="42501")
    b.fails(f"SELECT * FROM {store}", message=f"permission denied for table {store}", sqlstate="42501")
    for action in ("publish", "archive", "purge"):
        b.fails(f"SELECT db4ai.{action}_snapshot('public', 'secret@1.0.0')", message='permission denied for snapshot public."secret@1.0.0"',
                hint=f"only the owner of the snapshot ({people['alice'].name}) or a member of that role may {action} it", sqlstate="42501")
    for call in ("db4ai.prepare_snapshot('public', 'secret@1.0.0', '{DELETE}')",
                 "db4ai.sample_snapshot('public', 'secret@1.0.0', '{_x}', '{.5}')",
                 "db4ai.split_snapshot('public', 'secret@1.0.0', '{_x,_y}', '{.5,.5}')"):
        b.fails(f"SELECT * FROM {call}", message='permission denied for snapshot public."secret@1.0.0"',
                hint="deriving a snapshot needs SELECT on its view; ask its owner to GRANT it", sqlstate="42501")


@pytest.mark.parametrize("mode", MODES)
def test_granted_readers_derive_into_their_own_storage(people, mode: str) -> None:
    a: Db = people["alice_db"]
    b: Db = people["bob_db"]
    b.set_mode(mode)
    a.rows("SELECT db4ai.create_snapshot('public', 'shared', ARRAY['SELECT * FROM test_data'])")
    a.rows(sql.SQL('GRANT SELECT ON "shared@1.0.0" TO {}').format(sql.Identifier(people["bob"].name)))
    assert b.one('SELECT count(*) FROM "shared@1.0.0"') == 1000
    # CSS would need alice's backing table: bob's child gets storage of its own instead
    b.rows("SELECT db4ai.prepare_snapshot('public', 'shared@1.0.0', '{DELETE, WHERE pk > 100}')")
    b.rows("SELECT db4ai.split_snapshot('public', 'shared@1.0.0', '{_a,_b}', '{.5,.5}')")
    assert b.one('SELECT count(*) FROM "shared@1.1.0"') == 100
    owners = b.rows("""SELECT s.name, c.relowner::regrole::text = current_user, s.matrix_id FROM db4ai.snapshot s
                       JOIN db4ai.snapshot_storage st USING (id) JOIN pg_class c ON c.oid = st.store
                       WHERE s.owner = current_user ORDER BY s.id""")
    assert owners == [("shared@1.1.0", True, None), ("shared_a@1.0.0", True, None), ("shared_b@1.0.0", True, None)]
    # alice's lineage now has bob's children: her root cannot go, and bob's rows are bob's to purge
    a.fails("SELECT db4ai.purge_snapshot('public', 'shared@1.0.0')",
            message="""cannot purge root snapshot 'public."shared@1.0.0"' having dependent snapshots""", sqlstate="2BP01")
    b.rows("SELECT db4ai.prepare_snapshot('public', 'shared@1.1.0', '{UPDATE, SET a1 = 1}')")
    a.rows("SELECT db4ai.prepare_snapshot('public', 'shared@1.0.0', '{DELETE, WHERE pk > 500}', '1.2.0')")
    a.rows(sql.SQL('GRANT SELECT ON "shared@1.2.0" TO {}').format(sql.Identifier(people["bob"].name)))
    b.rows("SELECT db4ai.prepare_snapshot('public', 'shared@1.2.0', '{UPDATE, SET a1 = 2}')")
    a.fails("SELECT db4ai.purge_snapshot('public', 'shared@1.2.0')",
            message=f'cannot purge snapshot public."shared@1.2.0": snapshot public."shared@1.2.1" of role {people["bob"].name} depends on it',
            hint="the owner of the dependent snapshot must purge it first", sqlstate="2BP01")


def test_members_of_the_owning_role_manage_and_share_storage(people) -> None:
    a: Db = people["alice_db"]
    c: Db = people["carol_db"]
    a.set_mode("CSS")
    a.rows("SELECT db4ai.create_snapshot('public', 'team', ARRAY['SELECT * FROM test_data'])")
    c.set_mode("CSS")
    c.rows("SELECT db4ai.prepare_snapshot('public', 'team@1.0.0', '{UPDATE, SET a1 = 0, WHERE pk = 1}')")
    assert c.one("""SELECT count(DISTINCT store) FROM db4ai.snapshot_storage""") == 1  # carol's child shares alice's table
    c.rows("SELECT db4ai.publish_snapshot('public', 'team@1.0.0')")
    c.rows("SELECT db4ai.purge_snapshot('public', 'team@1.0.1')")
    a.rows("SELECT db4ai.purge_snapshot('public', 'team@1.0.0')")
    assert a.rows("SELECT count(*) FROM db4ai.snapshot") == [(0,)]


def test_catalog_rows_can_only_be_written_for_oneself(people) -> None:
    a: Db = people["alice_db"]
    b: Db = people["bob_db"]
    a.rows("SELECT db4ai.create_snapshot('public', 'mine', ARRAY['SELECT * FROM test_data'])")
    alice_id = a.one("SELECT id FROM db4ai.snapshot")
    # everybody reads the catalog; nobody changes someone else's rows
    assert b.one("SELECT count(*) FROM db4ai.snapshot") == 1
    assert b.rows("UPDATE db4ai.snapshot SET published = false") == [] and a.one("SELECT published FROM db4ai.snapshot")
    b.rows("DELETE FROM db4ai.snapshot")
    b.rows("DELETE FROM db4ai.snapshot_storage")
    assert a.rows("SELECT count(*) FROM db4ai.snapshot UNION ALL SELECT count(*) FROM db4ai.snapshot_storage") == [(1,), (1,)]
    b.fails("UPDATE db4ai.snapshot SET name = 'x@1' WHERE id = %s", (alice_id,),
            message="permission denied for table snapshot", sqlstate="42501")
    b.fails("UPDATE db4ai.snapshot SET owner = current_user", message="permission denied for table snapshot", sqlstate="42501")
    # no forged rows: not for others, not with ids one did not draw, not below a snapshot one cannot read
    insert = """INSERT INTO db4ai.snapshot (id, parent_id, root_id, schema, name, owner, commands, row_count)
                VALUES (%s, %s, %s, 'bobs', 'fake@1', %s, '{}', 0)"""
    rls = 'new row violates row-level security policy for table "snapshot"'
    bob = people["bob"].name
    b.rows("SELECT nextval('db4ai.snapshot_sequence')")
    own_id = b.one("SELECT currval('db4ai.snapshot_sequence')")
    b.fails(insert, (own_id, None, own_id, people["alice"].name), message=rls)
    b.fails(insert, (own_id + 100, None, own_id + 100, bob), message=rls)
    b.fails(insert, (own_id, alice_id, alice_id, bob), message=rls)
    b.rows(insert, (own_id, None, own_id, bob))  # a row of his own in his own schema is his business
    b.fails("UPDATE db4ai.snapshot SET parent_id = %s WHERE owner = current_user", (alice_id,), message=rls)
    b.fails("SELECT setval('db4ai.snapshot_sequence', 1)", message="permission denied for sequence snapshot_sequence")


def test_db4ai_code_ignores_the_callers_search_path(people) -> None:
    """A function on the caller's search_path that shadows a built-in is never called by db4ai,
    while the caller's own SQL pieces still resolve names on that path."""
    a: Db = people["alice_db"]
    a.rows("""CREATE FUNCTION public.btrim(text, text) RETURNS text LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'trojan called'; END $$""")
    a.rows("""CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'trojan called'; END $$""")
    a.rows("CREATE TABLE public.local_rows AS SELECT 1 AS v")
    a.rows("SET search_path = public, pg_catalog")
    a.rows("SELECT db4ai.create_snapshot(NULL, 'p', '{ SELECT v , FROM local_rows }')")
    a.rows("SELECT db4ai.prepare_snapshot(NULL, 'p@1.0.0', '{ INSERT , SELECT v + 1 FROM local_rows }')")
    a.rows("SELECT db4ai.split_snapshot(NULL, 'p@1.1.0', '{_a,_b}', '{.5,.5}')")
    assert a.rows('SELECT * FROM "p@1.1.0" ORDER BY 1') == [(1,), (2,)]


@pytest.mark.parametrize("mode", MODES)
def test_a_leaky_function_sees_only_the_granted_snapshots_rows(people, mode: str) -> None:
    """Views are security barriers: a reader's cheap function in WHERE runs after the membership
    filter, so it cannot see rows of the shared CSS store that belong to other snapshots."""
    a: Db = people["alice_db"]
    b: Db = people["bob_db"]
    a.set_mode(mode)
    a.rows("SELECT db4ai.create_snapshot('public', 'c', ARRAY['SELECT pk, a1 FROM test_data'])")
    a.rows("SELECT db4ai.prepare_snapshot('public', 'c@1.0.0', '{DELETE, WHERE pk > 5}')")
    a.rows(sql.SQL('GRANT SELECT ON public."c@1.1.0" TO {}').format(sql.Identifier(people["bob"].name)))
    b.rows("""CREATE FUNCTION bobs.leak(int8, int) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
              $$ BEGIN RAISE NOTICE 'leak %', $1; RETURN true; END $$""")
    seen: list[str] = []
    b.conn.add_notice_handler(lambda d: seen.append(d.message_primary))
    assert b.one('SELECT count(*) FROM public."c@1.1.0" WHERE bobs.leak(pk, a1)') == 5
    assert sorted(seen) == sorted(f"leak {pk}" for pk in range(1, 6))
