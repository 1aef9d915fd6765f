"""A psql user can read the catalog: schema db4ai holds the public API only (its internal helpers
live in schema db4ai_internal, so \\df db4ai.* lists what users call), and every table, column and
function there has a COMMENT (\\d+, \\df+)."""

UNDOCUMENTED = """
    SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'db4ai'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
    UNION ALL
    SELECT 'table ' || c.relname FROM pg_class c
     WHERE c.relnamespace = 'db4ai'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND obj_description(c.oid, 'pg_class') IS NULL
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'db4ai'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
       AND col_description(c.oid, a.attnum) IS NULL
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t JOIN pg_class r ON r.oid = t.typrelid
     WHERE t.typnamespace = 'db4ai'::regnamespace AND r.relkind = 'c' AND obj_description(t.oid, 'pg_type') IS NULL
    ORDER BY 1
"""

# Helpers (named "_...") in the public schema; array types (typtype 'b', "_snapshot_name") are the
# public types' own.
INTERNAL_IN_DB4AI = """
    SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'db4ai'::regnamespace AND p.proname LIKE '\\_%'
    UNION ALL
    SELECT 'relation ' || c.relname FROM pg_class c WHERE c.relnamespace = 'db4ai'::regnamespace AND c.relname LIKE '\\_%'
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t
     WHERE t.typnamespace = 'db4ai'::regnamespace AND t.typname LIKE '\\_%' AND t.typtype <> 'b'
    ORDER BY 1
"""


def test_schema_db4ai_holds_the_public_api_only(db):
    assert db.execute(INTERNAL_IN_DB4AI).fetchall() == []
    helpers = db.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai_internal'::regnamespace").fetchone()[0]
    assert helpers > 50  # they exist, elsewhere
    # PUBLIC may use both schemas: a prediction function runs as its caller and calls helpers
    assert db.execute("SELECT has_schema_privilege('public', 'db4ai_internal', 'USAGE')").fetchone()[0] is True


def test_every_public_object_of_db4ai_has_a_comment(db):
    assert db.execute(UNDOCUMENTED).fetchall() == []
    public = db.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace").fetchone()[0]
    assert public >= 12  # the test looks at the real API (create_snapshot, gs_explain_model, ...)


def test_generated_prediction_functions_are_documented(db):
    import db4ai

    with db4ai.connect(db.info.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pts AS SELECT g AS id, g::float8 AS x, 2 * g AS y FROM generate_series(1, 10) g")
        conn.execute("CREATE MODEL m USING linear_regression FEATURES x TARGET y FROM pts WITH max_iterations = 2")
    assert db.execute(UNDOCUMENTED).fetchall() == []
    assert db.execute(INTERNAL_IN_DB4AI).fetchall() == []
