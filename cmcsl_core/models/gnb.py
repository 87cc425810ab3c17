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


_U32: float = float(np.finfo(np.float32).eps) / 2.0
"""Unit roundoff of float32."""


class GNBBatch:
    """Many GNBs on the same training and test rows, fitted and applied together.

    Fitting is float64 throughout. Prediction does the big test-side product in
    float32 and then re-checks in float64 every (test row, model) whose winning
    margin is within a rigorous bound of the float32 error (inputs rounded to float32
    plus worst-case accumulation of ``2 d`` terms, bounded by Cauchy-Schwarz), so the
    predicted classes are those of the float64 computation.

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
        self.center = train.mean(axis=0) if train.shape[0] else np.zeros(d)
        # [Xc | Xc**2] for the training rows (float64), built in place
        self.train_stack = np.empty((train.shape[0], 2 * d))
        xc = self.train_stack[:, :d]
        np.subtract(train, self.center, out=xc)
        np.square(xc, out=self.train_stack[:, d:])
        self.var_smoothing = float(var_smoothing)
        self.epsilon = float(self.var_smoothing * np.einsum("ij,ij->j", xc, xc).max() / train.shape[0]) if train.shape[0] else 0.0
        self._test = test
        # [Xt**2 | Xt] for the test rows in float32, and each row's Euclidean norm (for the error bound)
        tc = test - self.center
        tc2 = tc * tc
        self._tc, self._tc2 = tc, tc2  # float64, for re-checking near ties
        self.test_stack32 = np.empty((test.shape[0], 2 * d), dtype=np.float32)
        self.test_stack32[:, d:] = tc
        np.square(self.test_stack32[:, d:], out=self.test_stack32[:, :d])
        sq = np.einsum("ij,ij->i", tc, tc)
        self._test_norm = np.sqrt(np.einsum("ij,ij->i", tc2, tc2) + sq)

    def _test_stack64(self, rows: np.ndarray) -> np.ndarray:
        """``[Xt**2 | Xt]`` of the test rows ``rows`` in float64 (for re-checking near ties)."""
        return np.hstack([self._tc2[rows], self._tc[rows]])

    def fit(self, tasks: list[GNBTask], n_classes: int) -> list[GNBModel]:
        """Fit one :class:`GNBModel` per task.

        Tasks on every training row share one matrix product; tasks on a few rows
        (``rows`` given, e.g. the seeds) are summed over those rows only.
        """
        n, d = self.train_stack.shape[0], self.d
        k = n_classes
        sums = np.empty((len(tasks) * k, 2 * d))
        counts = np.zeros(len(tasks) * k)
        eps = np.empty(len(tasks))
        full = [t for t, task in enumerate(tasks) if task.rows is None]
        if full:
            W = np.zeros((len(full) * k, n))
            for i, t in enumerate(full):
                W[i * k + tasks[t].labels, np.arange(n)] = tasks[t].weights
                eps[t] = self.epsilon
            idx = (np.asarray(full)[:, None] * k + np.arange(k)[None, :]).ravel()
            sums[idx] = W @ self.train_stack
            counts[idx] = W.sum(axis=1)
        for t, task in enumerate(tasks):
            if task.rows is None:
                continue
            cols = np.asarray(task.rows)
            stack = self.train_stack[cols]
            Wt = np.zeros((k, cols.size))
            Wt[task.labels, np.arange(cols.size)] = task.weights
            sums[t * k : (t + 1) * k] = Wt @ stack
            counts[t * k : (t + 1) * k] = Wt.sum(axis=1)
            eps[t] = self.var_smoothing * float(stack[:, :d].var(axis=0).max()) if cols.size else 0.0
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
        """Predictions of every model on the test rows, shape (len(models), n_test).

        Equal to the argmax of the float64 joint log-likelihoods (see the class docstring).
        """
        k = models[0].theta.shape[0]
        n_models = len(models)
        theta = np.vstack([m.theta for m in models])
        inv = 1.0 / np.vstack([m.var for m in models])
        params = np.vstack([inv.T, (-2.0 * theta * inv).T])  # (2d, n_models * k)
        const = np.concatenate(
            [m.log_prior - 0.5 * np.sum(np.log(2.0 * np.pi * m.var), axis=1) for m in models]
        ) - 0.5 * np.sum(theta * theta * inv, axis=1)
        quad = self.test_stack32 @ params.astype(np.float32)
        jll = (const[None, :] - 0.5 * quad).reshape(quad.shape[0], n_models, k)
        pred = np.argmax(jll, axis=2)
        if k < 2:
            return pred.T
        # |error of 0.5 * quad| <= 0.5 * (2d + 4) * u * ||a_row|| * ||b_col||: rounding of both inputs to
        # float32, worst-case summation of 2d products, and rounding of quad itself (|quad| <= ||a|| ||b||)
        col_norm = np.sqrt(np.einsum("ij,ij->j", params, params)).reshape(n_models, k).max(axis=1)
        bound = np.multiply.outer((0.5 * (2 * self.d + 4) * _U32) * self._test_norm, col_norm)
        top2 = np.partition(jll, k - 2, axis=2)[:, :, k - 2 :]
        unsure = (top2[:, :, 1] - top2[:, :, 0]) <= 2.0 * bound
        finite = np.isfinite(const).reshape(n_models, k)
        union = np.flatnonzero(unsure.any(axis=1))  # float64 [Xt**2 | Xt] of these rows only
        if union.size == 0:
            return pred.T
        stack = self._test_stack64(union)
        unsure = unsure[union]
        for t in np.flatnonzero(unsure.any(axis=0)):
            rows = np.flatnonzero(unsure[:, t])
            sl = slice(t * k, (t + 1) * k)
            exact = const[sl][None, :] - 0.5 * (stack[rows] @ params[:, sl])
            exact[:, ~finite[t]] = -np.inf
            pred[union[rows], t] = np.argmax(exact, axis=1)
        return pred.T

    def predict_proba(self, model: GNBModel) -> np.ndarray:
        """Class posterior probabilities (n_test, K) of one model on the test rows (float64)."""
        tc = self._test - self.center
        return model.predict_proba(tc, tc * tc)
