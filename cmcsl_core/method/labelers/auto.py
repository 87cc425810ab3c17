"""``auto``: choose the labeler that fits the data, from the labelled items alone.

Every candidate labels each labelled item (seed or human label) with that item's own
label hidden (leave-one-out; at most ``max_held_out`` items, drawn per class in
proportion, when there are more), and its *estimate* is the balanced accuracy of those
labels. The candidate with the best estimate labels the data (ties go to the earlier
candidate). When a class has fewer than ``min_per_class`` labelled items there is too
little to estimate from (hiding a class's only seed hides the class) and ``auto`` falls
back to ``cmcsl``, the paper's rule.

The default candidates are ``cm-ls-cmn`` and ``cmcsl``, ties to ``cm-ls-cmn``, chosen by
measurement (``benchmarks/bench_labelers.py``, 8 seed draws on the built-in tweets, two
demo subsets and digits as two views; docs/labelers.md): against the better of ``cmcsl``
and ``cm-ls`` at b = 5 and 10 this pair stays within 0.022 everywhere, while ``cm-ls`` and
``cmcsl`` as candidates missed by 0.055 (demo HR: with few labelled items plain spreading's
leave-one-out estimates mislead), and adding ``cm-ls``, ``ls``, ``ls-cmn`` or
``cmcsl-scaled`` changed nothing or missed by more. With a few labelled items per class the
estimates are coarse (ten held-out items give steps of 0.1); where the two tie, spreading
was the better labeler more often.

The result carries a :class:`Selection` (every candidate's estimate, the choice and
why), which the CLI prints and the app shows. No true label beyond the labelled items'
is used.

Leave-one-out is cheap where it matters: the nearest-seed labelers compare a held-out
seed with the other seeds only, the spreading labelers spread all held-out runs at once
(column blocks of one matrix). ``self-training`` and ``co-training`` need one full run
per held-out item, so they are candidates only when asked for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.base import BaseLabeler, check_labelled
from cmcsl_core.method.labeling import LabelingResult

__all__ = ["AutoLabeler", "Selection", "AUTO_CANDIDATES", "FALLBACK"]

AUTO_CANDIDATES: tuple[str, ...] = ("cm-ls-cmn", "cmcsl")
"""The labelers ``auto`` compares by default, in tie order (any labeler may be a candidate)."""

FALLBACK = "cmcsl"
"""The labeler ``auto`` uses when there is too little to estimate from."""


@dataclass(frozen=True)
class Selection:
    """What ``auto`` estimated and chose.

    Attributes
    ----------
    chosen : str
        The labeler that labelled the data.
    estimates : dict of str to float
        Leave-one-out balanced accuracy of every candidate (NaN when not estimated).
    n_labelled : int
        Labelled items (seeds and human labels).
    n_held_out : int
        Of these, how many were held out one at a time (0 when falling back).
    reason : str
        One sentence: how the choice was made.
    """

    chosen: str
    estimates: dict[str, float] = field(default_factory=dict)
    n_labelled: int = 0
    n_held_out: int = 0
    reason: str = ""

    def describe(self) -> str:
        """One line: the estimates and the choice, e.g. ``auto chose cm-ls (leave-one-out BAC: cmcsl 0.61, ...)``."""
        shown = ", ".join(f"{k} {v:.3f}" for k, v in self.estimates.items() if v == v)
        return f"auto chose {self.chosen}: {self.reason}" + (f" (leave-one-out BAC: {shown})" if shown else "")


def held_out_items(seed_labels: np.ndarray, max_held_out: int, random_state: int = 0) -> np.ndarray:
    """Positions of the labelled items to hold out: all, or ``max_held_out`` drawn per class in proportion."""
    labels = np.asarray(seed_labels, dtype=np.int64)
    if labels.size <= max_held_out:
        return np.arange(labels.size)
    rng = np.random.default_rng(random_state)
    classes, counts = np.unique(labels, return_counts=True)
    take = np.maximum(1, np.floor(counts * max_held_out / labels.size)).astype(np.int64)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:t] for c, t in zip(classes, take)]
    return np.sort(np.concatenate(picks))


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Mean recall over the classes present in ``y_true``."""
    support = np.bincount(y_true, minlength=n_classes)
    hits = np.bincount(y_true[y_true == y_pred], minlength=n_classes)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


class AutoLabeler(BaseLabeler):
    """Choose among labelers by leave-one-out over the labelled items (falls back to ``cmcsl``).

    Parameters
    ----------
    candidates : tuple of str, default=("cm-ls-cmn", "cmcsl")
        Labelers to compare, in tie order (registry names; ``self-training`` and
        ``co-training`` may be added: they need one full run per held-out item).
    max_held_out : int, default=60
        Labelled items held out at most (drawn per class in proportion when there are more).
    min_per_class : int, default=2
        Fewer labelled items in some class: fall back to ``cmcsl``.
    random_state : int, default=0
        Seeds the draw of held-out items.
    """

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        candidates: tuple[str, ...] = AUTO_CANDIDATES,
        max_held_out: int = 60,
        min_per_class: int = 2,
        random_state: int = 0,
    ) -> None:
        self.candidates = candidates
        self.max_held_out = max_held_out
        self.min_per_class = min_per_class
        self.random_state = random_state

    def select(self, graphs: FeatureGraphs, seed_idx: np.ndarray, seed_labels: np.ndarray, n_classes: int) -> Selection:
        """Estimate every candidate and choose (see the module docstring)."""
        from cmcsl_core.method.labelers.registry import check_labeler, make_labeler

        seed_idx, seed_labels = check_labelled(seed_idx, seed_labels, graphs.n_items, n_classes)
        names = tuple(dict.fromkeys(check_labeler(c) for c in self.candidates))
        if not names or "auto" in names:
            raise CMCSLError("auto needs candidate labelers other than auto itself")
        counts = np.bincount(seed_labels, minlength=n_classes)
        fewest = int(counts[counts > 0].min())
        nan = {c: float("nan") for c in names}
        if fewest < int(self.min_per_class) or (counts > 0).sum() < 2:
            reason = (
                f"too little to estimate from (a class has {fewest} labelled item{'s' if fewest != 1 else ''}; "
                f"needs {int(self.min_per_class)}), so the paper's rule"
            )
            return Selection(FALLBACK, nan, int(seed_idx.size), 0, reason)
        held = held_out_items(seed_labels, int(self.max_held_out), int(self.random_state))
        truth = seed_labels[held]
        estimates = {}
        for c in names:
            pred = make_labeler(c).held_out_labels(graphs, seed_idx, seed_labels, n_classes, held)
            estimates[c] = _balanced_accuracy(truth, pred, n_classes)
        chosen = max(names, key=lambda c: (estimates[c], -names.index(c)))
        reason = f"best leave-one-out estimate over {held.size} of {seed_idx.size} labelled items"
        return Selection(chosen, estimates, int(seed_idx.size), int(held.size), reason)

    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        from cmcsl_core.method.labelers.registry import make_labeler

        selection = self.select(graphs, seed_idx, seed_labels, n_classes)
        result = make_labeler(selection.chosen).label(graphs, seed_idx, seed_labels, n_classes, modality_names)
        return dataclasses.replace(result, selection=selection)
