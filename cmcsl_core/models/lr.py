"""Fast logistic regression: many L2-penalised models fitted together by a batched L-BFGS.

The BAC curves fit the same training rows with many label vectors (3 methods x 20
``b_class`` values per fold and modality). scikit-learn fits them one at a time;
here every model is one slice of a batch and all of them share the two matrix
products of a loss/gradient evaluation (``X @ W`` and ``X.T @ R``).

The objective of every model is exactly scikit-learn's
``LogisticRegression(C=1.0, solver="lbfgs")`` with sample weights::

    F(W) = sum_i s_i * loss_i / S  +  ||coef||^2 / (2 C S),      S = sum_i s_i,

the intercept unpenalised, ``loss_i`` the multinomial cross-entropy over the classes
present in the model's labels (>= 3 present), or the binary logistic loss with one
coefficient vector for the larger class (2 present: scikit-learn's binary case, whose
penalty differs from a 2-class multinomial). A model with a single class predicts it.

Every model runs its own L-BFGS (own history, own Armijo backtracking line search, own
stopping test ``max |grad F| <= tol``, scikit-learn's ``gtol``); the batch only shares
the arithmetic. Converged models leave the active set, so the last stragglers are
cheap. Warm starts (``init=``) reuse the coefficients of a similar earlier fit (the
next ``b_class``). The optimum is unique (strictly convex), so predictions agree with
scikit-learn's up to both solvers' tolerances (tested: BAC within 0.005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = ["LRTask", "LRBatch", "fit_lr_batch", "LR_C", "LR_TOL", "LR_MAX_ITER"]

LR_C: float = 1.0
"""Inverse penalty strength (scikit-learn's default)."""

LR_TOL: float = 1e-4
"""Stopping test ``max |gradient| <= tol`` of the scaled objective (scikit-learn's default and rule)."""

LR_MAX_ITER: int = 5000
"""Iteration cap, the authors' ``max_iter``."""

_HISTORY = 10  # L-BFGS memory, scipy's default


@dataclass(frozen=True)
class LRTask:
    """One model of a batch: its labels and sample weights for the rows it is trained on.

    Attributes
    ----------
    labels : ndarray of shape (r,)
        Class indices ``0 .. K-1``.
    weights : ndarray of shape (r,)
        Sample weights (>= 0).
    rows : ndarray of shape (r,) or None
        The training rows these labels belong to (None: every row).
    """

    labels: np.ndarray
    weights: np.ndarray
    rows: np.ndarray | None = None


@dataclass(frozen=True)
class LRBatch:
    """Fitted models: ``coef`` of shape (T, d + 1, K), the last row the intercept.

    ``present[t]`` marks the classes model ``t`` saw; absent classes get probability 0.
    """

    coef: np.ndarray
    present: np.ndarray
    n_iter: np.ndarray

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Logits (T, n, K); absent classes are ``-inf``."""
        X = np.asarray(X, dtype=np.float64)
        Z = np.einsum("nd,tdk->tnk", X, self.coef[:, :-1, :], optimize=True) + self.coef[:, None, -1, :]
        return np.where(self.present[:, None, :], Z, -np.inf)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted classes (T, n)."""
        return np.argmax(self.decision(X), axis=2)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (T, n, K)."""
        Z = self.decision(X)
        Z -= Z.max(axis=2, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=2, keepdims=True)


class _Problem:
    """Loss and gradient of a batch of models on shared rows (the scaled sklearn objective).

    Arrays are laid out row-major as (n, T, K), the layout of the matrix product
    ``Xa @ W``, so no evaluation transposes or copies the big arrays; the element-wise
    work runs in float32 with sums over rows accumulated in float64. Labels are kept
    as indices (a gather for the loss, a scatter for the gradient), not as one-hot arrays.
    """

    def __init__(self, X: np.ndarray, tasks: Sequence[LRTask], n_classes: int, C: float | np.ndarray) -> None:
        n = X.shape[0]
        self.Xa32 = np.hstack([X, np.ones((n, 1))]).astype(np.float32)
        self.XaT32 = np.ascontiguousarray(self.Xa32.T)
        k = n_classes
        T = len(tasks)
        self.k = k
        self.SW = np.zeros((n, T), dtype=np.float32)  # sample weights, 0 outside a model's rows
        self.L = np.zeros((n, T), dtype=np.int64)  # label per row and model (0 where the weight is 0)
        self.present = np.zeros((T, k), dtype=bool)
        for t, task in enumerate(tasks):
            rows = np.arange(n) if task.rows is None else np.asarray(task.rows)
            labels = np.asarray(task.labels, dtype=np.int64)
            w = np.asarray(task.weights, dtype=np.float64)
            if labels.shape != rows.shape or w.shape != rows.shape:
                raise CMCSLError("an LR task's labels, weights and rows must have the same length")
            self.SW[rows, t] = w
            self.L[rows, t] = labels
            self.present[t, np.unique(labels[w > 0])] = True
        n_present = self.present.sum(axis=1)
        self.free = self.present.copy()
        for b in np.flatnonzero(n_present == 2):  # binary: one vector, for the larger class
            self.free[b, np.flatnonzero(self.present[b])[0]] = False
        self.free[n_present < 2] = False
        # absent classes: a logit so low that exp() gives exactly 0 in float32
        self.bias = np.where(self.present, 0.0, -1e4).astype(np.float32)
        S = self.SW.sum(axis=0, dtype=np.float64)
        self.S = np.where(S > 0, S, 1.0)
        self.alpha = 1.0 / (np.asarray(C, dtype=np.float64) * self.S)  # penalty factor per model
        self.T = T

    def evaluate(self, W: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objective (t,) and gradient (t, d+1, K) of models ``idx`` at coefficients ``W``."""
        t, p, k = W.shape
        n = self.Xa32.shape[0]
        every = idx.size == self.T and bool(np.all(idx == np.arange(self.T)))
        SW = self.SW if every else self.SW[:, idx]
        L = self.L if every else self.L[:, idx]
        W2 = W.transpose(1, 0, 2).reshape(p, t * k).astype(np.float32)
        Z = (self.Xa32 @ W2).reshape(n, t, k)
        Z += self.bias[idx][None, :, :]
        zmax = Z[:, :, 0].copy()  # a loop over the K classes: much faster than a reduction over a short last axis
        for j in range(1, k):
            np.maximum(zmax, Z[:, :, j], out=zmax)
        Z -= zmax[:, :, None]  # the row maxima cancel in the loss (each row's label weights sum to SW)
        flat = Z.reshape(-1)
        at_label = np.arange(n * t) * k + L.ravel()  # flat positions of each (row, model)'s label
        zl = flat[at_label].reshape(n, t)
        np.exp(Z, out=Z)
        tot = np.einsum("ntk->nt", Z)
        loss = np.einsum("nt,nt->t", SW, np.log(tot) - zl, dtype=np.float64)
        Z *= (SW / tot)[:, :, None]  # now the residual R = softmax * SW - one-hot * SW
        flat[at_label] -= SW.ravel()
        G = (self.XaT32 @ Z.reshape(n, t * k)).astype(np.float64).reshape(p, t, k).transpose(1, 0, 2)
        coef = W[:, :-1, :]
        alpha = self.alpha[idx]
        S = self.S[idx]
        f = loss / S + 0.5 * alpha * np.einsum("tpk,tpk->t", coef, coef)
        G /= S[:, None, None]
        G[:, :-1, :] += alpha[:, None, None] * coef
        G *= self.free[idx][:, None, :]
        return f, G


def fit_lr_batch(
    X: np.ndarray,
    tasks: Sequence[LRTask],
    n_classes: int,
    C: float | Sequence[float] = LR_C,
    tol: float = LR_TOL,
    max_iter: int = LR_MAX_ITER,
    init: np.ndarray | None = None,
) -> LRBatch:
    """Fit one L2-penalised logistic regression per task on the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Training rows shared by the batch (a task's ``rows`` index into them).
    tasks : sequence of LRTask
        One per model.
    n_classes : int
        K.
    C : float or sequence of float
        Inverse penalty strength, as scikit-learn's ``C``; one value for all tasks or one per task.
    tol : float
        Stop a model when the largest absolute gradient entry is at most ``tol``.
    max_iter : int
        Iteration cap per model.
    init : ndarray of shape (T, d + 1, K), optional
        Starting coefficients (a warm start); zeros otherwise.

    Returns
    -------
    LRBatch
    """
    X = np.asarray(X, dtype=np.float64)
    if not tasks:
        raise CMCSLError("no LR task to fit")
    Cs = np.broadcast_to(np.asarray(C, dtype=np.float64), (len(tasks),))
    if not np.all(Cs > 0):
        raise CMCSLError(f"C must be positive, got {C}")
    prob = _Problem(X, tasks, n_classes, Cs)
    T, p, k = len(tasks), X.shape[1] + 1, n_classes
    W = np.zeros((T, p, k)) if init is None else np.array(init, dtype=np.float64) * prob.free[:, None, :]
    n_iter = np.zeros(T, dtype=np.int64)
    all_idx = np.arange(T)
    f, G = prob.evaluate(W, all_idx)
    S_hist = np.zeros((_HISTORY, T, p, k))
    Y_hist = np.zeros((_HISTORY, T, p, k))
    rho = np.zeros((_HISTORY, T))
    gamma = np.ones(T)
    active = np.abs(G).reshape(T, -1).max(axis=1) > tol
    for it in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        g = G[idx]
        # two-loop recursion, batched over the active models (pairs with rho = 0 are no-ops)
        q = g.copy()
        alphas = []
        h = min(it, _HISTORY)
        for j in range(h):
            slot = (it - 1 - j) % _HISTORY
            a = rho[slot, idx] * np.einsum("tpk,tpk->t", S_hist[slot, idx], q)
            q -= a[:, None, None] * Y_hist[slot, idx]
            alphas.append((slot, a))
        r = q * gamma[idx][:, None, None]
        for slot, a in reversed(alphas):
            b = rho[slot, idx] * np.einsum("tpk,tpk->t", Y_hist[slot, idx], r)
            r += (a - b)[:, None, None] * S_hist[slot, idx]
        d = -r
        gd = np.einsum("tpk,tpk->t", g, d)
        bad = gd >= 0  # not a descent direction: fall back to steepest descent
        if np.any(bad):
            d[bad] = -g[bad]
            gd[bad] = -np.einsum("tpk,tpk->t", g[bad], g[bad])
        step = np.ones(idx.size)
        if it == 0:
            step = np.minimum(1.0, 1.0 / np.maximum(np.abs(g).reshape(idx.size, -1).sum(axis=1), 1e-12))
        f0 = f[idx]
        f_new = np.empty(idx.size)
        G_new = np.empty_like(g)
        todo = np.arange(idx.size)
        for _ in range(50):  # backtracking with Armijo's condition, per model
            Wt = W[idx[todo]] + step[todo, None, None] * d[todo]
            ft, Gt = prob.evaluate(Wt, idx[todo])
            ok = ft <= f0[todo] + 1e-4 * step[todo] * gd[todo]
            f_new[todo[ok]] = ft[ok]
            G_new[todo[ok]] = Gt[ok]
            if np.all(ok):
                break
            f_new[todo[~ok]] = ft[~ok]
            G_new[todo[~ok]] = Gt[~ok]
            todo = todo[~ok]
            step[todo] *= 0.5
        s = step[:, None, None] * d
        y = G_new - g
        sy = np.einsum("tpk,tpk->t", s, y)
        yy = np.einsum("tpk,tpk->t", y, y)
        slot = it % _HISTORY
        good = sy > 1e-10 * np.maximum(yy, 1e-300)
        S_hist[slot, idx] = s
        Y_hist[slot, idx] = y
        rho[slot, idx] = np.where(good, 1.0 / np.where(good, sy, 1.0), 0.0)
        gamma[idx] = np.where(good, sy / np.where(good, yy, 1.0), gamma[idx])
        decrease = f[idx] - f_new
        W[idx] += s
        f[idx] = f_new
        G[idx] = G_new
        n_iter[idx] += 1
        gmax = np.abs(G_new).reshape(idx.size, -1).max(axis=1)
        stalled = decrease <= 64 * np.finfo(float).eps * np.maximum(np.abs(f_new), 1.0)
        active[idx] = (gmax > tol) & ~stalled
    return LRBatch(coef=W, present=prob.present, n_iter=n_iter)
