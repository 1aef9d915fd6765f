"""Least squares in the database (optimizer = 'normal_equations', db4ai.linregr) on ``--rows`` rows x
10 float8 features, with max_parallel_workers_per_gather 0 and 2, against:

* the moments aggregate alone (the XᵀX floor: the same regr_* query, without planning, solving,
  storing): goal CREATE MODEL <= 1.2x;
* the fastest client read of the same rows (ADBC -> Arrow -> numpy): goal CREATE MODEL < 1x;
* what a user would do by hand: that read plus scikit-learn's LinearRegression: goal faster (< 1x).

And, on at most 50,000 rows in one process, a hand-written Gram aggregate with a float8[] state in
PL/pgSQL (the alternative to the built-in regr_* aggregates) against the moments query.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import psycopg
from psycopg import sql

from benchmarks._harness import BenchContext, Measurement

GROUP = "solver"
TABLE = "bench_solver"
FEATURES = tuple(f"x{i}" for i in range(1, 11))
WEIGHTS = (1.5, -2.0, 0.5, 1.0, -1.0, 0.2, 0.3, -0.4, 1.0, 2.0)
ADBC = "ADBC read -> numpy (y, x1..x10)"
BY_HAND = "ADBC read + sklearn LinearRegression"
HAND_ROWS = 50_000

_HAND_AGGREGATE = """
CREATE OR REPLACE FUNCTION pg_temp.gram_step(s float8[], x float8[]) RETURNS float8[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE m int := cardinality(x);
BEGIN
    IF s IS NULL THEN s := array_fill(0::float8, ARRAY[1 + m + m * m]); END IF;
    s[1] := s[1] + 1;
    FOR i IN 1 .. m LOOP
        s[1 + i] := s[1 + i] + x[i];
        FOR j IN 1 .. m LOOP s[1 + m + (i - 1) * m + j] := s[1 + m + (i - 1) * m + j] + x[i] * x[j]; END LOOP;
    END LOOP;
    RETURN s;
END $$;
CREATE OR REPLACE FUNCTION pg_temp.gram_combine(a float8[], b float8[]) RETURNS float8[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE ARRAY(SELECT u + v FROM unnest(a, b) AS t(u, v)) END $$;
DROP AGGREGATE IF EXISTS pg_temp.gram(float8[]);
CREATE AGGREGATE pg_temp.gram(float8[]) (SFUNC = pg_temp.gram_step, STYPE = float8[],
                                          COMBINEFUNC = pg_temp.gram_combine, PARALLEL = SAFE);
"""


def create_table(conn: psycopg.Connection, rows: int) -> None:
    """``bench_solver(id, x1..x10, y)``: uniform features, y linear in them plus noise, seeded."""
    ident = sql.Identifier(TABLE)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
    columns = sql.SQL(", ").join(sql.SQL("random() AS {}").format(sql.Identifier(f)) for f in FEATURES)
    target = sql.SQL(" + ").join(sql.SQL("{} * {}").format(sql.Literal(w), sql.Identifier(f))
                                 for w, f in zip(WEIGHTS, FEATURES, strict=True))
    with conn.transaction():
        conn.execute("SELECT setseed(0.17)")
        conn.execute(sql.SQL("CREATE TABLE {t} AS SELECT g::bigint AS id, {cols} FROM generate_series(1, {n}) AS g")
                     .format(t=ident, cols=columns, n=sql.Literal(rows)))
        conn.execute(sql.SQL("ALTER TABLE {t} ADD COLUMN y float8").format(t=ident))
        conn.execute(sql.SQL("UPDATE {t} SET y = 1.5 + {target} + 0.1 * (random() - 0.5)").format(t=ident, target=target))
    conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(ident))


def _adbc_matrix(dsn: str, query: str) -> np.ndarray:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        table = cur.fetch_arrow_table()
    return np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])


def interleaved(ctx: BenchContext, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best time of each function over ``ctx.repeats`` rounds that run them in turn, so that load from
    other processes on the machine falls on all of them alike."""
    best = {name: float("inf") for name in runs}
    for _ in range(ctx.repeats):
        for name, fn in runs.items():
            started = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def run(ctx: BenchContext) -> list[Measurement]:
    import db4ai
    from sklearn.linear_model import LinearRegression

    model = f"bench_solver_{os.getpid()}"
    features = ", ".join(FEATURES)
    statement = (f"CREATE MODEL {model} USING linear_regression FEATURES {features} TARGET y FROM {TABLE}"
                 " WITH optimizer = 'normal_equations'")
    query = f"SELECT y, {features} FROM {TABLE}"
    extra = {"rows": ctx.rows, "features": len(FEATURES)}
    with db4ai.connect(ctx.dsn, autocommit=True) as shim, ctx.connect() as plain:
        create_table(plain, ctx.rows)
        moments = plain.execute(
            "SELECT db4ai_internal._linregr_moments_sql(%s, %s, %s::regtype[], current_setting('search_path'))",
            (f"SELECT y, {features} FROM {TABLE}", ["y", *FEATURES], ["float8"] * 11)).fetchone()[0]

        def by_hand() -> None:
            m = _adbc_matrix(ctx.dsn, query)
            LinearRegression().fit(m[:, 1:], m[:, 0])

        def create() -> None:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
            shim.execute(statement)

        _adbc_matrix(ctx.dsn, "SELECT 1 AS warm_up")  # load the driver before timing it
        out: list[Measurement] = []
        try:
            for workers in (0, 2):
                for conn in (shim, plain):
                    conn.execute(f"SET max_parallel_workers_per_gather = {workers}")
                floor = f"moments aggregate alone (XᵀX floor), workers {workers}"
                runs = {
                    "floor": lambda: plain.execute(moments).fetchall(),
                    "create": create,
                    "linregr": lambda: plain.execute(
                        "SELECT rank FROM db4ai.linregr(%s, 'y', %s)", (TABLE, list(FEATURES))).fetchall(),
                }
                if workers == 0:  # the client's read does not depend on the setting: measured once
                    runs |= {"adbc": lambda: _adbc_matrix(ctx.dsn, query), "by_hand": by_hand}
                best = interleaved(ctx, runs)
                if workers == 0:
                    out += [Measurement(GROUP, ADBC, best["adbc"], extra=extra),
                            Measurement(GROUP, BY_HAND, best["by_hand"], extra=extra)]
                out += [
                    Measurement(GROUP, floor, best["floor"], extra={**extra, "workers": workers}),
                    Measurement(GROUP, f"CREATE MODEL normal_equations vs floor, workers {workers}", best["create"],
                                reference=floor, goal=1.2),
                    Measurement(GROUP, f"db4ai.linregr() vs floor, workers {workers}", best["linregr"],
                                reference=floor, goal=1.2),
                    Measurement(GROUP, f"CREATE MODEL normal_equations vs ADBC read, workers {workers}",
                                best["create"], reference=ADBC, goal=1.0),
                    Measurement(GROUP, f"CREATE MODEL normal_equations vs read + sklearn, workers {workers}",
                                best["create"], reference=BY_HAND, goal=1.0),
                ]
        finally:
            shim.execute(f"DROP MODEL IF EXISTS {model}")
        out += _hand_written(ctx, plain, features)
    return out


def _hand_written(ctx: BenchContext, conn: psycopg.Connection, features: str) -> list[Measurement]:
    """A PL/pgSQL Gram aggregate with an array state against the built-in moments, one process."""
    rows = min(ctx.rows, HAND_ROWS)
    source = f"SELECT * FROM {TABLE} WHERE id <= {rows}"
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute(_HAND_AGGREGATE)
    moments = conn.execute(
        "SELECT db4ai_internal._linregr_moments_sql(%s, %s, %s::regtype[], current_setting('search_path'))",
        (source, ["y", *FEATURES], ["float8"] * 11)).fetchone()[0]
    built_in = f"built-in regr_* moments, {rows:,} rows, no workers"
    best = interleaved(ctx, {
        "built_in": lambda: conn.execute(moments).fetchall(),
        "hand": lambda: conn.execute(
            f"SELECT cardinality(pg_temp.gram(ARRAY[{features}, y])) FROM ({source}) AS s").fetchall(),
    })
    return [Measurement(GROUP, built_in, best["built_in"], extra={"rows": rows}),
            Measurement(GROUP, "hand-written PL/pgSQL Gram aggregate vs built-in", best["hand"], reference=built_in)]
