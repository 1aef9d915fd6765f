"""pca end to end: openGauss's regression test (db4ai_gd_pca_train_predict) reproduced, projections to
1e-9 with openGauss's signs, its error texts, gs_explain_model, and numpy's decomposition of XᵀX as
an independent reference for the components and the explained variance."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import db4ai
from db4ai.algorithms import pca
from db4ai.errors import InvalidParameter

from tests.models.arrays import ArrayTraining

DATA = Path(__file__).resolve().parent / "data"
OPTIONS = "tolerance = 0.0001, batch_size = 1000, max_iterations = 10, seed = 96176977"


@pytest.fixture
def pdb(db_dsn):
    with db4ai.connect(db_dsn, autocommit=True) as conn:
        for table, kind, path in (("multivariate_2_1000_1_test", "double precision[]", "pca_multivariate_2_1000_1.tsv"),
                                  ("multivariate_7_1000_1_test", "float[]", "pca_multivariate_7_1000_1.tsv")):
            conn.execute(f'CREATE TABLE {table} (id integer NOT NULL, "position" {kind} NOT NULL)')
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                copy.write((DATA / path).read_bytes())
        yield conn


def expected_projections() -> dict[str, dict[int, list[float]]]:
    out: dict[str, dict[int, list[float]]] = {}
    for line in (DATA / "pca_expected_projections.tsv").read_text().splitlines():
        model, ident, values = line.split("\t")
        out.setdefault(model, {})[int(ident)] = [float(v) for v in values.strip("{}").split(",")]
    return out


def leftovers(conn):
    return conn.execute("SELECT (SELECT count(*) FROM db4ai.gs_model_warehouse),"
                        " (SELECT count(*) FROM db4ai.gs_model_training_log)").fetchone()


# -- openGauss's regression outputs ------------------------------------------------------------------


def test_opengauss_regress_pca_train_predict(pdb):
    for name, table, k in (("pca_fit_2_2_1000", "multivariate_2_1000_1_test", 2),
                           ("pca_fit_7_7_1000", "multivariate_7_1000_1_test", 7),
                           ("pca_fit_7_8_1000_more_components", "multivariate_7_1000_1_test", 8),
                           ("pca_fit_7_4_1000_less_components", "multivariate_7_1000_1_test", 4)):
        pdb.execute(f"CREATE MODEL {name} USING pca FEATURES position FROM {table} WITH number_components = {k}, {OPTIONS}")
    rows = pdb.execute("SELECT modelname, processedtuples, discardedtuples, iterations, modeltype, trainingscoresname,"
                       " trainingscoresvalue, weight, outputtype FROM gs_model_warehouse ORDER BY createtime").fetchall()
    assert [r[:6] + (r[7], r[8]) for r in rows] == [
        (name, 1000, 0, 10, "pca", ["loss"], None, 1022)
        for name in ("pca_fit_2_2_1000", "pca_fit_7_7_1000", "pca_fit_7_8_1000_more_components",
                     "pca_fit_7_4_1000_less_components")]
    # float4 scores as openGauss prints them (extra_float_digits = 0)
    assert [f"{r[6][0]:.6g}" for r in rows] == ["0.382552", "0.0080319", "0.0080319", "0.00828935"]
    tables = {"pca_fit_2_2_1000": "multivariate_2_1000_1_test"}
    for name, expected in expected_projections().items():
        got = dict(pdb.execute(f"SELECT id, PREDICT BY {name}(FEATURES position) AS projection FROM"
                               f" {tables.get(name, 'multivariate_7_1000_1_test')} WHERE id <= 10").fetchall())
        assert sorted(got) == sorted(expected)
        for ident, values in expected.items():
            np.testing.assert_allclose(got[ident], values, rtol=0, atol=1e-9, err_msg=f"{name} id {ident}")
    with pytest.raises(Exception, match=re.escape("Input array must be 1-dimensional of 7 elements, must not contain "
                                                  "nulls, and must be of type float8 or float.")):
        pdb.execute("SELECT id, PREDICT BY pca_fit_7_7_1000(FEATURES position) as projection_7d FROM"
                    " multivariate_2_1000_1_test WHERE id <= 10")
    with pytest.raises(Exception, match=re.escape("Input array must be 1-dimensional of 2 elements")):
        pdb.execute("SELECT id, PREDICT BY pca_fit_2_2_1000(FEATURES position) as projection_2d FROM"
                    " multivariate_7_1000_1_test WHERE id <= 10")
    for name, *_ in rows:
        pdb.execute(f"DROP MODEL {name}")
    assert leftovers(pdb) == (0, 0)


def test_opengauss_regress_explain_creates_nothing_and_wrong_parameters(pdb):
    plan = [r[0] for r in pdb.execute(f"EXPLAIN CREATE MODEL pca_fit_2_2_1000_explain USING pca FEATURES position FROM"
                                      f" multivariate_2_1000_1_test WITH number_components = 2, {OPTIONS}").fetchall()]
    assert plan[0] == "Train Model - pca" and "Seq Scan on multivariate_2_1000_1_test" in plan[1]
    for setting, message in (("optimizer = 'gd'", "Invalid hyperparameter optimizer"),
                             ("optimizer = 'ngd'", "Invalid hyperparameter optimizer"),
                             ("number_components = -2", "Hyperparameter number_components must be in the range "
                                                        "[1,2147483647]"),
                             ("tolerance = -1", "Hyperparameter tolerance must be in the range [0,1.7976931e+308]"),
                             ("max_iterations = 0", "Hyperparameter max_iterations must be in the range [1,10000]")):
        with pytest.raises(InvalidParameter) as err:
            pdb.execute(f"CREATE MODEL p USING pca FEATURES position FROM multivariate_2_1000_1_test WITH {OPTIONS},"
                        f" {setting}")
        assert str(err.value) == message
    with pytest.raises(InvalidParameter, match="^Unsupervised ML algorithms cannot have TARGET clause$"):
        pdb.execute("CREATE MODEL p USING pca FEATURES position TARGET id FROM multivariate_2_1000_1_test")
    assert leftovers(pdb) == (0, 0)


def test_explain_lists_components_with_openGauss_labels_and_explained_variance(pdb):
    pdb.execute(f"CREATE MODEL p USING pca FEATURES position FROM multivariate_7_1000_1_test WITH number_components = 3,"
                f" {OPTIONS}")
    text = pdb.execute("SELECT gs_explain_model('p')").fetchone()[0]
    lines = text.splitlines()
    assert lines[3] == "Return type: Float64[]"
    first = lines.index("ID: 1")
    assert [line.split(": ")[0] for line in lines[first : first + 6]] == [
        "ID", "Coordinates", "Relative proportion", "Standard deviation of proportion", "Explained variance",
        "Explained variance ratio"]
    assert lines[first + 12] == "ID: 3" and len(lines) == first + 18
    proportions = [float(lines[first + 6 * e + 2].split(": ")[1]) for e in range(3)]
    assert 0 < sum(proportions) <= 1.0 + 1e-9


def test_null_and_dead_inputs_at_prediction(pdb):
    pdb.execute(f"CREATE MODEL p USING pca FEATURES position FROM multivariate_2_1000_1_test WITH number_components = 2,"
                f" {OPTIONS}")
    got = pdb.execute("SELECT PREDICT BY p (FEATURES a) FROM (VALUES (NULL::float8[]), (ARRAY[1.0, NULL]::float8[]))"
                      " AS v(a)").fetchall()
    assert got == [(None,), (None,)]
    plan = "\n".join(r[0] for r in pdb.execute("EXPLAIN (VERBOSE) SELECT PREDICT BY p (FEATURES position)"
                                               " FROM multivariate_2_1000_1_test").fetchall())
    assert "p_pred" not in plan and "ARRAY[" in plan  # inlined


# -- numerics ------------------------------------------------------------------------------------------


def test_components_and_explained_variance_match_numpy():
    """Independent reference: the leading eigenvectors of XᵀX (numpy SVD of the uncentred rows, up to sign)
    and its eigenvalues / n (numpy eigh) as the explained variance."""
    rng = np.random.default_rng(4)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    X = (rng.normal(size=(4000, 6)) * [9.0, 5.0, 3.0, 1.5, 0.8, 0.3]) @ basis.T + 0.5
    params = {"number_components": 3, "batch_size": 4000, "max_iterations": 60, "max_seconds": 0, "tolerance": 0.0,
              "seed": 3, "verbose": False}
    trained = pca.train(ArrayTraining(X, params, supervised=False, parts=3))
    model = trained.model
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    np.testing.assert_allclose(np.abs(np.diag(vt[:3] @ model.components)), 1.0, atol=1e-9)
    eigenvalues = np.linalg.eigvalsh(X.T @ X / len(X))[::-1]
    np.testing.assert_allclose(model.explained_variance, eigenvalues[:3], rtol=1e-9)
    np.testing.assert_allclose(model.explained_variance_ratio, eigenvalues[:3] / eigenvalues.sum(), rtol=1e-9)
    assert trained.iterations == 60 and set(trained.scores) == {"loss"}
    # With several batches each update steps to the current batch's XᵀX (openGauss's step is 1/|B|), so the
    # components follow the batches' own leading subspace: close to the whole data's, not equal to it.
    several = pca.train(ArrayTraining(X, {**params, "batch_size": 500}, supervised=False)).model
    assert np.all(np.abs(np.diag(vt[:3] @ several.components)) > 0.99)


def test_gram_and_row_batches_agree():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5)) * [3, 2, 1, 0.5, 0.1]
    base = {"number_components": 2, "max_iterations": 5, "max_seconds": 0, "tolerance": 0.0, "seed": 9,
            "verbose": False}
    gram = pca.train(ArrayTraining(X, {**base, "batch_size": 10}, supervised=False)).model
    rows = pca.train(ArrayTraining(X, {**base, "batch_size": 4}, supervised=False)).model  # batch < features
    assert gram.components.shape == rows.components.shape == (5, 2)
    store = pca.GramStore(5, 4)
    assert not store.gram_mode and pca.GramStore(5, 10).gram_mode


def test_gram_schmidt_flips_the_sign_of_an_earlier_vector_on_a_negative_projection():
    V = np.array([[1.0, 0.0], [-1.0, 1.0]])  # one vector per row
    pca.gram_schmidt(V, 2)
    np.testing.assert_allclose(V, [[-1.0, 0.0], [0.0, 1.0]])  # openGauss: v1 <- sign(v1·v2) v1
    V = np.array([[1.0, 0.0], [1.0, 1.0]])
    pca.gram_schmidt(V, 2)
    np.testing.assert_allclose(V, [[1.0, 0.0], [0.0, 1.0]])


def test_verbose_lines_and_matrix_print():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    data = ArrayTraining(X, {"number_components": 1, "batch_size": 50, "max_iterations": 2, "max_seconds": 0,
                             "tolerance": 0.0, "seed": 1, "verbose": True}, supervised=False)
    pca.train(data)
    assert len(data.notices) == 2
    assert re.fullmatch(r"ITERATION 1: test_loss=\d\.\d{6} delta_loss=- tolerance=0\.000 accuracy=-1\.000 tuples=50 "
                        r"coef=\[\[.*\],\n\[.*\],\n\[.*\]\]", data.notices[0])
    W = np.arange(6.0).reshape(3, 2)  # openGauss's buffer is column after column, printed in rows of 2
    assert pca.format_matrix(W) == "[[0, 2],\n[4, 1],\n[3, 5]]"
    W = np.arange(40.0 * 3).reshape(40, 3)
    big = pca.format_matrix(W).split(",\n")
    flat = W.T.reshape(-1)
    assert len(big) == 31 and big[16] == "..."  # rows 0..15, then 14 rows read from where row 25 starts
    assert big[17] == "[" + ", ".join("%.16g" % v for v in flat[75:78]) + "]"


def test_scalar_features_project_like_the_array(pdb):
    pdb.execute(f"CREATE MODEL a USING pca FEATURES position FROM multivariate_2_1000_1_test WITH number_components = 2,"
                f" {OPTIONS}")
    pdb.execute(f"CREATE MODEL s USING pca FEATURES position[1] AS x, position[2] AS y FROM multivariate_2_1000_1_test"
                f" WITH number_components = 2, {OPTIONS}")
    rows = pdb.execute("SELECT PREDICT BY a (FEATURES position), PREDICT BY s (FEATURES position[1], position[2])"
                       " FROM multivariate_2_1000_1_test").fetchall()
    assert len(rows) == 1000
    for by_array, by_scalars in rows:
        np.testing.assert_allclose(by_scalars, by_array, rtol=0, atol=1e-12)


def test_warehouse_explained_variance_matches_numpy_eigenvalues(pdb):
    """One batch holding every row, run to convergence: the components are the eigenvectors of XᵀX and the
    explained variance stored in the warehouse (modeldata and explain lines) its eigenvalues / n."""
    pdb.execute("CREATE MODEL p USING pca FEATURES position FROM multivariate_2_1000_1_test WITH number_components = 2,"
                " batch_size = 1000, max_iterations = 100, tolerance = 0, seed = 5")
    from db4ai import warehouse

    arrays = warehouse.load(pdb, "p").data.arrays
    X = np.array([r[0] for r in pdb.execute("SELECT position FROM multivariate_2_1000_1_test").fetchall()])
    eigenvalues, eigenvectors = np.linalg.eigh(X.T @ X / len(X))
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    np.testing.assert_allclose(np.abs(np.sum(eigenvectors * arrays["components"], axis=0)), 1.0, atol=1e-12)
    np.testing.assert_allclose(arrays["explained_variance"], eigenvalues, rtol=1e-12)
    np.testing.assert_allclose(arrays["explained_variance_ratio"], eigenvalues / eigenvalues.sum(), rtol=1e-12)
    details = pdb.execute("SELECT details FROM gs_model_warehouse WHERE modelname = 'p'").fetchone()[0]
    shown = [float(line.split(": ")[1]) for line in details if line.startswith("Explained variance: ")]
    np.testing.assert_allclose(shown, eigenvalues, rtol=1e-9)
