"""Label spreading (Zhou et al. 2004) on a given graph, several seed sets at once.

The iteration is scikit-learn's :class:`~sklearn.semi_supervised.LabelSpreading`, step
for step, so both give the same class distributions on the same graph (tested)::

    F(0) = Y                      (one-hot rows for the labelled items, 0 elsewhere)
    F(t+1) = alpha * S F(t) + (1 - alpha) * Y
    stop when sum |F(t) - F(t-1)| < tol, or after max_iter steps
    F = F / row sums              (a zero row stays 0)

with ``S = D^-1/2 W D^-1/2`` (:func:`~cmcsl_core.method.graph.spreading_matrix`).

What it does faster: the normalised graph is built once per modality and kept; a step
is one compiled pass over the graph (:mod:`cmcsl_core.method.spread_kernel`: the sparse
product, the update and the change together, no temporary arrays); and many seed sets
(the b_class values of a curve fold, the leave-one-out runs of ``auto``) are spread
together, as column blocks of one matrix, each block stopping at the step at which it
alone would have stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # imported where a graph is built: 75 ms that commands without graphs need not pay
    import scipy.sparse as sp

from cmcsl_core.errors import CMCSLError

__all__ = ["ALPHA", "MAX_ITER", "TOL", "one_hot", "spread", "spread_many", "class_mass_normalise"]

ALPHA: float = 0.99
"""How much of its neighbours' distribution an item takes per step (Zhou et al.; scikit-learn's default is 0.2)."""

MAX_ITER: int = 30
"""Steps at most (scikit-learn's default)."""

TOL: float = 1e-3
"""Convergence tolerance on the summed absolute change (scikit-learn's default)."""


def one_hot(n_items: int, seed_idx: np.ndarray, seed_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``Y`` of shape (N, K): 1 at (seed, its class), 0 elsewhere."""
    Y = np.zeros((n_items, n_classes))
    Y[np.asarray(seed_idx, dtype=np.int64), np.asarray(seed_labels, dtype=np.int64)] = 1.0
    return Y


def spread_many(
    S: sp.spmatrix,
    Ys: Sequence[np.ndarray],
    alpha: float = ALPHA,
    max_iter: int = MAX_ITER,
    tol: float = TOL,
) -> list[np.ndarray]:
    """Spread several label matrices over one graph; each result equals a separate :func:`spread`.

    Parameters
    ----------
    S : sparse matrix of shape (N, N)
        The normalised graph.
    Ys : sequence of ndarray of shape (N, K)
        One-hot label matrices (:func:`one_hot`), one per seed set.
    alpha, max_iter, tol
        As in :class:`sklearn.semi_supervised.LabelSpreading`.

    Returns
    -------
    list of ndarray of shape (N, K)
        Row-normalised class distributions.
    """
    import scipy.sparse as sp
    if not 0.0 < float(alpha) < 1.0:
        raise CMCSLError(f"alpha must be strictly between 0 and 1, got {alpha}")
    if not Ys:
        return []
    n, k = Ys[0].shape
    blocks = len(Ys)
    Y = np.hstack([np.asarray(y, dtype=np.float64) for y in Ys])  # (N, B*K)
    if S.shape != (n, n):
        raise CMCSLError(f"the graph has {S.shape[0]} items, the labels {n}")
    S = sp.csr_matrix(S)
    step = _compiled_step() if _worth_compiling(S.nnz, Y.shape[1], int(max_iter)) else None
    if step is not None:
        F = _iterate_compiled(step, S, Y, float(alpha), int(max_iter), float(tol), blocks, k)
    else:
        F = _iterate_numpy(S, Y, float(alpha), int(max_iter), float(tol), blocks, k)
    norm = F.reshape(n, blocks, k).sum(axis=2, keepdims=True)
    norm[norm == 0] = 1.0
    F = (F.reshape(n, blocks, k) / norm).reshape(n, blocks * k)
    return [F[:, b * k : (b + 1) * k] for b in range(blocks)]


COMPILE_WORK = 50_000_000
"""Multiply-adds (graph entries x columns x steps) above which the compiled step is used even if numba
is not imported yet (importing it costs ~0.5 s, more than it saves on one small labeling)."""


COMPILE_COLUMNS = 16
"""Fewest label columns for which the compiled step is used: with one seed set of a few classes SciPy's
sparse product is as fast (measured on the ACCDDHMRS graph, 9 columns: 15 ms NumPy against 18 ms compiled for
30 steps; 18 columns: 37 against 27 ms; 180 columns: 431 against 231 ms)."""


def _worth_compiling(nnz: int, columns: int, max_iter: int) -> bool:
    """The compiled step for many columns (a curve fold's seed sets, leave-one-out runs) when numba is loaded
    already (the app, a curve) or the job is large."""
    import sys

    if columns < COMPILE_COLUMNS:
        return False
    return "numba" in sys.modules or nnz * columns * max_iter > COMPILE_WORK


def _compiled_step():  # type: ignore[no-untyped-def]
    """The numba step (:mod:`cmcsl_core.method.spread_kernel`), or None without numba."""
    try:
        from cmcsl_core.method.spread_kernel import spread_step
    except ImportError:  # pragma: no cover - numba comes with umap-learn
        return None
    return spread_step


def _iterate_compiled(step, S: sp.csr_matrix, Y: np.ndarray, alpha: float, max_iter: int, tol: float,  # type: ignore[no-untyped-def]
                      blocks: int, k: int) -> np.ndarray:
    """scikit-learn's loop with the compiled step: each block stops when its own change falls below ``tol``."""
    n = Y.shape[0]
    F = np.ascontiguousarray(Y)
    static = (1.0 - alpha) * F
    out = np.empty_like(F)
    change_cols = np.empty(F.shape[1])
    change = np.abs(F).reshape(n, blocks, k).sum(axis=(0, 2))  # |F(0) - 0|
    active = np.ones(blocks, dtype=bool)
    indptr, indices, data = S.indptr.astype(np.int64), S.indices.astype(np.int64), S.data.astype(np.float64)
    for _ in range(max_iter):
        active &= ~(change < tol)
        if not active.any():
            break
        step(indptr, indices, data, F, static, alpha, np.repeat(active, k), out, change_cols)
        F, out = out, F
        change = change_cols.reshape(blocks, k).sum(axis=1)
    return F


def _iterate_numpy(S: sp.csr_matrix, Y: np.ndarray, alpha: float, max_iter: int, tol: float, blocks: int,
                   k: int) -> np.ndarray:
    """The same loop with SciPy's sparse product (when numba is missing)."""
    n = Y.shape[0]
    F = Y.copy()
    static = (1.0 - alpha) * Y
    prev = np.zeros_like(F)
    active = np.ones(blocks, dtype=bool)
    for _ in range(max_iter):
        change = np.abs(F - prev).reshape(n, blocks, k).sum(axis=(0, 2))
        active &= ~(change < tol)
        if not active.any():
            break
        cols = np.repeat(active, k)
        prev = F.copy()
        if active.all():
            F = S @ F
            F *= alpha
            F += static
        else:
            F[:, cols] = alpha * (S @ F[:, cols]) + static[:, cols]
    return F


def spread(
    S: sp.spmatrix, Y: np.ndarray, alpha: float = ALPHA, max_iter: int = MAX_ITER, tol: float = TOL
) -> np.ndarray:
    """Spread one label matrix ``Y`` (N, K) over the normalised graph ``S``; row-normalised distributions."""
    return spread_many(S, [Y], alpha, max_iter, tol)[0]


def class_mass_normalise(F: np.ndarray) -> np.ndarray:
    """Class mass normalisation (Zhu, Ghahramani & Lafferty 2003): each class column divided by its total
    over the items, then each row by its sum (a zero row or column stays 0).

    With ``alpha`` near 1 and a graph that mixes within ``max_iter`` steps (a few hundred
    items, or a dense region) every item's distribution drifts towards the same global
    class mix; dividing by that mix brings back what is local to the item.
    """
    mass = F.sum(axis=0, keepdims=True)
    G = F / np.where(mass > 0, mass, 1.0)
    rows = G.sum(axis=1, keepdims=True)
    return G / np.where(rows > 0, rows, 1.0)
