"""CREATE EXTENSION db4ai: the same objects as install.sql, upgrades from the last release, and
pg_dump / pg_restore keeping snapshots and models (extension and install.sql alike)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest

import db4ai
from db4ai import __version__, extension
from db4ai.install import expand_script

from tests.support import db4ai_objects, pg_binary

ROOT = Path(__file__).resolve().parents[2]
USER_0_1_0 = ROOT / "tests" / "core" / "data" / "db4ai-0.1.0-user.sql"  # a 0.1.0 user's snapshots and model


def psql(dsn: str, *args: str) -> None:
    result = subprocess.run([pg_binary("psql"), dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "db4ai.cli", *args], capture_output=True, text=True, timeout=120)


def execute(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


NOT_MEMBERS = """
    SELECT kind, name FROM (
        SELECT 'pg_class'::regclass AS classid, c.oid, c.relname::text AS name, 'class' AS kind
          FROM pg_class c WHERE c.relnamespace::regnamespace::text LIKE 'db4ai%' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
        UNION ALL
        SELECT 'pg_proc'::regclass, p.oid, p.proname::text, 'function'
          FROM pg_proc p WHERE p.pronamespace::regnamespace::text LIKE 'db4ai%'
        UNION ALL
        SELECT 'pg_type'::regclass, t.oid, t.typname::text, 'type'
          FROM pg_type t JOIN pg_class r ON r.oid = t.typrelid
         WHERE t.typnamespace::regnamespace::text LIKE 'db4ai%' AND r.relkind = 'c'
        UNION ALL
        SELECT 'pg_namespace'::regclass, n.oid, n.nspname::text, 'schema'
          FROM pg_namespace n WHERE n.nspname = 'db4ai_internal') o
     WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.classid AND d.objid = o.oid AND d.deptype = 'e')
     ORDER BY 1, 2
"""


def test_extension_and_install_sql_make_the_same_objects(blank_dbs, extension_files):
    as_extension, with_psql = blank_dbs(), blank_dbs()
    execute(as_extension, "CREATE EXTENSION db4ai")
    psql(with_psql, "-f", str(ROOT / "sql" / "install.sql"))
    objects = db4ai_objects(as_extension)
    assert objects == db4ai_objects(with_psql)
    assert len([o for o in objects if o[0] == "function"]) > 20
    with psycopg.connect(as_extension) as conn:
        assert conn.execute(NOT_MEMBERS).fetchall() == []  # every object is the extension's
        # every table and sequence holds user data: all are dumped with their rows
        registered = conn.execute(
            "SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM pg_extension, unnest(extconfig) c"
            " WHERE extname = 'db4ai'").fetchone()[0]
        tables = conn.execute(
            "SELECT array_agg(oid::regclass::text ORDER BY oid::regclass::text) FROM pg_class"
            " WHERE relnamespace = 'db4ai'::regnamespace AND relkind IN ('r', 'p', 'S')").fetchone()[0]
        assert registered == tables
        assert {"db4ai.snapshot", "db4ai.gs_model_warehouse", "db4ai.snapshot_sequence"} <= set(tables)
    assert_helpers_are_internal(as_extension)


def test_generated_files_come_from_the_sql_sources():
    files = extension.files()
    current = files[f"db4ai--{__version__}.sql"]
    assert current.startswith("\\echo Use \"CREATE EXTENSION db4ai\"")
    assert f"default_version = '{__version__}'" in files["db4ai.control"]
    assert "schema = db4ai" in files["db4ai.control"]
    body = current.split("\n", 1)[1]
    assert "CREATE OR REPLACE FUNCTION db4ai.create_snapshot(" in body and "pg_extension_config_dump" in body
    assert "\nBEGIN;" not in body and "CREATE SCHEMA IF NOT EXISTS db4ai;" not in body  # CREATE EXTENSION owns both
    assert "CREATE SCHEMA IF NOT EXISTS db4ai_internal;" in body  # the extension's second schema: made by its script
    # every earlier release: its own frozen script, and an upgrade to this version
    assert extension.releases() == ["0.1.0"]
    assert files["db4ai--0.1.0--" + __version__ + ".sql"] == current
    assert "SELECT '0.1.0'::text" in files["db4ai--0.1.0.sql"]


def test_python_m_db4ai_extension_writes_the_files(tmp_path):
    result = subprocess.run([sys.executable, "-m", "db4ai.extension", str(tmp_path / "ext")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "ext").iterdir())
    assert written == sorted(extension.files())


# -- upgrades from the last release -------------------------------------------------------------


def user_objects(dsn: str) -> list[tuple]:
    """db4ai's objects less the prediction functions models generate (data, not schema)."""
    return [o for o in db4ai_objects(dsn) if not (o[0] == "function" and o[1].endswith("_pred"))]


def assert_helpers_are_internal(dsn: str) -> None:
    """Schema db4ai holds the API only (psql's \\df db4ai.*): no helper, and no function there (a
    model's generated one included) names a helper in its old place (db4ai._*, up to 0.2.0)."""
    with psycopg.connect(dsn) as conn:
        internal = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai_internal'::regnamespace").fetchone()[0]
        assert internal > 50
        assert conn.execute("""SELECT proname FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace
                                  AND (proname LIKE '\\_%' OR prosrc LIKE '%db4ai.\\_%')
                               UNION ALL SELECT relname FROM pg_class WHERE relnamespace = 'db4ai'::regnamespace
                                  AND relname LIKE '\\_%'
                               UNION ALL SELECT typname FROM pg_type WHERE typnamespace = 'db4ai'::regnamespace
                                  AND typname LIKE '\\_%' AND typtype <> 'b'""").fetchall() == []
        # what points at a helper by oid follows it (users' snapshot triggers, the catalogs' triggers)
        assert conn.execute("""SELECT DISTINCT tgfoid::regproc::text FROM pg_trigger WHERE NOT tgisinternal
                                  AND tgfoid::regproc::text NOT LIKE 'db4ai\\_internal.%'""").fetchall() == []


def check_the_0_1_0_user_still_works(dsn: str) -> None:
    """The snapshots and the model of tests/core/data/db4ai-0.1.0-user.sql, used with this version."""
    with db4ai.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT db4ai.version()").fetchone()[0] == __version__
        names = [r[0] for r in conn.execute("SELECT name FROM db4ai.snapshot ORDER BY id")]
        assert names == ["houses@1.0.0", "houses@1.1.0", "houses_train@1.1.0", "houses_test@1.1.0",
                         "shared@1.0.0", "shared@1.0.1", "shared@1.1.0"]
        # the views still read what they froze (the CSS ones through the shared table)
        assert conn.execute('SELECT count(*) FROM "houses@1.1.0"').fetchone()[0] == 14
        assert conn.execute("SELECT array_agg(tax ORDER BY id) FROM shared@1.1.0").fetchone()[0] == \
            [0, 0, 0] + conn.execute("SELECT array_agg(tax ORDER BY id) FROM houses WHERE id BETWEEN 4 AND 12").fetchone()[0]
        # the 0.1.0 model predicts with its stored weights: PREDICT BY and its generated function
        coef = np.array(conn.execute("SELECT coefficients FROM db4ai.gs_model_warehouse WHERE modelname = 'price'").fetchone()[0])
        rows = conn.execute("SELECT tax, bath, size, PREDICT BY price (FEATURES tax, bath, size),"
                            " db4ai.price_pred(tax, bath, size) FROM houses_test@1.1.0 ORDER BY id").fetchall()
        x = np.array([r[:3] for r in rows], dtype=float)
        expected = np.trunc(x @ coef[:3] + coef[3]).astype(int).tolist()  # int4 target: truncated
        assert [r[3] for r in rows] == expected == [r[4] for r in rows]
        assert "linear_regression" in conn.execute("SELECT gs_explain_model('price')").fetchone()[0]
        # the catalog goes on: a new version of an old CSS lineage, a new model on an old snapshot
        conn.execute("SET db4ai.snapshot_mode = 'CSS'")
        conn.execute("CREATE SNAPSHOT shared FROM @1.1.0 USING (DELETE WHERE id = 4)")
        new_id = conn.execute("SELECT id FROM db4ai.snapshot WHERE name = 'shared@1.2.0'").fetchone()[0]
        assert new_id == 8
        assert conn.execute("SELECT count(*) FROM shared@1.2.0").fetchone()[0] == 11
        conn.execute("CREATE MODEL price2 USING linear_regression FEATURES tax, bath, size TARGET price"
                     " FROM houses_train@1.1.0 WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 20, seed = 7")
        coef2 = conn.execute("SELECT coefficients FROM db4ai.gs_model_warehouse WHERE modelname = 'price2'").fetchone()[0]
        assert np.allclose(coef2, coef)  # same data, same settings, same seed: the same weights
        # lineage still guards purging; dropping the old model frees its snapshot and its function
        with pytest.raises(db4ai.DependencyError, match='model "price" was trained on it'):
            conn.execute("PURGE SNAPSHOT houses_train@1.1.0")
        conn.execute("DROP MODEL price")
        conn.execute("DROP MODEL price2")
        assert conn.execute("SELECT to_regproc('db4ai.price_pred')").fetchone()[0] is None
        for name in reversed(names + ["shared@1.2.0"]):
            conn.execute(f"PURGE SNAPSHOT {name}")
        assert conn.execute("SELECT count(*) FROM db4ai.snapshot_storage").fetchone()[0] == 0


def test_alter_extension_update_from_0_1_0_keeps_snapshots_and_models(blank_dbs, extension_files):
    old, fresh = blank_dbs(), blank_dbs()
    execute(old, "CREATE EXTENSION db4ai VERSION '0.1.0'")
    psql(old, "-f", str(USER_0_1_0))
    result = cli("install", "-d", old)  # a database with the extension is upgraded as one
    assert result.returncode == 0, result.stderr
    dbname = psycopg.conninfo.conninfo_to_dict(old)["dbname"]
    assert result.stdout == f"db4ai upgraded from 0.1.0 to {__version__} in database {dbname} (extension)\n"
    execute(fresh, "CREATE EXTENSION db4ai")
    assert user_objects(old) == user_objects(fresh)  # nothing of 0.1.0 left behind, nothing missing
    assert_helpers_are_internal(old)
    with psycopg.connect(old) as conn:
        assert conn.execute(NOT_MEMBERS).fetchall() == [("function", "price_pred")]  # data, not the extension's
    check_the_0_1_0_user_still_works(old)


def test_install_sql_upgrades_a_0_1_0_install(blank_dbs, tmp_path):
    old, fresh = blank_dbs(), blank_dbs()
    psql(old, "-c", "CREATE SCHEMA db4ai", "-f", str(ROOT / "sql" / "releases" / "0.1.0.sql"), "-f", str(USER_0_1_0))
    result = cli("install", "-d", old)
    assert result.returncode == 0, result.stderr
    dbname = psycopg.conninfo.conninfo_to_dict(old)["dbname"]
    assert result.stdout == f"db4ai upgraded from 0.1.0 to {__version__} in database {dbname}\n"
    result = cli("install", "-d", old)
    assert result.stdout == f"db4ai already at {__version__} in database {dbname}\n"
    psql(fresh, "-f", str(ROOT / "sql" / "install.sql"))
    assert user_objects(old) == user_objects(fresh)
    assert_helpers_are_internal(old)
    check_the_0_1_0_user_still_works(old)


def helpers_in_schema_db4ai() -> str:
    """The objects of an install from before the helpers moved to db4ai_internal (0.2.0 as first
    built): this version's sources with the helpers named back into schema db4ai. It is the same
    text but for that name (sql/core.sql's three lines making db4ai_internal aside), so it stands
    for such an install without a frozen copy of a version that was never released."""
    text = expand_script(ROOT / "sql" / "objects.sql")
    lines = [line for line in text.splitlines() if not re.search(r"SCHEMA (IF NOT EXISTS )?db4ai_internal", line)]
    return "BEGIN;\nCREATE SCHEMA db4ai;\n" + "\n".join(lines).replace("db4ai_internal", "db4ai") + "\nCOMMIT;\n"


MODELS_OF_EVERY_HELPER = [  # each generated function calls a helper, and views use them
    "CREATE TABLE pts AS SELECT g AS id, (g % 7)::float8 AS x1, ((g * 3) % 11)::float8 AS x2,"
    " ARRAY[(g % 4) * 10.0 + g % 3, (g % 4) * -5.0 + g % 2]::float8[] AS position,"
    " CASE g % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END AS kind FROM generate_series(1, 90) g",
    "CREATE SNAPSHOT pts AS SELECT * FROM pts",
    "SET db4ai.snapshot_mode = 'CSS'",
    "CREATE SNAPSHOT c AS SELECT * FROM pts",
    "CREATE SNAPSHOT c FROM @1.0.0 USING (UPDATE SET x1 = 0 WHERE id < 3; DELETE WHERE id > 80)",
    "CREATE MODEL clusters USING kmeans FEATURES position FROM pts@1.0.0 WITH num_centroids = 4, seed = 3",  # _float8_array
    "CREATE MODEL axes USING pca FEATURES position FROM pts@1.0.0 WITH number_components = 2, seed = 1",  # _input_array_error
    "CREATE MODEL kinds USING multiclass FEATURES x1, x2 TARGET kind FROM pts@1.0.0 WITH max_iterations = 5, seed = 1",  # _ova_argmax
    "CREATE VIEW guesses AS SELECT id, db4ai.clusters_pred(position) AS cluster, db4ai.kinds_pred(x1, x2) AS kind,"
    " db4ai.axes_pred(position) AS axes FROM c@1.1.0",
]


def test_install_sql_moves_the_helpers_out_of_schema_db4ai(blank_dbs):
    old, fresh = blank_dbs(), blank_dbs()
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute(helpers_in_schema_db4ai().encode())
    with db4ai.connect(old, autocommit=True) as conn:
        for statement in MODELS_OF_EVERY_HELPER:
            conn.execute(statement)
        before = conn.execute("SELECT * FROM guesses ORDER BY id").fetchall()
        old_calls = conn.execute("SELECT string_agg(prosrc, ' ') FROM pg_proc WHERE proname LIKE '%\\_pred'").fetchone()[0]
        assert "db4ai._input_array_error(" in old_calls and "db4ai._ova_argmax(" in old_calls
    result = cli("install", "-d", old)
    assert result.returncode == 0, result.stderr
    psql(fresh, "-f", str(ROOT / "sql" / "install.sql"))
    assert user_objects(old) == user_objects(fresh)
    assert_helpers_are_internal(old)  # the models' functions re-created, the snapshots' triggers moved along
    with db4ai.connect(old, autocommit=True) as conn:
        assert conn.execute("SELECT * FROM guesses ORDER BY id").fetchall() == before  # the view kept its functions
        assert conn.execute("SELECT id, PREDICT BY clusters (FEATURES position), PREDICT BY kinds (FEATURES x1, x2),"
                            " PREDICT BY axes (FEATURES position) FROM c@1.1.0 ORDER BY id").fetchall() == before
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="cannot update snapshot"):
            conn.execute('UPDATE "c@1.1.0" SET x1 = 1')
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="only double precision array"):
            conn.execute("SELECT PREDICT BY clusters (FEATURES x1) FROM pts")  # through db4ai_internal._float8_array
        conn.execute("DROP VIEW guesses")
        for model in ["clusters", "kinds", "axes"]:
            conn.execute(f"DROP MODEL {model}")
        for name in ["c@1.1.0", "c@1.0.0", "pts@1.0.0"]:
            conn.execute(f"PURGE SNAPSHOT {name}")


def test_install_extension_from_the_command_line(blank_dbs, extension_files):
    db, plain = blank_dbs(), blank_dbs()
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    result = cli("install", "--extension", "-d", db)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"db4ai {__version__} installed in database {name} (extension)\n"
    result = cli("install", "--extension", "-d", db)
    assert result.stdout == f"db4ai already at {__version__} in database {name} (extension)\n"
    # install.sql refuses a database that has the extension: its new objects would not be members
    result = subprocess.run([pg_binary("psql"), db, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROOT / "sql" / "install.sql")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "ERROR:  db4ai is installed as an extension in this database" in result.stderr
    # and an extension cannot adopt what install.sql made
    psql(plain, "-f", str(ROOT / "sql" / "install.sql"))
    result = cli("install", "--extension", "-d", plain)
    assert result.returncode == 1
    assert result.stderr.startswith(f"ERROR:  db4ai {__version__} was installed in database")
    assert "HINT:  keep upgrading it with db4ai install" in result.stderr
    # uninstall.sql removes the extension with everything else
    psql(db, "-f", str(ROOT / "sql" / "uninstall.sql"))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'db4ai'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'db4ai'").fetchone()[0] == 0


# -- pg_dump / pg_restore ---------------------------------------------------------------------------


SNAPSHOT_ROWS = "SELECT id, parent_id, matrix_id, root_id, schema, name, owner, commands, comment, published, archived, row_count FROM db4ai.snapshot ORDER BY id"
MODEL_ROWS = "SELECT modelname, modeldata, coefficients, snapshot_ids, predict_function, (SELECT count(*) FROM db4ai.gs_model_training_log l WHERE l.modelname = m.modelname) FROM db4ai.gs_model_warehouse m ORDER BY 1"


def view_rows(conn: psycopg.Connection, names: list[str]) -> dict[str, list]:
    return {n: conn.execute(psycopg.sql.SQL("SELECT * FROM {} ORDER BY 1").format(psycopg.sql.Identifier(n))).fetchall()
            for n in names}


@pytest.mark.parametrize("how", ["extension", "install.sql"])
def test_dump_and_restore_keep_snapshots_and_models(how, pg_server, blank_dbs, request, tmp_path):
    source, target = blank_dbs(), blank_dbs()
    if how == "extension":
        request.getfixturevalue("extension_files")
        execute(source, "CREATE EXTENSION db4ai")
    else:
        psql(source, "-f", str(ROOT / "sql" / "install.sql"))
    with db4ai.connect(source, autocommit=True) as conn:
        conn.execute("CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 3 * g + 1 AS y FROM generate_series(1, 40) g")
        conn.execute("CREATE SNAPSHOT pts AS SELECT * FROM pts")
        conn.execute("SET db4ai.snapshot_mode = 'CSS'")
        conn.execute("CREATE SNAPSHOT c AS SELECT * FROM pts")
        conn.execute("CREATE SNAPSHOT c FROM @1.0.0 USING (UPDATE SET y = 0 WHERE id < 3; DELETE WHERE id > 30)")
        conn.execute("CREATE MODEL fit USING linear_regression FEATURES x TARGET y FROM pts@1.0.0"
                     " WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 10, seed = 1")
        conn.execute("CREATE VIEW fitted AS SELECT id, db4ai.fit_pred(x) AS guess FROM pts")  # a user's view on a model
        names = [r[0] for r in conn.execute("SELECT name FROM db4ai.snapshot ORDER BY id")]
        before = (conn.execute(SNAPSHOT_ROWS).fetchall(), conn.execute(MODEL_ROWS).fetchall(),
                  view_rows(conn, names + ["fitted"]))
    dump = tmp_path / "db.dump"
    result = subprocess.run([pg_binary("pg_dump", pg_server), "-Fc", "-f", str(dump), source],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([pg_binary("pg_restore", pg_server), "--exit-on-error", "-d", target, str(dump)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    with db4ai.connect(target, autocommit=True) as conn:
        extension_row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'db4ai'").fetchone()
        assert extension_row == ((__version__,) if how == "extension" else None)
        after = (conn.execute(SNAPSHOT_ROWS).fetchall(), conn.execute(MODEL_ROWS).fetchall(),
                 view_rows(conn, names + ["fitted"]))
        assert after == before
        predicted = conn.execute("SELECT array_agg(PREDICT BY fit (FEATURES x) ORDER BY id) FROM pts").fetchone()[0]
        assert predicted == [r[1] for r in before[2]["fitted"]]
        # the catalog goes on after the restore: new ids (the sequence came along), purge, drop
        newest = conn.execute("SELECT name FROM db4ai.prepare_snapshot('public', %s, '{DELETE, \"WHERE id = 5\"}')",
                              [names[-1]]).fetchone()[0]
        assert conn.execute("SELECT max(id) FROM db4ai.snapshot").fetchone()[0] == len(names) + 1
        conn.execute("DROP VIEW fitted")
        conn.execute("DROP MODEL fit")
        for name in reversed(names + [newest]):
            conn.execute(f"PURGE SNAPSHOT {name}")
        left = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname <> 'pts'").fetchone()[0]
        assert left == 0
