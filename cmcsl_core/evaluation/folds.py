"""One cross-validation fold of a curve: what is precomputed once, and how methods are scored.

For a fold the preprocessing is fitted on the training rows and applied to both
sides once; then, for every ``b_class``, seeds are drawn from the training fold
(nested draws from one random order keyed by ``(random_state, fold)``: all methods
at one ``(fold, b)`` share the same seeds), and each method trains a base
classifier whose balanced accuracy on the test fold is one row of the curve.

The labeler methods (``CM-LS``, ``LS``, ...; :data:`~cmcsl_core.evaluation.config.LABELER_METHODS`)
label the training fold from the same seeds with their labeler; the fold's kNN graphs
are built once (:class:`~cmcsl_core.method.graph.FeatureGraphs`, also cached on disk)
and serve every ``b_class``. With ``label_quality`` each labeler's labels are also
scored themselves: their BAC on the training fold's non-seed items (modality ``labels``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from cmcsl_core.constants import FUSED, LABELS
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.evaluation.config import CMCSL_FUSION_METHODS, LABELER_METHODS, LF_METHODS, SEEDED_METHODS, CurveConfig
from cmcsl_core.evaluation.late_fusion import fused_predictions
from cmcsl_core.evaluation.metrics import balanced_accuracy
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.registry import make_labeler, method_labeler
from cmcsl_core.method.labeling import cross_modal_labels, squared_distances, squared_norms
from cmcsl_core.method.preprocessing import fit_preprocessor, l2_normalize, split_preprocessing
from cmcsl_core.method.seeds import seed_order
from cmcsl_core.models.base import class_weight_vector, make_sklearn_classifier
from cmcsl_core.models.gnb import GNBBatch, GNBTask
from cmcsl_core.models.proba import FitTask, fit_predict, fit_predict_proba

__all__ = ["Row", "TrainingSet", "LabelSet", "Fold", "fold_label_sets", "evaluate_fold"]


class Row(NamedTuple):
    """One row of a curve."""

    method: str
    modality: str
    b_class: int
    fold: int
    bac: float


class TrainingSet(NamedTuple):
    """What one modality's classifier is trained on."""

    labels: np.ndarray
    """Training labels."""
    rows: np.ndarray | None
    """The training rows they belong to (None: every training row)."""


class LabelSet(NamedTuple):
    """One method's training sets at one ``b_class`` (one per modality)."""

    method: str
    b_class: int
    tasks: list[TrainingSet]
    quality: float | None = None
    """BAC of the method's labels on the training fold's non-seed items (labelers only)."""


class Fold:
    """One CV fold with everything that does not depend on the seeds precomputed."""

    def __init__(self, fs: FeatureSet, train: np.ndarray, test: np.ndarray, config: CurveConfig) -> None:
        self.k = fs.n_classes
        self.y_tr, self.y_te = fs.y[train], fs.y[test]
        self.config = config
        self.Xtr: list[np.ndarray] = []
        self.Xte: list[np.ndarray] = []
        rows_l2, column_step = split_preprocessing(config.preprocessing)
        for X in fs.X:
            # fancy indexing copies, so the fold's own rows are normalised and transformed in place
            # (no preprocessed copy of the whole data set is kept while the folds run)
            Xtr = np.asarray(X[train], dtype=np.float64)
            Xte = np.asarray(X[test], dtype=np.float64)
            if rows_l2:
                l2_normalize(Xtr, copy=False)
                l2_normalize(Xte, copy=False)
            prep = fit_preprocessor(Xtr, column_step)
            self.Xtr.append(prep.transform(Xtr, copy=False))
            self.Xte.append(prep.transform(Xte, copy=False))
        self.gnb = config.classifier == "gnb"
        self._batches: dict[int, GNBBatch] = {}
        if not self.gnb:
            self.factory = make_sklearn_classifier(config.classifier)

    def batch(self, m: int) -> GNBBatch:
        """Modality ``m``'s :class:`GNBBatch`, made on first use (it holds the centred squares of the training rows)."""
        if m not in self._batches:
            self._batches[m] = GNBBatch(self.Xtr[m], self.Xte[m])
        return self._batches[m]

    def release(self, m: int) -> None:
        """Drop modality ``m``'s GNB batch (its memory) once nothing else will use it."""
        self._batches.pop(m, None)

    def weights(self, labels: np.ndarray) -> np.ndarray:
        """Sample weights of a classifier trained on ``labels`` (the config's scheme)."""
        return class_weight_vector(labels, self.k, self.config.class_weights, self.y_tr)

    def score(self, pred: np.ndarray) -> float:
        """Balanced accuracy of test-fold predictions."""
        return balanced_accuracy(self.y_te, pred, self.k)

    def label_quality(self, labels: np.ndarray, seeds: np.ndarray) -> float:
        """Balanced accuracy of training-fold labels on the non-seed training items (the labels' own quality)."""
        scored = np.ones(self.y_tr.size, dtype=bool)
        scored[seeds] = False
        return balanced_accuracy(self.y_tr[scored], labels[scored], self.k)

    def scores(self, m: int, tasks: list[TrainingSet]) -> list[float]:
        """BAC on the test fold of modality ``m``'s classifier for each (labels, rows) task."""
        if self.gnb:
            batch = self.batch(m)
            gnb_tasks = [GNBTask(lab, self.weights(lab), rows) for lab, rows in tasks]
            preds = batch.predict(batch.fit(gnb_tasks, self.k))
            return [self.score(p) for p in preds]
        if self.config.classifier == "lr":  # batched L-BFGS (cmcsl_core.models.lr)
            fits = [FitTask(lab, self.weights(lab), rows) for lab, rows in tasks]
            return [self.score(p) for p in fit_predict("lr", self.Xtr[m], self.Xte[m], fits, self.k)]
        out = []
        for lab, rows in tasks:
            X = self.Xtr[m] if rows is None else self.Xtr[m][rows]
            clf = self.factory()
            clf.fit(X, lab, sample_weight=self.weights(lab))
            out.append(self.score(clf.predict(self.Xte[m])))
        return out

    def proba(self, X: np.ndarray, Xt: np.ndarray, batch: GNBBatch | None = None) -> np.ndarray:
        """Class supports on the test rows ``Xt`` of a classifier trained on ``X`` with all true labels."""
        w = self.weights(self.y_tr)
        if self.gnb:
            batch = batch if batch is not None else GNBBatch(X, Xt)
            return batch.predict_proba(batch.fit([GNBTask(self.y_tr, w)], self.k)[0])
        return fit_predict_proba(self.config.classifier, X, Xt, [FitTask(self.y_tr, w)], self.k)[0]

    def early_fusion(self) -> float:
        """EF: one classifier on the concatenated modalities."""
        return self.score(np.argmax(self.proba(np.hstack(self.Xtr), np.hstack(self.Xte)), axis=1))

    def late_fusion(self) -> float:
        """LF: per-modality classifiers; the class with the largest mean support wins."""
        batches: Sequence[GNBBatch | None] = [self.batch(m) if self.gnb else None for m in range(len(self.Xtr))]
        support = np.mean([self.proba(a, b, batch) for a, b, batch in zip(self.Xtr, self.Xte, batches)], axis=0)
        return self.score(np.argmax(support, axis=1))

    def late_fusion_rows(
        self,
        fold_id: int,
        methods: Sequence[str],
        b_values: Sequence[int],
        cmcsl_labels: Sequence[tuple[int, np.ndarray]],
    ) -> list[Row]:
        """Curve rows of the LF-* and CMCSL-* methods (:mod:`~cmcsl_core.evaluation.late_fusion`).

        Parameters
        ----------
        fold_id : int
            Fold index (seeds the validation splits).
        methods : sequence of str
            The curve's methods; only LF-* and CMCSL-* are computed here.
        b_values : sequence of int
            LF-* rows are repeated for every b (they do not depend on it).
        cmcsl_labels : sequence of (b_class, pseudo-labels of the training fold)
            CMCSL's cross-modal labels per b (needed for CMCSL-*).
        """
        config = self.config
        rs = int(config.random_state)
        rows: list[Row] = []

        def predictions(
            targets: list[np.ndarray], rules: list[str], seeds: list[tuple[int, ...]]
        ) -> list[dict[str, np.ndarray]]:
            return fused_predictions(
                config.classifier, self.Xtr, self.Xte, targets, self.weights, self.k, rules, seeds,
                c_grid=config.c_grid,
            )

        lf_rules = [m.split("-", 1)[1] for m in methods if m in LF_METHODS]
        if lf_rules:
            preds = predictions([self.y_tr], lf_rules, [(rs, fold_id, 0)])[0]
            for rule in lf_rules:
                score = self.score(preds[rule])
                rows += [Row(f"LF-{rule}", FUSED, b, fold_id, score) for b in b_values]
        cm_rules = [m.split("-", 1)[1] for m in methods if m in CMCSL_FUSION_METHODS]
        if cm_rules and cmcsl_labels:
            bs = [b for b, _ in cmcsl_labels]
            all_preds = predictions([lab for _, lab in cmcsl_labels], cm_rules, [(rs, fold_id, b) for b in bs])
            for b, preds in zip(bs, all_preds):
                rows += [Row(f"CMCSL-{rule}", FUSED, b, fold_id, self.score(preds[rule])) for rule in cm_rules]
        return rows


def fold_label_sets(
    fold: Fold, fold_id: int, config: CurveConfig, names: tuple[str, ...], class_names: tuple[str, ...]
) -> list[LabelSet]:
    """For every (method, b): the training labels and rows each modality's classifier gets.

    Seeds for all b come from one random order per fold (nested draws), so the
    squared distances to every candidate seed are one matrix product per modality.
    """
    cmcsl_fusion = any(m in CMCSL_FUSION_METHODS for m in config.methods)  # needs the CMCSL labels
    seeded = [m for m in SEEDED_METHODS if m in config.methods or (m == "CMCSL" and cmcsl_fusion)]
    if not seeded:
        return []
    b_max = max(config.b_values)
    order = seed_order(fold.y_tr, b_max, (config.random_state, fold_id), class_names=class_names, n_classes=fold.k)
    need_labels = "UNI" in seeded or "CMCSL" in seeded
    if need_labels:
        candidates = order.ravel()  # class-major: column c * b_max + j
        norms = [squared_norms(X) for X in fold.Xtr]
        d2_all = [squared_distances(X, X[candidates], xx) for X, xx in zip(fold.Xtr, norms)]
    out: list[LabelSet] = []
    n_mod = len(names)
    seed_sets: list[tuple[int, np.ndarray, np.ndarray]] = []
    for b in config.b_values:
        cols = np.sort((np.arange(fold.k)[:, None] * b_max + np.arange(b)[None, :]).ravel())
        seeds_unsorted = order.ravel()[cols]
        rank = np.argsort(seeds_unsorted)
        seeds, cols = seeds_unsorted[rank], cols[rank]
        seed_labels = fold.y_tr[seeds]
        seed_sets.append((b, seeds, seed_labels))
        if "PRE" in seeded:
            pre = [TrainingSet(seed_labels, seeds)] * n_mod
            out.append(LabelSet("PRE", b, pre))
        if need_labels:
            result = cross_modal_labels(
                fold.Xtr,
                seeds,
                seed_labels,
                names,
                sq_distances=[d2[:, cols] for d2 in d2_all],
                sq_norms=norms,
                exact_distances=False,
            )
            if "UNI" in seeded:
                uni = [TrainingSet(result.labels[m], None) for m in range(n_mod)]
                out.append(LabelSet("UNI", b, uni))
            if "CMCSL" in seeded:
                cmcsl = [TrainingSet(result.final_labels, None)] * n_mod
                out.append(LabelSet("CMCSL", b, cmcsl, fold.label_quality(result.final_labels, seeds)))
    labelers = [m for m in seeded if m in LABELER_METHODS]
    if labelers:
        graphs = FeatureGraphs(fold.Xtr)  # one set of kNN graphs for every labeler and b of this fold
        for method in labelers:
            labeler = make_labeler(method_labeler(method))
            finals = labeler.final_labels_many(graphs, [(s, lab) for _, s, lab in seed_sets], fold.k)
            for (b, seeds, _), final in zip(seed_sets, finals):
                out.append(LabelSet(method, b, [TrainingSet(final, None)] * n_mod, fold.label_quality(final, seeds)))
    return out


def evaluate_fold(fs: FeatureSet, fold_id: int, train: np.ndarray, test: np.ndarray, config: CurveConfig) -> list[Row]:
    """All rows of one fold (FULL, EF and LF repeated for every ``b_class``)."""
    fold = Fold(fs, train, test, config)
    names = fs.modality_names
    fixed: list[tuple[str, str, float]] = []
    if "FULL" in config.methods:
        scores = [fold.scores(m, [TrainingSet(fold.y_tr, None)])[0] for m in range(len(names))]
        fixed += [("FULL", n, s) for n, s in zip(names, scores)]
    if "EF" in config.methods:
        fixed.append(("EF", FUSED, fold.early_fusion()))
    if "LF" in config.methods:
        fixed.append(("LF", FUSED, fold.late_fusion()))
    rows = [Row(method, name, b, fold_id, score) for b in config.b_values for method, name, score in fixed]
    label_sets = fold_label_sets(fold, fold_id, config, names, fs.class_names)
    cmcsl_labels = [(s.b_class, s.tasks[0].labels) for s in label_sets if s.method == "CMCSL"]
    rows += fold.late_fusion_rows(fold_id, config.methods, config.b_values, cmcsl_labels)
    label_sets = [s for s in label_sets if s.method in config.methods]
    if config.label_quality:
        rows += [Row(s.method, LABELS, s.b_class, fold_id, s.quality) for s in label_sets if s.quality is not None]
    for m, name in enumerate(names):
        scores = fold.scores(m, [s.tasks[m] for s in label_sets]) if label_sets else []
        fold.release(m)  # one modality's batch in memory at a time
        rows += [Row(s.method, name, s.b_class, fold_id, sc) for s, sc in zip(label_sets, scores)]
    return rows
