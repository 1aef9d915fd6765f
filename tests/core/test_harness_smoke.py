def test_fresh_database_has_db4ai(db):
    from db4ai import __version__

    assert db.execute("select db4ai.version()").fetchone()[0] == __version__


def test_role_factory_gives_non_superuser(make_role, db):
    import psycopg

    alice = make_role("alice")
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        assert conn.execute("select current_user, usesuper from pg_user where usename = current_user").fetchone() == (alice.name, False)
