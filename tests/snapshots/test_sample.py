"""db4ai.sample_snapshot: the checks and texts of spec §1.6 (openGauss test 04_SampleSnapshotAPI), and
what we add: seeded, reproducible draws that depend only on the rows, and STRATIFY BY that stratifies."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from .test_split import possible_approximate_modes
from .conftest import MODES, Db, equal_relations

PARENT_HINT = "reference a snapshot using the format: snapshot_name@version"
INFIX_HINT = "pass sample infixes as NAME[] literal, e.g. '{_train, _test}'"
RATIO_HINT = "pass sample percentages as NUMBER[] literal, e.g. '{.8, .2}'"
STRAT_HINT = "pass stratification field names as NAME[] literal, e.g. '{color, size}'"
COMMENT_HINT = "pass sample comments as TEXT[] literal, e.g. '{comment 1, comment 2}'"

# arguments after (schema, parent) of sample_snapshot('_db4ai_test', 'test@1.0.0', ...) -> message, hint
ERRORS = [
    ("null, null", "i_sample_infixes array malformed", INFIX_HINT),
    ("'{}', null", "i_sample_infixes array malformed", INFIX_HINT),
    ("'{{a},{a}}', null", "i_sample_infixes array malformed", INFIX_HINT),
    ("'{a,b}', null", "i_sample_ratios array malformed", RATIO_HINT),
    ("'{a,b}', '{}'", "i_sample_ratios array malformed", RATIO_HINT),
    ("'{a,b}', '{{.1},{.2}}'", "i_sample_ratios array malformed", RATIO_HINT),
    ("'{a,b}', '{.1}'", "i_sample_infixes and i_sample_ratios array length mismatch", None),
    ("'{a,b}', '{.1,.2}', '{}'", "i_stratify array malformed", STRAT_HINT),
    ("'{a,b}', '{.1,.2}', '{{a},{a}}'", "i_stratify array malformed", STRAT_HINT),
    ("'{a,b}', '{.1,.2}', '{nope}'", 'column "nope" does not exist in snapshot _db4ai_test."test@1.0.0"',
     "STRATIFY BY names columns of the parent snapshot"),
    ("'{a,b}', '{.1,.2}', null, '{}'", "i_sample_comments array malformed", COMMENT_HINT),
    ("'{a,b}', '{.1,.2}', null, '{{a},{a}}'", "i_sample_comments array malformed", COMMENT_HINT),
    ("'{a,b}', '{.1,.2}', null, '{a,a,a}'", "i_sample_infixes and i_sample_comments array length mismatch", None),
    ("'{_a,null}', '{.1,.2}'", "i_sample_infixes array contains NULL values", None),
    ("'{_a,_b}', '{.1,null}'", "i_sample_ratios array contains NULL values", None),
    ("'{_a,123456789_123456789_123456789_123456789_123456789_1234}', '{.1,.2}'",
     "sample snapshot name too long: 'test123456789_123456789_123456789_123456789_123456789_1234@1.0.0'", None),
    ("'{_a,_b}', '{2,.2}'", "sample ratio must be between 0 and 1", None),
    ("'{_a,_b}', '{.1,-.2}'", "sample ratio must be between 0 and 1", None),
]


def ensure(db: Db, schema: str, name: str, commands: list[str]) -> None:
    if not db.rows("SELECT 1 FROM db4ai.snapshot WHERE schema = %s AND name = %s", (schema, name + "@1.0.0")):
        db.rows("SELECT db4ai.create_snapshot(%s, %s, %s)", (schema, name, commands))


@pytest.mark.parametrize("mode", MODES)
def test_sample_errors(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    mdb.fails("SELECT db4ai.sample_snapshot(null, null, null, null)", message="i_parent cannot be NULL or empty")
    for parent in ("name", "name@org@com"):
        mdb.fails("SELECT db4ai.sample_snapshot(null, %s, null, null)", (parent,),
                  message="i_parent must contain exactly one '@' character", hint=PARENT_HINT, sqlstate="22023")
    mdb.fails("SELECT db4ai.sample_snapshot('_db4ai test', 'name@version', null, null)",
              message='parent snapshot "_db4ai test"."name@version" does not exist', sqlstate="42704")
    ensure(mdb, "_db4ai_test", "test", ["SELECT 1 a", "FROM DUAL", "DISTRIBUTE BY  RePLICATION"])
    for args, message, hint in ERRORS:
        mdb.fails(f"SELECT db4ai.sample_snapshot('_db4ai_test', 'test@1.0.0', {args})", message=message, hint=hint)
    ensure(mdb, "_db4ai test", "test", ["SELECT 1 a", "FROM DUAL"])
    ensure(mdb, "_db4ai test", "test_a", ["SELECT 1 a", "FROM DUAL"])
    # the first sample collides before the second's bad ratio is looked at
    mdb.fails("SELECT db4ai.sample_snapshot('_db4ai test', 'test@1.0.0', '{_a,_ b}', '{.1,-.2}')",
              message='snapshot "_db4ai test"."test_a@1.0.0" already exists', sqlstate="42710")


@pytest.mark.parametrize("mode", MODES)
def test_sample_names_and_catalog(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    s = mode.lower()
    ensure(mdb, "_db4ai_test", f"n{s}", ["SELECT 1 a", "FROM DUAL"])
    assert mdb.one(f"""SELECT array_agg(schema || ',' || name) FROM db4ai.sample_snapshot('_db4ai_test', 'n{s}@1.0.0',
                       '{{_1, " _ 2 "}}', '{{.1, .2}}')""") == [f"_db4ai_test,n{s}_1@1.0.0", f"_db4ai_test,n{s} _ 2 @1.0.0"]
    ensure(mdb, "_db4ai test", f" n{s}  ", ['SELECT 1 "x <> y"', "FROM DUAL"])
    assert mdb.one(f"""SELECT array_agg(schema || ',' || name) FROM db4ai.sample_snapshot('_db4ai test', ' n{s}  @1.0.0',
                       '{{_1, " _ 2 "}}', '{{.1, .2}}', NULL, '{{first, "second, with comma"}}')""") == [
        f"_db4ai test, n{s}  _1@1.0.0", f"_db4ai test, n{s}   _ 2 @1.0.0"]
    assert mdb.rows(f"""SELECT commands, comment, published, archived, parent_id = (SELECT id FROM db4ai.snapshot
                        WHERE name = ' n{s}  @1.0.0') FROM db4ai.snapshot WHERE name = ' n{s}   _ 2 @1.0.0'""") == [
        (["SAMPLE  _ 2  0.2", "SEED 0"], "second, with comma", False, False, True)]


@pytest.mark.parametrize("mode", MODES)
def test_samples_are_seeded_independent_bernoulli_draws(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    s = mode.lower()
    ensure(mdb, "public", f"b{s}", ["SELECT * FROM test_data"])
    parent = f"b{s}@1.0.0"
    mdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_x,_y}', '{.3,.3}')", (parent,))
    mdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_z}', '{.3}', NULL, NULL, 0)", (parent,))
    mdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_x}', '{.3}', NULL, NULL, 7)", (f"b{s}_z@1.0.0",))
    mdb.rows("SET db4ai.seed = 7")
    mdb.rows("SELECT db4ai.sample_snapshot('public', %s, '{_w}', '{1}')", (parent,))
    mdb.rows("RESET db4ai.seed")
    x, y, z = (mdb.one(f'SELECT count(*) FROM "b{s}_{i}@1.0.0"') for i in "xyz")
    for size in (x, y, z):  # Bernoulli(0.3) over 1000 rows: 300 ± 4.5 sd
        assert abs(size - 300) <= 4.5 * math.sqrt(1000 * 0.3 * 0.7)
    # different infixes draw independently; the same infix with the same seed draws the same rows
    overlap = mdb.one(f'SELECT count(*) FROM (TABLE "b{s}_x@1.0.0" INTERSECT TABLE "b{s}_y@1.0.0") i')
    assert abs(overlap - 90) <= 4.5 * math.sqrt(1000 * 0.09 * 0.91)
    assert mdb.one("SELECT commands FROM db4ai.snapshot WHERE name = %s", (f"b{s}_z_x@1.0.0",)) == ["SAMPLE _x 0.3", "SEED 7"]
    assert mdb.one(f'SELECT count(*) FROM "b{s}_w@1.0.0"') == 1000
    assert mdb.one("SELECT commands[2] FROM db4ai.snapshot WHERE name = %s", (f"b{s}_w@1.0.0",)) == "SEED 7"
    mdb.rows("SET db4ai.seed = 'x'")
    mdb.fails("SELECT db4ai.sample_snapshot('public', %s, '{_v}', '{.5}')", (parent,),
              message="invalid db4ai.seed: 'x'", hint="set db4ai.seed to an integer")
    mdb.rows("RESET db4ai.seed")


def test_sample_depends_only_on_the_rows(sdb: Db) -> None:
    """The same rows, stored in another order, in another mode, with duplicates: the same sample."""
    sdb.rows("CREATE TABLE dup AS SELECT pk % 300 AS k, a1 % 3 AS c FROM test_data")  # 1000 rows, many duplicates
    sdb.rows("SELECT db4ai.create_snapshot('public', 'o1', ARRAY['SELECT * FROM dup'])")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'o2', ARRAY['SELECT * FROM dup ORDER BY k DESC, c'])")
    sdb.rows("SELECT db4ai.sample_snapshot('public', 'o1@1.0.0', '{_s,_t}', '{.5,.25}', '{c}', NULL, 11)")
    sdb.set_mode("CSS")
    sdb.rows("SELECT db4ai.sample_snapshot('public', 'o2@1.0.0', '{_s,_t}', '{.5,.25}', '{c}', NULL, 11)")
    assert equal_relations(sdb, '"o1_s@1.0.0"', '"o2_s@1.0.0"')
    assert equal_relations(sdb, '"o1_t@1.0.0"', '"o2_t@1.0.0"')
    sdb.rows("SELECT db4ai.sample_snapshot('public', 'o2@1.0.0', '{_u}', '{.5}', '{c}', NULL, 12)")
    assert not equal_relations(sdb, '"o1_s@1.0.0"', '"o2_u@1.0.0"')


@pytest.mark.parametrize("mode", MODES)
def test_stratified_sample_spreads_round_ratio_n_over_the_strata(sdb: Db, mode: str) -> None:
    """round(ratio x n) rows in all, allocated per stratum as scikit-learn's _approximate_mode does."""
    sdb.set_mode(mode)
    sdb.rows("""CREATE TABLE strata AS SELECT g AS id, CASE WHEN g <= 5 THEN 'rare' WHEN g <= 305 THEN 'mid' ELSE 'big' END AS color,
                (g % 2 = 0) AS even, NULL::int AS nothing FROM generate_series(1, 1000) g""")
    sdb.rows("SELECT db4ai.create_snapshot('public', 's', ARRAY['SELECT * FROM strata'])")
    sdb.rows("SELECT db4ai.sample_snapshot('public', 's@1.0.0', '{_a,_b}', '{.25,.7}', '{COLOR, even}')")
    full = sdb.rows("SELECT color, even, count(*) FROM strata GROUP BY 1, 2 ORDER BY 1, 2")
    for infix, ratio in (("a", 0.25), ("b", 0.7)):
        got = dict(((c, e), n) for c, e, n in sdb.rows(f'SELECT color, even, count(*) FROM "s_{infix}@1.0.0" GROUP BY 1, 2'))
        alloc = [got.get((c, e), 0) for c, e, _ in full]
        # numeric round() rounds half away from zero
        total = int((Decimal(str(ratio)) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        assert possible_approximate_modes([n for _, _, n in full], total, alloc), alloc
    assert sdb.one("SELECT commands[1] FROM db4ai.snapshot WHERE name = 's_a@1.0.0'") == "SAMPLE _a 0.25 {color,even}"
    # a NULL stratum is a stratum
    sdb.rows("SELECT db4ai.sample_snapshot('public', 's@1.0.0', '{_n}', '{.1}', '{nothing}')")
    assert sdb.one('SELECT count(*) FROM "s_n@1.0.0"') == 100


@pytest.mark.parametrize("strata, ratio, want", [
    (500, ".25", 250),   # 500 strata of 2 rows: per-stratum rounding would take 500
    (1000, ".5", 500),   # 1000 single-row strata: per-stratum rounding would take all or none
])
def test_many_small_strata_keep_the_sample_size(sdb: Db, strata: int, ratio: str, want: int) -> None:
    sdb.rows(f"CREATE TABLE small AS SELECT g AS id, g % {strata} AS k FROM generate_series(1, 1000) g")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'sm', ARRAY['SELECT * FROM small'])")
    sdb.rows(f"SELECT db4ai.sample_snapshot('public', 'sm@1.0.0', '{{_x}}', '{{{ratio}}}', '{{k}}')")
    assert sdb.one('SELECT count(*) FROM "sm_x@1.0.0"') == want
    assert sdb.one('SELECT max(c) FROM (SELECT count(*) AS c FROM "sm_x@1.0.0" GROUP BY k) g') <= 1000 // strata

