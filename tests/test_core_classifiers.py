"""cmcsl_core.models.classifiers (fast GNB, class weights) and cmcsl_core.evaluation.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.naive_bayes import GaussianNB

from cmcsl_core.models.classifiers import (
    CLASS_WEIGHTS,
    CLASSIFIERS,
    GNBBatch,
    GNBData,
    GNBTask,
    check_class_weights,
    check_classifier,
    class_weight_vector,
    fit_gnb,
    make_sklearn_classifier,
)
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.metrics import balanced_accuracy, confusion_matrix, labeling_summary
from cmcsl_core.method.labeling import cross_modal_labels


def _problem(seed: int, n: int = 200, d: int = 6, k: int = 4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    means = rng.normal(scale=1.5, size=(k, d))
    X = means[y] + rng.normal(scale=rng.uniform(0.5, 2.0, size=d), size=(n, d)) + 10.0
    Xt = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d)) + 10.0
    return X, y, Xt


def _sklearn_predict(X, y, w, Xt):
    clf = GaussianNB().fit(X, y, sample_weight=w)
    return clf.predict(Xt), clf


@pytest.mark.parametrize("seed", range(4))
def test_fit_gnb_equals_sklearn_with_sample_weights(seed):
    X, y, Xt = _problem(seed)
    rng = np.random.default_rng(seed + 100)
    w = rng.uniform(0.05, 2.0, size=y.size)
    data = GNBData.from_rows(X)
    model = fit_gnb(data, y, w, 4)
    pred, clf = _sklearn_predict(X, y, w, Xt)
    np.testing.assert_array_equal(model.predict(*data.prepare_test(Xt)), pred)
    np.testing.assert_allclose(model.predict_proba(*data.prepare_test(Xt)), clf.predict_proba(Xt), atol=1e-8)
    # the fitted parameters too (model works in centred coordinates)
    np.testing.assert_allclose(model.theta + data.center, clf.theta_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.var, clf.var_, rtol=1e-8)
    np.testing.assert_allclose(np.exp(model.log_prior), clf.class_prior_, rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_fit_gnb_on_a_subset_of_rows_like_pre(seed):
    """PRE fits on the seed rows only: smoothing and priors from those rows, as sklearn on X[rows]."""
    X, y, Xt = _problem(seed)
    rng = np.random.default_rng(seed)
    rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in range(4)]))
    w = rng.uniform(0.1, 1.0, size=rows.size)
    data = GNBData.from_rows(X)
    model = fit_gnb(data, y[rows], w, 4, rows=rows)
    pred, clf = _sklearn_predict(X[rows], y[rows], w, Xt)
    np.testing.assert_array_equal(model.predict(*data.prepare_test(Xt)), pred)
    np.testing.assert_allclose(model.predict_proba(*data.prepare_test(Xt)), clf.predict_proba(Xt), atol=1e-8)


def test_fit_gnb_with_absent_classes():
    X, y, Xt = _problem(9, k=5)
    y = np.where(y == 2, 0, y)  # class 2 never trained on
    w = class_weight_vector(y, 5, "pseudo")
    data = GNBData.from_rows(X)
    model = fit_gnb(data, y, w, 5)
    pred, clf = _sklearn_predict(X, y, w, Xt)
    got = model.predict(*data.prepare_test(Xt))
    np.testing.assert_array_equal(got, pred)
    assert 2 not in got
    proba = model.predict_proba(*data.prepare_test(Xt))
    assert proba.shape == (Xt.shape[0], 5)
    np.testing.assert_allclose(proba[:, clf.classes_], clf.predict_proba(Xt), atol=1e-8)
    assert np.all(proba[:, 2] == 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(1, 6))
def test_property_gnb_batch_equals_sklearn(seed, k, d):
    rng = np.random.default_rng(seed)
    n = 60
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5, size=d) + rng.normal(scale=3, size=d)
    Xt = rng.normal(size=(40, d)) * 2 + X.mean(axis=0)
    tasks, expected = [], []
    for t in range(4):
        if t % 2:
            rows = np.sort(rng.choice(n, size=rng.integers(k + 1, n), replace=False))
        else:
            rows = None
        m = n if rows is None else rows.size
        labels = rng.integers(0, k, size=m)
        labels[: min(2, m)] = 0  # class 0 always present; others may be absent
        weights = rng.uniform(0.1, 1.0, size=m)
        tasks.append(GNBTask(labels, weights, rows))
        Xfit = X if rows is None else X[rows]
        expected.append(GaussianNB().fit(Xfit, labels, sample_weight=weights).predict(Xt))
    batch = GNBBatch(X, Xt)
    models = batch.fit(tasks, k)
    preds = batch.predict(models)
    assert preds.shape == (4, 40)
    for t in range(4):
        np.testing.assert_array_equal(preds[t], expected[t])
        # the batch and the single fit agree
        data = GNBData.from_rows(X)
        single = fit_gnb(data, tasks[t].labels, tasks[t].weights, k, rows=tasks[t].rows)
        np.testing.assert_array_equal(single.predict(*data.prepare_test(Xt)), expected[t])


def test_variance_smoothing_from_the_rows_actually_used():
    """A feature constant within a class has variance epsilon only: epsilon must be sklearn's, computed
    from the rows the model is fitted on (PRE fits on a few seed rows of the training fold)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3)) * [1.0, 50.0, 0.2]
    y = rng.integers(0, 3, size=80)
    X[y == 0, 2] = 1.5  # constant within class 0
    rows = np.sort(np.concatenate([np.flatnonzero(y == c)[:4] for c in range(3)]))
    X[rows, 1] = rng.normal(scale=0.01, size=rows.size)  # the subset has a far smaller spread
    Xt = rng.normal(size=(30, 3))
    for r in (None, rows):
        Xfit, lab = (X, y) if r is None else (X[r], y[r])
        w = rng.uniform(0.2, 1.0, size=lab.size)
        clf = GaussianNB().fit(Xfit, lab, sample_weight=w)
        data = GNBData.from_rows(X)
        single = fit_gnb(data, lab, w, 3, rows=r)
        batch = GNBBatch(X, Xt)
        (model,) = batch.fit([GNBTask(lab, w, r)], 3)
        for m in (single, model):
            np.testing.assert_allclose(m.var, clf.var_, rtol=1e-7)
            np.testing.assert_allclose(m.theta + data.center, clf.theta_, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(batch.predict([model])[0], clf.predict(Xt))


def test_class_weight_vector_schemes():
    labels = np.array([0, 0, 0, 1, 2, 2])  # pseudo-labels trained on
    true = np.array([0, 1, 1, 1, 1, 2])  # true training labels (freq 1/6, 4/6, 1/6)
    np.testing.assert_allclose(class_weight_vector(labels, 3, "pseudo"), 1 - np.array([3, 3, 3, 1, 2, 2]) / 6)
    np.testing.assert_allclose(
        class_weight_vector(labels, 3, "oracle", true), 1 - np.array([1, 1, 1, 4, 1, 1]) / 6
    )
    np.testing.assert_array_equal(class_weight_vector(labels, 3, "none", true), np.ones(6))
    with pytest.raises(CMCSLError, match="oracle"):
        class_weight_vector(labels, 3, "oracle")
    # a single class: 1 - 1 = 0 everywhere would be no weight at all -> ones
    np.testing.assert_array_equal(class_weight_vector(np.zeros(4, int), 2, "pseudo"), np.ones(4))


def test_names():
    assert CLASSIFIERS == ("gnb", "lr", "cart")
    assert CLASS_WEIGHTS == ("pseudo", "oracle", "none")
    assert check_classifier(" GNB ") == "gnb" and check_classifier("logreg") == "lr"
    assert check_classifier("tree") == "cart"
    assert check_class_weights("Oracle") == "oracle"
    with pytest.raises(CMCSLError, match="unknown classifier 'svm'; choose one of gnb, lr, cart"):
        check_classifier("svm")
    with pytest.raises(CMCSLError, match="unknown class weights 'balanced'"):
        check_class_weights("balanced")
    lr, cart = make_sklearn_classifier("lr")(), make_sklearn_classifier("cart")()
    assert lr.get_params()["random_state"] == 1410 and lr.get_params()["max_iter"] == 5000
    assert cart.get_params()["random_state"] == 1410
    assert isinstance(make_sklearn_classifier("gnb")(), GaussianNB)


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(1, 80))
def test_property_balanced_accuracy_and_confusion_equal_sklearn(seed, k, n):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, size=n))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when y_pred has classes y_true lacks
        expected = balanced_accuracy_score(y_true, y_pred)
    assert balanced_accuracy(y_true, y_pred, k) == pytest.approx(expected, abs=1e-12)
    assert balanced_accuracy(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, k), sk_confusion_matrix(y_true, y_pred, labels=np.arange(k))
    )


def test_balanced_accuracy_examples():
    assert balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0], 2) == 0.5
    assert balanced_accuracy([0, 1, 1, 1], [0, 1, 1, 0], 3) == pytest.approx((1 + 2 / 3) / 2)


def test_labeling_summary_leaves_seeds_out():
    X0 = np.array([[0.0], [1.0], [10.0], [11.0], [5.4]])
    X1 = np.array([[0.0], [10.0], [10.0], [0.5], [5.6]])
    res = cross_modal_labels([X0, X1], np.array([0, 2]), np.array([0, 1]), ("a", "b"))
    # item 1: a -> 0 (d 1), b -> 1 (d 0): b decides, 1 (wrong); item 3: a -> 1 (d 1), b -> 0 (d 0.5):
    # b decides, 0 (wrong); item 4: a -> 1 (4.6 < 5.4), b -> 1 (4.4 < 5.6): agree, 1 (right)
    y_true = np.array([0, 0, 1, 1, 1])
    s = labeling_summary(res, y_true, 2)
    assert s.n_scored == 3
    assert res.final_labels.tolist() == [0, 1, 1, 0, 1]
    assert s.cmcsl_accuracy == pytest.approx(1 / 3)
    assert s.uni_accuracy == {"a": pytest.approx(1.0), "b": pytest.approx(1 / 3)}
    assert s.wins == {"a": 0, "b": 2} and s.wins_correct == {"a": 0, "b": 0}
    assert s.disagreement_rate == pytest.approx(2 / 3)
    np.testing.assert_array_equal(s.confusion, [[0, 1], [1, 1]])
