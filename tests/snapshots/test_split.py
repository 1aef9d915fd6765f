"""db4ai.split_snapshot: an exact, disjoint, covering, seeded partition with scikit-learn's
train_test_split sizes and StratifiedShuffleSplit allocation (spec/peers.md §7.1), checked against
scikit-learn itself."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.utils.extmath import _approximate_mode

from .conftest import MODES, Db, equal_relations

SIZES = [1, 2, 3, 4, 5, 7, 9, 10, 11, 15, 20, 33, 99, 100, 101, 250, 999, 1000, 1001, 12345]
TEST_RATIOS = [0.01, 0.1, 0.15, 0.2, 0.25, 0.3, 0.33, 0.35, 0.4, 0.5, 0.6, 0.67, 0.7, 0.75, 0.8, 0.9, 0.99]


def test_two_part_sizes_equal_train_test_split(mdb: Db) -> None:
    """For every n and test ratio: the same sizes as train_test_split(test_size=r), or an error
    where scikit-learn raises one (an empty train set)."""
    cases = [(n, r) for n in SIZES for r in TEST_RATIOS]
    got = mdb.rows("""SELECT c.n, c.r, (SELECT db4ai_internal._split_sizes(c.n, ARRAY[1 - c.r::numeric, c.r::numeric], '{_train,_test}')
                                         WHERE ceil(c.r::float8 * c.n) < c.n)
                      FROM unnest(%s::bigint[], %s::float8[]) AS c(n, r)""", ([n for n, _ in cases], [r for _, r in cases]))
    assert len(got) == len(cases)
    for (n, r, sizes), (n0, r0) in zip(got, cases, strict=True):
        assert (n, r) == (n0, r0)
        try:
            train, test = train_test_split(np.arange(n), test_size=r, random_state=0)
        except ValueError:
            assert sizes is None, (n, r)  # scikit-learn: "the resulting train set will be empty"
            with pytest.raises(Exception, match="the resulting _train set will be empty"):
                mdb.rows("SELECT db4ai_internal._split_sizes(%s, ARRAY[1 - %s::numeric, %s::numeric], '{_train,_test}')", (n, r, r))
            continue
        assert sizes == [len(train), len(test)], (n, r)


def test_k_part_sizes_generalize_the_two_part_rule(mdb: Db) -> None:
    """Parts 2..k get ceil(r_i * n), part 1 the rest: exact totals; an empty part is an error."""
    for n in SIZES:
        for ratios in ([0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.4, 0.2, 0.2, 0.2], [0.34, 0.33, 0.33]):
            want = [0] + [int(np.ceil(r * n)) for r in ratios[1:]]
            want[0] = n - sum(want[1:])
            query = "SELECT db4ai_internal._split_sizes(%s, %s::numeric[], %s::name[])"
            names = [f"_p{i}" for i in range(len(ratios))]
            if min(want) <= 0:
                with pytest.raises(Exception, match="set will be empty"):
                    mdb.rows(query, (n, ratios, names))
            else:
                assert mdb.one(query, (n, ratios, names)) == want
                assert sum(want) == n


def possible_approximate_modes(counts: list[int], draws: int, alloc: list[int]) -> bool:
    """Could scikit-learn's _approximate_mode (random among equal remainders) return alloc?"""
    continuous = np.array(counts) / np.sum(counts) * draws
    floored = np.floor(continuous)
    extra = np.array(alloc) - floored
    if sum(alloc) != draws or not set(extra) <= {0, 1}:
        return False
    remainder = continuous - floored
    given = remainder[extra == 1]
    return given.size == 0 or (remainder[extra == 0] <= given.min()).all()


def test_approximate_mode_is_one_of_scikit_learns_outcomes(mdb: Db) -> None:
    """Largest remainder with a deterministic tie-break: always an allocation scikit-learn's
    _approximate_mode can return (it breaks ties at random)."""
    rng = np.random.RandomState(3)
    cases = [([3, 3, 3], 4), ([50, 30, 20], 33), ([1, 1, 1, 1], 2), ([7, 2], 5), ([100, 1, 1], 10)]
    cases += [(list(rng.randint(1, 40, size=rng.randint(2, 7))), 0) for _ in range(60)]
    for counts, draws in cases:
        draws = draws or int(rng.randint(1, sum(counts)))
        ours = mdb.one("SELECT db4ai_internal._approximate_mode(%s::bigint[], %s, %s::text[])",
                       (counts, draws, [f"t{i}" for i in range(len(counts))]))
        assert possible_approximate_modes(counts, draws, ours), (counts, draws, ours)
        for seed in range(3):  # the checker accepts scikit-learn's own answers
            assert possible_approximate_modes(counts, draws, list(_approximate_mode(np.array(counts), draws, np.random.RandomState(seed))))
    # and rejects others
    assert not possible_approximate_modes([3, 3, 3], 4, [2, 2, 0])
    assert not possible_approximate_modes([50, 30, 20], 33, [17, 10, 6])  # 0.5 < 0.6: c before a


@pytest.mark.parametrize("mode", MODES)
def test_split_is_an_exact_seeded_partition(mdb: Db, mode: str) -> None:
    mdb.set_mode(mode)
    s = mode.lower()
    for n in (1, 2, 10, 101, 1000):
        mdb.rows(f"SELECT db4ai.create_snapshot('public', 'p{s}{n}', ARRAY['SELECT * FROM test_data WHERE pk <= {n}'])")
        for ratios, names in (([0.8, 0.2], ["_tr", "_te"]), ([0.5, 0.3, 0.2], ["_a", "_b", "_c"])):
            parts = [f"p{s}{n}{x}@1.0.0" for x in names]
            try:
                expected = mdb.one("SELECT db4ai_internal._split_sizes(%s, %s::numeric[], %s::name[])", (n, ratios, names))
            except Exception:
                mdb.fails("SELECT db4ai.split_snapshot('public', %s, %s::name[], %s::numeric[])", (f"p{s}{n}@1.0.0", names, ratios),
                          message=mdb_message(mdb, n, ratios, names), sqlstate="22023")
                continue
            got = mdb.rows("SELECT * FROM db4ai.split_snapshot('public', %s, %s::name[], %s::numeric[])", (f"p{s}{n}@1.0.0", names, ratios))
            assert got == [("public", p) for p in parts]  # one row per part, in input order
            sizes = [mdb.one(f'SELECT count(*) FROM "{p}"') for p in parts]
            assert sizes == expected
            union = " UNION ALL ".join(f'SELECT * FROM "{p}"' for p in parts)
            mdb.rows(f"CREATE TEMP VIEW u AS {union}")
            assert equal_relations(mdb, "u", f'"p{s}{n}@1.0.0"')  # covering and (sizes add up) disjoint
            mdb.rows("DROP VIEW u")
            assert mdb.one("SELECT commands FROM db4ai.snapshot WHERE name = %s", (parts[0],)) == [
                f"SPLIT {{{','.join(names)}}} {{{','.join(str(r) for r in ratios)}}}", f"PART {names[0]}", "SEED 0"]


def mdb_message(db: Db, n: int, ratios: list[float], names: list[str]) -> str:
    """The error text _split_sizes gives for these arguments (to check the call raises the same)."""
    try:
        db.rows("SELECT db4ai_internal._split_sizes(%s, %s::numeric[], %s::name[])", (n, ratios, names))
    except Exception as exc:  # noqa: BLE001 - the psycopg error carries the text
        return exc.diag.message_primary  # type: ignore[attr-defined]
    raise AssertionError("expected an error")


def test_split_is_reproducible_and_depends_on_the_seed(sdb: Db) -> None:
    sdb.rows("SELECT db4ai.create_snapshot('public', 'r1', ARRAY['SELECT * FROM test_data'])")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'r2', ARRAY['SELECT * FROM test_data ORDER BY a5'])")
    sdb.rows("SELECT db4ai.split_snapshot('public', 'r1@1.0.0', '{_tr,_te}', '{.75,.25}')")
    sdb.set_mode("CSS")
    sdb.rows("SELECT db4ai.split_snapshot('public', 'r2@1.0.0', '{_tr,_te}', '{.75,.25}', NULL, 'same data', 0)")
    assert equal_relations(sdb, '"r1_te@1.0.0"', '"r2_te@1.0.0"')  # same rows, other order and mode, same seed
    sdb.rows("SET db4ai.seed = 5")
    sdb.rows("SELECT db4ai.split_snapshot('public', 'r2@1.0.0', '{_x,_y}', '{.75,.25}')")
    sdb.rows("RESET db4ai.seed")
    assert not equal_relations(sdb, '"r1_te@1.0.0"', '"r2_y@1.0.0"')
    assert sdb.one("SELECT count(*) FROM \"r2_y@1.0.0\"") == 250
    assert sdb.rows("SELECT commands[3], comment FROM db4ai.snapshot WHERE name IN ('r2_y@1.0.0', 'r2_te@1.0.0') ORDER BY name") == [
        ("SEED 0", "same data"), ("SEED 5", None)]


@pytest.mark.parametrize("mode", MODES)
def test_stratified_split_matches_stratified_shuffle_split(sdb: Db, mode: str) -> None:
    sdb.set_mode(mode)
    # classes of sizes 500, 300, 150, 41, 7, 2 (1000 rows); NULL is a class too
    sdb.rows("""CREATE TABLE cls AS SELECT g AS id, CASE WHEN g <= 500 THEN 'a' WHEN g <= 800 THEN 'b' WHEN g <= 950 THEN 'c'
                WHEN g <= 991 THEN 'd' WHEN g <= 998 THEN 'e' END AS label, g % 2 AS parity FROM generate_series(1, 1000) g""")
    sdb.rows("SELECT db4ai.create_snapshot('public', 'st', ARRAY['SELECT * FROM cls'])")
    for ratios, names in (([0.8, 0.2], ["_tr", "_te"]), ([0.5, 0.3, 0.2], ["_a", "_b", "_c"])):
        sdb.rows("SELECT db4ai.split_snapshot('public', 'st@1.0.0', %s::name[], %s::numeric[], '{label}')", (names, ratios))
        counts = {label: n for label, n in sdb.rows("SELECT label, count(*) FROM cls GROUP BY 1")}
        remaining = dict(counts)
        sizes = sdb.one("SELECT db4ai_internal._split_sizes(1000, %s::numeric[], %s::name[])", (ratios, names))
        for i, name in enumerate(names):
            part = dict(sdb.rows(f'SELECT label, count(*) FROM "st{name}@1.0.0" GROUP BY 1'))
            part = {label: part.get(label, 0) for label in counts}
            assert sum(part.values()) == sizes[i]
            if i < len(names) - 1:  # scikit-learn: part i = _approximate_mode(remaining counts, n_i)
                keys = list(remaining)
                assert possible_approximate_modes([remaining[k] for k in keys], sizes[i], [part[k] for k in keys])
            else:
                assert part == remaining
            remaining = {k: remaining[k] - part[k] for k in remaining}
    # the parts are disjoint (ids are unique)
    assert sdb.one('SELECT count(*) FROM (SELECT id FROM "st_a@1.0.0" INTERSECT SELECT id FROM "st_b@1.0.0") i') == 0
    assert sdb.one("SELECT commands[1] FROM db4ai.snapshot WHERE name = 'st_a@1.0.0'") == "SPLIT {_a,_b,_c} {0.5,0.3,0.2} STRATIFY {label}"


def test_split_errors(mdb: Db) -> None:
    mdb.rows("""CREATE TABLE IF NOT EXISTS few AS SELECT g AS id, (g % 4)::text AS c, CASE WHEN g = 1 THEN 'x' ELSE 'y' END AS lonely
                FROM generate_series(1, 10) g""")
    if not mdb.rows("SELECT 1 FROM db4ai.snapshot WHERE name = 'few@1.0.0'"):
        mdb.rows("SELECT db4ai.create_snapshot('public', 'few', ARRAY['SELECT * FROM few'])")
    call = "SELECT db4ai.split_snapshot('public', 'few@1.0.0', %s::name[], %s::numeric[], %s::name[])"
    cases = [
        ((None, [0.5, 0.5], None), "i_split_names array malformed"),
        (([], [0.5, 0.5], None), "i_split_names array malformed"),
        ((["_a", "_b"], None, None), "i_ratios array malformed"),
        ((["_a", "_b"], [1.0], None), "i_split_names and i_ratios array length mismatch"),
        ((["_a", None], [0.5, 0.5], None), "i_split_names array contains NULL values"),
        ((["_a", "_b"], [0.5, None], None), "i_ratios array contains NULL values"),
        ((["_a"], [1], None), "SPLIT needs at least two parts, got 1"),
        ((["_a", "_a"], [0.5, 0.5], None), "i_split_names must be distinct: {_a,_a}"),
        ((["_a", "_b"], [1.2, -0.2], None), "ratio=1.2 of part _a should be a float in the (0, 1) range"),
        ((["_a", "_b"], [0.5, 0.4], None), "The sum of the ratios = 0.9, should be 1"),
        ((["_a", "_b"], [0.5, 0.5], ["nope"]), 'column "nope" does not exist in snapshot public."few@1.0.0"'),
        ((["_a", "_b"], [0.5, 0.5], ["lonely"]),
         "The least populated class in y has only 1 member, which is too few. The minimum number of groups for any class cannot be less than 2."),
        ((["_a", "_b"], [0.8, 0.2], ["c"]), "The _b size = 2 should be greater or equal to the number of classes = 4"),
        ((["_a", "_b"], [0.01, 0.99], None),
         "With n_samples=10, ratios={0.01,0.99} and parts={_a,_b}, the resulting _a set will be empty. Adjust any of the aforementioned parameters."),
        ((["_" + "x" * 60, "_b"], [0.5, 0.5], None), f"split snapshot name too long: 'few_{'x' * 60}@1.0.0'"),
    ]
    for args, message in cases:
        mdb.fails(call, args, message=message)
    mdb.rows("SELECT db4ai.create_snapshot('public', 'few_b', ARRAY['SELECT 1 AS x', 'FROM dual'], '1.0.0')")
    mdb.fails(call, (["_a", "_b"], [0.5, 0.5], None), message='snapshot public."few_b@1.0.0" already exists', sqlstate="42710")
