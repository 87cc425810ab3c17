"""Gaussian naive Bayes from sufficient statistics, many models at once.

GNB is the paper's default base classifier and the hot path of every BAC curve.
Per-class sums of ``x`` and of centred squares ``(x - c)**2`` for *all* models come from
matrix products ``W @ X`` and ``W @ Xc**2`` (W stacks every model's K x n weight matrix), and the
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

_BLOCK: int = 1024
"""Rows per block when building the test-side arrays (bounds the float64 temporaries)."""


class GNBBatch:
    """Many GNBs on the same training and test rows, fitted and applied together.

    Fitting is float64 throughout. When a task's weights are one value per class (every
    scheme of :func:`~cmcsl_core.models.base.class_weight_vector`), the weights cancel
    from the class means and variances and only scale the priors, so the batch keeps
    *unweighted* class sums; a label vector that differs from an earlier task's in a few
    rows (the nested seeds of a BAC curve) updates that task's sums over those rows only,
    and an identical task gets the identical model (and is predicted once).

    Prediction does the big test-side product in float32 and then re-checks in float64
    every (test row, model) whose winning margin is within a rigorous bound of the
    float32 error (inputs rounded to float32 plus worst-case accumulation of ``2 d``
    terms, bounded by Cauchy-Schwarz), so the predicted classes are those of the
    float64 computation.

    Parameters
    ----------
    train : ndarray of shape (n, d)
        Training rows (float64 arrays are kept, not copied: do not change them while
        the batch is in use).
    test : ndarray of shape (n_test, d)
        Test rows (kept likewise, for re-checking near ties).
    var_smoothing : float, default=1e-9
        As in scikit-learn: ``var_smoothing`` times the largest feature variance of
        the rows a model is fitted on is added to its variances.
    """

    INCREMENTAL_SHARE: float = 0.5
    """Update an earlier task's class sums when fewer than this share of the rows changed label."""

    def __init__(self, train: np.ndarray, test: np.ndarray, var_smoothing: float = VAR_SMOOTHING) -> None:
        train = np.asarray(train, dtype=np.float64)
        test = np.asarray(test, dtype=np.float64)
        n, d = train.shape
        self.d = d
        self.center = train.mean(axis=0) if n else np.zeros(d)
        # the training rows (not copied) and their centred squares: class sums are [sum x | sum (x - c)**2]
        self.train = train
        self.train_sq = np.subtract(train, self.center)
        np.square(self.train_sq, out=self.train_sq)
        self.var_smoothing = float(var_smoothing)
        self.epsilon = float(self.var_smoothing * self.train_sq.sum(axis=0).max() / n) if n else 0.0
        # [Xt**2 | Xt] for the test rows in float32 (the big product) and each row's Euclidean norm (for
        # the error bound), built in blocks of rows so no full-size float64 temporary is made; the float64
        # rows for re-checking near ties are made from ``test`` when needed
        self._test = test
        n_test = test.shape[0]
        self.test_stack32 = np.empty((n_test, 2 * d), dtype=np.float32)
        self._test_norm = np.empty(n_test)
        for start in range(0, n_test, _BLOCK):
            block = slice(start, start + _BLOCK)
            tc = test[block] - self.center
            self.test_stack32[block, d:] = tc
            np.square(tc, out=tc)
            self.test_stack32[block, :d] = tc
            self._test_norm[block] = np.sqrt(np.einsum("ij,ij->i", tc, tc) + tc.sum(axis=1))

    def _centred_test(self, rows: np.ndarray | slice) -> np.ndarray:
        """The test rows ``rows`` minus the training mean, in float64."""
        return self._test[rows] - self.center

    def _quad64(self, rows: np.ndarray, params: np.ndarray) -> np.ndarray:
        """``[Xt**2 | Xt] @ params`` for the test rows ``rows`` in float64 (re-checking near ties)."""
        tc = self._centred_test(rows)
        out = tc @ params[self.d :]
        np.square(tc, out=tc)
        out += tc @ params[: self.d]
        return out

    def fit(self, tasks: list[GNBTask], n_classes: int) -> list[GNBModel]:
        """Fit one :class:`GNBModel` per task.

        Tasks on every training row share one matrix product (or update an earlier
        task's sums where only a few labels differ); tasks on a few rows (``rows``
        given, e.g. the seeds) are summed over those rows only. Identical tasks get
        the same model object.
        """
        k = n_classes
        stats: list[tuple[np.ndarray, np.ndarray, float] | None] = [None] * len(tasks)  # sums, counts, eps
        prior_w = [_per_class(t.labels, t.weights, k) if t.rows is None else None for t in tasks]
        full = [t for t, task in enumerate(tasks) if task.rows is None]
        fresh, updates, same = self._plan(tasks, full, prior_w)
        if fresh:
            self._fresh_sums(tasks, fresh, prior_w, k, stats)
        for t, base, changed in updates:
            stats[t] = self._updated_sums(tasks[t].labels, tasks[base].labels, changed, stats[base], k)
        for t, task in enumerate(tasks):
            if task.rows is None:
                continue
            for s, earlier in enumerate(tasks[:t]):
                if earlier.rows is not None and _same_task(earlier, task):
                    same[t] = s
                    break
            else:
                stats[t] = self._row_sums(task, k)
        models: list[GNBModel] = []
        for t in range(len(tasks)):
            if t in same:
                models.append(models[same[t]])
                continue
            sums, counts, eps = stats[t]  # type: ignore[misc]
            w = prior_w[t]
            models.append(_model(sums, counts, eps, counts if w is None else w * counts, self.center))
        return models

    def _plan(
        self, tasks: list[GNBTask], full: list[int], prior_w: list[np.ndarray | None]
    ) -> tuple[list[int], list[tuple[int, int, np.ndarray]], dict[int, int]]:
        """Which full-row tasks get fresh sums, which update an earlier task's (task, base, changed rows),
        and which repeat one (task -> the earlier identical task)."""
        n = self.train.shape[0]
        same: dict[int, int] = {}
        fresh: list[int] = []
        updates: list[tuple[int, int, np.ndarray]] = []
        seen: list[int] = []  # earlier full tasks with per-class weights, whose sums are unweighted
        for t in full:
            if prior_w[t] is None:
                fresh.append(t)
                continue
            if seen:
                labels = tasks[t].labels
                diff = np.stack([tasks[s].labels for s in seen]) != labels
                n_diff = diff.sum(axis=1)
                best = int(np.argmin(n_diff))
                base = seen[best]
                w_base, w_t = prior_w[base], prior_w[t]
                if n_diff[best] == 0 and w_base is not None and w_t is not None and np.array_equal(w_base, w_t):
                    same[t] = base
                    continue
                if n_diff[best] < self.INCREMENTAL_SHARE * n:
                    updates.append((t, base, np.flatnonzero(diff[best])))
                    seen.append(t)
                    continue
            fresh.append(t)
            seen.append(t)
        return fresh, updates, same

    def _fresh_sums(
        self,
        tasks: list[GNBTask],
        fresh: list[int],
        prior_w: list[np.ndarray | None],
        k: int,
        stats: list[tuple[np.ndarray, np.ndarray, float] | None],
    ) -> None:
        """Class sums of ``fresh`` tasks by one matrix product (unweighted where the weights are per class)."""
        n = self.train.shape[0]
        W = np.zeros((len(fresh) * k, n))
        cols = np.arange(n)
        for i, t in enumerate(fresh):
            W[i * k + tasks[t].labels, cols] = 1.0 if prior_w[t] is not None else tasks[t].weights
        sums = np.hstack([W @ self.train, W @ self.train_sq])
        counts = W.sum(axis=1)
        for i, t in enumerate(fresh):
            sl = slice(i * k, (i + 1) * k)
            stats[t] = (sums[sl], counts[sl], self.epsilon)

    def _updated_sums(
        self,
        labels: np.ndarray,
        base_labels: np.ndarray,
        changed: np.ndarray,
        base: tuple[np.ndarray, np.ndarray, float] | None,
        k: int,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Unweighted class sums of ``labels`` from those of ``base_labels``, which differ on ``changed`` rows."""
        assert base is not None
        sums, counts, eps = base
        if changed.size == 0:
            return sums, counts, eps
        new, old = labels[changed], base_labels[changed]
        D = np.zeros((k, changed.size))
        at = np.arange(changed.size)
        D[new, at] = 1.0
        D[old, at] = -1.0
        moved = np.bincount(new, minlength=k) - np.bincount(old, minlength=k)
        delta = np.hstack([D @ self.train[changed], D @ self.train_sq[changed]])
        return sums + delta, counts + moved, eps

    def _row_sums(self, task: GNBTask, k: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Weighted class sums of a task on a few rows, and its smoothing from those rows."""
        cols = np.asarray(task.rows)
        Wt = np.zeros((k, cols.size))
        Wt[task.labels, np.arange(cols.size)] = task.weights
        rows = self.train[cols]
        eps = self.var_smoothing * float(rows.var(axis=0).max()) if cols.size else 0.0
        return np.hstack([Wt @ rows, Wt @ self.train_sq[cols]]), Wt.sum(axis=1), eps

    def predict(self, models: list[GNBModel]) -> np.ndarray:
        """Predictions of every model on the test rows, shape (len(models), n_test).

        Equal to the argmax of the float64 joint log-likelihoods (see the class docstring).
        A model given more than once (identical tasks of :meth:`fit`) is evaluated once.
        """
        position: dict[int, int] = {}
        slot = [position.setdefault(id(m), len(position)) for m in models]
        if len(position) < len(models):
            distinct = list({id(m): m for m in models}.values())
            return self.predict(distinct)[slot]
        k = models[0].theta.shape[0]
        n_models = len(models)
        theta = np.vstack([m.theta for m in models])
        inv = 1.0 / np.vstack([m.var for m in models])
        params = np.vstack([inv.T, (-2.0 * theta * inv).T])  # (2d, n_models * k)
        const = np.concatenate(
            [m.log_prior - 0.5 * np.sum(np.log(2.0 * np.pi * m.var), axis=1) for m in models]
        ) - 0.5 * np.sum(theta * theta * inv, axis=1)
        # (models * K, n_test): every class's scores of all test rows contiguous
        quad = params.T.astype(np.float32) @ self.test_stack32.T
        n_test = quad.shape[1]
        if k < 2:
            return np.zeros((n_models, n_test), dtype=np.int64)
        quad *= -0.5
        jll = (quad + const[:, None]).reshape(n_models, k, n_test)  # float64
        del quad
        # |error of 0.5 * quad| <= 0.5 * (2d + 4) * u * ||a_row|| * ||b_col||: rounding of both inputs to
        # float32, worst-case summation of 2d products, and rounding of quad itself (|quad| <= ||a|| ||b||)
        col_norm = np.sqrt(np.einsum("ij,ij->j", params, params)).reshape(n_models, k)
        pred, unsure = _sure_winners(jll, col_norm, (0.5 * (2 * self.d + 4) * _U32) * self._test_norm)
        for t in np.flatnonzero(unsure.any(axis=1)):
            rows = np.flatnonzero(unsure[t])
            sl = slice(t * k, (t + 1) * k)
            exact = const[sl][None, :] - 0.5 * self._quad64(rows, params[:, sl])
            exact[:, ~np.isfinite(const[sl])] = -np.inf
            pred[t, rows] = np.argmax(exact, axis=1)
        return pred

    def predict_proba(self, model: GNBModel) -> np.ndarray:
        """Class posterior probabilities (n_test, K) of one model on the test rows (float64)."""
        tc = self._centred_test(slice(None))
        return model.predict_proba(tc, tc * tc)


def _per_class(labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray | None:
    """The (K,) per-class weights if ``weights`` is one positive value per class of ``labels``, else None."""
    w = np.zeros(k)
    w[labels] = weights
    if np.array_equal(w[labels], weights) and bool(np.all(weights > 0)):
        return w
    return None


def _same_task(a: GNBTask, b: GNBTask) -> bool:
    """Whether two tasks fit the same model (same rows, labels and weights)."""
    ra = None if a.rows is None else np.asarray(a.rows)
    rb = None if b.rows is None else np.asarray(b.rows)
    same_rows = (ra is None and rb is None) or (ra is not None and rb is not None and np.array_equal(ra, rb))
    return same_rows and np.array_equal(a.labels, b.labels) and np.array_equal(a.weights, b.weights)


def _model(sums: np.ndarray, counts: np.ndarray, eps: float, prior_counts: np.ndarray, center: np.ndarray) -> GNBModel:
    """A GNB from class sums ``[sum x | sum (x - center)**2]``, their counts, the smoothing and the prior's counts."""
    d = center.shape[0]
    present = counts > 0
    safe = np.where(present, counts, 1.0)[:, None]
    theta = sums[:, :d] / safe - center  # class means in the centred coordinates
    var = sums[:, d:] / safe - theta * theta
    np.maximum(var, 0.0, out=var)
    var += eps
    var[~present] = 1.0
    theta[~present] = 0.0
    with np.errstate(divide="ignore"):
        log_prior = np.where(present, np.log(prior_counts / prior_counts[present].sum()), -np.inf)
    return GNBModel(theta=theta, var=var, log_prior=log_prior)


def _sure_winners(jll: np.ndarray, col_err: np.ndarray, row_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Winning class of every (model, row) of ``jll`` (models, K, rows), and where it is not sure.

    Each score may be off by up to ``col_err[m, c] * row_err[r]``. The winner ``a`` is
    sure when ``jll[a] - err[a] > jll[c] + err[c]`` for every other class ``c``, that is
    when ``a`` is the only class with ``jll[c] + err[c] >= jll[a] - err[a]``. Exact ties
    are never sure (their winner is then settled by the caller's exact re-check). Built
    from reductions over the class axis, which NumPy vectorises along the contiguous
    rows (several times faster than ``argmax`` there).
    """
    m, k, _ = jll.shape
    best = jll.max(axis=1)
    winner = np.zeros(best.shape, dtype=np.int64)
    for c in range(1, k):
        winner += c * (jll[:, c] == best)  # one class reaches the maximum, except at exact ties
    winner_err = col_err[np.arange(m)[:, None], np.minimum(winner, k - 1)] * row_err
    high = col_err[:, :, None] * row_err  # each score's error bound...
    high += jll  # ...added: the highest each class's exact score can be
    reach = high >= (best - winner_err)[:, None, :]
    unsure = reach.sum(axis=1, dtype=np.int16) > 1
    return winner, unsure
