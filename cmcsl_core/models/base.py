"""Base-classifier names, the class-weight schemes, and scikit-learn's LR and CART.

Validators here accept only canonical names (any case, surrounding spaces
ignored); front ends map their own aliases (the CLI's ``logreg``, ``dt``, ...)
before building a request.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from cmcsl_core.constants import RANDOM_STATE
from cmcsl_core.errors import CMCSLError

__all__ = [
    "CLASSIFIERS",
    "CLASS_WEIGHTS",
    "LR_MAX_ITER",
    "check_classifier",
    "check_class_weights",
    "class_weight_vector",
    "make_sklearn_classifier",
]

CLASSIFIERS: tuple[str, ...] = ("gnb", "lr", "cart")
"""Base classifiers: Gaussian naive Bayes, logistic regression, decision tree."""

CLASS_WEIGHTS: tuple[str, ...] = ("pseudo", "oracle", "none")
"""Sample-weight schemes: ``1 - class frequency`` of the labels trained on (``pseudo``), of
the true training labels (``oracle``, the authors' protocol; uses true class frequencies),
or none."""

LR_MAX_ITER: int = 5000
"""``max_iter`` of the authors' logistic regression."""


def _check_name(name: str, choices: tuple[str, ...], what: str) -> str:
    key = str(name).strip().lower()
    if key not in choices:
        raise CMCSLError(f"unknown {what} {name!r}; choose one of {', '.join(choices)}")
    return key


def check_classifier(name: str) -> str:
    """Canonical classifier name (one of :data:`CLASSIFIERS`), or CMCSLError."""
    return _check_name(name, CLASSIFIERS, "classifier")


def check_class_weights(name: str) -> str:
    """Canonical class-weight scheme (one of :data:`CLASS_WEIGHTS`), or CMCSLError."""
    return _check_name(name, CLASS_WEIGHTS, "class weights")


def class_weight_vector(
    labels: np.ndarray, n_classes: int, scheme: str, true_train_labels: np.ndarray | None = None
) -> np.ndarray:
    """Per-sample weights ``1 - freq[label]`` for the labels a classifier is trained on.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The labels the classifier is trained on (pseudo-labels or true labels).
    n_classes : int
        K.
    scheme : {"pseudo", "oracle", "none"}
        Where the class frequencies come from.
    true_train_labels : ndarray, optional
        The true labels of the training fold; required for ``"oracle"``.

    Returns
    -------
    ndarray of shape (n,)
        All ones for ``"none"``, or when every weight would be 0 (a single class).
    """
    if scheme == "none":
        return np.ones(labels.shape[0])
    source = labels if scheme == "pseudo" else true_train_labels
    if source is None:
        raise CMCSLError("class weights 'oracle' need the true training labels")
    freq = np.bincount(source, minlength=n_classes) / max(source.shape[0], 1)
    w = 1.0 - freq[labels]
    return w if w.sum() > 0 else np.ones(labels.shape[0])


def make_sklearn_classifier(name: str) -> Callable[[], Any]:
    """A factory of fresh scikit-learn estimators for ``lr`` or ``cart`` (authors' settings).

    GNB is not made here: every method uses :class:`cmcsl_core.models.gnb.GNBBatch`.

    Raises
    ------
    CMCSLError
        For ``gnb`` or an unknown name.
    """
    name = check_classifier(name)
    if name == "lr":
        from sklearn.linear_model import LogisticRegression

        return lambda: LogisticRegression(random_state=RANDOM_STATE, max_iter=LR_MAX_ITER)
    if name == "cart":
        from sklearn.tree import DecisionTreeClassifier

        return lambda: DecisionTreeClassifier(random_state=RANDOM_STATE)
    raise CMCSLError("GNB is cmcsl_core.models.gnb.GNBBatch, not a scikit-learn factory")
