"""cmcsl_core.models.classifiers (fast GNB, class weights) and cmcsl_core.evaluation.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.naive_bayes import GaussianNB

from cmcsl_core.constants import RANDOM_STATE
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.metrics import balanced_accuracy, confusion_matrix, labeling_summary
from cmcsl_core.method.labeling import cross_modal_labels
from cmcsl_core.models.base import (
    CLASS_WEIGHTS,
    CLASSIFIERS,
    LR_MAX_ITER,
    check_class_weights,
    check_classifier,
    class_weight_vector,
    make_sklearn_classifier,
)
from cmcsl_core.models.gnb import GNBBatch, GNBTask


def _problem(seed: int, n: int = 200, d: int = 6, k: int = 4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    means = rng.normal(scale=1.5, size=(k, d))
    X = means[y] + rng.normal(scale=rng.uniform(0.5, 2.0, size=d), size=(n, d)) + 10.0
    Xt = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d)) + 10.0
    return X, y, Xt


def _fit_one(X, Xt, labels, weights, k, rows=None, var_smoothing=1e-9):
    batch = GNBBatch(X, Xt, var_smoothing=var_smoothing)
    (model,) = batch.fit([GNBTask(labels, weights, rows)], k)
    return batch, model


@pytest.mark.parametrize("var_smoothing", [1e-9, 1e-4, 0.05, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_gnb_equals_sklearn_with_sample_weights_and_var_smoothing(seed, var_smoothing):
    X, y, Xt = _problem(seed)
    X[:, 0] *= 30.0  # one wide feature: the smoothing (from the largest variance) matters for the others
    Xt[:, 0] *= 30.0
    w = np.random.default_rng(seed + 100).uniform(0.05, 2.0, size=y.size)
    batch, model = _fit_one(X, Xt, y, w, 4, var_smoothing=var_smoothing)
    clf = GaussianNB(var_smoothing=var_smoothing).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(batch.predict([model])[0], clf.predict(Xt))
    np.testing.assert_allclose(batch.predict_proba(model), clf.predict_proba(Xt), atol=1e-8)
    np.testing.assert_allclose(model.theta + batch.center, clf.theta_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.var, clf.var_, rtol=1e-8)
    np.testing.assert_allclose(np.exp(model.log_prior), clf.class_prior_, rtol=1e-12)


def test_var_smoothing_changes_the_model():
    """Not a no-op: a large smoothing flattens the class variances towards the largest variance."""
    X, y, Xt = _problem(1)
    w = np.ones(y.size)
    _, small = _fit_one(X, Xt, y, w, 4, var_smoothing=1e-9)
    _, large = _fit_one(X, Xt, y, w, 4, var_smoothing=1.0)
    assert np.all(large.var > small.var + 0.5 * X.var(axis=0).max())


@pytest.mark.parametrize("seed", range(3))
def test_gnb_on_a_subset_of_rows_like_pre(seed):
    """PRE fits on the seed rows only: smoothing and priors from those rows, as sklearn on X[rows]."""
    X, y, Xt = _problem(seed)
    rng = np.random.default_rng(seed)
    rows = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in range(4)]))
    w = rng.uniform(0.1, 1.0, size=rows.size)
    for vs in (1e-9, 0.01):
        batch, model = _fit_one(X, Xt, y[rows], w, 4, rows=rows, var_smoothing=vs)
        clf = GaussianNB(var_smoothing=vs).fit(X[rows], y[rows], sample_weight=w)
        np.testing.assert_array_equal(batch.predict([model])[0], clf.predict(Xt))
        np.testing.assert_allclose(batch.predict_proba(model), clf.predict_proba(Xt), atol=1e-8)


def test_gnb_with_absent_classes():
    X, y, Xt = _problem(9, k=5)
    y = np.where(y == 2, 0, y)  # class 2 never trained on
    w = class_weight_vector(y, 5, "pseudo")
    batch, model = _fit_one(X, Xt, y, w, 5)
    clf = GaussianNB().fit(X, y, sample_weight=w)
    got = batch.predict([model])[0]
    np.testing.assert_array_equal(got, clf.predict(Xt))
    assert 2 not in got
    proba = batch.predict_proba(model)
    assert proba.shape == (Xt.shape[0], 5)
    np.testing.assert_allclose(proba[:, clf.classes_], clf.predict_proba(Xt), atol=1e-8)
    assert np.all(proba[:, 2] == 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(1, 6), st.sampled_from([1e-9, 1e-3, 0.3]))
def test_property_gnb_batch_equals_sklearn(seed, k, d, var_smoothing):
    rng = np.random.default_rng(seed)
    n = 60
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5, size=d) + rng.normal(scale=3, size=d)
    Xt = rng.normal(size=(40, d)) * 2 + X.mean(axis=0)
    tasks, expected = [], []
    for t in range(4):
        rows = np.sort(rng.choice(n, size=rng.integers(k + 1, n), replace=False)) if t % 2 else None
        m = n if rows is None else rows.size
        labels = rng.integers(0, k, size=m)
        labels[: min(2, m)] = 0  # class 0 always present; others may be absent
        weights = rng.uniform(0.1, 1.0, size=m)
        tasks.append(GNBTask(labels, weights, rows))
        Xfit = X if rows is None else X[rows]
        expected.append(GaussianNB(var_smoothing=var_smoothing).fit(Xfit, labels, sample_weight=weights).predict(Xt))
    batch = GNBBatch(X, Xt, var_smoothing=var_smoothing)
    preds = batch.predict(batch.fit(tasks, k))
    assert preds.shape == (4, 40)
    for t in range(4):
        np.testing.assert_array_equal(preds[t], expected[t])


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
        batch, model = _fit_one(X, Xt, lab, w, 3, rows=r)
        np.testing.assert_allclose(model.var, clf.var_, rtol=1e-7)
        np.testing.assert_allclose(model.theta + batch.center, clf.theta_, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(batch.predict([model])[0], clf.predict(Xt))


def test_ef_and_lf_use_the_batched_gnb(monkeypatch):
    """EF and LF fit through GNBBatch like every other method (one GNB in cmcsl_core)."""
    from helpers_core import synthetic_features

    from cmcsl_core.evaluation import folds
    from cmcsl_core.evaluation.curve import run_curve

    fits = []
    real = folds.GNBBatch.fit

    def spy(self, tasks, n_classes):
        fits.append((self.train.shape[1], len(tasks)))
        return real(self, tasks, n_classes)

    monkeypatch.setattr(folds.GNBBatch, "fit", spy)
    fs = synthetic_features(class_sizes=(20, 20), dims=(3, 2), seed=4)
    run_curve(fs, methods=("EF", "LF"), b_values=[1], repeats=1)
    # per fold: EF on the 5 concatenated columns, LF once per modality (3 and 2 columns)
    assert sorted(fits) == sorted([(5, 1), (3, 1), (2, 1)] * 2)


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


def test_names_are_canonical_only():
    for name in CLASSIFIERS:
        assert check_classifier(f" {name.upper()} ") == name
    for name in CLASS_WEIGHTS:
        assert check_class_weights(name.capitalize()) == name
    # the library takes no CLI aliases (the CLI maps them)
    for alias in ("logreg", "lg", "tree", "dt", "svm"):
        with pytest.raises(CMCSLError, match=f"unknown classifier '{alias}'; choose one of"):
            check_classifier(alias)
    with pytest.raises(CMCSLError, match="unknown class weights 'balanced'"):
        check_class_weights("balanced")


def test_sklearn_factory_uses_the_authors_settings():
    lr, cart = make_sklearn_classifier("lr")(), make_sklearn_classifier("cart")()
    assert lr.get_params()["random_state"] == RANDOM_STATE and lr.get_params()["max_iter"] == LR_MAX_ITER
    assert cart.get_params()["random_state"] == RANDOM_STATE
    assert make_sklearn_classifier("lr")() is not lr  # a factory of fresh estimators
    with pytest.raises(CMCSLError, match="GNBBatch"):
        make_sklearn_classifier("gnb")


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


# ---------------------------------------------------------------------------------------------
# The batch's shortcuts (label vectors that differ in a few rows, identical tasks, float32 scores
# re-checked where unsure) must give exactly what fitting each task on its own gives.


def _nested_label_vectors(rng, n: int, k: int, count: int) -> list[np.ndarray]:
    """Label vectors like a BAC curve's: each differs from an earlier one in a few rows (or none)."""
    vectors = [rng.integers(0, k, size=n)]
    for _ in range(count - 1):
        base = vectors[rng.integers(0, len(vectors))].copy()
        moved = rng.choice(n, size=rng.integers(0, n // 3 + 1), replace=False)
        base[moved] = rng.integers(0, k, size=moved.size)
        vectors.append(base)
    return vectors


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.sampled_from(["pseudo", "none", "oracle", "per-row"]))
def test_property_batch_shortcuts_equal_separate_fits_and_sklearn(seed, k, scheme):
    rng = np.random.default_rng(seed)
    n, d = 90, 5
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0, size=d) + 4.0
    Xt = rng.normal(size=(70, d)) * 2.0 + 4.0
    y_true = rng.integers(0, k, size=n)
    vectors = _nested_label_vectors(rng, n, k, 8)
    vectors.insert(3, vectors[1].copy())  # an identical task
    tasks = []
    for labels in vectors:
        if scheme == "per-row":  # weights that are not one value per class: the weighted path
            w = rng.uniform(0.1, 1.0, size=n)
        else:
            w = class_weight_vector(labels, k, scheme, y_true)
        tasks.append(GNBTask(labels, w))
    batch = GNBBatch(X, Xt)
    models = batch.fit(tasks, k)
    preds = batch.predict(models)
    assert models[3] is models[1] or scheme == "per-row"
    for task, model, pred in zip(tasks, models, preds):
        alone = GNBBatch(X, Xt).fit([task], k)[0]
        np.testing.assert_allclose(model.theta, alone.theta, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(model.var, alone.var, rtol=1e-9)
        np.testing.assert_allclose(model.log_prior, alone.log_prior, rtol=1e-12)
        clf = GaussianNB().fit(X, task.labels, sample_weight=task.weights)
        np.testing.assert_array_equal(pred, clf.predict(Xt))


def test_identical_tasks_share_one_model_and_one_evaluation(monkeypatch):
    X, y, Xt = _problem(3)
    w = class_weight_vector(y, 4, "pseudo")
    batch = GNBBatch(X, Xt)
    models = batch.fit([GNBTask(y, w), GNBTask(y.copy(), w.copy()), GNBTask(y[:20], w[:20], np.arange(20))] * 2, 4)
    assert models[0] is models[1] is models[3] is models[4]
    assert models[2] is models[5] and models[2] is not models[0]
    calls = []
    real_predict = GNBBatch.predict

    def spy(self, ms):
        calls.append(len(ms))
        return real_predict(self, ms)

    monkeypatch.setattr(GNBBatch, "predict", spy)
    preds = batch.predict(models)
    assert calls == [6, 2]  # the six models are two distinct ones, evaluated once each
    np.testing.assert_array_equal(preds[0], preds[4])
    np.testing.assert_array_equal(preds[2], GaussianNB().fit(X[:20], y[:20], sample_weight=w[:20]).predict(Xt))


def test_float32_scores_are_rechecked_where_they_cannot_decide():
    """Test rows far from the data where two classes differ by 2e-3 in log-likelihood: float32 scores
    (errors ~0.1 here) cannot tell them apart, the float64 re-check must."""
    rng = np.random.default_rng(11)
    base = rng.normal(size=(100, 8))
    base -= base.mean(axis=0)  # the boundary between the classes is then column 0 = 0
    shift = np.zeros(8)
    shift[0] = 1.0
    X = np.vstack([base - shift, base + shift])  # two classes identical except for the mean of column 0
    y = np.repeat([0, 1], 100)
    Xt = rng.choice([-1.0, 1.0], size=(400, 8)) * rng.uniform(500, 1000, size=(400, 8))
    Xt[:, 0] = rng.choice([-1e-3, 1e-3], size=400)
    batch = GNBBatch(X, Xt)
    model = batch.fit([GNBTask(y, np.ones(200))], 2)[0]
    expected = GaussianNB().fit(X, y).predict(Xt)
    np.testing.assert_array_equal(expected, (Xt[:, 0] > 0).astype(int))
    np.testing.assert_array_equal(batch.predict([model])[0], expected)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.booleans())
def test_property_sure_winners_against_brute_force(seed, k, coarse):
    """The winner is numpy's argmax wherever it is called sure, and 'sure' means no perturbation
    within the error bounds can change it; exact ties are never sure."""
    from cmcsl_core.models.gnb import _sure_winners

    rng = np.random.default_rng(seed)
    m, n = 3, 40
    jll = rng.normal(size=(m, k, n))
    if coarse:  # many exact ties
        jll = np.round(jll * 2) / 2
    jll[:, 0, :5] = -np.inf  # an absent class
    col_err = rng.uniform(0, 0.3, size=(m, k))
    row_err = rng.uniform(0, 0.5, size=n)
    winner, unsure = _sure_winners(jll, col_err, row_err)
    err = col_err[:, :, None] * row_err
    for t in range(m):
        for r in range(n):
            scores, e = jll[t, :, r], err[t, :, r]
            a = int(np.argmax(scores))
            safe = all(scores[a] - e[a] > scores[c] + e[c] for c in range(k) if c != a)
            tie = np.count_nonzero(scores == scores[a]) > 1
            assert unsure[t, r] == (not safe or tie), (t, r)
            if not unsure[t, r]:
                assert winner[t, r] == a
