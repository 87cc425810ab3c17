"""The spreading labelers: ``ls``, ``cm-ls`` (scikit-learn's label spreading) and ``ls-cmn``, ``cm-ls-cmn``.

All four spread the labelled items' classes over each modality's symmetric kNN graph
(:mod:`cmcsl_core.method.graph`, ``k = 10``) with Zhou et al.'s iteration
(:mod:`cmcsl_core.method.spreading`, ``alpha = 0.99``, 30 steps), which gives every item a
class distribution per modality. They differ in how the modalities meet:

``ls``
    the modality whose own distribution peaks higher decides (CMCSL's "the more
    confident modality wins", with spreading in place of the nearest seed);
``cm-ls``
    the distributions, normalised per item, are averaged over the modalities and the
    average's most probable class is the label (the cross-modal exchange the CMCSL
    paper names as future work); ``decided_by`` is the modality whose own distribution
    favoured that class more.

``ls`` and ``cm-ls`` are scikit-learn's ``LabelSpreading`` on the same graph: the same
class distributions per modality, so the same per-modality labels as its
``transduction_`` (tested through ``label``, the curves and the labelers). Two
differences only where scikit-learn has no answer: a labelled item keeps its own label
(scikit-learn's soft clamping may relabel it), and an item the spreading did not reach
in a modality (no labelled item's mass arrived within ``max_iter`` steps: a graph
component without a labelled item; scikit-learn labels it with its first class) takes
its nearest labelled item's label there.

``ls-cmn`` and ``cm-ls-cmn`` add two measured corrections (``balanced=True``,
``class_mass=True``):

*equal mass per class*
    a labelled item of class ``c`` starts with weight ``mean(n) / n_c`` instead of 1
    (``n_c`` labelled items in class ``c``); with the same number of seeds per class
    (the curves, the app's random draws) that changes nothing. Without it, a class with
    more labelled items floods the graph (after human labels that are mostly of one
    class).
*class mass normalisation* (Zhu, Ghahramani & Lafferty 2003)
    each class's column is divided by its total over the items before the rows are
    normalised again. With ``alpha = 0.99`` a graph that mixes within the 30 steps (a
    few hundred items; dense regions of larger sets) drives every item towards the same
    global class mix, and the plain argmax then labels nearly everything alike.

Their measured effect is in docs/labelers.md (``benchmarks/bench_labelers.py``).
The confidence is the best-minus-second probability of the distribution that decided
(``ls``) or of the average (``cm-ls``).
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import DEFAULT_K, FeatureGraphs
from cmcsl_core.method.labelers.base import (
    BaseLabeler,
    check_labelled,
    fuse_distributions,
    probabilistic_result,
    with_fallback,
)
from cmcsl_core.method.labeling import LabelingResult, nearest_seed, squared_distances
from cmcsl_core.method.spreading import ALPHA, MAX_ITER, TOL, class_mass_normalise, one_hot, spread_many

__all__ = [
    "LabelSpreadingLabeler",
    "CrossModalSpreadingLabeler",
    "BalancedSpreadingLabeler",
    "BalancedCrossModalSpreadingLabeler",
    "SPREAD_BYTES",
    "balanced_one_hot",
]

SPREAD_BYTES = 48 << 20
"""Memory for the label matrices spread together at once (held-out runs are grouped to fit)."""


class LabelSpreadingLabeler(BaseLabeler):
    """Label spreading per modality on a symmetric kNN graph (scikit-learn's); the more confident modality decides.

    Parameters
    ----------
    n_neighbors : int, default=10
        Neighbours per item of each modality's graph.
    alpha : float, default=0.99
        Share of its neighbours' distribution an item takes per step, in (0, 1).
    max_iter : int, default=30
        Steps at most.
    tol : float, default=1e-3
        Convergence tolerance (summed absolute change of the distributions).
    class_mass : bool, default=False
        Class-mass normalise the distributions (see the module docstring); False: scikit-learn's.
    balanced : bool, default=False
        Give every class the same starting mass (see the module docstring); False: scikit-learn's
        one-hot start.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = [np.r_[rng.normal(0, 1, (20, 3)), rng.normal(6, 1, (20, 3))] for _ in range(2)]
    >>> y = np.full(40, -1); y[0], y[20] = 0, 1
    >>> CrossModalSpreadingLabeler().fit(X, y).transduction_[[5, 25]]
    array([0, 1])
    """

    name: ClassVar[str] = "ls"
    rule: ClassVar[str] = "max"

    def __init__(
        self,
        n_neighbors: int = DEFAULT_K,
        alpha: float = ALPHA,
        max_iter: int = MAX_ITER,
        tol: float = TOL,
        class_mass: bool = False,
        balanced: bool = False,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.class_mass = class_mass
        self.balanced = balanced

    def _check(self) -> None:
        if not isinstance(self.n_neighbors, (int, np.integer)) or self.n_neighbors < 1:
            raise CMCSLError(f"n_neighbors must be a whole number >= 1, got {self.n_neighbors!r}")
        if not 0.0 < float(self.alpha) < 1.0:
            raise CMCSLError(f"alpha must lie strictly between 0 and 1, got {self.alpha!r}")
        if int(self.max_iter) < 1 or float(self.tol) < 0:
            raise CMCSLError("max_iter must be >= 1 and tol >= 0")

    def distributions(self, graphs: FeatureGraphs, Ys: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
        """Per modality, the spread class distributions of each label matrix in ``Ys`` (class-mass normalised
        unless ``class_mass=False``)."""
        self._check()
        graphs.build(int(self.n_neighbors))
        out = []
        for m in range(graphs.n_modalities):
            S = graphs.spreading(m, int(self.n_neighbors))
            dists = spread_many(S, Ys, float(self.alpha), int(self.max_iter), float(self.tol))
            out.append([class_mass_normalise(F) for F in dists] if self.class_mass else dists)
        return out

    def start(self, n_items: int, seed_idx: np.ndarray, seed_labels: np.ndarray, n_classes: int) -> np.ndarray:
        """The label matrix the spreading starts from: one-hot rows, weighted per class when ``balanced``."""
        if self.balanced:
            return balanced_one_hot(n_items, seed_idx, seed_labels, n_classes)
        return one_hot(n_items, seed_idx, seed_labels, n_classes)

    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        Y = self.start(graphs.n_items, seed_idx, seed_labels, n_classes)
        P = np.stack([d[0] for d in self.distributions(graphs, [Y])])
        fallback = _fallback(graphs, P, seed_idx, seed_labels)
        return probabilistic_result(
            self.name, graphs, seed_idx, seed_labels, n_classes, P, self.rule, modality_names, fallback
        )

    def final_labels_many(
        self, graphs: FeatureGraphs, seed_sets: Sequence[tuple[np.ndarray, np.ndarray]], n_classes: int
    ) -> list[np.ndarray]:
        """All seed sets spread together (column blocks), then fused; the same labels as :meth:`label` gives."""
        sets = [check_labelled(i, lab, graphs.n_items, n_classes) for i, lab in seed_sets]
        n = graphs.n_items
        group = max(1, SPREAD_BYTES // (4 * 8 * n * max(n_classes, 1)))
        out: list[np.ndarray] = []
        for a in range(0, len(sets), group):
            part = sets[a : a + group]
            dists = self.distributions(graphs, [self.start(n, i, lab, n_classes) for i, lab in part])
            for j, (idx, lab) in enumerate(part):
                P = np.stack([d[j] for d in dists])
                P = with_fallback(P, _fallback(graphs, P, idx, lab))
                final = fuse_distributions(P, self.rule)[0]
                final[idx] = lab
                out.append(final.astype(np.int64))
        return out

    def held_out_labels(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        held_out: np.ndarray,
    ) -> np.ndarray:
        """All held-out runs spread together (column blocks of one matrix per modality), in memory-bounded groups."""
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        held = np.asarray(held_out, dtype=np.int64)
        n, m_count = graphs.n_items, graphs.n_modalities
        P = np.zeros((m_count, held.size, n_classes))
        group = max(1, SPREAD_BYTES // (4 * 8 * n * max(n_classes, 1)))
        for a in range(0, held.size, group):
            part = held[a : a + group]
            Ys = []
            for pos in part:
                keep = np.arange(seed_idx.size) != pos
                Ys.append(self.start(n, seed_idx[keep], seed_labels[keep], n_classes))
            for m, dists in enumerate(self.distributions(graphs, Ys)):
                for j, (pos, F) in enumerate(zip(part, dists)):
                    P[m, a + j] = F[seed_idx[pos]]
        for m, X in enumerate(graphs.X):  # not reached: the nearest other seed's label
            empty = P[m].sum(axis=1) == 0
            if empty.any():
                S = np.asarray(X, dtype=np.float64)[seed_idx]
                d2 = squared_distances(S[held[empty]], S)
                d2[np.arange(int(empty.sum())), held[empty]] = np.inf
                P[m, empty, seed_labels[np.argmin(d2, axis=1)]] = 1.0
        return fuse_distributions(P, self.rule)[0]


def balanced_one_hot(n_items: int, seed_idx: np.ndarray, seed_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """:func:`~cmcsl_core.method.spreading.one_hot` with class ``c``'s rows weighted ``mean(n) / n_c``.

    Every class gets equal mass.
    """
    Y = one_hot(n_items, seed_idx, seed_labels, n_classes)
    counts = np.bincount(np.asarray(seed_labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    present = counts > 0
    if present.any() and counts[present].min() != counts[present].max():
        weight = np.where(present, counts[present].mean() / np.where(present, counts, 1.0), 0.0)
        Y *= weight[None, :]
    return Y


def _fallback(graphs: FeatureGraphs, P: np.ndarray, seed_idx: np.ndarray, seed_labels: np.ndarray) -> np.ndarray | None:
    """Nearest-seed labels (M, N) where some item got no mass in some modality, else None."""
    if not (P.sum(axis=2) == 0).any():
        return None
    return np.stack(
        [
            seed_labels[nearest_seed(X, np.asarray(X, dtype=np.float64)[seed_idx], exact_distances=False)[0]]
            for X in graphs.X
        ]
    )


class CrossModalSpreadingLabeler(LabelSpreadingLabeler):
    """Cross-modal label spreading: scikit-learn's spreading per modality, distributions averaged across modalities."""

    name: ClassVar[str] = "cm-ls"
    rule: ClassVar[str] = "mean"


class BalancedSpreadingLabeler(LabelSpreadingLabeler):
    """``ls`` with equal mass per class and class mass normalisation (``ls-cmn``; see the module docstring)."""

    name: ClassVar[str] = "ls-cmn"

    def __init__(
        self,
        n_neighbors: int = DEFAULT_K,
        alpha: float = ALPHA,
        max_iter: int = MAX_ITER,
        tol: float = TOL,
        class_mass: bool = True,
        balanced: bool = True,
    ) -> None:
        super().__init__(n_neighbors, alpha, max_iter, tol, class_mass, balanced)


class BalancedCrossModalSpreadingLabeler(BalancedSpreadingLabeler):
    """``cm-ls`` with equal mass per class and class mass normalisation (``cm-ls-cmn``)."""

    name: ClassVar[str] = "cm-ls-cmn"
    rule: ClassVar[str] = "mean"
