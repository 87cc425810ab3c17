"""Gaussian naive Bayes from sufficient statistics, many models at once.

GNB is the paper's default base classifier and the hot path of every BAC curve.
Per-class weighted sums of ``x`` and ``x**2`` for *all* models come from one matrix
product ``W @ [Xc | Xc**2]`` (W stacks every model's K x n weight matrix), and the
joint log-likelihoods of all test rows from one product ``[Xt**2 | Xt] @ params``.
It gives the predictions of :class:`sklearn.naive_bayes.GaussianNB` fitted on the
same rows with the same sample weights and ``var_smoothing`` (tested), at a fraction
of the cost when the same rows are refit with many label vectors. This is the only
GNB of :mod:`cmcsl_core`; every method (FULL, PRE, UNI, CMCSL, EF, LF) uses it.

>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [0.2, 0.9], [3.0, 0.1], [3.1, 0.0]])
>>> batch = GNBBatch(X, np.array([[0.1, 1.0], [2.9, 0.2]]))
>>> model = batch.fit([GNBTask(labels=np.array([0, 0, 1, 1]), weights=np.ones(4))], n_classes=2)[0]
>>> batch.predict([model])
array([[0, 1]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VAR_SMOOTHING", "GNBModel", "GNBTask", "GNBBatch"]

VAR_SMOOTHING: float = 1e-9
"""scikit-learn's default: ``var_smoothing * largest feature variance`` is added to every variance."""


@dataclass(frozen=True)
class GNBModel:
    """A fitted Gaussian naive Bayes, in the centred coordinates of its :class:`GNBBatch`.

    Attributes
    ----------
    theta : ndarray of shape (K, d)
        Class means.
    var : ndarray of shape (K, d)
        Class variances, smoothed (1 for classes absent from training).
    log_prior : ndarray of shape (K,)
        Log of the weighted class priors; ``-inf`` for absent classes.
    """

    theta: np.ndarray
    var: np.ndarray
    log_prior: np.ndarray

    def joint_log_likelihood(self, Xc: np.ndarray, Xc2: np.ndarray) -> np.ndarray:
        """(n, K) joint log-likelihood of centred test rows ``Xc`` (and their squares ``Xc2``)."""
        inv = 1.0 / self.var
        quad = Xc2 @ inv.T
        quad -= 2.0 * (Xc @ (self.theta * inv).T)
        quad += np.sum(self.theta * self.theta * inv, axis=1)
        norm = -0.5 * np.sum(np.log(2.0 * np.pi * self.var), axis=1)
        return self.log_prior + norm - 0.5 * quad

    def predict_proba(self, Xc: np.ndarray, Xc2: np.ndarray) -> np.ndarray:
        """Class posterior probabilities (n, K) of centred test rows."""
        jll = self.joint_log_likelihood(Xc, Xc2)
        jll -= jll.max(axis=1, keepdims=True)
        p = np.exp(jll)
        return p / p.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class GNBTask:
    """One GNB to fit in a batch.

    Attributes
    ----------
    labels : ndarray of shape (n_rows,)
        Class labels in ``0 .. K-1``.
    weights : ndarray of shape (n_rows,)
        Sample weights.
    rows : ndarray or None, default=None
        The training rows the labels belong to; None: every training row.
    """

    labels: np.ndarray
    weights: np.ndarray
    rows: np.ndarray | None = None


class GNBBatch:
    """Many GNBs on the same training and test rows, fitted and applied together.

    Parameters
    ----------
    train : ndarray of shape (n, d)
        Training rows.
    test : ndarray of shape (n_test, d)
        Test rows.
    var_smoothing : float, default=1e-9
        As in scikit-learn: ``var_smoothing`` times the largest feature variance of
        the rows a model is fitted on is added to its variances.
    """

    def __init__(self, train: np.ndarray, test: np.ndarray, var_smoothing: float = VAR_SMOOTHING) -> None:
        train = np.asarray(train, dtype=np.float64)
        test = np.asarray(test, dtype=np.float64)
        d = train.shape[1]
        self.d = d
        self.center = train.mean(axis=0)
        # [Xc | Xc**2] for the training rows, [Xt**2 | Xt] for the test rows, built in place
        self.train_stack = np.empty((train.shape[0], 2 * d))
        np.subtract(train, self.center, out=self.train_stack[:, :d])
        np.square(self.train_stack[:, :d], out=self.train_stack[:, d:])
        self.test_stack = np.empty((test.shape[0], 2 * d))
        np.subtract(test, self.center, out=self.test_stack[:, d:])
        np.square(self.test_stack[:, d:], out=self.test_stack[:, :d])
        self.var_smoothing = float(var_smoothing)
        xc2 = self.train_stack[:, d:]
        self.epsilon = float(self.var_smoothing * xc2.mean(axis=0).max()) if train.shape[0] else 0.0

    def fit(self, tasks: list[GNBTask], n_classes: int) -> list[GNBModel]:
        """Fit one :class:`GNBModel` per task."""
        n, d = self.train_stack.shape[0], self.d
        k = n_classes
        W = np.zeros((len(tasks) * k, n))
        eps = np.empty(len(tasks))
        for t, task in enumerate(tasks):
            cols = np.arange(n) if task.rows is None else np.asarray(task.rows)
            W[t * k + task.labels, cols] = task.weights
            if task.rows is None:
                eps[t] = self.epsilon
            else:
                eps[t] = self.var_smoothing * float(self.train_stack[cols, :d].var(axis=0).max())
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

    def predict_proba(self, model: GNBModel) -> np.ndarray:
        """Class posterior probabilities (n_test, K) of one model on the test rows."""
        d = self.d
        return model.predict_proba(self.test_stack[:, d:], self.test_stack[:, :d])
