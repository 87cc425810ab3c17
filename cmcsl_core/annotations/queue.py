"""The review queue: items whose modalities disagree, in one of :data:`QUEUE_ORDERS`.

``closest`` (closest call first) ranks by the *gap* below; ``confidence`` ranks by the
labeler's own confidence (:attr:`LabelingResult.confidence`, least confident first: for
the spreading labelers the margin of the class distribution that decided, for CMCSL the
distance margin between the nearest and the second-nearest class). Two more orders are
batches recomputed from the labels in force after every batch: ``uncertain``
(:func:`least_confident`, every item not labelled yet, not only the disagreements) and
``next`` ("label these next", :func:`~cmcsl_core.annotations.suggest.suggest_next`).
Which order the Review page starts with depends on the labeler
(:func:`default_queue_order`: the order that measured best, :data:`MEASURED_ORDERS`).

CMCSL resolves a disagreement by raw Euclidean distance to the nearest seed, but
distances of different modalities live on different scales (a 512-d image space and
a 384-d text space), so the raw gap says little about how close the call was. The
queue therefore compares *scaled* distances:

``median`` (default)
    each modality's distance divided by that modality's median nearest-seed
    distance over the non-seed items (1.0 = a typical item of that modality);
``rank``
    each distance's percentile within its modality over the non-seed items
    (0 = nearest, 1 = farthest; ties share the mean rank).

An item's *gap* is the smallest difference of scaled distances between two
modalities that propose different labels; the smaller the gap, the closer the call,
the earlier the item in the queue. Items where all modalities agree have gap ``inf``
and are never queued. Ties keep the item order.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labelers.nearest import median_scale
from cmcsl_core.method.labeling import LabelingResult

__all__ = [
    "SCALINGS",
    "QUEUE_ORDERS",
    "DEFAULT_QUEUE_ORDER",
    "QUEUE_ORDER_LABELS",
    "BATCH_ORDERS",
    "MEASURED_ORDERS",
    "default_queue_order",
    "least_confident",
    "item_mask",
    "scaled_distances",
    "disagreement_gap",
    "review_queue",
    "queue_table",
]

SCALINGS: tuple[str, ...] = ("median", "rank")
"""How distances are made comparable across modalities (see the module docstring)."""

QUEUE_ORDERS: tuple[str, ...] = ("closest", "confidence", "uncertain", "next")
"""Orders the Review page offers: the two of :func:`review_queue` (the disagreements of the seeds' run, fixed
for the session) and two batch orders (:data:`BATCH_ORDERS`)."""

BATCH_ORDERS: tuple[str, ...] = ("uncertain", "next")
"""Orders given a batch at a time from the labels in force (after every batch, the next from the new labels):
``uncertain``, :func:`least_confident`; ``next``, :func:`~cmcsl_core.annotations.suggest.suggest_next`."""

DEFAULT_QUEUE_ORDER = "closest"
"""The order of a labeler :data:`MEASURED_ORDERS` does not name, and :func:`review_queue`'s default."""

MEASURED_ORDERS: dict[str, str] = {
    "cmcsl": "confidence",
    "cmcsl-scaled": "confidence",
    "ls": "uncertain",
    "cm-ls": "uncertain",
    "ls-cmn": "next",
    "cm-ls-cmn": "next",
    "self-training": "confidence",
    "co-training": "confidence",
}
"""The order the Review page starts with, per labeler: the one of :data:`QUEUE_ORDERS` that measured best.

``benchmarks/bench_review.py`` (built-in tweets, b_class 5, 8 seed draws; the table is in
docs/labelers.md): the highest BAC on the items not labelled yet after 100 human labels; orders
within 0.002 of it count as tied, and of those the one with the higher mean gain over random
from 10 to 200 labels wins. ``auto`` takes the order of the labeler it chose.
"""

QUEUE_ORDER_LABELS: dict[str, str] = {
    "closest": "Closest call first",
    "confidence": "Labeler's least confident first",
    "uncertain": "Least confident of all items (10 at a time)",
    "next": "Label these next (10 at a time)",
}


def default_queue_order(labeler: str) -> str:
    """The Review page's first order for a labeler (:data:`MEASURED_ORDERS`; :data:`DEFAULT_QUEUE_ORDER` otherwise)."""
    return MEASURED_ORDERS.get(labeler, DEFAULT_QUEUE_ORDER)


def least_confident(
    result: LabelingResult, k: int, reviewed: Iterable[int] | np.ndarray | None = None
) -> np.ndarray:
    """The ``k`` items neither seeds nor ``reviewed`` with the lowest labeler confidence, least confident first.

    Uncertainty sampling over all items, not only the disagreements (ties keep the item
    order; a result without confidence ranks by the disagreement gap).
    """
    free = np.flatnonzero(~result.is_seed & ~item_mask(reviewed, result.n_items))
    key = disagreement_gap(result) if result.confidence is None else np.asarray(result.confidence, dtype=np.float64)
    return free[np.argsort(key[free], kind="stable")[: max(int(k), 0)]]


def _non_seed(result: LabelingResult) -> np.ndarray:
    keep = ~result.is_seed
    return keep if keep.any() else np.ones(result.n_items, dtype=bool)


def scaled_distances(result: LabelingResult, scaling: str = "median") -> np.ndarray:
    """Each modality's nearest-seed distances on a common scale, shape (M, N).

    Parameters
    ----------
    result : LabelingResult
    scaling : {"median", "rank"}
        See the module docstring. A modality whose median distance is 0 is divided
        by its mean (or left as is when that is 0 too).
    """
    if scaling not in SCALINGS:
        raise CMCSLError(f"unknown scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")
    d = np.asarray(result.distances, dtype=np.float64)
    ref = d[:, _non_seed(result)]
    if scaling == "median":
        return d / median_scale(d, ~_non_seed(result))[:, None]
    out = np.empty_like(d)
    for m in range(d.shape[0]):
        sorted_ref = np.sort(ref[m])
        lo = np.searchsorted(sorted_ref, d[m], side="left")
        hi = np.searchsorted(sorted_ref, d[m], side="right")
        denom = max(sorted_ref.size - 1, 1)
        out[m] = ((lo + hi - 1) / 2.0).clip(0, None) / denom
    return out


def disagreement_gap(result: LabelingResult, scaling: str = "median") -> np.ndarray:
    """Per item, the smallest scaled-distance difference between modalities proposing different labels.

    Returns
    -------
    ndarray of shape (N,)
        ``inf`` where all modalities agree.
    """
    s = scaled_distances(result, scaling)
    labels = result.labels
    gap = np.full(result.n_items, np.inf)
    m_count = labels.shape[0]
    for a in range(m_count):
        for b in range(a + 1, m_count):
            differ = labels[a] != labels[b]
            gap = np.where(differ, np.minimum(gap, np.abs(s[a] - s[b])), gap)
    return gap


def item_mask(values: Iterable[int] | np.ndarray | None, n: int) -> np.ndarray:
    """A boolean mask (N,) from item indices or a mask (None: no item)."""
    mask = np.zeros(n, dtype=bool)
    if values is None:
        return mask
    arr = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise CMCSLError(f"a mask must have {n} entries, got {arr.shape}")
        return arr.copy()
    mask[arr.astype(np.int64)] = True
    return mask


def review_queue(
    result: LabelingResult,
    classes: Iterable[int] | None = None,
    decided_by: Iterable[int | str] | None = None,
    reviewed: Iterable[int] | np.ndarray | None = None,
    unreviewed_only: bool = False,
    scaling: str = "median",
    order: str = DEFAULT_QUEUE_ORDER,
) -> np.ndarray:
    """Indices of the disagreeing items to review, closest calls (or least confident) first.

    Parameters
    ----------
    result : LabelingResult
        A CMCSL run (e.g. ``AnnotatedLabels.result`` or the page's current run).
    classes : iterable of int, optional
        Keep items where ANY modality proposes one of these classes.
    decided_by : iterable of int or str, optional
        Keep items decided by one of these modalities (indices or names).
    reviewed : indices or boolean mask, optional
        Items a person already labelled (``HumanLabels.index``).
    unreviewed_only : bool
        Drop the ``reviewed`` items.
    scaling : {"median", "rank"}
        How distances are made comparable (module docstring).
    order : {"closest", "confidence"}
        Closest call first, or the labeler's least confident first (ties keep the item
        order; a result without confidence is ranked by the gap). The page's ``next``
        order is :func:`~cmcsl_core.annotations.suggest.suggest_next`, not a queue.

    Returns
    -------
    ndarray of int
        Item indices in review order.
    """
    if order not in ("closest", "confidence"):
        raise CMCSLError(f"unknown queue order {order!r}; choose closest or confidence")
    n = result.n_items
    gap = disagreement_gap(result, scaling)
    keep = np.isfinite(gap) & ~result.is_seed
    if classes is not None:
        wanted = np.asarray(list(classes), dtype=np.int64)
        keep &= np.isin(result.labels, wanted).any(axis=0)
    if decided_by is not None:
        names = result.modality_names
        modalities = [names.index(m) if isinstance(m, str) else int(m) for m in decided_by]
        keep &= np.isin(result.decided_by, np.asarray(modalities, dtype=np.int64))
    if unreviewed_only:
        keep &= ~item_mask(reviewed, n)
    idx = np.flatnonzero(keep)
    key = gap if order == "closest" or result.confidence is None else np.asarray(result.confidence, dtype=np.float64)
    return idx[np.argsort(key[idx], kind="stable")]


def queue_table(
    fs: FeatureSet,
    result: LabelingResult,
    order: Sequence[int] | np.ndarray,
    reviewed: Iterable[int] | np.ndarray | None = None,
    scaling: str = "median",
) -> pd.DataFrame:
    """One row per queued item: proposals, nearest seeds, scaled distances, decision, gap.

    Columns: ``index``, ``id`` (if known), ``gap``, per modality ``label_<m>``,
    ``seed_<m>`` (item index of the nearest seed), ``distance_<m>``, ``scaled_<m>``,
    then ``final_label``, ``decided_by``, ``reviewed``.
    """
    idx = np.asarray(order, dtype=np.int64)
    names = np.asarray(fs.class_names, dtype=object)
    scaled = scaled_distances(result, scaling)
    gap = disagreement_gap(result, scaling)
    cols: dict[str, object] = {"index": idx}
    if fs.ids is not None:
        cols["id"] = [fs.ids[i] for i in idx]
    cols["gap"] = gap[idx]
    seed_items = np.asarray(result.seed_idx)
    for m, name in enumerate(result.modality_names):
        cols[f"label_{name}"] = names[result.labels[m, idx]]
        nearest = result.nearest_seed[m, idx]
        cols[f"seed_{name}"] = seed_items[nearest] if result.seeds_are_rows else nearest
        cols[f"distance_{name}"] = result.distances[m, idx]
        cols[f"scaled_{name}"] = scaled[m, idx]
    cols["final_label"] = names[result.final_labels[idx]]
    decided = np.asarray([*result.modality_names, "all"], dtype=object)
    cols["decided_by"] = decided[result.decided_by[idx]]
    cols["reviewed"] = item_mask(reviewed, result.n_items)[idx]
    return pd.DataFrame(cols)
