"""cmcsl_core.method.estimator.CrossModalSelfLabeling: scikit-learn semantics and agreement with labeling."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_core import reference_labels, sklearn_preprocessor, synthetic_features
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import pairwise_distances
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.estimator import CrossModalSelfLabeling


@pytest.fixture(scope="module")
def data():
    fs = synthetic_features(class_sizes=(40, 30, 30), dims=(5, 3), seed=12)
    rng = np.random.default_rng(0)
    classes = np.array([3, 7, 11])  # non-contiguous labels
    y_true = classes[fs.y]
    labeled = np.sort(np.concatenate([rng.choice(np.flatnonzero(fs.y == c), 4, replace=False) for c in range(3)]))
    y = np.full(fs.n_items, -1)
    y[labeled] = y_true[labeled]
    return list(fs.X), y, y_true, labeled


def brute_force(X, y, preprocessing):
    """CMCSL by hand: scikit-learn scaling, full distance matrices, a loop over items."""
    Xp = [sklearn_preprocessor(preprocessing).fit_transform(x) for x in X]
    seeds = np.flatnonzero(y != -1)
    uni = np.empty((len(X), len(y)), dtype=y.dtype)
    dist = np.empty((len(X), len(y)))
    for m, x in enumerate(Xp):
        D = pairwise_distances(x, x[seeds])
        near = np.argmin(D, axis=1)
        uni[m], dist[m] = y[seeds][near], D[np.arange(len(y)), near]
    final = np.array([uni[np.argmin(dist[:, i]), i] for i in range(len(y))])
    final[seeds] = y[seeds]
    return final, uni, dist


@pytest.mark.parametrize("preprocessing", ["l2std", "raw", "minmax", "std", "l2"])
def test_transduction_equals_brute_force(data, preprocessing):
    X, y, y_true, labeled = data
    model = CrossModalSelfLabeling(preprocessing=preprocessing).fit(X, y)
    final, uni, dist = brute_force(X, y, preprocessing)
    np.testing.assert_array_equal(model.classes_, [3, 7, 11])
    np.testing.assert_array_equal(model.transduction_, final)
    unlabeled = np.setdiff1d(np.arange(len(y)), labeled)
    np.testing.assert_array_equal(model.labels_per_modality_[:, unlabeled], uni[:, unlabeled])
    np.testing.assert_allclose(model.distances_[:, unlabeled], dist[:, unlabeled], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(model.disagreement_[unlabeled], uni[0, unlabeled] != uni[1, unlabeled])
    decided = model.decided_by_[unlabeled]
    agree = uni[0, unlabeled] == uni[1, unlabeled]
    assert np.all(decided[agree] == -1)
    np.testing.assert_array_equal(decided[~agree], np.argmin(dist[:, unlabeled][:, ~agree], axis=0))
    np.testing.assert_array_equal(model.seed_indices_, labeled)
    assert model.n_modalities_in_ == 2
    # and better than chance on this easy data
    assert np.mean(model.transduction_ == y_true) > 0.5


def test_predict_new_items(data):
    X, y, y_true, labeled = data
    model = CrossModalSelfLabeling().fit(X, y)
    rng = np.random.default_rng(1)
    new = [x[:25] + rng.normal(scale=0.1, size=x[:25].shape) for x in X]
    pred = model.predict(new)
    # brute force: nearest seed in the fitted preprocessing's space, seeds appended as extra rows
    Xp = [p.transform(a) for p, a in zip(model.preprocessors_, new)]
    seeds = [p.transform(a[labeled]) for p, a in zip(model.preprocessors_, X)]
    joined = [np.vstack([n, s]) for n, s in zip(Xp, seeds)]
    encoded = np.searchsorted(model.classes_, y[labeled])
    ref = reference_labels(joined, np.arange(25, 25 + labeled.size), encoded)
    np.testing.assert_array_equal(pred, model.classes_[ref["final_labels"][:25]])
    np.testing.assert_array_equal(model.predict_per_modality(new), model.classes_[ref["labels"][:, :25]])
    # predicting the training items reproduces the transduction (continuous data: no ties)
    np.testing.assert_array_equal(model.predict(X), model.transduction_)


def test_sklearn_conventions(data):
    X, y, y_true, _ = data
    model = CrossModalSelfLabeling(preprocessing="std")
    assert model.get_params() == {"preprocessing": "std", "labeler": "cmcsl"}
    assert model.set_params(preprocessing="l2") is model and model.preprocessing == "l2"
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    model.fit(X, y)
    check_is_fitted(model)  # fitted attributes end in "_"
    # clone gives an unfitted copy with the same parameters, which fits to the same result
    fresh = clone(model)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    np.testing.assert_array_equal(fresh.fit(X, y).transduction_, model.transduction_)
    # __init__ stores parameters untouched (validation happens in fit)
    odd = CrossModalSelfLabeling(preprocessing="L2+STD")
    assert odd.get_params() == {"preprocessing": "L2+STD", "labeler": "cmcsl"}
    score = model.score(X, y_true)
    assert score == pytest.approx(np.mean(model.predict(X) == y_true))
    assert 0.5 < score <= 1.0


@pytest.mark.parametrize("param", ["preprocessing", "labeler"])
@pytest.mark.parametrize("bad", ["pca", "L2+STD", "knn", None, 3])
def test_bad_parameters_raise_at_fit(data, param, bad):
    """scikit-learn's own validation (``_parameter_constraints``): InvalidParameterError, a ValueError."""
    X, y, _, _ = data
    model = CrossModalSelfLabeling(**{param: bad})
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of CrossModalSelfLabeling must be"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_parameter_validation_is_scikit_learns():
    """No override of scikit-learn's private validation: the constraints are data, read by BaseEstimator."""
    from sklearn.base import BaseEstimator
    from sklearn.utils._param_validation import validate_parameter_constraints

    assert "_validate_params" not in vars(CrossModalSelfLabeling)
    assert CrossModalSelfLabeling._validate_params is BaseEstimator._validate_params
    assert set(CrossModalSelfLabeling._parameter_constraints) == set(CrossModalSelfLabeling().get_params())
    validate_parameter_constraints(  # every default value satisfies the constraints
        CrossModalSelfLabeling._parameter_constraints, CrossModalSelfLabeling().get_params(), "CrossModalSelfLabeling"
    )


def test_predict_with_a_modality_of_another_width_says_which(data):
    """Like ``validate_data(reset=False)``, per modality: each width is recorded in fit and checked."""
    X, y, _, _ = data
    model = CrossModalSelfLabeling().fit(X, y)
    assert model.n_features_per_modality_ == (5, 3) and model.n_modalities_in_ == 2
    for method in (model.predict, model.predict_proba, model.predict_per_modality):
        with pytest.raises(CMCSLError, match="modality 1 has 4 features, but CrossModalSelfLabeling was fitted with 3"):
            method([X[0][:7], np.hstack([X[1][:7], X[1][:7, :1]])])
        with pytest.raises(CMCSLError, match="modality 0 has 2 features, but .* fitted with 5"):
            method([X[0][:7, :2], X[1][:7]])
    assert model.predict([X[0][:7], X[1][:7]]).shape == (7,)  # the right widths still work
    # a refit on other widths records them anew (reset=True)
    wider = [np.hstack([X[0], X[0]]), X[1]]
    assert CrossModalSelfLabeling().fit(wider, y).n_features_per_modality_ == (10, 3)


def test_modalities_are_checked_like_scikit_learns_arrays(data):
    """check_array per modality: lists of lists work; text, inf and no columns are one CMCSLError naming it."""
    X, y, _, _ = data
    as_lists = CrossModalSelfLabeling().fit([X[0].tolist(), X[1].tolist()], y)
    np.testing.assert_array_equal(as_lists.transduction_, CrossModalSelfLabeling().fit(X, y).transduction_)
    text = X[1].astype(object)
    text[0, 0] = "abc"
    with pytest.raises(CMCSLError, match="modality 1: .*"):
        CrossModalSelfLabeling().fit([X[0], text], y)
    inf = X[0].copy()
    inf[2, 2] = np.inf
    with pytest.raises(CMCSLError, match="modality 0: Input X\\[0\\] contains infinity"):
        CrossModalSelfLabeling().fit([inf, X[1]], y)
    with pytest.raises(CMCSLError, match="modality 1: .*feature"):
        CrossModalSelfLabeling().fit([X[0], X[1][:, :0]], y)


def test_one_labeled_class_and_three_modalities():
    rng = np.random.default_rng(2)
    X = [rng.normal(size=(12, d)) for d in (2, 3, 4)]
    y = np.full(12, -1)
    y[[1, 5]] = 4
    model = CrossModalSelfLabeling(preprocessing="raw").fit(X, y)
    assert model.classes_.tolist() == [4]
    assert np.all(model.transduction_ == 4)
    assert model.labels_per_modality_.shape == (3, 12)


def test_errors(data):
    X, y, _, _ = data
    with pytest.raises(CMCSLError, match="no labeled item"):
        CrossModalSelfLabeling().fit(X, np.full(len(y), -1))
    with pytest.raises(CMCSLError, match="at least 2 modalities"):
        CrossModalSelfLabeling().fit([X[0]], y)
    with pytest.raises(CMCSLError, match="modality 1 has 99 rows"):
        CrossModalSelfLabeling().fit([X[0], X[1][:99]], y)
    with pytest.raises(CMCSLError, match="one label per item"):
        CrossModalSelfLabeling().fit(X, y[:-1])
    with pytest.raises(CMCSLError, match="list of arrays"):
        CrossModalSelfLabeling().fit(np.stack([X[0][:, :3], X[1]]), y)
    with pytest.raises(CMCSLError, match="2-D"):
        CrossModalSelfLabeling().fit([X[0][:, 0], X[1]], y)
    bad = X[0].copy()
    bad[3, 1] = np.nan
    with pytest.raises(CMCSLError, match="NaN"):
        CrossModalSelfLabeling().fit([bad, X[1]], y)
    with pytest.raises(NotFittedError):
        CrossModalSelfLabeling().predict(X)
    with pytest.raises(NotFittedError):
        CrossModalSelfLabeling().predict_per_modality(X)
    model = CrossModalSelfLabeling().fit(X, y)
    with pytest.raises(CMCSLError, match="expected 2 modalities"):
        model.predict([X[0], X[1], X[1]])
