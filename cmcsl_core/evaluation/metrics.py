"""Scores: balanced accuracy, the pseudo-label summary the app shows, and how CMCSL's
modality disagreements match the annotators' own (per-modality human labels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.labeling import LabelingResult

__all__ = [
    "balanced_accuracy",
    "confusion_matrix",
    "LabelingSummary",
    "labeling_summary",
    "DisagreementAgreement",
    "disagreement_agreement",
    "human_label_pair",
    "human_disagreement",
]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of items of true class ``i`` labeled ``j``; shape (K, K)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None) -> float:
    """Mean per-class recall over the classes present in ``y_true``.

    Equals :func:`sklearn.metrics.balanced_accuracy_score` (without ``adjusted``).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = int(n_classes if n_classes is not None else max(y_true.max(), y_pred.max()) + 1)
    support = np.bincount(y_true, minlength=k)
    hits = np.bincount(y_true[y_true == y_pred], minlength=k)
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


@dataclass(frozen=True)
class LabelingSummary:
    """How good one self-labeling is, measured on the non-seed items.

    Attributes
    ----------
    n_scored : int
        Number of non-seed items the scores are computed on.
    uni_accuracy : dict of str to float
        Accuracy of each modality's UNI labels.
    cmcsl_accuracy : float
        Accuracy of the CMCSL labels.
    uni_bac, cmcsl_bac : dict / float
        The same as balanced accuracy.
    disagreement_rate : float
        Share of items whose modalities disagree.
    wins : dict of str to int
        How many disagreements each modality decided.
    wins_correct : dict of str to int
        How many of those decisions were right.
    confusion : ndarray of shape (K, K)
        CMCSL labels (columns) against the truth (rows).
    """

    n_scored: int
    uni_accuracy: dict[str, float]
    cmcsl_accuracy: float
    uni_bac: dict[str, float]
    cmcsl_bac: float
    disagreement_rate: float
    wins: dict[str, int]
    wins_correct: dict[str, int]
    confusion: np.ndarray


def labeling_summary(result: LabelingResult, y_true: np.ndarray, n_classes: int) -> LabelingSummary:
    """Score a :class:`LabelingResult` against the true labels of the same items.

    Seeds are left out (their labels are given, not inferred).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    scored = ~result.is_seed
    if not np.any(scored):
        scored = np.ones_like(scored)
    yt = y_true[scored]
    final = result.final_labels[scored]
    uni_acc, uni_bac, wins, wins_ok = {}, {}, {}, {}
    decided = result.decided_by[scored]
    for m, name in enumerate(result.modality_names):
        lab = result.labels[m][scored]
        uni_acc[name] = float(np.mean(lab == yt))
        uni_bac[name] = balanced_accuracy(yt, lab, n_classes)
        won = decided == m
        wins[name] = int(won.sum())
        wins_ok[name] = int((final[won] == yt[won]).sum())
    return LabelingSummary(
        n_scored=int(scored.sum()),
        uni_accuracy=uni_acc,
        cmcsl_accuracy=float(np.mean(final == yt)),
        uni_bac=uni_bac,
        cmcsl_bac=balanced_accuracy(yt, final, n_classes),
        disagreement_rate=float(np.mean(result.disagree[scored])),
        wins=wins,
        wins_correct=wins_ok,
        confusion=confusion_matrix(yt, final, n_classes),
    )


@dataclass(frozen=True)
class DisagreementAgreement:
    """How well CMCSL's modality disagreements find the items whose annotators disagree.

    Counted over the non-seed items whose two human labels are both known (``>= 0``): an
    item is *flagged* when its UNI labels differ between modalities (``result.disagree``),
    *relevant* when its two human labels differ. Seeds are left out (as in
    :func:`labeling_summary`): their UNI labels agree by construction.

    Attributes
    ----------
    n_items : int
        Items counted (non-seed, both human labels known).
    n_cmcsl : int
        Of those, items whose UNI labels disagree.
    n_human : int
        Of those, items whose human labels differ.
    n_both : int
        Items in both groups (true positives).
    precision : float
        ``n_both / n_cmcsl`` (NaN when ``n_cmcsl`` is 0).
    recall : float
        ``n_both / n_human`` (NaN when ``n_human`` is 0).
    f1 : float
        Harmonic mean of precision and recall (NaN when either is NaN, 0 when both are 0).
    cmcsl_rate : float
        ``n_cmcsl / n_items``: CMCSL's disagreement rate.
    human_rate : float
        ``n_human / n_items``: the annotators' disagreement rate, which is also the
        precision a random flagging at any rate would get (chance level).
    """

    n_items: int
    n_cmcsl: int
    n_human: int
    n_both: int
    precision: float
    recall: float
    f1: float
    cmcsl_rate: float
    human_rate: float

    @property
    def lift(self) -> float:
        """``precision / human_rate``: how many times better than chance the flags are (NaN if undefined)."""
        return _ratio(self.precision, self.human_rate)

    def describe(self) -> str:
        """One line with the counts and scores (what the CLI prints)."""
        return (
            f"{self.n_items} non-seed items with both human labels: annotators disagree on {self.n_human} "
            f"({self.human_rate:.2%}), CMCSL's UNI labels on {self.n_cmcsl} ({self.cmcsl_rate:.2%}), both on "
            f"{self.n_both}; precision {self.precision:.4f}, recall {self.recall:.4f}, F1 {self.f1:.4f}"
        )


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def disagreement_agreement(
    result: LabelingResult, labels_a: np.ndarray, labels_b: np.ndarray
) -> DisagreementAgreement:
    """Precision, recall and F1 of "CMCSL's UNI labels disagree" against "the human labels differ".

    Parameters
    ----------
    result : LabelingResult
        A labeling of the same items (its ``disagree`` and ``is_seed`` are used).
    labels_a, labels_b : ndarray of int, shape (n_items,)
        The human label of each item in two modalities (e.g. ``labels_image`` and
        ``labels_text``); ``-1`` (any negative value) where unknown.

    Returns
    -------
    DisagreementAgreement
        Counted over non-seed items whose two labels are both known.

    Raises
    ------
    ValueError
        The label arrays do not have one entry per item.
    """
    a = np.asarray(labels_a, dtype=np.int64)
    b = np.asarray(labels_b, dtype=np.int64)
    n = result.disagree.shape[0]
    if a.shape != (n,) or b.shape != (n,):
        raise ValueError(f"expected {n} human labels per modality, got shapes {a.shape} and {b.shape}")
    keep = (a >= 0) & (b >= 0) & ~result.is_seed
    flagged = result.disagree[keep]
    relevant = a[keep] != b[keep]
    n_items = int(keep.sum())
    n_cmcsl, n_human = int(flagged.sum()), int(relevant.sum())
    n_both = int(np.sum(flagged & relevant))
    precision, recall = _ratio(n_both, n_cmcsl), _ratio(n_both, n_human)
    if np.isnan(precision) or np.isnan(recall):
        f1 = float("nan")
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return DisagreementAgreement(
        n_items=n_items,
        n_cmcsl=n_cmcsl,
        n_human=n_human,
        n_both=n_both,
        precision=precision,
        recall=recall,
        f1=float(f1),
        cmcsl_rate=_ratio(n_cmcsl, n_items),
        human_rate=_ratio(n_human, n_items),
    )


def human_label_pair(fs: FeatureSet) -> tuple[str, str] | None:
    """The first two modalities (in ``fs.modality_names`` order) that carry human labels, or None."""
    human = fs.modality_labels or {}
    named = [m for m in fs.modality_names if m in human]
    return (named[0], named[1]) if len(named) >= 2 else None


def human_disagreement(fs: FeatureSet, result: LabelingResult) -> DisagreementAgreement | None:
    """:func:`disagreement_agreement` on the human labels of :func:`human_label_pair` (None without them)."""
    pair = human_label_pair(fs)
    if pair is None:
        return None
    human = fs.modality_labels or {}
    return disagreement_agreement(result, human[pair[0]], human[pair[1]])
