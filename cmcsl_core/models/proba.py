"""Fit many base classifiers on one modality's rows at once; predictions or class probabilities.

One entry point for every base classifier, batched where the classifier allows it:
``gnb`` through :class:`~cmcsl_core.models.gnb.GNBBatch`, ``lr`` through the batched
L-BFGS of :mod:`cmcsl_core.models.lr`, ``cart`` one scikit-learn tree per task. The
BAC curves, the late-fusion methods and the fusion study all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.models.base import check_classifier, make_sklearn_classifier

__all__ = ["FitTask", "fit_predict", "fit_predict_proba"]


@dataclass(frozen=True)
class FitTask:
    """One classifier to fit: labels, sample weights and (optionally) the training rows they belong to.

    ``C``: the inverse penalty strength of an ``lr`` model (other classifiers ignore it).
    """

    labels: np.ndarray
    weights: np.ndarray
    rows: np.ndarray | None = None
    C: float = 1.0


def _lr_batches(
    X: np.ndarray, Xt: np.ndarray, tasks: Sequence[FitTask], n_classes: int, proba: bool
) -> list[np.ndarray]:
    """LR: tasks on all rows in one batch, tasks on row subsets in another (on the union of their rows)."""
    from cmcsl_core.models.lr import LRTask, fit_lr_batch

    out: list[np.ndarray | None] = [None] * len(tasks)
    full = [i for i, t in enumerate(tasks) if t.rows is None]
    part = [i for i, t in enumerate(tasks) if t.rows is not None]
    groups: list[tuple[list[int], np.ndarray | None]] = [(full, None)]
    if part:
        groups.append((part, np.unique(np.concatenate([np.asarray(tasks[i].rows) for i in part]))))
    for idx, union in groups:
        if not idx:
            continue
        if union is None:
            lr_tasks = [LRTask(tasks[i].labels, tasks[i].weights) for i in idx]
            Xb = X
        else:
            lr_tasks = [
                LRTask(tasks[i].labels, tasks[i].weights, np.searchsorted(union, np.asarray(tasks[i].rows)))
                for i in idx
            ]
            Xb = X[union]
        batch = fit_lr_batch(Xb, lr_tasks, n_classes, C=[tasks[i].C for i in idx])
        res = batch.predict_proba(Xt) if proba else batch.predict(Xt)
        for j, i in enumerate(idx):
            out[i] = res[j]
    return [o for o in out if o is not None]


def _fit(
    classifier: str, X: np.ndarray, Xt: np.ndarray, tasks: Sequence[FitTask], n_classes: int, proba: bool
) -> np.ndarray:
    classifier = check_classifier(classifier)
    if not tasks:
        return np.zeros((0, Xt.shape[0], n_classes)) if proba else np.zeros((0, Xt.shape[0]), dtype=np.int64)
    if classifier == "gnb":
        from cmcsl_core.models.gnb import GNBBatch, GNBTask

        batch = GNBBatch(X, Xt)
        models = batch.fit([GNBTask(t.labels, t.weights, t.rows) for t in tasks], n_classes)
        if proba:
            return np.stack([batch.predict_proba(m) for m in models])
        return batch.predict(models)
    if classifier == "lr":
        return np.stack(_lr_batches(X, Xt, tasks, n_classes, proba))
    factory = make_sklearn_classifier(classifier)
    out = []
    for t in tasks:
        Xs = X if t.rows is None else X[t.rows]
        clf = factory()
        clf.fit(Xs, t.labels, sample_weight=t.weights)
        if proba:
            full = np.zeros((Xt.shape[0], n_classes))
            full[:, clf.classes_] = clf.predict_proba(Xt)
            out.append(full)
        else:
            out.append(clf.predict(Xt))
    return np.stack(out)


def fit_predict(
    classifier: str, X: np.ndarray, Xt: np.ndarray, tasks: Sequence[FitTask], n_classes: int
) -> np.ndarray:
    """Train one ``classifier`` per task on rows of ``X``; predicted classes of ``Xt``, shape (T, n_test)."""
    return _fit(classifier, X, Xt, tasks, n_classes, proba=False)


def fit_predict_proba(
    classifier: str, X: np.ndarray, Xt: np.ndarray, tasks: Sequence[FitTask], n_classes: int
) -> np.ndarray:
    """Train one ``classifier`` per task on rows of ``X``; class probabilities of ``Xt``, shape (T, n_test, K).

    Classes a model never saw get probability 0.
    """
    return _fit(classifier, X, Xt, tasks, n_classes, proba=True)
