"""The batched L-BFGS logistic regression against scikit-learn's LogisticRegression."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from cmcsl_core.constants import RANDOM_STATE
from cmcsl_core.evaluation.metrics import balanced_accuracy
from cmcsl_core.models.base import LR_MAX_ITER
from cmcsl_core.models.lr import LRTask, fit_lr_batch
from cmcsl_core.models.proba import FitTask, fit_predict, fit_predict_proba
from tests.helpers_core import synthetic_features


def _sklearn(X, labels, weights):
    return LogisticRegression(max_iter=LR_MAX_ITER, random_state=RANDOM_STATE).fit(X, labels, sample_weight=weights)


def _noisy_tasks(y, k, rng):
    tasks = []
    for noise in (0.0, 0.3):
        lab = y.copy()
        flip = rng.random(lab.size) < noise
        lab[flip] = rng.integers(0, k, int(flip.sum()))
        freq = np.bincount(lab, minlength=k) / lab.size
        tasks.append(LRTask(lab, 1.0 - freq[lab]))
    seeds = np.sort(np.concatenate([np.flatnonzero(y == c)[:4] for c in range(k)]))
    tasks.append(LRTask(y[seeds], np.ones(seeds.size), seeds))
    two = np.flatnonzero(y < 2)  # only two classes present: scikit-learn's binary case
    tasks.append(LRTask(y[two], np.linspace(0.5, 1.5, two.size), two))
    return tasks


@pytest.mark.parametrize(
    "sizes,dims,seed", [((60, 40, 50), (6, 4), 0), ((80, 70), (12, 5), 1), ((30, 45, 25, 40), (20, 8), 2)]
)
def test_matches_sklearn_predictions_and_bac(sizes, dims, seed):
    fs = synthetic_features(sizes, dims, separation=0.8, seed=seed)
    rng = np.random.default_rng(seed)
    half = rng.permutation(fs.n_items)
    tr, te = half[: fs.n_items // 2], half[fs.n_items // 2 :]
    k = fs.n_classes
    for X in fs.X:
        Xtr, Xte = X[tr], X[te]
        tasks = _noisy_tasks(fs.y[tr], k, rng)
        batch = fit_lr_batch(Xtr, tasks, k)
        ours = batch.predict(Xte)
        for t, task in enumerate(tasks):
            Xs = Xtr if task.rows is None else Xtr[task.rows]
            clf = _sklearn(Xs, task.labels, task.weights)
            theirs = clf.predict(Xte)
            assert np.mean(ours[t] == theirs) >= 0.98
            yt = fs.y[te]
            assert abs(balanced_accuracy(yt, ours[t], k) - balanced_accuracy(yt, theirs, k)) <= 0.005
            proba = batch.predict_proba(Xte)[t][:, clf.classes_]
            assert np.max(np.abs(proba - clf.predict_proba(Xte))) < 0.02


def test_single_class_and_absent_classes():
    fs = synthetic_features((30, 30, 30), (4, 3), seed=3)
    X, y = fs.X[0], fs.y
    only = np.flatnonzero(y == 1)
    batch = fit_lr_batch(X, [LRTask(y[only], np.ones(only.size), only)], 3)
    assert np.all(batch.predict(X) == 1)
    p = fit_predict_proba("lr", X, X, [FitTask(y[only], np.ones(only.size), only)], 3)
    assert np.allclose(p[0][:, 1], 1.0) and np.allclose(p[0][:, [0, 2]], 0.0)


def test_warm_start_reaches_same_optimum():
    fs = synthetic_features((50, 50, 50), (8, 3), separation=0.7, seed=4)
    X, y = fs.X[0], fs.y
    task = [LRTask(y, np.ones(y.size))]
    cold = fit_lr_batch(X, task, 3, tol=1e-8)
    warm = fit_lr_batch(X, task, 3, tol=1e-8, init=cold.coef + 0.01)
    # coefficients are unique; multinomial intercepts only up to a common shift (unpenalised)
    assert np.allclose(cold.coef[:, :-1], warm.coef[:, :-1], atol=1e-3)
    centred = [c.coef[:, -1] - c.coef[:, -1].mean(axis=1, keepdims=True) for c in (cold, warm)]
    assert np.allclose(*centred, atol=1e-3)
    assert warm.n_iter[0] < cold.n_iter[0]


def test_fit_predict_lr_equals_batch_on_subsets():
    fs = synthetic_features((40, 30, 35), (5, 4), seed=5)
    X, y, k = fs.X[1], fs.y, fs.n_classes
    rows = np.flatnonzero(np.arange(y.size) % 3 == 0)
    tasks = [FitTask(y, np.ones(y.size)), FitTask(y[rows], np.ones(rows.size), rows)]
    preds = fit_predict("lr", X, X, tasks, k)
    solo = fit_lr_batch(X[rows], [LRTask(y[rows], np.ones(rows.size))], k).predict(X)[0]
    assert np.mean(preds[1] == solo) >= 0.99
