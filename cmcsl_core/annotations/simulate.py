"""What a human label buys: a simulated annotator answering the review queue.

The annotator labels items one after another in a given *order* and answers with the
feature file's own label (on the built-in tweets the merged human label). After every
``step`` labels the labeler reruns with the seeds plus all human labels (the Review page
reruns after each label), and at the checkpoints the labels' balanced accuracy is
measured on the items that are neither seeds nor labelled by the annotator yet. Every
answer is also compared with what the studio proposed for that item at that moment
(its final label): the share of agreeing answers is what the Review page shows a real
annotator about their own session.

Orders (:data:`ORDERS`)
    ``closest``     the Review page's queue: disagreements of the seeds-only run, closest
                    call first (fixed for the session, as on the page);
    ``confidence``  the same disagreements, the labeler's least confident first;
    ``uncertain``   every unlabelled item, the labeler's least confident first, ranked again
                    after every ``step`` labels (uncertainty sampling;
                    :func:`~cmcsl_core.annotations.queue.least_confident`);
    ``next``        "Label these next": ``step`` suggestions at a time from the current run
                    (:func:`~cmcsl_core.annotations.suggest.suggest_next`);
    ``random``      every non-seed item in a random order.

A fixed queue that runs out continues with the remaining items in a random order.
``benchmarks/bench_review.py`` runs this for several labelers, orders and seed draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.annotations.queue import least_confident, review_queue
from cmcsl_core.annotations.suggest import suggest_next
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.registry import make_labeler
from cmcsl_core.method.labeling import LabelingResult

__all__ = ["ORDERS", "CHECKPOINTS", "SimulatedReview", "simulate_review", "proposal_agreement"]

ORDERS: tuple[str, ...] = ("closest", "confidence", "uncertain", "next", "random")
"""The annotation orders compared (see the module docstring)."""

CHECKPOINTS: tuple[int, ...] = (0, 10, 20, 50, 100, 150, 200)
"""Numbers of human labels at which the labels are scored."""


@dataclass(frozen=True)
class SimulatedReview:
    """One simulated session.

    Attributes
    ----------
    order, labeler : str
    n_labels : ndarray of int
        The checkpoints reached.
    bac : ndarray of float
        Balanced accuracy at each checkpoint on the items neither seeded nor labelled yet.
    agreement : ndarray of float
        At each checkpoint, the share of the answers so far that equalled the studio's
        proposal at the time (NaN before the first answer).
    items : ndarray of int
        The items labelled, in order.
    """

    order: str
    labeler: str
    n_labels: np.ndarray
    bac: np.ndarray
    agreement: np.ndarray
    items: np.ndarray


def _bac(y: np.ndarray, pred: np.ndarray, scored: np.ndarray, k: int) -> float:
    yt, yp = y[scored], pred[scored]
    support = np.bincount(yt, minlength=k)
    hits = np.bincount(yt[yt == yp], minlength=k)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


def proposal_agreement(proposed: Sequence[int], chosen: Sequence[int]) -> np.ndarray:
    """Running share of answers equal to the proposal: entry ``i`` covers the first ``i + 1`` answers."""
    p, c = np.asarray(proposed, dtype=np.int64), np.asarray(chosen, dtype=np.int64)
    if p.shape != c.shape:
        raise CMCSLError("one proposal per answer is needed")
    return np.cumsum(p == c) / np.arange(1, p.size + 1) if p.size else np.zeros(0)


def simulate_review(
    fs: FeatureSet,
    graphs: FeatureGraphs,
    seed_idx: np.ndarray,
    labeler: str,
    order: str,
    budget: int = 200,
    step: int = 10,
    checkpoints: Sequence[int] = CHECKPOINTS,
    random_state: int = 0,
) -> SimulatedReview:
    """Simulate an annotator labelling ``budget`` items in ``order`` (see the module docstring).

    Parameters
    ----------
    fs : FeatureSet
        The data; ``fs.y`` is the annotator's answer.
    graphs : FeatureGraphs
        ``fs``'s preprocessed features (and kNN graphs).
    seed_idx : ndarray of int
        The seeds (their labels are ``fs.y``).
    labeler : str
        Registry name of the labeler.
    order : str
        One of :data:`ORDERS`.
    budget, step : int
        Labels in all; labels between reruns.
    checkpoints : sequence of int
        Numbers of labels at which to score (those up to ``budget``).
    random_state : int
        Seeds the ``random`` order and the filling of an exhausted queue.
    """
    if order not in ORDERS:
        raise CMCSLError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    seeds = np.asarray(seed_idx, dtype=np.int64)
    n, k = fs.n_items, fs.n_classes
    run = make_labeler(labeler)
    rng = np.random.default_rng(random_state)
    is_seed = np.zeros(n, dtype=bool)
    is_seed[seeds] = True
    filler = rng.permutation(np.flatnonzero(~is_seed))

    def label(human: list[int]) -> LabelingResult:
        idx = np.concatenate([seeds, np.asarray(human, dtype=np.int64)])
        order_ = np.argsort(idx)
        return run.label(graphs, idx[order_], fs.y[idx[order_]], k, fs.modality_names)

    result = label([])
    fixed: np.ndarray | None = None
    if order in ("closest", "confidence"):
        fixed = review_queue(result, order=order)
    elif order == "random":
        fixed = filler
    if fixed is not None:
        fixed = np.concatenate([fixed, filler[~np.isin(filler, fixed)]])

    wanted = sorted({int(c) for c in checkpoints if 0 <= int(c) <= budget})
    human: list[int] = []
    proposed: list[int] = []
    done = np.zeros(n, dtype=bool)
    reached: list[int] = []
    bacs: list[float] = []
    agree: list[float] = []
    cursor = 0
    while True:
        if len(human) in wanted and (not reached or reached[-1] != len(human)):
            scored = ~is_seed & ~done
            reached.append(len(human))
            bacs.append(_bac(fs.y, result.final_labels, scored, k))
            agree.append(float(np.mean(np.asarray(proposed) == fs.y[human])) if human else float("nan"))
        if len(human) >= budget:
            break
        take = min(step, budget - len(human))
        batch: list[int] = []
        if fixed is not None:
            while len(batch) < take and cursor < fixed.size:
                i = int(fixed[cursor])
                cursor += 1
                if not done[i]:
                    batch.append(i)
        elif order == "uncertain":
            batch = [int(i) for i in least_confident(result, take, reviewed=done)]
        else:  # next
            sug = suggest_next(graphs.X, result, take, reviewed=np.asarray(human, dtype=np.int64))
            batch = [int(i) for i in sug.index]
            if len(batch) < take:
                batch += [int(i) for i in filler if not done[i] and int(i) not in batch][: take - len(batch)]
        if not batch:
            break
        proposed += [int(result.final_labels[i]) for i in batch]
        human += batch
        done[batch] = True
        result = label(human)
    return SimulatedReview(
        order, labeler, np.asarray(reached), np.asarray(bacs), np.asarray(agree), np.asarray(human, dtype=np.int64)
    )
