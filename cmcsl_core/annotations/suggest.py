""""Label these next": the contested items whose human label would move the most other labels.

For a candidate item ``c`` (a non-seed item whose modalities disagree) we ask: if a
person confirmed the label CMCSL rejected (its *alternative* label: the label of the
losing modality nearest, in scaled distance, to its seed), ``c`` would become a seed
with that label; how many OTHER items' CMCSL labels would change?

That is exact and cheap: a new seed only captures, in each modality, the items that
lie nearer to it than to their current nearest seed; their UNI label becomes ``c``'s
and their distance the distance to ``c``; the cross-modal decision is then re-taken.
One matrix product per modality and block of candidates gives every candidate's
effect at once.

The ``k`` suggestions are picked greedily for coverage: each next pick is the
candidate that changes the most items not already changed by an earlier pick (a
label moved twice counts once). When no candidate changes anything new, the rest of
the budget is filled with the closest calls. Candidates are the ``max_candidates``
closest calls of the review queue.

The effect of a new seed is computed with the nearest-seed rule (that is what makes it
exact and cheap); for a labeler that labels otherwise (label spreading, ...) the
suggestions come from the CMCSL run on the same labelled items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from cmcsl_core.annotations.queue import item_mask, review_queue, scaled_distances
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labeling import LabelingResult, cross_modal_labels, squared_distances, squared_norms

__all__ = ["Suggestions", "alternative_labels", "label_change_matrix", "suggest_next"]


@dataclass(frozen=True)
class Suggestions:
    """Items to label next, best first.

    Attributes
    ----------
    index : ndarray of int, shape (k,)
        The suggested items.
    alternative : ndarray of int, shape (k,)
        The label CMCSL rejected for each (what a person would be confirming).
    gain : ndarray of int, shape (k,)
        Items whose label it would change that no earlier suggestion changes.
    changes : ndarray of int, shape (k,)
        Items whose label it would change on its own.
    """

    index: np.ndarray
    alternative: np.ndarray
    gain: np.ndarray
    changes: np.ndarray

    def __len__(self) -> int:
        return int(self.index.size)


def alternative_labels(result: LabelingResult, scaling: str = "median") -> np.ndarray:
    """Per item, the rejected label of the losing modality nearest (scaled) to its seed; -1 where all agree."""
    s = scaled_distances(result, scaling)
    losing = result.labels != result.final_labels[None, :]
    masked = np.where(losing, s, np.inf)
    best = np.argmin(masked, axis=0)
    alt = result.labels[best, np.arange(result.n_items)]
    return np.where(np.isfinite(masked.min(axis=0)), alt, -1)


def label_change_matrix(
    X_list: Sequence[np.ndarray],
    result: LabelingResult,
    candidates: np.ndarray,
    new_labels: np.ndarray,
    frozen: np.ndarray | None = None,
    block: int = 64,
) -> np.ndarray:
    """Which items' CMCSL label changes if candidate ``j`` became a seed labelled ``new_labels[j]``.

    Parameters
    ----------
    X_list : sequence of ndarray (N, d_m)
        The preprocessed features ``result`` was computed on.
    result : LabelingResult
        The current run (its seeds must be rows of ``X_list``).
    candidates : ndarray of int, shape (C,)
    new_labels : ndarray of int, shape (C,)
    frozen : boolean ndarray (N,), optional
        Items that never change (seeds and human labels are always frozen).
    block : int
        Candidates per matrix product (memory ~ ``M * block * N`` floats).

    Returns
    -------
    ndarray of bool, shape (C, N)
        ``True`` where the label would change; a candidate's own row entry is False.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    new_labels = np.asarray(new_labels, dtype=np.int64)
    n = result.n_items
    fixed = result.is_seed.copy()
    if frozen is not None:
        fixed |= frozen
    out = np.zeros((candidates.size, n), dtype=bool)
    m_count = len(X_list)
    d2_now = result.distances**2
    norms = [squared_norms(np.asarray(X, dtype=np.float64)) for X in X_list]
    for start in range(0, candidates.size, max(int(block), 1)):
        cand = candidates[start : start + block]
        lab = new_labels[start : start + block]
        dist = np.empty((m_count, cand.size, n))
        labs = np.empty((m_count, cand.size, n), dtype=np.int64)
        for m, X in enumerate(X_list):
            X = np.asarray(X, dtype=np.float64)
            d2 = squared_distances(X[cand], X, norms[m][cand])  # (B, N): candidate to every item
            np.maximum(d2, 0.0, out=d2)
            closer = d2 < d2_now[m][None, :]
            dist[m] = np.where(closer, d2, d2_now[m][None, :])
            labs[m] = np.where(closer, lab[:, None], result.labels[m][None, :])
        winner = np.argmin(dist, axis=0)  # first modality wins ties, as in cross_modal_labels
        new_final = np.take_along_axis(labs, winner[None], axis=0)[0]
        changed = new_final != result.final_labels[None, :]
        changed[:, fixed] = False
        changed[np.arange(cand.size), cand] = False
        out[start : start + cand.size] = changed
    return out


def suggest_next(
    X_list: Sequence[np.ndarray],
    result: LabelingResult,
    k: int,
    reviewed: Iterable[int] | np.ndarray | None = None,
    max_candidates: int = 256,
    scaling: str = "median",
) -> Suggestions:
    """Suggest up to ``k`` items to label next (see the module docstring).

    Parameters
    ----------
    X_list : sequence of ndarray
        The preprocessed features of ``result``.
    result : LabelingResult
        The current run (seeds plus human labels).
    k : int
        The budget (>= 1).
    reviewed : indices, optional
        Items a person labelled already (never suggested, never changed).
    max_candidates : int
        How many of the closest calls are evaluated.
    scaling : {"median", "rank"}

    Returns
    -------
    Suggestions
        Fewer than ``k`` when fewer items are contested.
    """
    if isinstance(k, bool) or int(k) < 1:
        raise CMCSLError(f"the budget k must be at least 1, got {k}")
    if result.labeler != "cmcsl" and result.seeds_are_rows:  # the nearest-seed rule, on the same labelled items
        result = cross_modal_labels(X_list, result.seed_idx, result.seed_labels, result.modality_names)
    frozen = item_mask(reviewed, result.n_items)
    queue = review_queue(result, reviewed=frozen, unreviewed_only=True, scaling=scaling)
    cand = queue[: max(int(max_candidates), 0)]
    empty = np.zeros(0, dtype=np.int64)
    if cand.size == 0:
        return Suggestions(empty, empty.copy(), empty.copy(), empty.copy())
    alt = alternative_labels(result, scaling)[cand]
    changed = label_change_matrix(X_list, result, cand, alt, frozen=frozen)
    alone = changed.sum(axis=1)
    covered = np.zeros(result.n_items, dtype=bool)
    available = np.ones(cand.size, dtype=bool)
    picks: list[int] = []
    gains: list[int] = []
    for _ in range(min(int(k), cand.size)):
        gain = (changed & ~covered[None, :]).sum(axis=1)
        gain[~available] = -1
        j = int(np.argmax(gain))  # first (closest call) among equal gains
        if gain[j] <= 0:
            j = int(np.flatnonzero(available)[0])
        picks.append(j)
        gains.append(max(int(gain[j]), 0))
        available[j] = False
        covered |= changed[j]
    sel = np.asarray(picks, dtype=np.int64)
    return Suggestions(
        index=cand[sel],
        alternative=alt[sel].astype(np.int64),
        gain=np.asarray(gains, dtype=np.int64),
        changes=alone[sel].astype(np.int64),
    )
