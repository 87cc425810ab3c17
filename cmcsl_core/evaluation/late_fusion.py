"""Late-fusion methods of the BAC curves: LF-MEAN/MAX/DRA/MLA and CMCSL-MEAN/MAX/DRA/MLA.

``LF-<RULE>``
    Per-modality base classifiers trained on the *true* labels of the training fold,
    fused by ``RULE`` (:mod:`cmcsl_core.evaluation.fusion`); independent of ``b_class``.
``CMCSL-<RULE>``
    Per-modality base classifiers trained on CMCSL's cross-modal *pseudo-labels* of
    the training fold (the classifiers of the ``CMCSL`` method), fused by ``RULE``:
    one multimodal prediction from ``b_class`` labeled items per class.

How DRA/MLA weights are estimated (never from test items or labels): the training
fold is split, stratified by the *targets* the classifiers are trained on, into a fit
part (80 %) and a validation part (20 %, :data:`~cmcsl_core.evaluation.fusion.VALIDATION_SHARE`);
each modality's classifier is trained on the fit part and its detection rates /
accuracy are measured on the validation part *against those same targets*; the
classifiers that are fused are then trained on the whole training fold. For
``LF-*`` the targets are the true training labels. For ``CMCSL-*`` they are the CMCSL
pseudo-labels, so no true label beyond the seeds' is used: the weights measure how
well each modality reproduces the cross-modal labeling on held-out training items.
The split is drawn from ``(random_state, fold, b_class)`` (``b_class = 0`` for LF).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from cmcsl_core.constants import FUSED
from cmcsl_core.evaluation.config import CMCSL_FUSION_METHODS, LF_METHODS
from cmcsl_core.evaluation.fusion import fit_fusion_weights, fuse, validation_split
from cmcsl_core.models.proba import FitTask, fit_predict_proba

if TYPE_CHECKING:  # pragma: no cover
    from cmcsl_core.evaluation.folds import Fold

__all__ = ["fused_predictions", "late_fusion_rows"]


def fused_predictions(
    classifier: str,
    Xtr: Sequence[np.ndarray],
    Xte: Sequence[np.ndarray],
    target_sets: Sequence[np.ndarray],
    weight_fn: Callable[[np.ndarray], np.ndarray],
    n_classes: int,
    rules: Sequence[str],
    split_seeds: Sequence[tuple[int, ...]],
    alpha: str = "none",
    mla_metric: str = "accuracy",
) -> list[dict[str, np.ndarray]]:
    """Fused test predictions for several target vectors at once (batched per modality).

    Parameters
    ----------
    classifier : str
        Base classifier.
    Xtr, Xte : sequences of M arrays
        Preprocessed training and test rows per modality. No test label is passed in.
    target_sets : sequence of ndarray of shape (n_train,)
        The labels the classifiers are trained on (true labels, or pseudo-labels per b).
    weight_fn : callable
        Sample weights of a classifier trained on given labels.
    n_classes : int
        K.
    rules : sequence of str
        Fusion rules wanted (of :data:`~cmcsl_core.evaluation.fusion.FUSION_RULES`).
    split_seeds : sequence of tuples
        Random state of the validation split, one per target set.
    alpha, mla_metric : str
        See :func:`~cmcsl_core.evaluation.fusion.dra_weights` / ``mla_weights``.

    Returns
    -------
    list of dict
        Per target set, ``{rule: predicted classes of the test rows}``.
    """
    n_sets = len(target_sets)
    weighted = [r for r in rules if r in ("DRA", "MLA")]
    tasks = [FitTask(t, weight_fn(t)) for t in target_sets]
    test_p = [fit_predict_proba(classifier, Xtr[m], Xte[m], tasks, n_classes) for m in range(len(Xtr))]
    val_p: list[np.ndarray] = []
    splits = []
    if weighted:
        splits = [validation_split(t, seed) for t, seed in zip(target_sets, split_seeds)]
        val_tasks = [FitTask(t[fit], weight_fn(t[fit]), fit) for t, (fit, _) in zip(target_sets, splits)]
        # predict every training row, then keep each set's own validation rows
        val_p = [fit_predict_proba(classifier, Xtr[m], Xtr[m], val_tasks, n_classes) for m in range(len(Xtr))]
    out: list[dict[str, np.ndarray]] = []
    for s in range(n_sets):
        probas = [test_p[m][s] for m in range(len(Xtr))]
        preds: dict[str, np.ndarray] = {}
        for rule in rules:
            if rule in ("DRA", "MLA"):
                val = splits[s][1]
                vp = [val_p[m][s][val] for m in range(len(Xtr))]
                w = fit_fusion_weights(rule, target_sets[s][val], vp, n_classes, alpha, mla_metric)
            else:
                w = fit_fusion_weights(rule, None, None, n_classes)
            preds[rule] = np.argmax(fuse(probas, w), axis=1)
        out.append(preds)
    return out


def late_fusion_rows(
    fold: "Fold",
    fold_id: int,
    methods: Sequence[str],
    b_values: Sequence[int],
    cmcsl_labels: Sequence[tuple[int, np.ndarray]],
) -> list[tuple[str, str, int, int, float]]:
    """Curve rows of the LF-* and CMCSL-* methods of one fold.

    Parameters
    ----------
    fold : cmcsl_core.evaluation.folds.Fold
        The fold (its ``Xtr``, ``Xte``, ``y_tr``, ``k``, ``weights``, ``score``, ``config``).
    fold_id : int
        Fold index (seeds the validation splits).
    methods : sequence of str
        The curve's methods; only LF-* and CMCSL-* are computed here.
    b_values : sequence of int
        LF-* rows are repeated for every b (they do not depend on it).
    cmcsl_labels : sequence of (b_class, pseudo-labels of the training fold)
        CMCSL's cross-modal labels per b (needed for CMCSL-*).
    """
    f = fold
    config = f.config
    rs = int(config.random_state)
    rows: list[tuple[str, str, int, int, float]] = []
    lf_rules = [m.split("-", 1)[1] for m in methods if m in LF_METHODS]
    if lf_rules:
        preds = fused_predictions(
            config.classifier, f.Xtr, f.Xte, [f.y_tr], f.weights, f.k, lf_rules, [(rs, fold_id, 0)]
        )[0]
        for rule in lf_rules:
            score = f.score(preds[rule])
            rows += [(f"LF-{rule}", FUSED, b, fold_id, score) for b in b_values]
    cm_rules = [m.split("-", 1)[1] for m in methods if m in CMCSL_FUSION_METHODS]
    if cm_rules and cmcsl_labels:
        bs = [b for b, _ in cmcsl_labels]
        all_preds = fused_predictions(
            config.classifier,
            f.Xtr,
            f.Xte,
            [lab for _, lab in cmcsl_labels],
            f.weights,
            f.k,
            cm_rules,
            [(rs, fold_id, b) for b in bs],
        )
        for b, preds in zip(bs, all_preds):
            rows += [(f"CMCSL-{rule}", FUSED, b, fold_id, f.score(preds[rule])) for rule in cm_rules]
    return rows
