"""A small seeded fuzzer of DB4AI statements through ``db4ai.connect()`` (issue 14.7).

Valid snapshot and model statements are mutated token by token (deleted, repeated, swapped,
replaced by keywords, odd names, quotes, control characters, extreme numbers, cut short). Every
case must end in success or a clean error (a ``db4ai.Error`` or a ``psycopg.Error``: never a
Python exception from inside db4ai), a failed case must leave the database exactly as it was,
the connection must stay usable, and at the end every snapshot and model must be whole. Bounded:
at most CASES cases and about SECONDS seconds; the counts are printed as one summary line.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter

import psycopg
import pytest

import db4ai

from .conftest import broken_models, broken_snapshots, db_state

SEED = 20261204
CASES = 500
SECONDS = 45.0

SETUP = """
CREATE TABLE t AS SELECT g AS id, g * 0.5 AS x, (g % 7)::float8 AS z, 3 * g + 1.0 AS y, g % 3 AS k,
                         ARRAY[g, g * 2]::float8[] AS a, 'c' || g AS c
FROM generate_series(1, 200) g;
CREATE SNAPSHOT s AS SELECT * FROM t;
CREATE SNAPSHOT s FROM @1.0.0 USING (UPDATE SET x = 0 WHERE id < 10);
CREATE MODEL m USING linear_regression FEATURES x, z TARGET y FROM t WITH max_iterations = 5;
"""

STATEMENTS = [
    "CREATE SNAPSHOT n AS SELECT id, x, y FROM t WHERE id < 50",
    "CREATE SNAPSHOT n@2.0.0 COMMENT IS 'two' AS SELECT * FROM t",
    "CREATE SNAPSHOT s FROM @1.0.0 USING (DELETE WHERE id = 8; UPDATE SET z = 0 WHERE z IS NULL)",
    "CREATE SNAPSHOT s FROM @1.0.1 USING (INSERT VALUES (900, 1, 2, 3, 0, '{1,2}', 'new'); ALTER ADD w int)",
    "CREATE SNAPSHOT s@x9 FROM @1.0.0 USING (ALTER DROP c; UPDATE SET y = y + 1)",
    "SAMPLE SNAPSHOT s@1.0.0 STRATIFY BY k AS _a AT RATIO .5, AS _b AT RATIO .2 COMMENT IS 'sample'",
    "SPLIT SNAPSHOT s@1.0.1 AS _train AT RATIO .8, AS _test AT RATIO .2",
    "PUBLISH SNAPSHOT s@1.0.1",
    "ARCHIVE SNAPSHOT s@1.0.0",
    "PURGE SNAPSHOT s@1.0.1",
    "SELECT count(*), sum(x) FROM s@1.0.0 WHERE id > 3",
    "CREATE MODEL m2 USING linear_regression FEATURES x, z TARGET y FROM s@1.0.0 WITH max_iterations = 20, batch_size = 50",
    "CREATE MODEL m3 USING linear_regression FEATURES a TARGET y FROM t WITH optimizer = 'ngd', learning_rate = 0.5",
    "EXPLAIN CREATE MODEL m4 USING linear_regression FEATURES x TARGET y FROM t",
    "SELECT id, PREDICT BY m (FEATURES x, z) FROM t WHERE id < 5",
    "SELECT gs_explain_model('m')",
    "SELECT modelname, processedtuples FROM gs_model_warehouse",
    "DROP MODEL IF EXISTS m2",
    "DROP MODEL m",
]

POOL = [
    # keywords of the statements
    "SELECT", "FROM", "WHERE", "AS", "USING", "FEATURES", "TARGET", "WITH", "SNAPSHOT", "MODEL", "AT", "RATIO",
    "STRATIFY", "BY", "DROP", "IF", "EXISTS", "PREDICT", "COMMENT", "IS", "VALUES", "ALTER", "ADD", "DELETE",
    "UPDATE", "SET", "INSERT", "SAMPLE", "SPLIT", "PURGE", "PUBLISH", "CREATE", "EXPLAIN", "linear_regression",
    # names: ordinary, missing, quoted, odd, too long, control characters, unicode
    "t", "s", "m", "x", "y", "k", "a", "nosuch", '"Q"', '"a b"', '"x""y"', '"' + "n" * 70 + '"', "n" * 70,
    '"s\x01x"', '"\x02"', '"tab\there"', "é", '"snap@1.0.0"',
    # versions, numbers, strings
    "@1.0.0", "@9.9.9", "1.0.0", "@", "0", "-1", "1e309", ".5", "1.5", "2", "'NaN'", "'Infinity'",
    "'x'", "''", "'it''s'", "$$q$$", "E'\\x01'",
    # hyperparameters
    "batch_size = 0", "optimizer = 'x'", "max_iterations = 3", "learning_rate = -1", "seed = 7", "verbose = maybe",
    # punctuation and comments
    "(", ")", ",", ";", ".", "@", "'", '"', "--", "/*", "*", "=", "%", "%s",
]

TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\w+|\S")


def mutate(statement: str, rng: random.Random) -> str:
    tokens = TOKEN.findall(statement)
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
        op = rng.randrange(6)
        i = rng.randrange(len(tokens)) if tokens else 0
        if op == 0 and tokens:
            del tokens[i]
        elif op == 1 and tokens:
            tokens.insert(i, tokens[i])
        elif op == 2 and len(tokens) > 1:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == 3 and tokens:
            tokens[i] = rng.choice(POOL)
        elif op == 4:
            tokens.insert(i, rng.choice(POOL))
        else:
            tokens = tokens[:i]
    return " ".join(tokens)


def test_fuzzed_db4ai_statements_end_cleanly_and_leave_nothing_behind(db_dsn: str) -> None:
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        for stmt in SETUP.strip().split(";\n"):
            conn.execute(stmt)
        conn.execute("SET statement_timeout = '3s'")  # a mutated query may be a huge cross join
        started = time.monotonic()
        while counts["cases"] < CASES and time.monotonic() - started < SECONDS:
            base = rng.choice(STATEMENTS)
            case = mutate(base, rng)
            before = db_state(conn)
            counts["cases"] += 1
            try:
                conn.execute(case)
            except db4ai.Error:
                counts["db4ai errors"] += 1
            except psycopg.Error as exc:
                counts["psycopg errors"] += 1
                if isinstance(exc, psycopg.OperationalError) and conn.closed:
                    pytest.fail(f"the connection was lost by: {case!r}: {exc}")
            except Exception as exc:  # a Python exception escaping db4ai is a defect
                pytest.fail(f"unclean error {type(exc).__name__}: {exc} from: {case!r} (mutated from {base!r})")
            else:
                counts["successes"] += 1
                continue
            after = db_state(conn)
            if after != before:
                counts["leftovers"] += 1
                changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
                pytest.fail(f"failed case left something behind: {case!r}: {changed}")
        elapsed = time.monotonic() - started
        problems = broken_snapshots(conn) + broken_models(conn)
    print(f"\nfuzz: {counts['cases']} cases in {elapsed:.1f} s: {counts['successes']} successes, "
          f"{counts['db4ai errors'] + counts['psycopg errors']} clean errors ({counts['db4ai errors']} db4ai, "
          f"{counts['psycopg errors']} psycopg), {counts['leftovers']} leftovers, {len(problems)} broken objects")
    assert problems == []
    assert counts["cases"] >= 100, counts  # bounded by time, but not so much that it tests nothing
    assert counts["successes"] >= 10 and counts["db4ai errors"] >= 10 and counts["psycopg errors"] >= 10, counts
