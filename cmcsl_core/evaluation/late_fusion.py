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

Model selection: with logistic regression, the classifiers behind DRA and MLA choose
their ``C`` on the same split (lowest validation log-loss against the targets, over
``c_grid``; :mod:`~cmcsl_core.evaluation.model_selection`), per modality and target
vector, and the fused classifiers are trained on the whole training fold with that
``C``; MEAN and MAX keep ``C = 1``.

The curve rows of these methods are made by
:meth:`cmcsl_core.evaluation.folds.Fold.late_fusion_rows`; this module needs nothing
from the fold (no import circle).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from cmcsl_core.evaluation.fusion import fit_fusion_weights, fuse, validation_split
from cmcsl_core.evaluation.model_selection import best_c
from cmcsl_core.models.proba import FitTask, fit_predict_proba

__all__ = ["fused_predictions"]


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
    c_grid: Sequence[float] = (),
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
    c_grid : sequence of float
        With ``lr``: the ``C`` values DRA/MLA's classifiers choose from (one value: that ``C``;
        empty: ``C = 1``).

    Returns
    -------
    list of dict
        Per target set, ``{rule: predicted classes of the test rows}``.
    """
    n_sets = len(target_sets)
    m_count = len(Xtr)
    weighted = [r for r in rules if r in ("DRA", "MLA")]
    tasks = [FitTask(t, weight_fn(t)) for t in target_sets]
    test_p = [fit_predict_proba(classifier, Xtr[m], Xte[m], tasks, n_classes) for m in range(m_count)]
    weighted_test_p = test_p
    val_p: list[np.ndarray] = []
    splits = []
    if weighted:
        splits = [validation_split(t, seed) for t, seed in zip(target_sets, split_seeds)]
        grid = [float(c) for c in c_grid] if classifier == "lr" and len(c_grid) else [1.0]
        val_tasks = [
            FitTask(t[fit], weight_fn(t[fit]), fit, C=c) for t, (fit, _) in zip(target_sets, splits) for c in grid
        ]
        val_p, weighted_test_p = [], []
        for m in range(m_count):
            # predict every training row, then keep each set's own validation rows
            P = fit_predict_proba(classifier, Xtr[m], Xtr[m], val_tasks, n_classes)
            P = P.reshape(n_sets, len(grid), *P.shape[1:])
            chosen = [best_c([p[val] for p in P[s]], target_sets[s][val], grid)[0] for s, (_, val) in enumerate(splits)]
            val_p.append(np.stack([P[s, j] for s, j in enumerate(chosen)]))
            if grid != [1.0]:  # the fused classifiers: whole training fold, chosen C
                refit = [FitTask(t, weight_fn(t), C=grid[j]) for t, j in zip(target_sets, chosen)]
                weighted_test_p.append(fit_predict_proba(classifier, Xtr[m], Xte[m], refit, n_classes))
            else:
                weighted_test_p.append(test_p[m])
    out: list[dict[str, np.ndarray]] = []
    for s in range(n_sets):
        preds: dict[str, np.ndarray] = {}
        for rule in rules:
            if rule in ("DRA", "MLA"):
                val = splits[s][1]
                vp = [val_p[m][s][val] for m in range(m_count)]
                w = fit_fusion_weights(rule, target_sets[s][val], vp, n_classes, alpha, mla_metric)
                probas = [weighted_test_p[m][s] for m in range(m_count)]
            else:
                w = fit_fusion_weights(rule, None, None, n_classes)
                probas = [test_p[m][s] for m in range(m_count)]
            preds[rule] = np.argmax(fuse(probas, w), axis=1)
        out.append(preds)
    return out
