"""Cross-modality clustering-based self-labeling (the core of CMCSL).

For every modality, each item is assigned to its nearest seed (one k-means
assignment step with the ``c = K * b_class`` seeds as fixed centroids) and takes
that seed's label: these are the *UNI* labels. Where the modalities disagree, the
label of the modality in which the item lies nearer (Euclidean) to its seed wins:
the *CMCSL* label.

Rules, fixed and documented:

* **Seeds keep their own label** in every modality (distance 0, own cluster), even
  if another seed has identical features.
* **Ties between seeds** (two seeds at exactly the same distance) go to the seed
  listed first in ``seed_idx``.
* **Ties between modalities** (equal distances, different labels) go to the
  modality listed first.
* ``decided_by`` is ``-1`` where all modalities agree, else the index of the
  modality whose label was kept.

Distances come from one matrix product per modality (``|x|^2 - 2 x.s + |s|^2``);
rows where the best two candidates are within rounding error are re-checked
exactly, so the assignment equals a brute-force search. Reported distances are
recomputed exactly for the chosen seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.method.seeds import check_seeds

__all__ = [
    "LabelingResult",
    "squared_norms",
    "squared_distances",
    "distances_to",
    "nearest_seed",
    "cross_modal_labels",
    "nearest_seed_per_class",
    "propagate",
]


class Described(Protocol):
    """What a labeler that chose among others reports (``auto``'s selection): one line for people."""

    def describe(self) -> str: ...


@dataclass(frozen=True)
class LabelingResult:
    """The outcome of self-labeling one set of items from one set of seeds.

    Attributes
    ----------
    modality_names : tuple of str
        The M modalities, in the order of the arrays below.
    seed_idx : ndarray of shape (S,)
        Item indices of the seeds.
    seed_labels : ndarray of shape (S,)
        Labels of the seeds.
    labels : ndarray of shape (M, N)
        Per-modality (UNI) labels: the label of the nearest seed in that modality.
    distances : ndarray of shape (M, N)
        Euclidean distance to that nearest seed.
    nearest_seed : ndarray of shape (M, N)
        Position in ``seed_idx`` of the nearest seed (the item's cluster).
    final_labels : ndarray of shape (N,)
        Cross-modal (CMCSL) labels.
    decided_by : ndarray of shape (N,)
        Index of the modality whose label was kept, or -1 where all agree.
    disagree : ndarray of shape (N,), bool
        Whether the modalities' labels differ.
    seeds_are_rows : bool
        Whether ``seed_idx`` indexes the labeled items (False when new items were
        labeled from an earlier fit's seeds).
    labeler : str
        Name of the labeler that produced the labels (:mod:`cmcsl_core.method.labelers`).
    class_scores : ndarray of shape (M, N, K), optional
        Each modality's score of every class for every item (larger = more likely):
        a class distribution for the spreading and classifier labelers, the negative
        distance to the nearest seed of the class for the nearest-seed labelers.
    confidence : ndarray of shape (N,), optional
        How sure the labeler is of the final label, on its own scale (larger = surer):
        the margin between its best and second-best class.
    selection : object, optional
        For the ``auto`` labeler, its :class:`~cmcsl_core.method.labelers.auto.Selection`
        (the estimate of every candidate and the one chosen).

    For labelers that do not label by nearest seed, ``nearest_seed`` and ``distances``
    name the nearest seed *of the class the modality proposes* (for CMCSL that is the
    nearest seed), so every labeling can show the labelled item behind a proposal.
    """

    modality_names: tuple[str, ...]
    seed_idx: np.ndarray
    seed_labels: np.ndarray
    labels: np.ndarray
    distances: np.ndarray
    nearest_seed: np.ndarray
    final_labels: np.ndarray
    decided_by: np.ndarray
    disagree: np.ndarray
    seeds_are_rows: bool = True
    labeler: str = "cmcsl"
    class_scores: np.ndarray | None = None
    confidence: np.ndarray | None = None
    selection: Described | None = None

    @property
    def n_items(self) -> int:
        """Number of labeled items N."""
        return int(self.final_labels.shape[0])

    @property
    def is_seed(self) -> np.ndarray:
        """Boolean mask of the seed items, shape (N,)."""
        mask = np.zeros(self.n_items, dtype=bool)
        if self.seeds_are_rows:
            mask[self.seed_idx] = True
        return mask

    def uni_labels(self, modality: int | str) -> np.ndarray:
        """UNI labels of one modality (by index or name)."""
        m = self.modality_names.index(modality) if isinstance(modality, str) else int(modality)
        return self.labels[m]


def squared_norms(X: np.ndarray) -> np.ndarray:
    """Row-wise squared Euclidean norms."""
    return np.einsum("ij,ij->i", X, X)


def squared_distances(
    X: np.ndarray, S: np.ndarray, xx: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """(N, S) squared distances by one matrix product, ``|x|^2 - 2 x.s + |s|^2`` (may be off by rounding).

    ``out``: an (N, S) float64 array to write them into (returned).
    """
    xx = squared_norms(X) if xx is None else xx
    d2 = np.matmul(X, S.T, out=out)
    d2 *= -2.0
    d2 += squared_norms(S)[None, :]
    d2 += xx[:, None]
    return d2


def _rounding_bound(xx: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Per-row bound on the rounding error of :func:`squared_distances`."""
    return 1e-12 * (xx + squared_norms(S).max()) + 1e-300


BLOCK_BYTES = 4 << 20
"""Bytes of float64 temporaries that :func:`nearest_seed` and :func:`distances_to` hold at a time.

They work through the items in row blocks of this size, reusing one buffer: 100,000 items x
148 seeds would otherwise be a fresh 118 MB matrix per seed change (and 6,865 x 512 differences
28 MB), and on the app's server first touching that memory cost more than the arithmetic.
"""


def _block_rows(row_values: int) -> int:
    """Rows per block when a row of the temporary holds ``row_values`` float64 values (at least 1)."""
    return max(1, BLOCK_BYTES // (8 * max(row_values, 1)))


def distances_to(X: np.ndarray, S: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from every row ``i`` of ``X`` to ``S[idx[i]]``, shape (N,).

    Computed in row blocks (:data:`BLOCK_BYTES`) through one reused buffer: bit for bit
    ``sqrt(einsum("ij,ij->i", D, D))`` with ``D = X - S[idx]``, without that (N, d) temporary.
    """
    n, d = X.shape
    step = _block_rows(d)
    out = np.empty(n, dtype=np.float64)
    buf = np.empty((min(step, n), d), dtype=np.float64)
    for a in range(0, n, step):
        b = min(a + step, n)
        diff = buf[: b - a]
        np.take(S, idx[a:b], axis=0, out=diff)
        np.subtract(X[a:b], diff, out=diff)
        out[a:b] = np.einsum("ij,ij->i", diff, diff)
    return np.sqrt(out, out=out)


def _exact_sq(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    return ((X[:, None, :] - S[None, :, :]) ** 2).sum(axis=2)


def _assign(X: np.ndarray, S: np.ndarray, d2: np.ndarray, xx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest seed and its squared distance for the rows of ``X``, given their :func:`squared_distances`.

    Rows whose runner-up is within rounding error of the best are decided on exact distances.
    """
    idx = np.argmin(d2, axis=1)
    best = d2[np.arange(d2.shape[0]), idx]
    if S.shape[0] > 1:
        tol = _rounding_bound(xx, S)
        near = np.count_nonzero(d2 <= (best + tol)[:, None], axis=1) > 1
        if np.any(near):
            rows = np.flatnonzero(near)
            exact = _exact_sq(X[rows], S)
            idx[rows] = np.argmin(exact, axis=1)
            best[rows] = exact[np.arange(rows.size), idx[rows]]
    return idx, best


def nearest_seed(
    X: np.ndarray,
    S: np.ndarray,
    d2: np.ndarray | None = None,
    xx: np.ndarray | None = None,
    exact_distances: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest row of ``S`` for every row of ``X``.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Items.
    S : ndarray of shape (S, d)
        Seeds (centroids).
    d2 : ndarray of shape (N, S), optional
        Precomputed :func:`squared_distances` (e.g. columns of a larger matrix). Without
        it they are computed here, :data:`BLOCK_BYTES` at a time.
    xx : ndarray of shape (N,), optional
        Precomputed squared norms of ``X``.
    exact_distances : bool
        Recompute the returned distances exactly (default). Otherwise they come from
        the expansion (relative error ~1e-8; the *assignment* is exact either way).

    Returns
    -------
    index : ndarray of shape (N,)
        Position of the nearest seed; exact ties go to the lowest position.
    distance : ndarray of shape (N,)
        Euclidean distance to it.
    """
    X = np.asarray(X, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    if S.shape[0] == 0:
        raise CMCSLError("at least one seed is needed")
    xx = squared_norms(X) if xx is None else xx
    if d2 is not None:
        idx, best = _assign(X, S, d2, xx)
    else:
        n = X.shape[0]
        idx = np.empty(n, dtype=np.intp)
        best = np.empty(n, dtype=np.float64)
        step = _block_rows(S.shape[0])  # one matrix product per block
        buf = np.empty((min(step, n), S.shape[0]), dtype=np.float64)
        for a in range(0, n, step):
            b = min(a + step, n)
            block = squared_distances(X[a:b], S, xx[a:b], out=buf[: b - a])
            idx[a:b], best[a:b] = _assign(X[a:b], S, block, xx[a:b])
    if exact_distances:
        return idx, distances_to(X, S, idx)
    return idx, np.sqrt(np.maximum(best, 0.0))


def nearest_seed_per_class(
    X: np.ndarray, S: np.ndarray, seed_labels: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per item and class, the nearest seed of that class and its Euclidean distance.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Items.
    S : ndarray of shape (S, d)
        Seeds.
    seed_labels : ndarray of shape (S,)
        Their classes, in ``0 .. n_classes - 1``.
    n_classes : int
        K.

    Returns
    -------
    index : ndarray of shape (N, K)
        Position in ``S`` of the nearest seed of each class (-1 for a class without seed;
        exact ties go to the lowest position).
    distance : ndarray of shape (N, K)
        Its distance (``inf`` for a class without seed), from the matrix-product
        expansion (relative error ~1e-8), computed :data:`BLOCK_BYTES` at a time.
    """
    X = np.asarray(X, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    labels = np.asarray(seed_labels, dtype=np.int64)
    n = X.shape[0]
    index = np.full((n, n_classes), -1, dtype=np.int64)
    dist = np.full((n, n_classes), np.inf)
    if S.shape[0] == 0 or n == 0:
        return index, dist
    order = np.argsort(labels, kind="stable")  # seeds grouped by class, each group in seed order
    starts = np.searchsorted(labels[order], np.arange(n_classes))
    ends = np.searchsorted(labels[order], np.arange(n_classes), side="right")
    present = np.flatnonzero(ends > starts)
    Sg = S[order]
    xx = squared_norms(X)
    step = _block_rows(S.shape[0])
    buf = np.empty((min(step, n), S.shape[0]), dtype=np.float64)
    for a in range(0, n, step):
        b = min(a + step, n)
        d2 = squared_distances(X[a:b], Sg, xx[a:b], out=buf[: b - a])
        for c in present:
            block = d2[:, starts[c] : ends[c]]
            j = np.argmin(block, axis=1)
            index[a:b, c] = order[starts[c] + j]
            dist[a:b, c] = np.sqrt(np.maximum(block[np.arange(b - a), j], 0.0))
    return index, dist


def cross_modal_labels(
    X_list: Sequence[np.ndarray],
    seed_idx: np.ndarray,
    seed_labels: np.ndarray,
    modality_names: Sequence[str] | None = None,
    seed_X: Sequence[np.ndarray] | None = None,
    sq_distances: Sequence[np.ndarray] | None = None,
    sq_norms: Sequence[np.ndarray] | None = None,
    exact_distances: bool = True,
) -> LabelingResult:
    """Label every item from the seeds, per modality and across modalities.

    Parameters
    ----------
    X_list : sequence of M >= 1 arrays of shape (N, d_m)
        Preprocessed features of the items, one array per modality.
    seed_idx : ndarray of shape (S,)
        Distinct indices of the seeds among the rows of ``X_list`` (or, with
        ``seed_X``, identifiers carried into the result only).
    seed_labels : ndarray of shape (S,)
        The seeds' labels.
    modality_names : sequence of str, optional
        Names for the result (default ``m0, m1, ...``).
    seed_X : sequence of arrays of shape (S, d_m), optional
        The seeds' features when the seeds are not rows of ``X_list`` (labeling
        new items from an earlier fit). Then seeds do not get the own-label rule.
    sq_distances, sq_norms : sequences of arrays, optional
        Precomputed :func:`squared_distances` (N, S) and :func:`squared_norms` per
        modality, for callers that label from many seed sets (the BAC curves).
    exact_distances : bool
        See :func:`nearest_seed`. With ``False``, items whose modalities are within
        rounding error of each other are still decided on exact distances.

    Returns
    -------
    LabelingResult
    """
    if len(X_list) == 0:
        raise CMCSLError("at least one modality is needed")
    seed_idx = np.asarray(seed_idx, dtype=np.int64)
    seed_labels = np.asarray(seed_labels, dtype=np.int64)
    if seed_idx.shape != seed_labels.shape or seed_idx.ndim != 1:
        raise CMCSLError("seed_idx and seed_labels must be 1-D and of equal length")
    n = X_list[0].shape[0]
    if any(X.shape[0] != n for X in X_list):
        raise CMCSLError("all modalities must have the same number of rows")
    names = tuple(modality_names) if modality_names is not None else tuple(f"m{i}" for i in range(len(X_list)))
    own = seed_X is None
    if seed_X is None:
        if np.unique(seed_idx).size != seed_idx.size or (seed_idx.size and (seed_idx.min() < 0 or seed_idx.max() >= n)):
            raise CMCSLError("seed indices must be distinct and refer to existing items")
        seeds = [X[seed_idx] for X in X_list]
    else:
        seeds = [np.asarray(S, dtype=np.float64) for S in seed_X]

    m_count = len(X_list)
    labels = np.empty((m_count, n), dtype=np.int64)
    distances = np.empty((m_count, n), dtype=np.float64)
    nearest = np.empty((m_count, n), dtype=np.int64)
    for m, (X, S) in enumerate(zip(X_list, seeds)):
        idx, dist = nearest_seed(
            X,
            S,
            d2=None if sq_distances is None else sq_distances[m],
            xx=None if sq_norms is None else sq_norms[m],
            exact_distances=exact_distances,
        )
        if own:
            idx[seed_idx] = np.arange(seed_idx.size)
            dist[seed_idx] = 0.0
        nearest[m] = idx
        distances[m] = dist
        labels[m] = seed_labels[idx]

    disagree = np.any(labels != labels[:1], axis=0)
    if not exact_distances and m_count > 1:
        _refine_close_calls(X_list, seeds, nearest, distances, disagree, sq_norms)
    winner = np.argmin(distances, axis=0)  # the first modality wins exact ties
    final = labels[winner, np.arange(n)]
    decided_by = np.where(disagree, winner, -1)
    return LabelingResult(
        modality_names=names,
        seed_idx=seed_idx,
        seed_labels=seed_labels,
        labels=labels,
        distances=distances,
        nearest_seed=nearest,
        final_labels=final,
        decided_by=decided_by,
        disagree=disagree,
        seeds_are_rows=own,
    )


def _refine_close_calls(
    X_list: Sequence[np.ndarray],
    seeds: Sequence[np.ndarray],
    nearest: np.ndarray,
    distances: np.ndarray,
    disagree: np.ndarray,
    sq_norms: Sequence[np.ndarray] | None = None,
) -> None:
    """Recompute exact distances (in place) where the cross-modal decision is within rounding."""
    d_sorted = np.sort(distances, axis=0)
    norms = sq_norms if sq_norms is not None else [squared_norms(X) for X in X_list]
    scale = max(float(np.sqrt(xx.max())) for xx in norms) + max(float(np.sqrt(squared_norms(S).max())) for S in seeds)
    close = disagree & (d_sorted[1] - d_sorted[0] <= 1e-6 * scale)
    rows = np.flatnonzero(close)
    if rows.size == 0:
        return
    for m, (X, S) in enumerate(zip(X_list, seeds)):
        distances[m, rows] = distances_to(X[rows], S, nearest[m, rows])


def propagate(fs: FeatureSet, seed_idx: Sequence[int] | np.ndarray, preprocessing: str = "l2std") -> LabelingResult:
    """Preprocess a whole FeatureSet (fitted on all its rows) and label it from ``seed_idx``.

    This is what ``python -m cmcsl_core label`` and the app's Clusters page compute.
    The seeds' labels are read from ``fs.y``; no other true label is used.
    """
    seed_idx = check_seeds(seed_idx, fs.n_items)
    X_list = preprocess_features(fs.X, preprocessing)
    return cross_modal_labels(X_list, seed_idx, fs.y[seed_idx], fs.modality_names)
