"""db4ai.prepare_snapshot: every check and error text of spec §1.4 (openGauss test 01_PrepareSnapshotAPI),
the command-array grammar, version numbering and the catalog row, in both modes."""

from __future__ import annotations

import pytest

from .conftest import MODES, Db, equal_relations

MALFORMED_HINT = ("pass SQL DML and DDL operations as TEXT[] literal, e.g. '{ALTER, ADD a int, DROP c, DELETE, "
                  "WHERE b=5, INSERT, FROM t, UPDATE, FROM t, SET x=y, SET z=f(z), WHERE t.u=v}'")
PARENT_HINT = "reference a snapshot using the format: snapshot_name@version"
VERS_HINT = "specify snapshot version as [@]x.y.z or [@]label with optional, leading '@'"

# commands given to prepare_snapshot('_db4ai_test', 'test@1.0.0', <commands>) -> (message, hint, SQLSTATE)
COMMAND_ERRORS = [
    ("null", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("'{}'", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("'{{a},{a}}'", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("'{1, null, 2}'", "i_commands array contains NULL values", None, "22023"),
    ("'{ WHERE ever , DELETE}'", "missing INSERT / UPDATE / DELETE keyword before WHERE clause in i_commands at: 'WHERE ever'", None, "42601"),
    ("'{ALTER,  WHERE ever   }'", "illegal WHERE clause in ALTER at: 'WHERE ever'", None, "42601"),
    ("'{DELETE, WHERE ever  , WHERE  also  }'", "multiple WHERE clauses in DELETE at: 'WHERE  also'", None, "42601"),
    ("'{ FROM  nowhere  }'", "missing INSERT / UPDATE keyword before FROM clause in i_commands at: 'FROM  nowhere'", None, "42601"),
    ("'{AlTER,FrOM  nowhere }'", "illegal FROM clause in ALTER at: 'FrOM  nowhere'", None, "42601"),
    ("'{DELeTE  ,  FRoM  nowhere }'", "illegal FROM clause in DELETE at: 'FRoM  nowhere'", None, "42601"),
    ("'{  InSERT,  FrOM  nowhere , FROm  elsewhere }'", "multiple FROM clauses in INSERT at: 'FROm  elsewhere'", None, "42601"),
    ("'{ upDatE ,  FrOM  nowhere , FROm  elsewhere }'", "multiple FROM clauses in UPDATE at: 'FROm  elsewhere'", None, "42601"),
    ("'{ UsinG  something  }'", "missing DELETE keyword before USING clause in i_commands at: 'UsinG  something'", None, "42601"),
    ("'{ Alter  , UsinG  something  }'", "illegal USING clause in ALTER at: 'UsinG  something'", None, "42601"),
    ("'{ INSerT  , UsinG  something  }'", "illegal USING clause in INSERT at: 'UsinG  something'", None, "42601"),
    ("'{  upDatE  , UsinG  something  }'", "illegal USING clause in UPDATE at: 'UsinG  something'", None, "42601"),
    ("'{DeLETe,  USinG  this , USing  that }'", "multiple USING clauses in DELETE at: 'USing  that'", None, "42601"),
    ("'{ Set  nothing  }'", "missing UPDATE keyword before SET clause in i_commands at: 'Set  nothing'", None, "42601"),
    ("'{ AlTeR , Set  nothing  }'", "illegal SET clause in ALTER at: 'Set  nothing'", None, "42601"),
    ("'{ inserT ,Set  nothing}'", "illegal SET clause in INSERT at: 'Set  nothing'", None, "42601"),
    ("'{ DelETE ,Set  nothing}'", "illegal SET clause in DELETE at: 'Set  nothing'", None, "42601"),
    ("'{ AS  alias  }'", "missing UPDATE / DELETE keyword before AS clause in i_commands at: 'AS  alias'", None, "42601"),
    ("'{ AlTeR , As  AliaS  }'", "illegal AS clause in ALTER at: 'As  AliaS'", None, "42601"),
    ("'{ inserT ,aS  aliAs  }'", "illegal AS clause in INSERT at: 'aS  aliAs'", None, "42601"),
    ("'{DeLETe,  AS this , as  thAt }'", "multiple AS clauses in DELETE at: 'as  thAt'", None, "42601"),
    ("'{ ( a b) }'", "missing ALTER / INSERT / UPDATE / DELETE keyword before SQL clause: '( a b)'", None, "42601"),
    ("'{ AlTer, Values( a b) }'", "illegal SQL clause in ALTER at: 'Values( a b)'", None, "42601"),
    ("'{ uPDaTe, Values( a b) }'", "illegal SQL clause in UPDATE at: 'Values( a b)'", None, "42601"),
    ("'{ delETE , Values( a b) }'", "illegal SQL clause in DELETE at: 'Values( a b)'", None, "42601"),
    ("'{ alTeR  }'", "missing auxiliary clauses in ALTER", None, "42601"),
    ("'{ inSerT  }'", "missing auxiliary clauses in INSERT", None, "42601"),
    ("'{ UPdate  }'", "missing auxiliary clauses in UPDATE", None, "42601"),
    ("'{ alter , AlTer  }'", "missing auxiliary clauses in ALTER before: 'AlTer'", None, "42601"),
    ("'{ inSert , upDate  }'", "missing auxiliary clauses in INSERT before: 'upDate'", None, "42601"),
    ("'{ upDatE , DeletE  }'", "missing auxiliary clauses in UPDATE before: 'DeletE'", None, "42601"),
    ("""'{ "Add column, ADD b"}'""", "unable to extract column name in ADD operation: 'Add column, ADD b'", None, "42601"),
    ("""'{ "DROP ColuMn iF eXistS, ADD b"}'""", "unable to extract column name in DROP operation: 'DROP ColuMn iF eXistS, ADD b'", None, "42601"),
    ("""'{ "Add b, c"}'""", "expected ADD or DROP keyword before 'c' in: 'Add b, c'", "currently only ADD and DROP supported", "42601"),
    ("""'{ "DROP IF a"}'""", "expected EXISTS keyword in DROP operation after 'IF' in: 'DROP IF a'", None, "42601"),
    ("""ARRAY[' UPDATE ', ' SET foo' ,'  WHERE FALSE ', ' DroP "Bb" int' ]""",
     """unable to map field "Bb" to backing table in DROP operation: 'DroP "Bb" int'""", None, "42704"),
    ("""'{ UPDATE , SET foo ,  WHERE FALSE , DroP \\"Bb\\" int }'""",
     """unable to map field "Bb" to backing table in DROP operation: 'DroP "Bb" int'""", None, "42704"),
    ("""ARRAY[' UPDATE ', ' SET foo' ,'  WHERE FALSE ', ' ADD "s int ' ]""",
     """unterminated quoted identifier '"s int' at or near: 'ADD "s int'""", None, "42601"),
    ("'{ INSERT, WHERE FALSE, ADD s int}'", "missing SELECT or VALUES clause in INSERT operation", None, "42601"),
    ("'{ UPDATE, WHERE FALSE, ADD s int}'", "missing SET clause in UPDATE operation", None, "42601"),
    # ours: checks openGauss did not make (or made only by failing later)
    ("'{ADD a int}'", 'column "a" already exists in current snapshot', None, "42710"),
    ("ARRAY['UPDATE', 'SET foo = 1']", 'unable to map field "foo" to backing table in UPDATE operation: SET foo = 1', None, "42704"),
    ("ARRAY['UPDATE snapshot SET (a, bar) = (1, 2)']",
     'unable to map field "bar" to backing table in UPDATE operation: SET (a, bar) = (1, 2)', None, "42704"),
    ("ARRAY['UPDATE', 'SET _db4ai_rid = 1']",
     'unable to map field "_db4ai_rid" to backing table in UPDATE operation: SET _db4ai_rid = 1', None, "42704"),
    ("ARRAY['DROP _db4ai_rid']",
     "unable to map field \"_db4ai_rid\" to backing table in DROP operation: 'DROP _db4ai_rid'", None, "42704"),
    ("ARRAY['DELETE FROM test_data WHERE a = 1']", "illegal target of DELETE in i_commands at: 'DELETE FROM test_data WHERE a = 1'",
     "the snapshot being prepared is called snapshot, e.g. 'DELETE FROM snapshot WHERE ...'", "42601"),
    ("ARRAY['INSERT INTO test_data SELECT 1']", "illegal target of INSERT in i_commands at: 'INSERT INTO test_data SELECT 1'", None, "42601"),
    ("ARRAY['UPDATE test_data SET a = 1']", "illegal target of UPDATE in i_commands at: 'UPDATE test_data SET a = 1'", None, "42601"),
    ("ARRAY['DELETE', 'WHERE a = 1; DROP TABLE test_data']",
     "syntax error at or near ';' in 'WHERE a = 1; DROP TABLE test_data' at position '12'", None, "42601"),
]


def ensure(db: Db, schema: str, name: str, commands: list[str], vers: str | None = None) -> None:
    full = name + "@" + (vers or "1.0.0")
    if not db.rows("SELECT 1 FROM db4ai.snapshot WHERE schema = %s AND name = %s", (schema, full)):
        db.rows("SELECT db4ai.create_snapshot(%s, %s, %s, %s)", (schema, name, commands, vers))


@pytest.mark.parametrize("mode", MODES)
def test_prepare_parent_and_command_errors(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    mdb.fails("SELECT db4ai.prepare_snapshot(null, null, null)", message="i_parent cannot be NULL or empty", sqlstate="22023")
    for parent in ("name", "name@org@com"):
        mdb.fails("SELECT db4ai.prepare_snapshot(null, %s, null)", (parent,),
                  message="i_parent must contain exactly one '@' character", hint=PARENT_HINT, sqlstate="22023")
    mdb.fails("SELECT db4ai.prepare_snapshot('_db4ai test', 'name@version', null)",
              message='parent snapshot "_db4ai test"."name@version" does not exist', sqlstate="42704")
    ensure(mdb, "_db4ai_test", "test", ["SELECT 1 a", "FROM DUAL"])
    for commands, message, hint, sqlstate in COMMAND_ERRORS:
        mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'test@1.0.0', {commands})",
                  message=message, hint=hint, sqlstate=sqlstate)


@pytest.mark.parametrize("mode", MODES)
def test_prepare_versions(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    s = mode.lower()
    ensure(mdb, "_db4ai_test", f"v{s}", ["SELECT 1 a", "FROM DUAL"])
    ensure(mdb, "_db4ai_test", f"v{s}", ["SELECT 1 a", "FROM DUAL"], "zzz")
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@zzz', '{{ DELETE, Add b}}')",
              message="parent has nonstandard version zzz. i_vers cannot be null or empty",
              hint="provide custom version using i_vers parameter for new snapshot", sqlstate="22023")
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@1.0.0', '{{ DELETE, Add b}}', '@')",
              message="illegal i_vers: '@'", sqlstate="22023")
    for vers in ("@@34", "x@34"):
        mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@1.0.0', '{{ DELETE, Add b}}', %s)", (vers,),
                  message="i_vers may contain only one single, leading '@' character", hint=VERS_HINT, sqlstate="22023")
    long = "123456789_" * 5 + "123456789"
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@1.0.0', '{{ DELETE }}', %s)", (long,),
              message=f"snapshot name too long: 'v{s}@{long}'", sqlstate="22023")

    ensure(mdb, "_db4ai test", f" t{s}  ", ["SELECT 1 a", "FROM DUAL"])
    assert mdb.rows(f"SELECT * FROM db4ai.prepare_snapshot('_db4ai test', ' t{s}  @1.0.0', '{{DELETE}}')") == [
        ("_db4ai test", f" t{s}  @1.1.0")]
    assert mdb.rows(f"SELECT * FROM db4ai.prepare_snapshot('_db4ai_test', 'v{s}@1.0.0', '{{ADD xx int}}')") == [
        ("_db4ai_test", f"v{s}@2.0.0")]
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai test', ' t{s}  @1.0.0', '{{DELETE}}')",
              message=f'snapshot "_db4ai test"." t{s}  @1.1.0" already exists', sqlstate="42710")
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai test', ' t{s}  @1.0.0', '{{ DELETE }}', '1.0.0')",
              message=f'snapshot "_db4ai test"." t{s}  @1.0.0" already exists', sqlstate="42710")
    # SQL errors of the caller's own pieces come through unchanged
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@2.0.0', '{{ DELETE, Add \\\"abc\\\"@ int}}')",
              message='syntax error at or near "@"', sqlstate="42601")
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@2.0.0', '{{ DELETE, Add \\\"abc\\\"d int}}')",
              message='syntax error at or near "int"', sqlstate="42601")
    mdb.fails(f"SELECT db4ai.prepare_snapshot('_db4ai_test', 'v{s}@2.0.0', ARRAY['DELETE', 'USING nowhere', 'WHERE true'])",
              message='relation "nowhere" does not exist', sqlstate="42P01")
    # version numbering: ALTER -> major, INSERT/DELETE -> minor, UPDATE alone -> patch
    steps = [("2.0.0", "{UPDATE, SET xx = 1}", "2.0.1"), ("2.0.1", "{DELETE, WHERE xx = 2}", "2.1.0"),
             ("2.1.0", '{INSERT, "VALUES (7, 7)"}', "2.2.0"), ("2.2.0", "{UPDATE, SET a = 1, DROP xx}", "3.0.0"),
             ("3.0.0", "{UPDATE, SET a = 2, DELETE, WHERE false}", "3.1.0")]
    for parent, commands, child in steps:
        assert mdb.one(f"SELECT (db4ai.prepare_snapshot('_db4ai_test', 'v{s}@{parent}', '{commands}')).name") == f"v{s}@{child}"
    assert mdb.rows(f'SELECT * FROM _db4ai_test."v{s}@3.1.0" ORDER BY 1') == [(2,), (2,)]


@pytest.mark.parametrize("mode", MODES)
def test_prepare_catalog_row(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    s = mode.lower()
    ensure(mdb, "public", f"cat{s}", ["SELECT pk, a1", "FROM test_data"])
    mdb.rows(f"SELECT db4ai.prepare_snapshot('public', 'cat{s}@1.0.0', %s, NULL, 'owner''s revision, v2')",
             (["DELETE", "WHERE RANDOM() <= 2"],))
    row = mdb.rows(f"""SELECT c.parent_id = p.id, c.root_id = p.root_id, c.matrix_id IS NOT NULL, c.owner = current_user,
                              c.commands, c.comment, c.published, c.archived, c.row_count
                       FROM db4ai.snapshot c JOIN db4ai.snapshot p ON p.name = 'cat{s}@1.0.0' WHERE c.name = 'cat{s}@1.1.0'""")
    assert row == [(True, True, mode == "CSS", True, ["DELETE", "WHERE RANDOM() <= 2"], "owner's revision, v2", False, False, 0)]
    assert mdb.one(f'SELECT count(*) FROM "cat{s}@1.1.0"') == 0


@pytest.mark.parametrize("mode", MODES)
def test_command_grammar_extensions(mdb: Db, mode: str) -> None:
    """Forms openGauss mishandles: several SET elements, commas inside a type, short true-SQL
    forms, a column list of its own, ALTER ADD then DROP of one column."""
    mdb.set_mode(mode)
    s = mode.lower()
    ensure(mdb, "public", f"g{s}", ["SELECT pk, a1, a2", "FROM test_data WHERE pk <= 5"])
    mdb.rows(f"SELECT db4ai.prepare_snapshot('public', 'g{s}@1.0.0', %s, 'x')", ([
        "UPDATE", "SET a1 = 0", "SET a2 = -1", "WHERE pk = 1",
        "ADD amount numeric(10,2) DEFAULT 1.5, ADD note text DEFAULT 'a, b'",
        "UPDATE snapshot AS u SET amount = 2.25 WHERE u.pk = 2",
        "DELETE WHERE pk = 3",
        "INSERT INTO snapshot (pk, note) VALUES (10, 'new')",
        "ALTER TABLE snapshot ADD tmp int", "ALTER", "DROP tmp",
    ],))
    assert mdb.rows(f'SELECT * FROM "g{s}@x" ORDER BY pk') == mdb.rows(
        """SELECT pk, CASE pk WHEN 1 THEN 0 ELSE a1 END, CASE pk WHEN 1 THEN -1 ELSE a2 END,
                  CASE pk WHEN 2 THEN 2.25 ELSE 1.5 END::numeric(10,2), 'a, b'::text
           FROM test_data WHERE pk <= 5 AND pk <> 3
           UNION ALL SELECT 10, NULL, NULL, 1.5, 'new' ORDER BY 1""")
    assert mdb.rows(f"""SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                        WHERE attrelid = 'public."g{s}@x"'::regclass AND attname = 'amount'""") == [("numeric(10,2)",)]
    # openGauss 14: ALTER ADD column a int; ALTER DROP column a  (two operations, so legal)
    assert mdb.one(f"SELECT (db4ai.prepare_snapshot('public', 'g{s}@1.0.0', %s)).name",
                   (["ALTER", "ADD column tmp int", "ALTER", "DROP column tmp"],)) == f"g{s}@2.0.0"
    assert equal_relations(mdb, f'"g{s}@2.0.0"', f'"g{s}@1.0.0"')


@pytest.mark.parametrize("mode", MODES)
def test_invalid_mode(mdb: Db, mode: str) -> None:
    mdb.rows("SET db4ai.snapshot_mode = 8")
    for call in ("db4ai.prepare_snapshot(null, null, null)", "db4ai.publish_snapshot(null, null)",
                 "db4ai.archive_snapshot(null, null)", "db4ai.purge_snapshot(null, null)",
                 "db4ai.sample_snapshot(null, null, null, null)", "db4ai.split_snapshot(null, null, null, null)"):
        err = mdb.fails(f"SELECT * FROM {call}", message="invalid snapshot mode: '8'", sqlstate="22023")
        assert err.diag.message_hint is None  # openGauss's harness asserts that there is none
    mdb.rows("RESET db4ai.snapshot_mode")
