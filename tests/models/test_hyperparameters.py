"""Hyperparameter tables and openGauss's validation texts (spec §3.2/§3.3, regress db4ai_gd_train_predict)."""

from __future__ import annotations

import pytest

from db4ai.algorithms import hyperparameters as hp
from db4ai.algorithms.hyperparameters import GD_SUPERVISED, Kind, resolve
from db4ai.dialect.statements import DEFAULT
from db4ai.errors import InvalidParameter


def check(params, message):
    with pytest.raises(InvalidParameter) as info:
        resolve(GD_SUPERVISED, params)
    assert str(info.value) == message
    assert info.value.sqlstate == "22023"


def test_defaults_in_opengauss_definition_order():
    values = resolve(GD_SUPERVISED, [])
    assert list(values) == ["batch_size", "decay", "learning_rate", "max_iterations", "max_seconds",
                            "optimizer", "tolerance", "seed", "verbose"]
    assert values == {"batch_size": 1000, "decay": 0.95, "learning_rate": 0.8, "max_iterations": 100,
                      "max_seconds": 0, "optimizer": "gd", "tolerance": 0.0005, "seed": 0, "verbose": False}
    assert [h.kind.oid for h in GD_SUPERVISED] == [23, 701, 701, 23, 23, 1043, 701, 23, 16]


@pytest.mark.parametrize("params, message", [
    ([("batch_size", 0)], "Hyperparameter batch_size must be in the range [1,1048575]"),
    ([("batch_size", 1048576)], "Hyperparameter batch_size must be in the range [1,1048575]"),
    ([("decay", 0.0)], "Hyperparameter decay must be in the range (0,1.7976931e+308]"),
    ([("learning_rate", 0.0)], "Hyperparameter learning_rate must be in the range (0,1.7976931e+308]"),
    ([("learning_rate", -1)], "Hyperparameter learning_rate must be in the range (0,1.7976931e+308]"),
    ([("tolerance", 0.0)], "Hyperparameter tolerance must be in the range (0,1.7976931e+308]"),
    ([("max_iterations", 0)], "Hyperparameter max_iterations must be in the range [1,10000]"),
    ([("max_iterations", 10001)], "Hyperparameter max_iterations must be in the range [1,10000]"),
    ([("max_seconds", -1)], "Hyperparameter max_seconds must be in the range [0,2147483647]"),
    ([("seed", -1)], "Hyperparameter seed must be in the range [0,2147483647]"),
    ([("optimizer", "nogd")], "Invalid hyperparameter value for optimizer. Valid values are: gd, ngd."),
    ([("optimizer", 1)], "Hyperparameter optimizer must be a string"),
    ([("verbose", "ttrue")], "Hyperparameter verbose is not a valid string for boolean (i.e. 'true' or 'false')"),
    ([("verbose", 1.5)], "Hyperparameter verbose must be a boolean or integer"),
    ([("batch_size", "abc")], "Hyperparameter batch_size must be an integer"),
    ([("batch_size", 10.0)], "Hyperparameter batch_size must be an integer"),
    ([("batch_size", True)], "Hyperparameter batch_size must be an integer"),
    ([("max_iterations", 3_000_000_000)], "Hyperparameter max_iterations must be an integer"),
    ([("learning_rate", "fast")], "Hyperparameter learning_rate must be a floating point number"),
    ([("decay", False)], "Hyperparameter decay must be a floating point number"),
    ([("nosuch", 1)], "Invalid hyperparameter nosuch"),
    # WITH items are checked in the order written: the first wrong one is reported
    ([("batch_size", 0), ("nosuch", 1)], "Hyperparameter batch_size must be in the range [1,1048575]"),
    ([("nosuch", 1), ("batch_size", 0)], "Invalid hyperparameter nosuch"),
])
def test_invalid_values_give_opengauss_texts(params, message):
    check(params, message)


def test_value_forms_and_default_and_override():
    values = resolve(GD_SUPERVISED, [
        ("batch_size", 7), ("decay", 1), ("learning_rate", 0.25), ("optimizer", "ngd"), ("verbose", 1),
        ("tolerance", DEFAULT), ("batch_size", 9),  # a repeated name overrides
    ])
    assert values["batch_size"] == 9 and values["decay"] == 1.0 and isinstance(values["decay"], float)
    assert values["optimizer"] == "ngd" and values["verbose"] is True and values["tolerance"] == 0.0005
    assert resolve(GD_SUPERVISED, [("verbose", "false"), ("max_seconds", 0)])["verbose"] is False
    assert resolve(GD_SUPERVISED, [("verbose", True)])["verbose"] is True


def test_range_text_formats_like_printf():
    by_name = {h.name: h for h in GD_SUPERVISED}
    assert by_name["batch_size"].range_text() == "[1,1048575]"
    assert by_name["decay"].range_text() == "(0,1.7976931e+308]"
    custom = hp.Hyperparameter("x", Kind.FLOAT8, 0.5, 0.001, True, 0.75, False)
    assert custom.range_text() == "[0.001,0.75)"
    with pytest.raises(InvalidParameter, match=r"must be in the range \[0.001,0.75\)"):
        custom.convert(0.75)
    assert custom.convert(0.001) == 0.001


def test_effective_seed_keeps_nonzero_and_replaces_zero():
    assert hp.effective_seed(42) == 42
    seeds = {hp.effective_seed(0) for _ in range(20)}
    assert all(1 <= s <= 2147483647 for s in seeds) and len(seeds) > 1


def test_stored_texts():
    values = resolve(GD_SUPERVISED, [("seed", 5)])
    assert hp.texts(GD_SUPERVISED, values) == ["1000", "0.95", "0.8", "100", "0", "gd", "0.0005", "5", "false"]


FLOATS = [0.95, 0.0005, 2.0, 1e-5, 1e15, 1.5e15, 123456789012345.6, 1e16, 1e22, 1.7976931348623157e308,
          5e-324, 0.1, -0.25, 1e-4, 9.99e-5, 33.0, 1 / 3, 2.5e-7, 100.0]


def test_float8_text_matches_postgresql(db):
    rows = db.execute("SELECT x::text FROM unnest(%s::float8[]) AS x", (FLOATS,)).fetchall()
    assert [hp.float8_text(x) for x in FLOATS] == [r[0] for r in rows]
