"""The classic classifier-based baselines: ``self-training`` and ``co-training``.

``self-training``
    scikit-learn's :class:`~sklearn.semi_supervised.SelfTrainingClassifier` semantics in
    every modality separately (tested against it): a Gaussian naive Bayes is trained on
    the labelled items, every unlabelled item whose most probable class exceeds
    ``threshold`` (0.75) takes that class, and this repeats (at most ``max_iter`` = 10
    rounds) until no item is added; a last classifier is trained on all labels. An item
    self-training did not label takes that classifier's prediction. Across modalities
    the classifiers' class probabilities are averaged.
``co-training``
    Blum & Mitchell (1998): one Gaussian naive Bayes per modality (*view*), trained on
    a shared labelled set; every round each view adds the ``k`` unlabelled items it is
    most confident about (per class in proportion to the labelled items' classes) to
    the shared set with its label, so the views label for each other; after
    ``max_rounds`` rounds (or when nothing is left) each view's classifier is trained on
    the shared set. An item co-training labelled keeps that label; the others take the
    class of the views' averaged probabilities. Per modality the labels are each view's
    own classifier's predictions, so disagreements show where the views differ.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.base import BaseLabeler, check_labelled, probabilistic_result
from cmcsl_core.method.labeling import LabelingResult

__all__ = ["SelfTrainingLabeler", "CoTrainingLabeler", "gnb_proba"]


def gnb_proba(X_fit: np.ndarray, y_fit: np.ndarray, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities (n, K) of ``X`` from a GaussianNB trained on ``(X_fit, y_fit)`` (0 for unseen classes)."""
    from sklearn.naive_bayes import GaussianNB

    clf = GaussianNB().fit(X_fit, y_fit)
    out = np.zeros((X.shape[0], n_classes))
    out[:, clf.classes_] = clf.predict_proba(X)
    return out


def self_train(
    X: np.ndarray, y: np.ndarray, n_classes: int, threshold: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """One modality's self-training: the labels it assigned (-1 where none) and the last classifier's probabilities."""
    labels = np.array(y, dtype=np.int64)
    has = labels >= 0
    for _ in range(int(max_iter)):
        if has.all():
            break
        proba = gnb_proba(X[has], labels[has], X[~has], n_classes)
        pred = np.argmax(proba, axis=1)
        selected = proba.max(axis=1) > threshold
        rows = np.flatnonzero(~has)[selected]
        labels[rows] = pred[selected]
        has[rows] = True
        if rows.size == 0:
            break
    return labels, gnb_proba(X[has], labels[has], X, n_classes)


class SelfTrainingLabeler(BaseLabeler):
    """Self-training (scikit-learn's SelfTrainingClassifier with GaussianNB) per modality; probabilities averaged.

    Parameters
    ----------
    threshold : float, default=0.75
        An unlabelled item is added when its most probable class exceeds this.
    max_iter : int, default=10
        Rounds at most.
    """

    name: ClassVar[str] = "self-training"

    def __init__(self, threshold: float = 0.75, max_iter: int = 10) -> None:
        self.threshold = threshold
        self.max_iter = max_iter

    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        if not 0.0 <= float(self.threshold) < 1.0 or int(self.max_iter) < 1:
            raise CMCSLError("self-training needs 0 <= threshold < 1 and max_iter >= 1")
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        y = np.full(graphs.n_items, -1, dtype=np.int64)
        y[seed_idx] = seed_labels
        P, labels = [], []
        for X in graphs.X:
            assigned, proba = self_train(
                np.asarray(X, dtype=np.float64), y, n_classes, float(self.threshold), int(self.max_iter)
            )
            P.append(proba)
            labels.append(np.where(assigned >= 0, assigned, np.argmax(proba, axis=1)))
        return probabilistic_result(
            self.name,
            graphs,
            seed_idx,
            seed_labels,
            n_classes,
            np.stack(P),
            "mean",
            modality_names,
            labels=np.stack(labels),
        )


class CoTrainingLabeler(BaseLabeler):
    """Co-training (Blum & Mitchell 1998): the views label their most confident items for each other.

    Parameters
    ----------
    k : int or None, default=None
        Items each view adds per round (None: 1 % of the items, at least 1).
    max_rounds : int, default=20
        Rounds at most.
    """

    name: ClassVar[str] = "co-training"

    def __init__(self, k: int | None = None, max_rounds: int = 20) -> None:
        self.k = k
        self.max_rounds = max_rounds

    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        n = graphs.n_items
        k = max(1, int(np.ceil(0.01 * n))) if self.k is None else int(self.k)
        if k < 1 or int(self.max_rounds) < 0:
            raise CMCSLError("co-training needs k >= 1 and max_rounds >= 0")
        Xs = [np.asarray(X, dtype=np.float64) for X in graphs.X]
        lab = np.full(n, -1, dtype=np.int64)
        lab[seed_idx] = seed_labels
        prior = np.bincount(seed_labels, minlength=n_classes) / seed_labels.size
        quota = np.maximum(np.round(k * prior), (prior > 0).astype(float)).astype(np.int64)
        for _ in range(int(self.max_rounds)):
            for X in Xs:
                has = lab >= 0
                if has.all():
                    break
                free = np.flatnonzero(~has)
                proba = gnb_proba(X[has], lab[has], X[free], n_classes)
                pred = np.argmax(proba, axis=1)
                conf = proba[np.arange(free.size), pred]
                for c in np.flatnonzero(quota):
                    rows = np.flatnonzero(pred == c)
                    top = rows[np.argsort(-conf[rows], kind="stable")[: quota[c]]]
                    lab[free[top]] = c
            if (lab >= 0).all():
                break
        has = lab >= 0
        P = np.stack([gnb_proba(X[has], lab[has], X, n_classes) for X in Xs])
        committed = lab.copy()
        return probabilistic_result(
            self.name, graphs, seed_idx, seed_labels, n_classes, P, "mean", modality_names, final=committed
        )
