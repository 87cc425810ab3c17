"""Agreement between annotators: who labelled what, Cohen's kappa per pair, Fleiss' kappa overall.

A served class writes every visitor's actions into one store; each annotator's labels are
the :func:`~cmcsl_core.annotations.actions.replay` of their *own* actions (an undo takes back
only its author's label), so two annotators who labelled the same item both count.

* :func:`labels_by_annotator`: ``{annotator: {item index: Action in force}}``.
* :func:`cohen_kappa`: two raters on the items both labelled (Cohen, 1960).
* :func:`fleiss_kappa`: any number of raters per item (Fleiss, 1971), in the form for a
  varying number of raters per item: the agreement of item ``i`` rated ``n_i >= 2`` times is
  ``P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1))``; ``P`` is their mean, the chance agreement
  ``P_e = sum_j p_j^2`` with ``p_j`` the share of all ratings in class ``j``, and
  ``kappa = (P - P_e) / (1 - P_e)``. With the same number of raters on every item this is
  Fleiss' original statistic.
* :func:`agreement`: the report the teacher's view shows; :func:`labels_table`: everyone's
  labels with provenance (who, when, which action), one row per (item, annotator).

Undefined statistics (no item labelled twice; both raters always chose one same class) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cmcsl_core.annotations.actions import Action, replay

__all__ = [
    "PairAgreement",
    "AgreementReport",
    "labels_by_annotator",
    "cohen_kappa",
    "fleiss_kappa",
    "agreement",
    "labels_table",
]


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators on the items both labelled.

    Attributes
    ----------
    a, b : str
        The annotators (``a < b``).
    n_items : int
        Items both labelled.
    observed : float
        Share of those items they gave the same class (NaN: none).
    kappa : float
        Cohen's kappa (NaN: undefined).
    """

    a: str
    b: str
    n_items: int
    observed: float
    kappa: float


@dataclass(frozen=True)
class AgreementReport:
    """Labels per annotator and their agreement.

    Attributes
    ----------
    annotators : tuple of str
        Everyone with a label in force, sorted.
    labels : dict of str to int
        Labels in force per annotator.
    n_items : int
        Items with at least one label.
    n_shared : int
        Items labelled by two or more annotators (those the kappas use).
    pairs : tuple of PairAgreement
        Every pair of annotators that shares at least one item.
    fleiss : float
        Fleiss' kappa over the shared items (NaN: none).
    """

    annotators: tuple[str, ...]
    labels: dict[str, int]
    n_items: int
    n_shared: int
    pairs: tuple[PairAgreement, ...]
    fleiss: float

    def pairs_frame(self) -> pd.DataFrame:
        """The pairs as a table (annotator a, annotator b, items, observed agreement, Cohen's kappa)."""
        return pd.DataFrame(
            {
                "annotator a": [p.a for p in self.pairs],
                "annotator b": [p.b for p in self.pairs],
                "items both labelled": [p.n_items for p in self.pairs],
                "observed agreement": [p.observed for p in self.pairs],
                "Cohen's kappa": [p.kappa for p in self.pairs],
            }
        )


def labels_by_annotator(actions: Iterable[Action]) -> dict[str, dict[int, Action]]:
    """Each annotator's labels in force: the replay of their own actions."""
    mine: dict[str, list[Action]] = {}
    for a in actions:
        mine.setdefault(a.annotator, []).append(a)
    out = {name: replay(acts) for name, acts in sorted(mine.items())}
    return {name: state for name, state in out.items() if state}


def cohen_kappa(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray, n_classes: int) -> float:
    """Cohen's kappa of two raters' classes ``0..n_classes-1`` on the same items (NaN: undefined).

    >>> cohen_kappa([0, 0, 1, 1], [0, 1, 1, 1], 2)
    0.5
    """
    x, y = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("the two raters must rate the same items")
    if x.size == 0:
        return float("nan")
    observed = float(np.mean(x == y))
    pa = np.bincount(x, minlength=n_classes) / x.size
    pb = np.bincount(y, minlength=n_classes) / y.size
    chance = float(pa @ pb)
    if chance >= 1.0:
        return float("nan")
    return (observed - chance) / (1.0 - chance)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa of a table ``counts[item, class]`` (ratings per item and class).

    Items rated fewer than twice are left out; they may be rated a different number of
    times each. NaN when no item is rated twice or all ratings fall in one class.

    >>> round(fleiss_kappa(np.array([[2, 0], [0, 2], [1, 1]])), 4)
    0.3333
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError("counts must be a 2-D table (items x classes)")
    n = table.sum(axis=1)
    table, n = table[n >= 2], n[n >= 2]
    if n.size == 0:
        return float("nan")
    per_item = ((table**2).sum(axis=1) - n) / (n * (n - 1))
    p_bar = float(per_item.mean())
    shares = table.sum(axis=0) / n.sum()
    chance = float(np.sum(shares**2))
    if chance >= 1.0:
        return float("nan")
    return (p_bar - chance) / (1.0 - chance)


def agreement(actions: Iterable[Action], class_names: Sequence[str]) -> AgreementReport:
    """Labels per annotator, Cohen's kappa for every pair sharing items, Fleiss' kappa overall."""
    lookup = {c: k for k, c in enumerate(class_names)}
    state = labels_by_annotator(actions)
    names = tuple(state)
    coded = {
        name: {i: lookup[str(a.label)] for i, a in s.items() if str(a.label) in lookup} for name, s in state.items()
    }
    items = sorted({i for s in coded.values() for i in s})
    k = len(class_names)
    pairs = []
    for a, b in combinations(names, 2):
        both = sorted(coded[a].keys() & coded[b].keys())
        if not both:
            continue
        xa = np.asarray([coded[a][i] for i in both])
        xb = np.asarray([coded[b][i] for i in both])
        pairs.append(PairAgreement(a, b, len(both), float(np.mean(xa == xb)), cohen_kappa(xa, xb, k)))
    counts = np.zeros((len(items), k), dtype=np.int64)
    row = {i: r for r, i in enumerate(items)}
    for s in coded.values():
        for i, c in s.items():
            counts[row[i], c] += 1
    shared = int(np.sum(counts.sum(axis=1) >= 2))
    return AgreementReport(
        annotators=names,
        labels={name: len(s) for name, s in coded.items()},
        n_items=len(items),
        n_shared=shared,
        pairs=tuple(pairs),
        fleiss=fleiss_kappa(counts),
    )


def labels_table(actions: Iterable[Action], names: Sequence[str] | None = None) -> pd.DataFrame:
    """Everyone's labels in force with provenance: one row per (item, annotator).

    Columns ``index``, ``item`` (id or index as stored), ``name`` (when ``names`` gives
    each item's name), ``annotator``, ``label``, ``labelled_at`` (UTC), ``action`` (the
    label action's id in the store's history) and ``annotators_on_item``.
    """
    state = labels_by_annotator(actions)
    rows = [(i, a) for who in state.values() for i, a in who.items()]
    rows.sort(key=lambda r: (r[0], r[1].annotator))
    per_item: dict[int, int] = {}
    for i, _ in rows:
        per_item[i] = per_item.get(i, 0) + 1
    frame = pd.DataFrame(
        {
            "index": [i for i, _ in rows],
            "item": [a.item for _, a in rows],
            "annotator": [a.annotator for _, a in rows],
            "label": [a.label for _, a in rows],
            "labelled_at": [a.time for _, a in rows],
            "action": [a.id for _, a in rows],
            "annotators_on_item": [per_item[i] for i, _ in rows],
        }
    )
    if names is not None:
        frame.insert(2, "name", [names[i] for i, _ in rows])
    return frame
