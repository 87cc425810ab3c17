"""Late fusion of per-modality class probabilities: MEAN, MAX, DRA and MLA.

Every rule combines M matrices ``P_i`` of shape (n, K) (modality ``i``'s classifier's
class probabilities for n items) into one (n, K) support matrix; the predicted class
is its row-wise argmax (ties: the lowest class index).

``MEAN``  ``P = (1/M) sum_i P_i``. This is what the project's ``LF`` method has always
          computed (the authors' code: "the class with the largest mean support").
``MAX``   ``P[:, j] = max_i P_i[:, j]``: maximum support.
``DRA``   Detection Rate Approach. For modality ``i`` and class ``j`` the *detection
          rate* is computed on held-out validation items as the one-vs-rest recall of
          class ``j`` by modality ``i``'s classifier::

              DR_ij = TP_ij / (TP_ij + FN_ij)
                    = |{validation items of class j that modality i predicts as j}|
                      / |{validation items of class j}|

          (predicted class = argmax of ``P_i``). The weights are::

              W_ij = (1 - DR_ij + alpha_j) / sum_j' (1 - DR_ij' + alpha_j')

          and ``P[:, j] = sum_i W_ij P_i[:, j]``. ``alpha_j`` is 0 (``alpha="none"``) or
          the share of class ``j`` among the validation targets (``alpha="prior"``).
          Why ``1 - DR``: a modality that rarely detects class ``j`` (low ``DR_ij``)
          assigns that class systematically low probabilities, so its column ``j`` is
          boosted to compensate this bias; a class the modality already detects well
          gets a small weight, so that modality's confident column cannot dominate the
          sum. The rows of ``W`` sum to 1 per modality, so every modality contributes
          the same total weight. A class with no validation item has no detection rate;
          its ``DR_ij`` is taken as modality ``i``'s mean over the other classes. If a
          row's denominator is 0 (every ``DR_ij = 1`` and ``alpha = 0``) the weights
          are uniform.
``MLA``   Minimizing Loss Approach: one weight per modality, its validation accuracy
          (or macro F1, ``mla_metric="f1"``) over the sum over modalities,
          ``W_i = a_i / sum_i' a_i'`` (uniform if all are 0); ``P = sum_i W_i P_i``.

The weights always come from a *validation* split inside the training data (see
:func:`validation_split`); test items never enter :func:`fit_fusion_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = [
    "FUSION_RULES",
    "ALPHAS",
    "MLA_METRICS",
    "F1_AVERAGES",
    "VALIDATION_SHARE",
    "FusionWeights",
    "check_rule",
    "detection_rates",
    "dra_weights",
    "mla_weights",
    "fit_fusion_weights",
    "fuse",
    "macro_f1",
    "weighted_f1",
    "validation_split",
]

FUSION_RULES: tuple[str, ...] = ("MEAN", "MAX", "DRA", "MLA")
"""Late-fusion rules, in display order."""

ALPHAS: tuple[str, ...] = ("none", "prior")
"""DRA's ``alpha_j``: 0, or the class's share of the validation targets."""

MLA_METRICS: tuple[str, ...] = ("accuracy", "f1")
"""What MLA's modality weight is: validation accuracy or macro F1."""

F1_AVERAGES: tuple[str, ...] = ("weighted", "macro")
"""How a reported F1 averages the per-class F1: by class support (weighted) or not (macro)."""

VALIDATION_SHARE: float = 0.2
"""Share of the training items held out to estimate DRA/MLA weights."""


def check_rule(rule: str) -> str:
    """Canonical rule name (``"mean"`` -> ``"MEAN"``); CMCSLError for an unknown one."""
    key = str(rule).strip().upper()
    if key not in FUSION_RULES:
        raise CMCSLError(f"unknown late-fusion rule {rule!r}; choose one of {', '.join(FUSION_RULES)}")
    return key


@dataclass(frozen=True)
class FusionWeights:
    """Weights of a late-fusion rule.

    Attributes
    ----------
    rule : str
        One of :data:`FUSION_RULES`.
    weights : ndarray or None
        ``(M, K)`` for DRA, ``(M,)`` for MLA, None for MEAN and MAX.
    scores : ndarray or None
        What the weights were computed from: the ``(M, K)`` detection rates (DRA) or
        the ``(M,)`` validation scores (MLA).
    """

    rule: str
    weights: np.ndarray | None = None
    scores: np.ndarray | None = None


def _argmax(P: np.ndarray) -> np.ndarray:
    return np.argmax(np.asarray(P), axis=-1)


def detection_rates(y_val: np.ndarray, val_probas: Sequence[np.ndarray], n_classes: int) -> np.ndarray:
    """One-vs-rest recall ``DR_ij = TP_ij / (TP_ij + FN_ij)`` per modality ``i`` and class ``j``, shape (M, K).

    Classes without validation items get the modality's mean over the other classes.
    """
    y = np.asarray(y_val, dtype=np.int64)
    support = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = support > 0
    if not np.any(present):
        raise CMCSLError("the validation split is empty")
    out = np.empty((len(val_probas), n_classes))
    for i, P in enumerate(val_probas):
        pred = _argmax(P)
        tp = np.bincount(y[pred == y], minlength=n_classes).astype(np.float64)
        dr = np.where(present, tp / np.where(present, support, 1.0), 0.0)
        dr[~present] = dr[present].mean()
        out[i] = dr
    return out


def dra_weights(
    y_val: np.ndarray, val_probas: Sequence[np.ndarray], n_classes: int, alpha: str = "none"
) -> FusionWeights:
    """DRA weights ``W_ij = (1 - DR_ij + alpha_j) / sum_j (1 - DR_ij + alpha_j)`` (see the module docstring)."""
    if alpha not in ALPHAS:
        raise CMCSLError(f"unknown DRA alpha {alpha!r}; choose one of {', '.join(ALPHAS)}")
    dr = detection_rates(y_val, val_probas, n_classes)
    y = np.asarray(y_val, dtype=np.int64)
    a = np.bincount(y, minlength=n_classes) / y.size if alpha == "prior" else np.zeros(n_classes)
    raw = 1.0 - dr + a[None, :]
    tot = raw.sum(axis=1, keepdims=True)
    W = np.where(tot > 0, raw / np.where(tot > 0, tot, 1.0), 1.0 / n_classes)
    return FusionWeights("DRA", W, dr)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred``.

    Equals ``sklearn.metrics.f1_score(average="macro")`` (0 where precision and recall are 0).
    """
    f1, support, present = _per_class_f1(y_true, y_pred, n_classes)
    return float(f1[present].mean())


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Per-class F1 averaged with the true class counts as weights (``f1_score(average="weighted")``)."""
    f1, support, _ = _per_class_f1(y_true, y_pred, n_classes)
    return float((f1 * support).sum() / max(support.sum(), 1))


def _per_class_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yt = np.asarray(y_true, dtype=np.int64)
    yp = np.asarray(y_pred, dtype=np.int64)
    support = np.bincount(yt, minlength=k).astype(np.float64)
    predicted = np.bincount(yp, minlength=k).astype(np.float64)
    tp = np.bincount(yt[yt == yp], minlength=k).astype(np.float64)
    denom = support + predicted
    f1 = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), 0.0)
    return f1, support, (support > 0) | (predicted > 0)


def mla_weights(
    y_val: np.ndarray, val_probas: Sequence[np.ndarray], n_classes: int, metric: str = "accuracy"
) -> FusionWeights:
    """MLA weights: each modality's validation accuracy (or macro F1) over their sum, shape (M,)."""
    if metric not in MLA_METRICS:
        raise CMCSLError(f"unknown MLA metric {metric!r}; choose one of {', '.join(MLA_METRICS)}")
    y = np.asarray(y_val, dtype=np.int64)
    if y.size == 0:
        raise CMCSLError("the validation split is empty")
    scores = np.array(
        [
            float(np.mean(_argmax(P) == y)) if metric == "accuracy" else macro_f1(y, _argmax(P), n_classes)
            for P in val_probas
        ]
    )
    tot = scores.sum()
    W = scores / tot if tot > 0 else np.full(scores.size, 1.0 / scores.size)
    return FusionWeights("MLA", W, scores)


def fit_fusion_weights(
    rule: str,
    y_val: np.ndarray | None,
    val_probas: Sequence[np.ndarray] | None,
    n_classes: int,
    alpha: str = "none",
    mla_metric: str = "accuracy",
) -> FusionWeights:
    """The weights of ``rule`` from validation targets and validation probabilities (None for MEAN/MAX)."""
    rule = check_rule(rule)
    if rule in ("MEAN", "MAX"):
        return FusionWeights(rule)
    if y_val is None or val_probas is None:
        raise CMCSLError(f"LF-{rule} needs validation data")
    if rule == "DRA":
        return dra_weights(y_val, val_probas, n_classes, alpha)
    return mla_weights(y_val, val_probas, n_classes, mla_metric)


def fuse(probas: Sequence[np.ndarray], weights: FusionWeights) -> np.ndarray:
    """The fused (n, K) support of per-modality probabilities ``probas`` (M arrays of shape (n, K))."""
    P = np.stack([np.asarray(p, dtype=np.float64) for p in probas])
    if P.ndim != 3:
        raise CMCSLError("late fusion needs M probability matrices of shape (n, K)")
    rule = check_rule(weights.rule)
    if rule == "MEAN":
        return P.mean(axis=0)
    if rule == "MAX":
        return P.max(axis=0)
    if weights.weights is None:
        raise CMCSLError(f"LF-{rule} needs fitted weights")
    W = np.asarray(weights.weights, dtype=np.float64)
    if rule == "DRA":
        if W.shape != (P.shape[0], P.shape[2]):
            raise CMCSLError(f"DRA weights must have shape (M, K) = {(P.shape[0], P.shape[2])}, got {W.shape}")
        return np.einsum("mnk,mk->nk", P, W)
    if W.shape != (P.shape[0],):
        raise CMCSLError(f"MLA weights must have shape (M,) = ({P.shape[0]},), got {W.shape}")
    return np.einsum("mnk,m->nk", P, W)


def validation_split(
    targets: np.ndarray, random_state: int | tuple[int, ...], share: float = VALIDATION_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """Split positions ``0 .. n-1`` into (fit, validation), stratified by ``targets``.

    From every target class ``round(share * count)`` items go to validation, at least
    one when the class has two or more items and never all of them. The draw is a
    permutation from ``numpy.random.default_rng(random_state)``.

    Returns
    -------
    fit, validation : ndarray of int
        Sorted positions.
    """
    t = np.asarray(targets, dtype=np.int64)
    rng = np.random.default_rng(random_state)
    val = []
    for c in np.unique(t):
        members = np.flatnonzero(t == c)
        take = int(round(share * members.size))
        if members.size >= 2:
            take = min(max(take, 1), members.size - 1)
        else:
            take = 0
        val.append(rng.permutation(members)[:take])
    v = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    mask = np.ones(t.size, dtype=bool)
    mask[v] = False
    if v.size == 0:
        raise CMCSLError("too few items to hold out a validation split for the fusion weights")
    return np.flatnonzero(mask), v
