"""db4ai.create_snapshot: every check and error text of spec §1.3 (openGauss test 00_CreateSnapshotAPI),
in both modes, each failure leaving nothing behind."""

from __future__ import annotations

import pytest

from .conftest import MODES, Db

MALFORMED_HINT = "pass SQL commands as TEXT[] literal, e.g. '{SELECT *, FROM public.t, DISTRIBUTE BY HASH(id)'"
VERS_HINT = "specify snapshot version as [@]x.y.z or [@]label with optional, leading '@'"
DIST_HINT = "currently only DISTRIBUTE BY REPLICATION and DISTRIBUTE BY HASH(column_name [, ...]) supported"

# (arguments of db4ai.create_snapshot, message, hint, SQLSTATE)
ERRORS = [
    ("null, null, null", "i_name cannot be NULL or empty", None, "22023"),
    ("null, 'name@org', null", "i_name must not contain '@' characters", None, "22023"),
    ("null, 'name', null", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("null, 'name', '{}'", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("null, 'name', '{{a},{a}}'", "i_commands array malformed", MALFORMED_HINT, "22023"),
    ("null, 'name', '{1, null, 2}'", "i_commands array contains NULL values", None, "22023"),
    ("null, 'name', '{ SELECT   a1  ,  SELECT  a2 }'",
     "multiple SELECT clauses in i_commands: 'SELECT   a1' 'SELECT  a2'", None, "42601"),
    ("null, 'name', '{ FROM  a1  ,  FROM a2 }'", "multiple FROM clauses in i_commands: 'FROM  a1' 'FROM a2'", None, "42601"),
    ("null, 'name', '{ DISTRIBUTE BY  F (x )  ,  DISTRIBUTE BY X(f) }'",
     "multiple DISTRIBUTE BY clauses in i_commands: 'DISTRIBUTE BY  F (x )' 'DISTRIBUTE BY X(f)'", None, "42601"),
    ("null, 'name', '{SeLeCT}'", "unrecognized command in i_commands: 'SeLeCT'", None, "42601"),
    ("null, 'name', '{from  }'", "unrecognized command in i_commands: 'from'", None, "42601"),
    ("null, 'name', '{  distribute by}'", "unrecognized command in i_commands: 'distribute by'", None, "42601"),
    ("null, 'name', '{  distr ibute  by}'", "unrecognized command in i_commands: 'distr ibute  by'", None, "42601"),
    ("null, 'name', '{ InSeRt  INTO x  }'", "unrecognized command in i_commands: 'InSeRt  INTO x'", None, "42601"),
    ("null, 'name', '{DISTRIBUTE BY Pi }'", "SELECT and FROM clauses are missing in i_commands", None, "42601"),
    ("null, 'name', '{SELECT 42, DISTRIBUTE BY Pi }'", "FROM clause is missing in i_commands", None, "42601"),
    ("null, 'name', '{FROM 42}', '@'", "illegal i_vers: '@'", None, "22023"),
    ("null, 'name', '{FROM 42}', '@@6'", "i_vers may contain only one single, leading '@' character", VERS_HINT, "22023"),
    ("null, 'name', '{FROM 42}', '4@6'", "i_vers may contain only one single, leading '@' character", VERS_HINT, "22023"),
    ("null, ' _ _123456789012345678901234567890123456789012345678901234', '{FROM 42}'",
     "snapshot name too long: ' _ _123456789012345678901234567890123456789012345678901234@1.0.0'", None, "22023"),
    ("null, ' 12345678901234567890123456789012345678901234567890 ', '{FROM 42}', ' 123456789 '",
     "snapshot name too long: ' 12345678901234567890123456789012345678901234567890 @ 123456789 '", None, "22023"),
    ("null, 'test ', '{Select 1 a, FROM dual, DIStRIBUTE BY HAsH}'", "cannot match DISTRIBUTE BY clause", DIST_HINT, "42601"),
    ("null, 'test ', '{Select 1 a, FROM dual, DISTRIBUTE BY HaSH()}'", "cannot match DISTRIBUTE BY clause", DIST_HINT, "42601"),
    ("null, 'test ', '{Select 1 a, FROM dual, DISTRIBUTE BY RELICATioN()}'", "cannot match DISTRIBUTE BY clause", DIST_HINT, "42601"),
    ("""null, 'test ', '{Select 1 a, FROM dual," DISTRIBUTE BY HASH(\\"B\\"\\"b\\")"}'""",
     'unable to map field "B"b" to backing table', None, "42704"),
    ("""null, 'test ', ARRAY['Select 1 a',' FROM dual',' DISTRIBUTE BY HASH("B""b") ']""",
     'unable to map field "B"b" to backing table', None, "42704"),
    ("""null, 'test ', ARRAY['Select 1 a',' FROM dual',' DISTRIBUTE BY HASH("b ) ']""",
     """unterminated quoted identifier 'b ' at or near: 'DISTRIBUTE BY HASH("b )'""", None, "42601"),
    # a top-level statement separator or an unbalanced parenthesis in a SELECT piece
    ("null, 'name', ARRAY['SELECT 1 a FROM dual; DROP TABLE dual']",
     "syntax error at or near ';' in 'SELECT 1 a FROM dual; DROP TABLE dual' at position '21'", None, "42601"),
    ("null, 'name', ARRAY['SELECT (1) a) FROM dual']",
     "syntax error at or near ')' in 'SELECT (1) a) FROM dual' at position '13'", None, "42601"),
]


@pytest.mark.parametrize("mode", MODES)
def test_create_errors_have_opengauss_texts_and_leave_nothing(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    for args, message, hint, sqlstate in ERRORS:
        mdb.fails(f"SELECT db4ai.create_snapshot({args})", message=message, hint=hint, sqlstate=sqlstate)


@pytest.mark.parametrize("mode", MODES)
def test_create_returns_names_and_refuses_duplicates(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    mdb.rows("CREATE SCHEMA IF NOT EXISTS AUTHORIZATION CURRENT_USER")  # schema named like the user
    user = mdb.one("SELECT current_user")
    s = mode.lower()
    assert mdb.rows(f"SELECT * FROM db4ai.create_snapshot(null, ' test{s}', '{{Select 1 a, FROM dual}}')") == [(user, f" test{s}@1.0.0")]
    assert mdb.rows("SELECT * FROM db4ai.create_snapshot('_db4ai test', %s, %s)",
                    (f" test{s} ", ['Select 1 "x <> y"', "FROM dual"])) == [("_db4ai test", f" test{s} @1.0.0")]
    assert mdb.rows(f'SELECT "x <> y" FROM "_db4ai test"." test{s} @1.0.0"') == [(1,)]
    # REPLICATION passes the DISTRIBUTE BY check and is dropped
    mdb.rows(f"SELECT db4ai.create_snapshot('_db4ai test', 'rep{s}', '{{Select 1 a, FROM dual,   DISTRIBUTE BY  RePLICATION }} ')")
    mdb.fails(f"SELECT db4ai.create_snapshot('_db4ai test', ' test{s} ', '{{Select 1 a, FROM dual}}')",
              message=f'snapshot "_db4ai test"." test{s} @1.0.0" already exists', sqlstate="42710")
    # custom versions: whitespace is kept, a missing '@' is added
    for vers in (" zzz", "zzz ", "@ zzz "):
        mdb.rows(f"SELECT db4ai.create_snapshot('_db4ai_test', 'test{s}', '{{Select 1 a, FROM dual}}', %s)", (vers,))
    assert mdb.rows(f"SELECT name FROM db4ai.snapshot WHERE name LIKE 'test{s}@%%' ORDER BY name") == [
        (f"test{s}@ zzz",), (f"test{s}@ zzz ",), (f"test{s}@zzz ",)]
    mdb.fails(f"SELECT db4ai.create_snapshot('_db4ai_test', 'test{s}', '{{Select 1 a, FROM dual}}', ' zzz ')",
              message=f'snapshot _db4ai_test."test{s}@ zzz " already exists', sqlstate="42710")


def test_create_catalog_row_storage_and_view(mdb: Db) -> None:
    name = mdb.one("SELECT (db4ai.create_snapshot('public', 'cat', ARRAY['SELECT a1, pk', 'FROM test_data WHERE pk <= 10'], "
                   "NULL, 'owner''s comment, with; punctuation')).name")
    assert name == "cat@1.0.0"
    row = mdb.rows("""SELECT parent_id, matrix_id, root_id = id, owner = current_user, commands, comment, published, archived,
                             created IS NOT NULL, row_count FROM db4ai.snapshot WHERE name = 'cat@1.0.0'""")
    # openGauss stores [select part, from part, distribute part or '']; comments are data (no filter)
    assert row == [(None, None, True, True, ["SELECT a1, pk", "FROM test_data WHERE pk <= 10", ""],
                    "owner's comment, with; punctuation", True, False, True, 10)]
    assert mdb.rows('SELECT a1, pk FROM public."cat@1.0.0" ORDER BY pk') == mdb.rows(
        "SELECT a1, pk FROM test_data WHERE pk <= 10 ORDER BY pk")
    # the whole query in one element is split at its top-level FROM / DISTRIBUTE BY; FROM inside a
    # string, a quoted name or parentheses does not count
    mdb.rows("""SELECT db4ai.create_snapshot('public', 'whole', ARRAY[
        'SELECT ''a from b'' AS "from", extract(year FROM DATE ''2020-01-02'') y, pk FROM test_data WHERE pk < 3 DISTRIBUTE BY HASH(pk)'])""")
    assert mdb.one("SELECT commands FROM db4ai.snapshot WHERE name = 'whole@1.0.0'") == [
        """SELECT 'a from b' AS "from", extract(year FROM DATE '2020-01-02') y, pk""",
        "FROM test_data WHERE pk < 3", "DISTRIBUTE BY HASH(pk)"]
    assert mdb.rows('SELECT * FROM "whole@1.0.0" ORDER BY pk') == [("a from b", 2020, 1), ("a from b", 2020, 2)]


def test_create_resolves_names_on_the_callers_search_path(mdb: Db) -> None:
    mdb.rows("CREATE SCHEMA IF NOT EXISTS elsewhere; CREATE TABLE IF NOT EXISTS elsewhere.t AS SELECT 7 AS v")
    mdb.rows("SET search_path = elsewhere, public")
    assert mdb.one("SELECT (db4ai.create_snapshot('public', 'sp', '{SELECT v, FROM t}')).name") == "sp@1.0.0"
    assert mdb.one('SELECT v FROM public."sp@1.0.0"') == 7
    mdb.rows("RESET search_path")


@pytest.mark.parametrize("mode", MODES)
def test_invalid_mode_and_settings(mdb: Db, mode: str) -> None:
    mdb.rows("SET db4ai.snapshot_mode = 8")
    err = mdb.fails("SELECT db4ai.create_snapshot(null, 'test', '{Select 1 a, FROM dual}')",
                    message="invalid snapshot mode: '8'", sqlstate="22023")
    assert err.diag.message_hint is None  # openGauss's harness asserts that there is none
    mdb.set_mode(mode.lower())  # case-insensitive
    mdb.rows("SET db4ai.version_delimiter = '::'")
    mdb.fails("SELECT db4ai.create_snapshot(null, 'test', '{Select 1 a, FROM dual}')",
              message="invalid db4ai.version_delimiter: '::'", sqlstate="22023")
    mdb.rows("SET db4ai.version_delimiter = '#'; SET db4ai.version_separator = '_'")
    assert mdb.one(f"SELECT (db4ai.create_snapshot('public', 'custom{mode}', '{{Select 1 a, FROM dual}}')).name") == f"custom{mode}#1_0_0"
    mdb.rows("RESET db4ai.version_delimiter; RESET db4ai.version_separator; RESET db4ai.snapshot_mode")
    assert mdb.one("SELECT db4ai_internal._snapshot_settings()") == ("MSS", "@", ".")



def test_user_interaction_forms(mdb: Db) -> None:
    """openGauss tests 10/11: the API called as SELECT f(), SELECT * FROM f(), with db4ai as the
    current schema, with names and versions that contain spaces."""
    mdb.rows("SET search_path = db4ai")
    assert mdb.rows("SELECT * FROM create_snapshot('public', ' s1 ', ARRAY['SELECT 1 AS \"x <<>> y\"', 'FROM public.dual'], ' a ')") == [
        ("public", " s1 @ a ")]
    assert mdb.one("SELECT (prepare_snapshot('public', ' s1 @ a ', '{ADD c int}', ' b ')).name") == " s1 @ b "
    assert mdb.rows("SELECT * FROM sample_snapshot('public', ' s1 @ b ', '{\" x \", \" y \"}', '{1, 1}')") == [
        ("public", " s1  x @ b "), ("public", " s1  y @ b ")]
    mdb.rows("RESET search_path")
    assert mdb.rows('SELECT * FROM public." s1  x @ b "') == [(1, None)]
