"""kmeans end to end: openGauss's regression test (db4ai_kmeans_train_predict) reproduced statement by
statement, its error texts, the warehouse row, gs_explain_model, PREDICT BY as inlined SQL, and
scikit-learn's objective on well-separated clusters as an independent reference."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import psycopg
import pytest

import db4ai
from db4ai.errors import DataError, InvalidParameter, ObjectNotFound

from tests.models.arrays import ArrayTraining

DATA = Path(__file__).resolve().parent / "data"
SEED = 1255025990
# openGauss's statement; its FROM subquery gets an alias (PostgreSQL 15 requires one).
STATEMENT = ("CREATE MODEL {name} USING kmeans FROM (SELECT position FROM multivariate_7_1000_10) AS s "
             "WITH max_iterations = 50, num_centroids = {k}, tolerance = 0.00001, batch_size = 1000, "
             "{features}distance_function = '{distance}', seeding_function = '{seeding}', verbose = {verbose}, "
             "seed = 1255025990")
OBJECTIVES = {"L1": "5529.024537", "L2": "2531.128891", "L2_Squared": "6862.937872", "Linf": "1715.267442"}
CANDIDATES = {"Random++": ("*** random++ oversampling factor: 4.000000, expected number of candidates: 40", 87),
              "KMeans||": ("*** k-means|| oversampling factor: 4.000000, expected number of candidates per round: 40", 270)}
# id of multivariate_7_1000_10_real_centroids -> the centroid openGauss predicts (ids 11..15 are dead points)
PREDICTED = {
    "Random++": {6: 6, 8: 5, 2: 1, 10: 2, 5: 3, 3: 9, 4: 7, 1: 4, 9: 8, 7: 10},
    "KMeans||": {6: 4, 8: 1, 2: 2, 10: 6, 5: 8, 3: 5, 4: 7, 1: 10, 9: 3, 7: 9},
}
DEAD_IDS = [11, 12, 13, 14, 15]


@pytest.fixture
def kdb(db_dsn):
    """A shim connection with openGauss's two k-means tables, loaded in its order; NOTICEs collected."""
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        for table, path in (("multivariate_7_1000_10", "kmeans_multivariate_7_1000_10.tsv"),
                            ("multivariate_7_1000_10_real_centroids", "kmeans_multivariate_7_1000_10_real_centroids.tsv")):
            conn.execute(f"CREATE TABLE {table} (id int, position float8[], closest_centroid int, l1_distance float8,"
                         " l2_distance float8, l2_squared_distance float8, linf_distance float8)")
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                copy.write((DATA / path).read_bytes())
        conn.notices = []  # type: ignore[attr-defined]
        conn.add_notice_handler(lambda d: conn.notices.append(d.message_primary))  # type: ignore[attr-defined]
        yield conn


def create(conn, name, *, k=10, distance="L2_Squared", seeding="Random++", verbose=1, features=True):
    conn.notices.clear()
    conn.execute(STATEMENT.format(name=name, k=k, distance=distance, seeding=seeding, verbose=verbose,
                                  features="num_features = 7, " if features else ""))
    return list(conn.notices)


def predictions(conn, name):
    """openGauss's 'WHERE centroid_id > 0' queries (it lets WHERE name an output column; here a subquery)."""
    rows = conn.execute(f"SELECT id, centroid_id FROM (SELECT id, PREDICT BY {name}(features position) AS centroid_id"
                        " FROM multivariate_7_1000_10_real_centroids) AS p").fetchall()
    return dict(rows)


def leftovers(conn):
    return conn.execute("""
        SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse), (SELECT count(*) FROM db4ai.gs_model_training_log),
               (SELECT count(*) FROM pg_proc WHERE pronamespace = 'db4ai'::regnamespace AND proname LIKE '%%_pred')
    """).fetchone()


# -- openGauss's regression outputs -----------------------------------------------------------------


@pytest.mark.parametrize("seeding", ["Random++", "KMeans||"])
@pytest.mark.parametrize("distance", ["L1", "L2", "L2_Squared", "Linf"])
def test_opengauss_regress_seeding_and_distance(kdb, seeding, distance):
    line, candidates = CANDIDATES[seeding]
    notices = create(kdb, "my_kmeans", distance=distance, seeding=seeding)
    assert notices == [
        "*** Initial statistics gathered:", "*** Dimension used for computations: 7",
        "*** Number of valid points: 1000", "*** Number of dead points:  5", line,
        f"*** k-means++ begin: consolidating {candidates} candidates to 10 centroid(s)",
        "*** Number of centroids constructed:    10",
        f"*** Value of global objective function: {OBJECTIVES[distance]}",
        "*** Seed:                               1255025990"]
    got = predictions(kdb, "my_kmeans")
    assert got == {**PREDICTED[seeding], **{i: -1 for i in DEAD_IDS}}
    assert len(set(got.values())) == 11
    row = kdb.execute("SELECT processedtuples, discardedtuples, iterations, outputtype, trainingscoresname,"
                      " trainingscoresvalue FROM gs_model_warehouse WHERE modelname = 'my_kmeans'").fetchone()
    assert row[:5] == (1000, 5, 3, 23, [distance])
    assert row[5][0] == pytest.approx(float(OBJECTIVES[distance]), rel=1e-6)
    kdb.execute("DROP MODEL my_kmeans")
    with pytest.raises(ObjectNotFound, match="^No model found with name my_kmeans$"):
        kdb.execute("SELECT COUNT(DISTINCT(centroid_id)) FROM (SELECT PREDICT BY my_kmeans(features position) AS"
                    " centroid_id FROM multivariate_7_1000_10_real_centroids) AS p")


@pytest.mark.parametrize("source, valid, dead, objective", [
    ("position", 1000, 5, "6862.937872"),
    ("ARRAY[position[1], position[2], position[3], position[4], position[5], position[6], position[7]]", 1001, 4,
     "6882.021765"),
])
def test_opengauss_regress_dimension_inferred_and_unnested(kdb, source, valid, dead, objective):
    """my_kmeans_pp_l2_sqr_no_num_features and the *_unnested models: an array built from seven
    columns makes the 8-element row valid and keeps the others dead."""
    kdb.execute(f"CREATE TABLE points AS SELECT {source} AS position FROM multivariate_7_1000_10")
    kdb.notices.clear()
    kdb.execute("CREATE MODEL m USING kmeans FROM (SELECT position FROM points) AS s WITH max_iterations = 50,"
                " num_centroids = 10, tolerance = 0.00001, batch_size = 1000, distance_function = 'L2_Squared',"
                " seeding_function = 'Random++', verbose = 1, seed = 1255025990")
    assert kdb.notices[1:4] == ["*** Dimension used for computations: 7", f"*** Number of valid points: {valid}",
                                f"*** Number of dead points:  {dead}"]
    assert kdb.notices[5] == "*** k-means++ begin: consolidating 87 candidates to 10 centroid(s)"
    assert kdb.notices[7] == f"*** Value of global objective function: {objective}"
    assert predictions(kdb, "m") == {**PREDICTED["Random++"], **{i: -1 for i in DEAD_IDS}}
    row = kdb.execute("SELECT processedtuples, discardedtuples, hyperparametersnames, hyperparametersvalues"
                      " FROM gs_model_warehouse").fetchone()
    assert row[:2] == (valid, dead)
    assert dict(zip(row[2], row[3]))["num_features"] == "7"  # the inferred dimension is stored


@pytest.mark.parametrize("k, expected", [(1000, "4000"), (10000, "40000")])
def test_opengauss_regress_as_many_centroids_as_points(kdb, k, expected):
    notices = create(kdb, "all_centroids", k=k)
    assert notices[4:8] == [
        f"*** random++ oversampling factor: 4.000000, expected number of candidates: {expected}",
        "*** k-means++ begin: consolidating 1000 candidates to 1000 centroid(s)",
        "*** Number of centroids constructed:    1000", "*** Value of global objective function: 0.000000"]
    assert predictions(kdb, "all_centroids") == {6: 415, 8: 655, 2: 843, 10: 274, 5: 760, 3: 271, 4: 615, 1: 975,
                                                 9: 945, 7: 826, **{i: -1 for i in DEAD_IDS}}
    assert kdb.execute("SELECT iterations FROM gs_model_warehouse").fetchone() == (1,)


def test_opengauss_regress_predict_errors_and_null(kdb):
    create(kdb, "my_kmeans_bb_l1", distance="L1", seeding="KMeans||", verbose=0)
    with pytest.raises(psycopg.Error, match="^k-means predict: only double precision array of coordinates is accepted"):
        kdb.execute("SELECT PREDICT BY my_kmeans_bb_l1(features position) AS centroid_id FROM "
                    "(SELECT -67.9280164728999978::DOUBLE PRECISION AS position) AS s")
    with pytest.raises(InvalidParameter, match="^k-means predict: only a single attribute containing the coordinates"
                                               " is accepted$"):
        kdb.execute("SELECT PREDICT BY my_kmeans_bb_l1(features position_1, position_2) AS centroid_id FROM "
                    "(SELECT ARRAY[135.5]::DOUBLE PRECISION[] AS position_1, ARRAY[-73.1]::DOUBLE PRECISION[] AS"
                    " position_2) AS s")
    # openGauss raises "array of coordinates cannot be null"; db4ai treats a NULL array as a dead point
    assert kdb.execute("SELECT PREDICT BY my_kmeans_bb_l1(features position) AS centroid_id FROM "
                       "(SELECT NULL::DOUBLE PRECISION[] AS position) AS s").fetchall() == [(-1,)]
    with pytest.raises(psycopg.Error, match="only double precision array of coordinates"):
        kdb.execute("SELECT PREDICT BY my_kmeans_bb_l1(features position::float4[]) FROM multivariate_7_1000_10")


WRONG_PARAMETERS = [
    ("max_iterations = 0", "Hyperparameter max_iterations must be in the range [1,10000]"),
    ("num_centroids = 0", "Hyperparameter num_centroids must be in the range [1,1000000]"),
    ("num_centroids = 1000001", "Hyperparameter num_centroids must be in the range [1,1000000]"),
    ("tolerance = -0.1", "Hyperparameter tolerance must be in the range (0,1]"),
    ("tolerance = 1.1", "Hyperparameter tolerance must be in the range (0,1]"),
    ("batch_size = 0", "Hyperparameter batch_size must be in the range [1,1048575]"),
    ("batch_size = 1048576", "Hyperparameter batch_size must be in the range [1,1048575]"),
    ("distance_function = 'X'", "Invalid hyperparameter value for distance_function. Valid values are: L1, L2,"
                                " L2_Squared, Linf."),
    ("seeding_function = 'X'", "Invalid hyperparameter value for seeding_function. Valid values are: Random++,"
                               " KMeans||."),
    ("verbose = -1", "Hyperparameter verbose must be in the range [0,2]"),
    ("verbose = 3", "Hyperparameter verbose must be in the range [0,2]"),
    ("seed = -1", "Hyperparameter seed must be in the range [0,2147483647]"),
    ("num_features = 0", "Hyperparameter num_features must be in the range [1,2147483647]"),
]


def test_opengauss_regress_wrong_parameters(kdb):
    for setting, message in WRONG_PARAMETERS:
        with pytest.raises(InvalidParameter) as err:
            kdb.execute(f"CREATE MODEL my_kmeans_pp_empty USING kmeans FROM (SELECT position FROM"
                        f" multivariate_7_1000_10) AS s WITH num_centroids = 10, {setting}")
        assert str(err.value) == message
    assert leftovers(kdb) == (0, 0, 0)


@pytest.mark.parametrize("features", [9, 5])
def test_opengauss_regress_num_features_not_matching_the_data(kdb, features):
    with pytest.raises(DataError) as err:
        kdb.execute(f"CREATE MODEL my_kmeans_pp_empty USING kmeans FROM (SELECT position FROM multivariate_7_1000_10)"
                    f" AS s WITH num_centroids = 10, num_features = {features}, verbose = 1, seed = {SEED}")
    assert str(err.value) == (
        "k-means exec: no valid point found (no input array seems to be a one-dimensional array, or no point "
        "seems to be fully dimensional (perhaps all points have a null dimension?))")
    assert kdb.notices == ["*** Initial statistics gathered:", f"*** Dimension used for computations: {features}",
                           "*** Number of valid points: 0", "*** Number of dead points:  1005"]
    assert leftovers(kdb) == (0, 0, 0)


def test_opengauss_regress_wrong_input_format(kdb):
    with pytest.raises(InvalidParameter, match=r"^k-means exec: data is not of type float8 \(double precision\) array$"):
        kdb.execute("CREATE MODEL my_kmeans_pp_no_array USING kmeans FROM (SELECT -67.9280164728999978,"
                    "-3.90913184339999997) AS s WITH num_centroids = 10, num_features = 7")
    with pytest.raises(InvalidParameter, match=r"^k-means exec: relation should contain only a single attribute "
                                               r"\(point coordinates in a double precision array\)$"):
        kdb.execute("CREATE MODEL my_kmeans_pp_more_attr USING kmeans FROM (SELECT ARRAY[135.5]::DOUBLE PRECISION[],"
                    " ARRAY[-73.1]::DOUBLE PRECISION[]) AS s WITH num_centroids = 10, num_features = 7")
    with pytest.raises(InvalidParameter, match="^Unsupervised ML algorithms cannot have TARGET clause$"):
        kdb.execute("CREATE MODEL m USING kmeans FEATURES position TARGET id FROM multivariate_7_1000_10")
    with pytest.raises(InvalidParameter, match="^k-means exec: data is not of type float8"):
        kdb.execute("CREATE MODEL m USING kmeans FEATURES position::float4[] FROM multivariate_7_1000_10")
    with pytest.raises(DataError, match="no valid point found"):
        kdb.execute("CREATE MODEL m USING kmeans FROM (SELECT position FROM multivariate_7_1000_10 WHERE false) AS s")
    assert leftovers(kdb) == (0, 0, 0)


def test_opengauss_explain_model_layout(kdb):
    """db4ai_explain_model: the first lines of gs_explain_model for a kmeans model."""
    kdb.execute("CREATE TABLE kmeans_2d (id serial, position float8[])")
    kdb.execute("INSERT INTO kmeans_2d (position) SELECT ARRAY[x + random() * 15.0, y + random() * 15.0]"
                " FROM (SELECT random() * 100.0 AS x, random() * 100.0 AS y FROM generate_series(1, 10)) AS c,"
                " generate_series(1, 2)")
    kdb.execute("CREATE MODEL test_explain_model_function USING kmeans\nFEATURES position\nFROM kmeans_2d\n"
                "WITH  max_iterations=default;")
    text = kdb.execute("select substring(gs_explain_model('test_explain_model_function'), 0, 196)").fetchone()[0]
    # openGauss also keeps the statement's ';' in Query (db4ai stores the statement without it)
    assert text.startswith("Name: test_explain_model_function\nAlgorithm: kmeans\nQuery: CREATE MODEL "
                           "test_explain_model_function USING kmeans\nFEATURES position\nFROM kmeans_2d\n"
                           "WITH  max_iterations=default\nReturn type: Int32\n")


# -- the warehouse, explain, verbose output ---------------------------------------------------------


def test_explain_lists_every_centroid_with_its_statistics(kdb):
    create(kdb, "m", verbose=0)
    lines = kdb.execute("SELECT gs_explain_model('m')").fetchone()[0].splitlines()
    start = lines.index("L2_Squared: " + lines[lines.index("tolerance: 0.0000100000") + 1].split(": ")[1])
    assert lines[start + 1 : start + 3] == ["Actual number of centroids: 10", "Number of iterations: 3"]
    per = lines[start + 3 :]
    assert len(per) == 10 * 8
    labels = [line.split(": ")[0] for line in per[:8]]
    assert labels == ["ID", "Cluster size", "Coordinates", "Objective function", "Maximum cluster distance",
                      "Minimum cluster distance", "Average cluster distance", "Standard deviation of cluster distances"]
    assert [int(per[8 * c].split(": ")[1]) for c in range(10)] == list(range(1, 11))
    assert sum(int(per[8 * c + 1].split(": ")[1]) for c in range(10)) == 1000
    total = sum(float(per[8 * c + 3].split(": ")[1]) for c in range(10))
    assert total == pytest.approx(6862.937872, abs=1e-5)
    # the coordinates are the mean of each centroid's points (computed here in SQL)
    centroid_1 = np.array([float(v) for v in per[2].split(": ")[1].strip("{}").split(",")])
    means = kdb.execute("""
        SELECT array_agg(avg ORDER BY i) FROM (
          SELECT i, avg(position[i]) FROM (SELECT position, PREDICT BY m (FEATURES position) AS c
                                             FROM multivariate_7_1000_10) AS p, generate_series(1, 7) AS i
           WHERE c = 1 GROUP BY i) AS a""").fetchone()[0]
    np.testing.assert_allclose(centroid_1, means, rtol=1e-12)


def test_verbose_2_reports_every_stage(kdb):
    notices = create(kdb, "m", seeding="KMeans||", verbose=2)
    number = r"-?\d+\.\d{6}"
    assert re.fullmatch(rf"\*\*\* Duration \(s\):           {number}", notices[4])
    rounds = [n for n in notices if n.startswith("*** k-means|| round")]
    assert len(rounds) == 10 and rounds[-1].split("total number of candidates: ")[1].startswith("270,")
    assert notices[16] == "*** k-means++ begin: consolidating 270 candidates to 10 centroid(s)"
    assert re.fullmatch(rf"\*\*\* k-means\+\+ ended: duration \(s\): {number}", notices[17])
    assert re.fullmatch(rf"\*\*\* Seed centroids constructed \(1000, 10\): duration \(s\): {number}", notices[18])
    iterations = [n for n in notices if n.startswith("*** iteration ")]
    assert len(iterations) == 3
    assert re.fullmatch(rf"\*\*\* iteration 3: duration \(s\): {number}, total relevant population 1000, total cost "
                        rf"6862\.937872, average distance 6\.862938, min distance {number}, max distance {number}, "
                        rf"standard deviation of distances {number}, cost delta: -?0\.000000", iterations[2])
    assert re.fullmatch(rf"\*\*\* Total duration time \(s\):            {number}", notices[-1])


def test_null_arrays_are_dead_points_without_a_draw(kdb):
    """openGauss skips a NULL array before drawing its random number, so NULL rows change nothing
    but the count of dead points (discardedtuples)."""
    kdb.execute("CREATE TABLE with_nulls AS SELECT position FROM (SELECT 2 * row_number() OVER () AS o, position"
                " FROM multivariate_7_1000_10 UNION ALL SELECT 250 * g + 1, NULL FROM generate_series(0, 3) AS g) AS s"
                " ORDER BY o")
    kdb.execute(f"CREATE MODEL m USING kmeans FEATURES position FROM with_nulls WITH num_centroids = 10,"
                f" max_iterations = 50, seed = {SEED}, verbose = 1")
    assert kdb.notices[2:4] == ["*** Number of valid points: 1000", "*** Number of dead points:  9"]
    assert predictions(kdb, "m") == {**PREDICTED["Random++"], **{i: -1 for i in DEAD_IDS}}
    assert kdb.execute("SELECT processedtuples, discardedtuples FROM gs_model_warehouse").fetchone() == (1000, 9)


def test_predict_by_is_inlined_sql_equal_to_the_nearest_centroid(kdb):
    create(kdb, "m", distance="Linf", verbose=0)
    plan = "\n".join(r[0] for r in kdb.execute(
        "EXPLAIN (VERBOSE) SELECT PREDICT BY m (FEATURES position) FROM multivariate_7_1000_10").fetchall())
    assert "m_pred" not in plan and "_float8_array" not in plan and "LEAST(" in plan
    # the generated function for plain SQL clients, and the model's own numbers
    got = kdb.execute("SELECT db4ai.m_pred(position) FROM multivariate_7_1000_10 ORDER BY id").fetchall()
    rows = kdb.execute("SELECT position FROM multivariate_7_1000_10 ORDER BY id").fetchall()
    from db4ai import warehouse
    from db4ai.algorithms import kmeans
    model = kmeans.load(warehouse.load(kdb, "m").data)
    for (pred,), (position,) in zip(got, rows):
        if position is None or np.array(position, dtype=object).shape != (7,) or None in position:
            assert pred == -1
        else:
            d = np.abs(model.centroids - np.array(position)).max(axis=1)
            assert pred == int(np.argmin(d)) + 1


# -- independent reference ----------------------------------------------------------------------------


def test_objective_within_one_percent_of_scikit_learn(mdb):
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    from db4ai import models
    from db4ai.dialect import parse_script

    X, _ = make_blobs(n_samples=3000, centers=6, n_features=5, cluster_std=1.0, center_box=(-40, 40), random_state=3)
    mdb.execute("CREATE TABLE blobs (id int, p float8[])")
    with mdb.cursor().copy("COPY blobs FROM STDIN") as copy:
        for i, row in enumerate(X):
            copy.write_row((i, [float(v) for v in row]))
    (stmt,) = parse_script("CREATE MODEL b USING kmeans FEATURES p FROM blobs WITH num_centroids = 6, seed = 5,"
                           " max_iterations = 100")
    models.create_model(mdb, stmt)
    ours = mdb.execute("SELECT trainingscoresvalue[1] FROM db4ai.gs_model_warehouse").fetchone()[0]
    reference = KMeans(n_clusters=6, n_init=10, random_state=0).fit(X).inertia_
    assert ours == pytest.approx(reference, rel=0.01)


def test_fit_on_arrays_counts_dead_points_and_draws_for_them():
    """Without a database: dead rows take a random draw (so they shift the seeding) and are not clustered."""
    from db4ai.algorithms import kmeans

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(loc=c, size=(50, 2)) for c in ((0, 0), (10, 10), (-10, 10))])
    params = {"seeding_function": "Random++", "distance_function": "L2", "verbose": 0, "num_centroids": 3,
              "max_iterations": 10, "num_features": 0, "batch_size": 1000, "seed": 7, "tolerance": 1e-5}
    clean = kmeans.train(ArrayTraining(X, params, supervised=False))
    dead = np.zeros(len(X), dtype=bool)
    dead[::10] = True
    trained = kmeans.train(ArrayTraining(X, params, supervised=False, dead=dead, parts=4))
    assert int(trained.model.sizes.sum()) == len(X) - dead.sum() and int(clean.model.sizes.sum()) == len(X)
    assert trained.hyperparameters == {"num_features": 2}
    assert sorted(np.round(trained.model.centroids).tolist()) == sorted(np.round(clean.model.centroids).tolist())


def test_printer_argmin_node(mdb):
    """The nearest-centroid node: the first smallest value wins, all-NULL values give the else branch, and a
    node whose results do not pair with its values is refused as corrupted."""
    def run(node):
        text = mdb.execute("SELECT db4ai_internal._expr_sql(%s::jsonb, '{}'::text[], '{}'::oid[], 23)", (node,)).fetchone()[0]
        return mdb.execute(f"SELECT {text}").fetchone()[0]

    pick = '{"argmin": [3.0, 1.0, 1.0], "a": [{"i": 1}, {"i": 2}, {"i": 3}], "else": {"i": -1}}'
    assert run(pick) == 2
    assert run('{"argmin": [{"null": "float8"}], "a": [{"i": 1}], "else": {"i": -1}}') == -1
    with pytest.raises(psycopg.errors.DataCorrupted):
        run('{"argmin": [1.0, 2.0], "a": [{"i": 1}], "else": {"i": -1}}')
