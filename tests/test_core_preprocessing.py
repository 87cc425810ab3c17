"""cmcsl_core.method.preprocessing: equality with scikit-learn, fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, Normalizer, StandardScaler

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.preprocessing import (
    PREPROCESSINGS,
    check_preprocessing,
    fit_preprocessor,
    l2_normalize,
    preprocess,
    preprocess_features,
)

SKLEARN = {
    "raw": lambda: FunctionTransformer(),
    "l2": lambda: Normalizer(),
    "std": lambda: StandardScaler(),
    "minmax": lambda: MinMaxScaler(),
    "l2std": lambda: make_pipeline(Normalizer(), StandardScaler()),
}


def _data(seed: int, n: int = 80, d: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=3.0, scale=[0.01, 1, 5, 100, 1, 2, 3][:d], size=(n, d))
    X[:, 1] = 4.2  # a constant column
    X[:, 4] = 0.0  # an all-zero column
    X[5] = 0.0  # an all-zero row (l2 leaves it at zero)
    X[:, 6] = 0.1  # constant but not exactly representable: sklearn treats it as constant
    return X


def test_names_and_aliases():
    assert PREPROCESSINGS == ("raw", "l2", "std", "minmax", "l2std")
    assert check_preprocessing("L2+STD") == "l2std"
    assert check_preprocessing(" MinMax ") == "minmax"
    assert check_preprocessing("mm") == "minmax"
    with pytest.raises(CMCSLError, match="unknown preprocessing 'zscore'; choose one of raw, l2, std"):
        check_preprocessing("zscore")
    with pytest.raises(CMCSLError):
        fit_preprocessor(np.zeros((0, 3)), "std")
    with pytest.raises(CMCSLError):
        fit_preprocessor(np.zeros(3), "std")


@pytest.mark.parametrize("name", PREPROCESSINGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_sklearn_fit_on_all_rows(name, seed):
    X = _data(seed)
    expected = SKLEARN[name]().fit_transform(X)
    np.testing.assert_allclose(preprocess(X, name), expected, rtol=1e-10, atol=1e-10)
    got = preprocess_features([X, X[:, :3] * 2], name)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10, atol=1e-10)
    assert len(got) == 2


@pytest.mark.parametrize("name", PREPROCESSINGS)
def test_equals_sklearn_fit_on_train_rows_applied_to_others(name):
    X = _data(7, n=120)
    rng = np.random.default_rng(1)
    train = np.sort(rng.choice(120, size=60, replace=False))
    test = np.setdiff1d(np.arange(120), train)
    X[test[:3], 2] += 50.0  # test rows outside the training range
    est = SKLEARN[name]().fit(X[train])
    fitted = fit_preprocessor(X[train], name)
    np.testing.assert_allclose(fitted.transform(X[test]), est.transform(X[test]), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(preprocess(X, name, train_rows=train), est.transform(X), rtol=1e-10, atol=1e-10)
    if name in ("minmax",):
        out = fitted.transform(X[train])
        assert out.min() >= -1e-12 and out.max() <= 1 + 1e-12
        assert fitted.transform(X[test]).max() > 1.0  # not refitted on the test rows


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
    st.sampled_from(PREPROCESSINGS),
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
    a, b = fit_preprocessor(X[train], name), fit_preprocessor(poisoned[train], name)
    for attr in ("scale", "offset"):
        va, vb = getattr(a, attr), getattr(b, attr)
        assert (va is None and vb is None) or np.array_equal(va, vb)
    np.testing.assert_array_equal(
        preprocess(X, name, train_rows=train)[train], preprocess(poisoned, name, train_rows=train)[train]
    )
