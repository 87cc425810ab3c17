"""Scores: balanced accuracy and the pseudo-label summary the app shows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cmcsl_core.method.labeling import LabelingResult

__all__ = ["balanced_accuracy", "confusion_matrix", "LabelingSummary", "labeling_summary"]


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
