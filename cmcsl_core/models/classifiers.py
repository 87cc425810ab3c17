"""Base classifiers trained on (pseudo-)labels: GNB, LR and CART.

GNB is the paper's default and the hot path of every BAC curve, so it has its own
implementation from sufficient statistics: per-class weighted sums of ``x`` and
``x**2`` come from one matrix product with a (K x n) weight matrix, and the joint
log-likelihood of all test rows from two more. It gives the same predictions as
:class:`sklearn.naive_bayes.GaussianNB` (same variance smoothing, same weighted
priors; tested), at a fraction of the cost when the same training rows are refit
with many different label vectors. LR and CART use scikit-learn directly, with the
authors' settings (``random_state=1410``, ``max_iter=5000`` for LR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = [
    "CLASSIFIERS",
    "CLASS_WEIGHTS",
    "check_classifier",
    "check_class_weights",
    "class_weight_vector",
    "GNBData",
    "GNBModel",
    "fit_gnb",
    "make_sklearn_classifier",
    "GNBTask",
    "GNBBatch",
]

CLASSIFIERS: tuple[str, ...] = ("gnb", "lr", "cart")
"""Base classifiers: Gaussian naive Bayes, logistic regression, decision tree."""

CLASS_WEIGHTS: tuple[str, ...] = ("pseudo", "oracle", "none")
"""Sample-weight schemes: ``1 - class frequency`` of the labels trained on (``pseudo``), of
the true training labels (``oracle``, the authors' protocol; uses true class frequencies),
or none."""


def check_classifier(name: str) -> str:
    """Canonical classifier name, or CMCSLError for an unknown one."""
    key = str(name).strip().lower()
    if key in ("lg", "logreg", "logistic"):
        key = "lr"
    if key in ("tree", "dt"):
        key = "cart"
    if key not in CLASSIFIERS:
        raise CMCSLError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
    return key


def check_class_weights(name: str) -> str:
    """Canonical class-weight scheme, or CMCSLError for an unknown one."""
    key = str(name).strip().lower()
    if key not in CLASS_WEIGHTS:
        raise CMCSLError(f"unknown class weights {name!r}; choose one of {', '.join(CLASS_WEIGHTS)}")
    return key


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
    """
    if scheme == "none":
        return np.ones(labels.shape[0])
    source = labels if scheme == "pseudo" else true_train_labels
    if source is None:
        raise CMCSLError("class weights 'oracle' need the true training labels")
    freq = np.bincount(source, minlength=n_classes) / max(source.shape[0], 1)
    w = 1.0 - freq[labels]
    return w if w.sum() > 0 else np.ones(labels.shape[0])


@dataclass(frozen=True)
class GNBData:
    """Training rows prepared once for many GNB fits.

    ``Xc`` are the rows centred on their column mean (for numerical stability of
    the sufficient statistics), ``Xc2`` their squares, ``epsilon`` scikit-learn's
    variance smoothing ``var_smoothing * max column variance``.
    """

    center: np.ndarray
    Xc: np.ndarray
    Xc2: np.ndarray
    epsilon: float

    @classmethod
    def from_rows(cls, X: np.ndarray, var_smoothing: float = 1e-9) -> "GNBData":
        """Prepare the rows ``X`` (n x d)."""
        X = np.asarray(X, dtype=np.float64)
        center = X.mean(axis=0)
        Xc = X - center
        Xc2 = Xc * Xc
        epsilon = float(var_smoothing * Xc2.mean(axis=0).max()) if X.shape[0] else 0.0
        return cls(center=center, Xc=Xc, Xc2=Xc2, epsilon=epsilon)

    def prepare_test(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre test rows like the training rows; returns ``(Xc, Xc**2)``."""
        Xc = np.asarray(X, dtype=np.float64) - self.center
        return Xc, Xc * Xc


@dataclass(frozen=True)
class GNBModel:
    """A fitted Gaussian naive Bayes (in the centred coordinates of its GNBData)."""

    theta: np.ndarray  # (K, d) class means
    var: np.ndarray  # (K, d) class variances (smoothed)
    log_prior: np.ndarray  # (K,), -inf for classes absent from training

    def joint_log_likelihood(self, Xc: np.ndarray, Xc2: np.ndarray) -> np.ndarray:
        """(n, K) joint log-likelihood of centred test rows ``Xc`` (and their squares)."""
        inv = 1.0 / self.var
        quad = Xc2 @ inv.T
        quad -= 2.0 * (Xc @ (self.theta * inv).T)
        quad += np.sum(self.theta * self.theta * inv, axis=1)
        norm = -0.5 * np.sum(np.log(2.0 * np.pi * self.var), axis=1)
        return self.log_prior + norm - 0.5 * quad

    def predict(self, Xc: np.ndarray, Xc2: np.ndarray) -> np.ndarray:
        """Most likely class of every test row."""
        return np.argmax(self.joint_log_likelihood(Xc, Xc2), axis=1)

    def predict_proba(self, Xc: np.ndarray, Xc2: np.ndarray) -> np.ndarray:
        """Class posterior probabilities (n, K)."""
        jll = self.joint_log_likelihood(Xc, Xc2)
        jll -= jll.max(axis=1, keepdims=True)
        p = np.exp(jll)
        return p / p.sum(axis=1, keepdims=True)


def fit_gnb(
    data: GNBData,
    labels: np.ndarray,
    weights: np.ndarray,
    n_classes: int,
    rows: np.ndarray | None = None,
) -> GNBModel:
    """Fit GNB on ``data`` (or its ``rows``) with ``labels`` and sample ``weights``.

    Matches :class:`sklearn.naive_bayes.GaussianNB` fitted on the same rows: the
    variance smoothing is computed from the rows actually used.
    """
    if rows is None:
        Xc, Xc2, epsilon = data.Xc, data.Xc2, data.epsilon
    else:
        Xc, Xc2 = data.Xc[rows], data.Xc2[rows]
        mean = Xc.mean(axis=0)
        epsilon = float(1e-9 * (Xc2.mean(axis=0) - mean * mean).max())
    n = labels.shape[0]
    W = np.zeros((n_classes, n))
    W[labels, np.arange(n)] = weights
    counts = W.sum(axis=1)
    present = counts > 0
    safe = np.where(present, counts, 1.0)
    theta = (W @ Xc) / safe[:, None]
    var = (W @ Xc2) / safe[:, None] - theta * theta
    np.maximum(var, 0.0, out=var)
    var += epsilon
    var[~present] = 1.0
    with np.errstate(divide="ignore"):
        log_prior = np.where(present, np.log(counts / counts.sum()), -np.inf)
    return GNBModel(theta=theta, var=var, log_prior=log_prior)


def make_sklearn_classifier(name: str) -> Callable[[], Any]:
    """A factory of fresh scikit-learn estimators for ``lr`` or ``cart`` (authors' settings)."""
    name = check_classifier(name)
    if name == "lr":
        from sklearn.linear_model import LogisticRegression

        return lambda: LogisticRegression(random_state=1410, max_iter=5000)
    if name == "cart":
        from sklearn.tree import DecisionTreeClassifier

        return lambda: DecisionTreeClassifier(random_state=1410)
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB


@dataclass(frozen=True)
class GNBTask:
    """One GNB to fit in a batch: its labels, sample weights and (optionally) rows."""

    labels: np.ndarray
    weights: np.ndarray
    rows: np.ndarray | None = None


class GNBBatch:
    """Many GNBs on the same training and test rows, fitted and applied together.

    All class sums of ``x`` and ``x**2`` for all models come from one matrix product
    ``W @ [Xc | Xc**2]`` (W stacks every model's K x n weight matrix), and all
    joint log-likelihoods from one product ``[Xt**2 | Xt] @ params``. The BAC
    curves fit 3 methods x 20 b_class values per fold and modality this way.
    """

    def __init__(self, train: np.ndarray, test: np.ndarray, var_smoothing: float = 1e-9) -> None:
        train = np.asarray(train, dtype=np.float64)
        test = np.asarray(test, dtype=np.float64)
        d = train.shape[1]
        center = train.mean(axis=0)
        # [Xc | Xc**2] for the training rows, [Xt**2 | Xt] for the test rows, built in place
        self.train_stack = np.empty((train.shape[0], 2 * d))
        np.subtract(train, center, out=self.train_stack[:, :d])
        np.square(self.train_stack[:, :d], out=self.train_stack[:, d:])
        self.test_stack = np.empty((test.shape[0], 2 * d))
        np.subtract(test, center, out=self.test_stack[:, d:])
        np.square(self.test_stack[:, d:], out=self.test_stack[:, :d])
        Xc, Xc2 = self.train_stack[:, :d], self.train_stack[:, d:]
        epsilon = float(var_smoothing * Xc2.mean(axis=0).max()) if train.shape[0] else 0.0
        self.data = GNBData(center=center, Xc=Xc, Xc2=Xc2, epsilon=epsilon)
        self.var_smoothing = var_smoothing

    def fit(self, tasks: list[GNBTask], n_classes: int) -> list[GNBModel]:
        """Fit one GNBModel per task (same result as :func:`fit_gnb` for each)."""
        n, d = self.data.Xc.shape
        k = n_classes
        W = np.zeros((len(tasks) * k, n))
        eps = np.empty(len(tasks))
        for t, task in enumerate(tasks):
            cols = np.arange(n) if task.rows is None else np.asarray(task.rows)
            W[t * k + task.labels, cols] = task.weights
            if task.rows is None:
                eps[t] = self.data.epsilon
            else:
                sub = self.data.Xc[cols]
                eps[t] = self.var_smoothing * float(sub.var(axis=0).max())
        sums = W @ self.train_stack
        counts = W.sum(axis=1)
        present = counts > 0
        safe = np.where(present, counts, 1.0)[:, None]
        theta = sums[:, :d] / safe
        var = sums[:, d:] / safe - theta * theta
        np.maximum(var, 0.0, out=var)
        var += np.repeat(eps, k)[:, None]
        var[~present] = 1.0
        models = []
        for t in range(len(tasks)):
            sl = slice(t * k, (t + 1) * k)
            c = counts[sl]
            with np.errstate(divide="ignore"):
                log_prior = np.where(present[sl], np.log(c / c.sum()), -np.inf)
            models.append(GNBModel(theta=theta[sl], var=var[sl], log_prior=log_prior))
        return models

    def predict(self, models: list[GNBModel]) -> np.ndarray:
        """Predictions of every model on the test rows, shape (len(models), n_test)."""
        k = models[0].theta.shape[0]
        theta = np.vstack([m.theta for m in models])
        inv = 1.0 / np.vstack([m.var for m in models])
        params = np.vstack([inv.T, (-2.0 * theta * inv).T])
        quad = self.test_stack @ params
        const = np.concatenate(
            [m.log_prior - 0.5 * np.sum(np.log(2.0 * np.pi * m.var), axis=1) for m in models]
        ) - 0.5 * np.sum(theta * theta * inv, axis=1)
        jll = const[None, :] - 0.5 * quad
        return np.argmax(jll.reshape(jll.shape[0], len(models), k), axis=2).T
