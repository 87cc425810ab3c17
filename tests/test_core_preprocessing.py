"""cmcsl_core.method.preprocessing: equality with scikit-learn, fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_core import SKLEARN_PREPROCESSINGS, sklearn_preprocessor
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.preprocessing import (
    PREPROCESSINGS,
    check_preprocessing,
    fit_preprocessor,
    l2_normalize,
    preprocess,
    preprocess_features,
)


def _data(seed: int, n: int = 80, d: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=3.0, scale=[0.01, 1, 5, 100, 1, 2, 3][:d], size=(n, d))
    X[:, 1] = 4.2  # a constant column
    X[:, 4] = 0.0  # an all-zero column
    X[5] = 0.0  # an all-zero row (l2 leaves it at zero)
    X[:, 6] = 0.1  # constant but not exactly representable: sklearn treats it as constant
    return X


def test_names_and_aliases():
    assert PREPROCESSINGS == SKLEARN_PREPROCESSINGS
    assert check_preprocessing("L2+STD") == "l2std"
    assert check_preprocessing(" MinMax ") == "minmax"
    with pytest.raises(CMCSLError, match="unknown preprocessing 'mm'"):
        check_preprocessing("mm")  # a CLI alias: the CLI maps it, the library does not
    with pytest.raises(CMCSLError, match="unknown preprocessing 'zscore'; choose one of raw, l2, std"):
        check_preprocessing("zscore")
    with pytest.raises(CMCSLError):
        fit_preprocessor(np.zeros((0, 3)), "std")
    with pytest.raises(CMCSLError):
        fit_preprocessor(np.zeros(3), "std")


@pytest.mark.parametrize("name", SKLEARN_PREPROCESSINGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_sklearn_fit_on_all_rows(name, seed):
    X = _data(seed)
    expected = sklearn_preprocessor(name).fit_transform(X)
    np.testing.assert_allclose(preprocess(X, name), expected, rtol=1e-10, atol=1e-10)
    got = preprocess_features([X, X[:, :3] * 2], name)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10, atol=1e-10)
    assert len(got) == 2


@pytest.mark.parametrize("name", SKLEARN_PREPROCESSINGS)
def test_equals_sklearn_fit_on_train_rows_applied_to_others(name):
    X = _data(7, n=120)
    rng = np.random.default_rng(1)
    train = np.sort(rng.choice(120, size=60, replace=False))
    test = np.setdiff1d(np.arange(120), train)
    X[test[:3], 2] += 50.0  # test rows outside the training range
    est = sklearn_preprocessor(name).fit(X[train])
    fitted = fit_preprocessor(X[train], name)
    np.testing.assert_allclose(fitted.transform(X[test]), est.transform(X[test]), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(preprocess(X, name, train_rows=train), est.transform(X), rtol=1e-10, atol=1e-10)
    if name in ("minmax",):
        out = fitted.transform(X[train])
        assert out.min() >= -1e-12 and out.max() <= 1 + 1e-12
        assert fitted.transform(X[test]).max() > 1.0  # not refitted on the test rows


def test_hand_computed_values():
    """Worked by hand: column 0 is 1, 3, 5 (mean 3, population std sqrt(8/3)); column 1 is constant."""
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    r = np.sqrt(1.5)  # 2 / sqrt(8/3)
    np.testing.assert_allclose(preprocess(X, "std"), [[-r, 0.0], [0.0, 0.0], [r, 0.0]], atol=1e-12)
    np.testing.assert_allclose(preprocess(X, "minmax"), [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]], atol=1e-12)
    # fitted on rows 0 and 1 only (mean 2, std 1, min 1, range 2), applied to row 2 (x = 5)
    train = np.array([0, 1])
    np.testing.assert_allclose(preprocess(X, "std", train_rows=train)[:, 0], [-1.0, 1.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(preprocess(X, "minmax", train_rows=train)[:, 0], [0.0, 1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(preprocess(X, "raw"), X)


def test_l2_normalize_rows():
    X = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(l2_normalize(X), [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]])


def test_raw_transform_returns_a_copy():
    X = np.ones((3, 2))
    out = fit_preprocessor(X, "raw").transform(X)
    out[0, 0] = 9.0
    assert X[0, 0] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(SKLEARN_PREPROCESSINGS),
    st.integers(0, 2**32 - 1),
    st.integers(4, 30),
    st.integers(1, 5),
)
def test_property_test_rows_never_influence_the_fit(name, seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d)
    train = np.sort(rng.choice(n, size=max(2, n // 2), replace=False))
    test = np.setdiff1d(np.arange(n), train)
    poisoned = X.copy()
    poisoned[test] = rng.normal(scale=1e6, size=(test.size, d))
    np.testing.assert_array_equal(
        preprocess(X, name, train_rows=train)[train], preprocess(poisoned, name, train_rows=train)[train]
    )
    # the other rows go through the map fitted on the training rows alone
    np.testing.assert_allclose(
        preprocess(poisoned, name, train_rows=train)[test],
        fit_preprocessor(X[train], name).transform(poisoned[test]),
        rtol=1e-12,
        atol=0,
    )
