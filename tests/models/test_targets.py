"""Classification targets numbered in order of first appearance (db4ai.targets), as openGauss does."""

from __future__ import annotations

import numpy as np
import pytest

from db4ai import data, targets
from db4ai.algorithms.base import InputColumn, TargetKind
from db4ai.errors import DataError


def test_numeric_targets_are_numbered_as_chunks_arrive():
    encode = targets.StreamEncoder("int", None)
    assert encode(np.array([7.0, 3.0, 7.0, 3.0])).tolist() == [0, 1, 0, 1]
    assert encode(np.array([-1.0, 3.0, 9.0, -1.0])).tolist() == [2, 1, 3, 2]
    assert encode.categories == ("7", "3", "-1", "9")


def test_a_binary_target_refuses_a_third_value():
    encode = targets.StreamEncoder("float8", 2)
    encode(np.array([0.5, 0.25]))
    with pytest.raises(DataError, match="^too many target values for binary operator$"):
        encode(np.array([0.25, 1e300]))


def test_category_texts_are_postgresql_texts():
    assert targets.StreamEncoder("float4", None, [float(np.float32(0.1))]).categories == ("0.1",)
    assert targets.StreamEncoder("float8", None, [0.1, 1e20, -0.0]).categories == ("0.1", "1e+20", "-0")


def test_bool_targets_are_fixed_to_false_true(db):
    enc = targets.encode(db, "SELECT true AS target, 1.0 AS f1", TargetKind.BINARY, InputColumn("target", 16), (), 2)
    assert enc.categories == ("false", "true") and enc.encoder is None


def test_text_targets_are_numbered_in_scan_order_by_the_server(db):
    db.execute("CREATE TABLE t (label varchar(10), x float8)")
    db.execute("INSERT INTO t VALUES ('b', 1), ('a', NULL), ('b', 2), ('c', 3), ('a', 4), (NULL, 5), ('d ', 6)")
    query = 'SELECT label AS "target", x AS "f1" FROM t'
    enc = targets.encode(db, query, TargetKind.CATEGORICAL, InputColumn("target", 1043),
                         (InputColumn("f1", 701),), None)
    # 'a' first appears in a row left out for its NULL feature: it counts from its next row
    assert enc.categories == ("b", "c", "a", "d ")
    matrix = data.read_matrix(db, enc.query)
    assert matrix.values[:, 0].tolist() == [0, 0, 1, 2, 3] and matrix.discarded == 2
    with pytest.raises(DataError, match="too many target values for binary operator"):
        targets.encode(db, query, TargetKind.BINARY, InputColumn("target", 1043), (InputColumn("f1", 701),), 2)


def test_fewer_than_two_classes_is_an_error():
    with pytest.raises(DataError, match="^At least two categories are needed$"):
        targets.check_count(("only",))
    targets.check_count(("a", "b"))
