"""Snapshots are immutable for everybody, superusers included (issue 14.1): every INSERT, UPDATE,
DELETE, TRUNCATE (and COPY) through a snapshot view or on its backing table fails with an error that
says to derive a new version, while db4ai's own writes (a CSS child's rows, purge) keep working, in
new databases and in databases upgraded by re-running install.sql."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from db4ai.install import install

from .conftest import MODES, Db

DETAIL_VIEW = "snapshots are immutable"
DETAIL_STORE = "snapshots are immutable, and so are the tables that hold their rows"
EXAMPLES = {"INSERT": "INSERT VALUES ...", "UPDATE": "UPDATE SET ... WHERE ...", "DELETE": "DELETE WHERE ...",
            "TRUNCATE": "DELETE WHERE ..."}
VERBS = {"INSERT": "insert into", "UPDATE": "update", "DELETE": "delete from", "TRUNCATE": "truncate"}


def writes(target: str) -> dict[str, str]:
    """One statement per kind of write on ``target``; the DELETE and UPDATE touch no row at all
    (statement triggers refuse them all the same)."""
    return {
        "INSERT": f"INSERT INTO {target} SELECT * FROM {target} LIMIT 1",
        "UPDATE": f"UPDATE {target} SET a1 = a1 + 1 WHERE false",
        "DELETE": f"DELETE FROM {target}",
        "TRUNCATE": f"TRUNCATE {target}",
    }


def contents(db: Db) -> list:
    """Every row of every backing table and the catalog's row counts: what no refused write may change."""
    stores = db.rows("SELECT DISTINCT store::text FROM db4ai.snapshot_storage ORDER BY 1")
    data = [db.rows(f"SELECT * FROM {s} ORDER BY 1, 2") for (s,) in stores]
    return [data, db.rows("SELECT id, row_count FROM db4ai.snapshot ORDER BY id")]


def stores(db: Db, where: str = "true", params: tuple = ()) -> list[str]:
    """Schema-qualified names of the backing tables of the snapshots matching ``where``."""
    return [r[0] for r in db.rows(
        "SELECT DISTINCT format('%%I.%%I', n.nspname, c.relname) FROM db4ai.snapshot s JOIN db4ai.snapshot_storage st USING (id)"
        f" JOIN pg_class c ON c.oid = st.store JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {where} ORDER BY 1", params)]


def assert_refused(db: Db, stmt: str, *, message: str, detail: str, hint: str) -> None:
    before = contents(db)
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as info:
        db.conn.execute(stmt)
    diag = info.value.diag
    assert (diag.message_primary, diag.message_detail, diag.message_hint) == (message, detail, hint), stmt
    assert contents(db) == before


@pytest.fixture
def owner(sdb: Db, make_role):
    role = make_role("owner")
    sdb.rows(sql.SQL("GRANT SELECT ON test_data TO {}").format(sql.Identifier(role.name)))
    with psycopg.connect(role.dsn, autocommit=True) as conn:
        yield Db(conn)


def make_lineage(db: Db, mode: str) -> None:
    """s@1.0.0 and, derived from it, s@1.0.1 (in CSS mode sharing s@1.0.0's backing table)."""
    db.set_mode(mode)
    db.rows("SELECT db4ai.create_snapshot('public', 's', ARRAY['SELECT pk, a1, a2 FROM test_data WHERE pk <= 20'])")
    db.rows("SELECT db4ai.prepare_snapshot('public', 's@1.0.0', '{UPDATE, SET a1 = -1, WHERE pk <= 5}')")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("actor", ["owner", "superuser"])
def test_no_write_through_a_view_or_on_a_backing_table(sdb: Db, owner: Db, mode: str, actor: str) -> None:
    make_lineage(owner, mode)
    db = owner if actor == "owner" else sdb
    shared = mode == "CSS"
    assert sdb.one("SELECT count(DISTINCT store) FROM db4ai.snapshot_storage") == (1 if shared else 2)
    for name, version in (("s@1.0.0", "1.0.0"), ("s@1.0.1", "1.0.1")):
        for op, stmt in writes(f'public."{name}"').items():
            if op == "TRUNCATE":  # PostgreSQL refuses it before any trigger: a view is not a table
                with pytest.raises(psycopg.errors.WrongObjectType):
                    db.conn.execute(stmt)
                continue
            assert_refused(db, stmt, message=f'cannot {VERBS[op]} snapshot public."{name}"', detail=DETAIL_VIEW,
                           hint=f"derive a new version instead: CREATE SNAPSHOT s FROM @{version} USING ({EXAMPLES[op]})")
        [store] = stores(sdb, "s.name = %s", (name,))
        stored = '"s@1.0.0", public."s@1.0.1"' if shared else f'"{name}"'
        for op, stmt in writes(store).items():
            assert_refused(db, stmt, message=f"cannot {VERBS[op]} table {store}: it stores snapshot{'s' if shared else ''} public.{stored}",
                           detail=DETAIL_STORE,
                           hint=f"derive a new version instead: CREATE SNAPSHOT s FROM @{'1.0.1' if shared else version} "
                                f"USING ({EXAMPLES[op]})")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState), db.conn.cursor() as cur:
            with cur.copy(f"COPY {store} FROM STDIN") as copy:
                copy.write("")


def test_strangers_are_stopped_by_privileges_first(sdb: Db, owner: Db, make_role) -> None:
    owner.rows("SELECT db4ai.create_snapshot('public', 'p', '{SELECT pk FROM test_data WHERE pk < 5}')")
    stranger = make_role("stranger")
    with psycopg.connect(stranger.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute('DELETE FROM public."p@1.0.0"')


@pytest.mark.parametrize("mode", MODES)
def test_db4ai_maintenance_still_writes(sdb: Db, owner: Db, mode: str) -> None:
    """A CSS child appends to its parent's table, purge deletes rows nobody uses; and the permit of
    those writes does not outlive them, not even in the same transaction."""
    make_lineage(owner, mode)
    assert owner.rows('SELECT a1 FROM "s@1.0.1" WHERE pk <= 5') == [(-1,)] * 5
    assert owner.one('SELECT count(*) FROM "s@1.0.1"') == 20
    owner.rows("SELECT db4ai.purge_snapshot('public', 's@1.0.1')")
    assert owner.one("SELECT count(*) FROM db4ai.snapshot") == 1
    [store] = stores(owner)
    assert owner.one(f"SELECT count(*) FROM {store}") == 20
    with owner.conn.transaction():
        owner.rows("SELECT db4ai.prepare_snapshot('public', 's@1.0.0', '{DELETE, WHERE pk = 1}')")
        assert owner.one("SELECT current_setting('db4ai.store_write', true)") in (None, "")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState), owner.conn.transaction():
            owner.rows(f"DELETE FROM {store}")
    assert owner.one('SELECT count(*) FROM "s@1.1.0"') == 19


def test_a_forged_permit_of_another_transaction_does_not_open_a_table(owner: Db) -> None:
    owner.rows("SELECT db4ai.create_snapshot('public', 'f', ARRAY['SELECT pk, a1 FROM test_data WHERE pk < 5'])")
    [store] = stores(owner)
    owner.rows(f"SET db4ai.store_write = '{owner.one(f'SELECT {store!r}::regclass::oid')}:1'")
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
        owner.rows(f"DELETE FROM {store}")


@pytest.mark.parametrize("mode", MODES)
def test_install_protects_snapshots_of_an_earlier_version(sdb: Db, owner: Db, mode: str) -> None:
    """A database from before the triggers (emulated: triggers dropped, and the owner's write
    privileges on its views revoked, as the earlier install did) is protected by re-running install."""
    make_lineage(owner, mode)
    for (rel,) in sdb.rows("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '\\_db4ai\\_immutable%%'"):
        sdb.rows(f"DROP TRIGGER _db4ai_immutable ON {rel}")
        sdb.rows(f"DROP TRIGGER IF EXISTS _db4ai_immutable_row ON {rel}")
    owner.rows('REVOKE INSERT, UPDATE, DELETE ON "s@1.0.0", "s@1.0.1" FROM CURRENT_USER')
    store = stores(sdb)[0]
    with sdb.conn.transaction(force_rollback=True):  # the hole the upgrade closes
        assert sdb.conn.execute(f"DELETE FROM {store}").rowcount > 0
    install(sdb.conn)
    assert_refused(sdb, f"DELETE FROM {store}", message=f"cannot delete from table {store}: it stores "
                   + ('snapshots public."s@1.0.0", public."s@1.0.1"' if mode == "CSS" else 'snapshot public."s@1.0.0"'),
                   detail=DETAIL_STORE, hint=f"derive a new version instead: CREATE SNAPSHOT s FROM @{'1.0.1' if mode == 'CSS' else '1.0.0'} "
                   "USING (DELETE WHERE ...)")
    assert_refused(owner, 'UPDATE "s@1.0.1" SET a1 = 0', message='cannot update snapshot public."s@1.0.1"', detail=DETAIL_VIEW,
                   hint="derive a new version instead: CREATE SNAPSHOT s FROM @1.0.1 USING (UPDATE SET ... WHERE ...)")
    install(sdb.conn)  # idempotent
    assert sdb.one("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '\\_db4ai\\_immutable%%'") == (
        2 * 2 + 1 if mode == "CSS" else 2 * 2 + 2)
