"""The nearest-seed labelers: ``cmcsl`` (the paper's rule) and ``cmcsl-scaled``.

``cmcsl``
    Each item takes its nearest seed's label in every modality (UNI); where the
    modalities disagree, the modality in which the item lies nearer (Euclidean) to its
    seed wins. Exactly :func:`~cmcsl_core.method.labeling.cross_modal_labels` (its
    exactness tests hold for the labeler).
``cmcsl-scaled``
    The same, but each modality's distances are divided by that modality's median
    nearest-seed distance over the non-seed items before they are compared (what the
    Review queue compares): a 1,280-d image space and a 384-d text space no longer
    decide by their scale.

Class scores are the negative distances to each class's nearest seed (scaled for
``cmcsl-scaled``); the confidence is the margin between the nearest and the second
nearest class over all modalities (the distance the decision would have to move to
flip).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Sequence

import numpy as np

from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.base import BaseLabeler, check_labelled, margin
from cmcsl_core.method.labeling import (
    LabelingResult,
    cross_modal_labels,
    nearest_seed,
    nearest_seed_per_class,
    squared_distances,
)

__all__ = ["CMCSLLabeler", "ScaledCMCSLLabeler", "median_scale"]


def median_scale(distances: np.ndarray, is_seed: np.ndarray) -> np.ndarray:
    """Per modality, the median nearest-seed distance over the non-seed items, shape (M,).

    A modality whose median is 0 gets its mean (or 1 when that is 0 too); with no
    non-seed item every item counts.
    """
    d = np.asarray(distances, dtype=np.float64)
    keep = ~np.asarray(is_seed, dtype=bool)
    ref = d[:, keep] if keep.any() else d
    scale = np.median(ref, axis=1)
    mean = ref.mean(axis=1)
    return np.where(scale > 0, scale, np.where(mean > 0, mean, 1.0))


def _class_distances(
    graphs: FeatureGraphs, seed_idx: np.ndarray, seed_labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """(M, N, K) distances to each class's nearest seed (a seed is at 0 from its own class)."""
    out = np.empty((len(graphs.X), graphs.n_items, n_classes))
    for m, X in enumerate(graphs.X):
        _, out[m] = nearest_seed_per_class(X, np.asarray(X, dtype=np.float64)[seed_idx], seed_labels, n_classes)
        out[m, seed_idx, seed_labels] = 0.0
    return out


class CMCSLLabeler(BaseLabeler):
    """The paper's rule: nearest seed per modality; the nearer modality decides disagreements.

    Examples
    --------
    >>> import numpy as np
    >>> X_img = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 4.9]])
    >>> X_txt = np.array([[1.0], [0.9], [-1.0], [-1.1]])
    >>> CMCSLLabeler().fit([X_img, X_txt], np.array([0, -1, 1, -1])).transduction_
    array([0, 0, 1, 1])
    """

    name: ClassVar[str] = "cmcsl"
    scaled: ClassVar[bool] = False

    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        base = cross_modal_labels(graphs.X, seed_idx, seed_labels, modality_names)
        D = _class_distances(graphs, seed_idx, seed_labels, n_classes)
        if not self.scaled:
            return dataclasses.replace(
                base, labeler=self.name, class_scores=-D, confidence=margin((-D).max(axis=0))
            )
        scale = median_scale(base.distances, base.is_seed)
        scaled = base.distances / scale[:, None]
        winner = np.argmin(scaled, axis=0)  # the first modality wins exact ties
        n = base.n_items
        final = base.labels[winner, np.arange(n)]
        final[seed_idx] = seed_labels
        scores = -D / scale[:, None, None]
        return dataclasses.replace(
            base,
            final_labels=final,
            decided_by=np.where(base.disagree, winner, -1),
            labeler=self.name,
            class_scores=scores,
            confidence=margin(scores.max(axis=0)),
        )

    def held_out_labels(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        held_out: np.ndarray,
    ) -> np.ndarray:
        """Each held-out seed's label from its nearest *other* seed per modality (one small distance matrix).

        ``cmcsl-scaled`` divides by the scales of the run with all seeds.
        """
        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        held = np.asarray(held_out, dtype=np.int64)
        m_count = len(graphs.X)
        dist = np.empty((m_count, held.size))
        lab = np.empty((m_count, held.size), dtype=np.int64)
        scale = np.ones(m_count)
        for m, X in enumerate(graphs.X):
            S = np.asarray(X, dtype=np.float64)[seed_idx]
            d2 = squared_distances(S[held], S)
            d2[np.arange(held.size), held] = np.inf
            near = np.argmin(d2, axis=1)
            dist[m] = np.sqrt(np.maximum(d2[np.arange(held.size), near], 0.0))
            lab[m] = seed_labels[near]
            if self.scaled:
                _, d_all = nearest_seed(X, S, exact_distances=False)
                is_seed = np.zeros(graphs.n_items, dtype=bool)
                is_seed[seed_idx] = True
                scale[m] = median_scale(d_all[None, :], is_seed)[0]
        winner = np.argmin(dist / scale[:, None], axis=0)
        return lab[winner, np.arange(held.size)]


class ScaledCMCSLLabeler(CMCSLLabeler):
    """CMCSL deciding disagreements on distances divided by each modality's median nearest-seed distance."""

    name: ClassVar[str] = "cmcsl-scaled"
    scaled: ClassVar[bool] = True
