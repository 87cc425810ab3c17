"""The paper's evaluation protocol: BAC curves over b_class under 5 x 2 CV.

For every fold of ``RepeatedStratifiedKFold(n_splits=2, n_repeats=repeats,
random_state=random_state)`` the preprocessing is fitted on the training fold and
applied to the test fold once; then, for every ``b_class``, seeds are drawn from
the training fold (``b_class`` per class, without replacement, from a random
stream keyed by ``(random_state, fold, b_class)``: all methods at one ``(fold, b)``
share the same seeds), and each method trains a base classifier and is scored by
balanced accuracy on the test fold.

Methods
-------
FULL   per modality, all true training labels (upper bound; independent of b).
PRE    per modality, the seeds only.
UNI    per modality, the modality's own nearest-seed pseudo-labels.
CMCSL  per modality, the cross-modal pseudo-labels.
EF     early fusion: one classifier on the concatenated preprocessed modalities,
       true labels (modality ``fused``).
LF     late fusion: per-modality classifiers on true labels, the class with the
       largest mean support wins, as in the authors' code (modality ``fused``).

Semi-supervised methods (PRE, UNI, CMCSL) see the true labels of their seeds and
nothing else, except that ``class_weights="oracle"`` reproduces the authors'
weights from the true class frequencies of the training fold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from cmcsl_core.models.classifiers import (
    GNBBatch,
    GNBData,
    GNBTask,
    check_class_weights,
    check_classifier,
    class_weight_vector,
    fit_gnb,
    make_sklearn_classifier,
)
from cmcsl_core.errors import CMCSLError
from cmcsl_core.datasets.features import FeatureSet, write_atomically
from cmcsl_core.method.labeling import cross_modal_labels, squared_distances, squared_norms
from cmcsl_core.evaluation.metrics import balanced_accuracy
from cmcsl_core.method.preprocessing import check_preprocessing, fit_preprocessor, l2_normalize
from cmcsl_core.method.seeds import seed_order

__all__ = ["METHODS", "CurveConfig", "CurveResult", "run_curve", "cv_splits", "check_methods"]

METHODS: tuple[str, ...] = ("FULL", "PRE", "UNI", "CMCSL", "EF", "LF")
"""All methods, in display order."""

FUSED = "fused"
"""The ``modality`` value of EF and LF rows."""

ProgressFn = Callable[[int, int], None]
Task = tuple[np.ndarray, "np.ndarray | None"]
"""Training labels and the rows they belong to (None: every training row)."""


def check_methods(methods: Iterable[str] | str) -> tuple[str, ...]:
    """Canonical, de-duplicated method names in :data:`METHODS` order."""
    if isinstance(methods, str):
        methods = [m for m in methods.replace(" ", ",").split(",") if m]
    wanted = [str(m).strip().upper() for m in methods]
    if not wanted:
        raise CMCSLError(f"no method given; choose from {', '.join(METHODS)}")
    unknown = [m for m in wanted if m not in METHODS]
    if unknown:
        raise CMCSLError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    return tuple(m for m in METHODS if m in wanted)


@dataclass(frozen=True)
class CurveConfig:
    """Everything that determines a BAC curve (besides the data).

    The CLI's ``curve`` flags map one to one onto these fields.
    """

    methods: tuple[str, ...] = ("PRE", "UNI", "CMCSL")
    classifier: str = "gnb"
    preprocessing: str = "l2std"
    b_values: tuple[int, ...] = tuple(range(1, 21))
    repeats: int = 5
    random_state: int = 1410
    class_weights: str = "pseudo"

    def validated(self) -> "CurveConfig":
        """A copy with canonical names; raises CMCSLError for bad values."""
        b_values = tuple(int(b) for b in self.b_values)
        if not b_values or min(b_values) < 1:
            raise CMCSLError("b_class values must be whole numbers >= 1")
        if int(self.repeats) < 1:
            raise CMCSLError(f"repeats must be at least 1, got {self.repeats}")
        return CurveConfig(
            methods=check_methods(self.methods),
            classifier=check_classifier(self.classifier),
            preprocessing=check_preprocessing(self.preprocessing),
            b_values=tuple(sorted(set(b_values))),
            repeats=int(self.repeats),
            random_state=int(self.random_state),
            class_weights=check_class_weights(self.class_weights),
        )


@dataclass(frozen=True)
class CurveResult:
    """Per-fold balanced accuracies in long format.

    Attributes
    ----------
    frame : DataFrame
        Columns ``method, modality, b_class, fold, bac``; FULL, EF and LF rows are
        repeated for every ``b_class`` (they do not depend on it).
    config : CurveConfig
        The settings that produced it.
    """

    frame: pd.DataFrame
    config: CurveConfig = field(default_factory=CurveConfig)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of BAC over folds per method, modality and b_class."""
        g = self.frame.groupby(["method", "modality", "b_class"], sort=False)["bac"]
        return g.agg(["mean", "std"]).reset_index()

    def overall(self) -> pd.DataFrame:
        """Mean BAC over all b_class and folds: one row per modality, one column per method."""
        table = self.frame.groupby(["modality", "method"], sort=False)["bac"].mean().unstack("method")
        return table[[m for m in METHODS if m in table.columns]]

    def csv_bytes(self) -> bytes:
        """The long-format frame as CSV (what ``curve --out`` writes and the app offers)."""
        return self.frame.to_csv(index=False, float_format="%.6f").encode()

    def to_csv(self, path: str | Path) -> Path:
        """Write the long-format frame to ``path`` atomically."""
        path = Path(path)
        data = self.csv_bytes()
        write_atomically(path, lambda fh: fh.write(data))
        return path


def cv_splits(y: np.ndarray, repeats: int = 5, random_state: int = 1410) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) index pairs of ``repeats`` x 2 repeated stratified CV."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    min_count = int(np.bincount(y).min())
    if min_count < 2:
        raise CMCSLError("every class needs at least 2 items for 2-fold cross-validation")
    rskf = RepeatedStratifiedKFold(n_splits=2, n_repeats=repeats, random_state=random_state)
    return [(np.asarray(tr), np.asarray(te)) for tr, te in rskf.split(np.zeros((y.shape[0], 1)), y)]


def _check_b_feasible(fs: FeatureSet, splits: Sequence[tuple[np.ndarray, np.ndarray]], b_max: int) -> None:
    """Raise a clear error if some training fold has a class smaller than ``b_max``."""
    counts = np.array([np.bincount(fs.y[tr], minlength=fs.n_classes) for tr, _ in splits])
    fold, c = np.unravel_index(int(np.argmin(counts)), counts.shape)
    smallest = int(counts[fold, c])
    if b_max > smallest:
        raise CMCSLError(
            f"b_class={b_max} is impossible: class {fs.class_names[c]!r} has only {smallest} item(s) in a "
            f"training fold (half of its {int(fs.class_counts()[c])}); use b_class <= {smallest}"
        )


def _row_step(X_list: Sequence[np.ndarray], preprocessing: str) -> tuple[list[np.ndarray], str]:
    """Split a preprocessing into its row-wise part (done once) and its fitted column part.

    L2 normalisation looks at one row at a time, so doing it once before the folds
    is exactly the same as doing it in every fold.
    """
    if preprocessing in ("l2", "l2std"):
        return [l2_normalize(X) for X in X_list], {"l2": "raw", "l2std": "std"}[preprocessing]
    return list(X_list), preprocessing


class _Fold:
    """One CV fold with everything that does not depend on the seeds precomputed."""

    def __init__(
        self,
        fs: FeatureSet,
        train: np.ndarray,
        test: np.ndarray,
        config: CurveConfig,
        X_rows: Sequence[np.ndarray],
        column_step: str,
    ) -> None:
        self.k = fs.n_classes
        self.y_tr, self.y_te = fs.y[train], fs.y[test]
        self.config = config
        self.Xtr: list[np.ndarray] = []
        self.Xte: list[np.ndarray] = []
        for X in X_rows:
            prep = fit_preprocessor(X[train], column_step)
            self.Xtr.append(prep.transform(X[train]))
            self.Xte.append(prep.transform(X[test]))
        self.gnb = config.classifier == "gnb"
        if self.gnb:
            self.batches = [GNBBatch(a, b) for a, b in zip(self.Xtr, self.Xte)]
        else:
            self.factory = make_sklearn_classifier(config.classifier)

    def weights(self, labels: np.ndarray) -> np.ndarray:
        return class_weight_vector(labels, self.k, self.config.class_weights, self.y_tr)

    def score(self, pred: np.ndarray) -> float:
        return balanced_accuracy(self.y_te, pred, self.k)

    def scores(self, m: int, tasks: list[tuple[np.ndarray, np.ndarray | None]]) -> list[float]:
        """BAC on the test fold of modality ``m``'s classifier for each (labels, rows) task."""
        if self.gnb:
            batch = self.batches[m]
            gnb_tasks = [GNBTask(lab, self.weights(lab), rows) for lab, rows in tasks]
            preds = batch.predict(batch.fit(gnb_tasks, self.k))
            return [self.score(p) for p in preds]
        out = []
        for lab, rows in tasks:
            X = self.Xtr[m] if rows is None else self.Xtr[m][rows]
            clf = self.factory()
            clf.fit(X, lab, sample_weight=self.weights(lab))
            out.append(self.score(clf.predict(self.Xte[m])))
        return out

    def proba(self, X: np.ndarray, Xt: np.ndarray) -> np.ndarray:
        """Class supports on the test fold of a classifier trained on all true labels."""
        w = self.weights(self.y_tr)
        if self.gnb:
            data = GNBData.from_rows(X)
            return fit_gnb(data, self.y_tr, w, self.k).predict_proba(*data.prepare_test(Xt))
        clf = self.factory()
        clf.fit(X, self.y_tr, sample_weight=w)
        full = np.zeros((Xt.shape[0], self.k))
        full[:, clf.classes_] = clf.predict_proba(Xt)
        return full

    def early_fusion(self) -> float:
        return self.score(np.argmax(self.proba(np.hstack(self.Xtr), np.hstack(self.Xte)), axis=1))

    def late_fusion(self) -> float:
        support = np.mean([self.proba(a, b) for a, b in zip(self.Xtr, self.Xte)], axis=0)
        return self.score(np.argmax(support, axis=1))


def _fold_label_sets(
    fold: _Fold, fold_id: int, config: CurveConfig, names: tuple[str, ...], class_names: tuple[str, ...]
) -> list[tuple[str, int, list[Task]]]:
    """For every (method, b): the training labels and rows each modality's classifier gets.

    Seeds for all b come from one random order per fold (nested draws), so the
    squared distances to every candidate seed are one matrix product per modality.
    """
    seeded = [m for m in ("PRE", "UNI", "CMCSL") if m in config.methods]
    if not seeded:
        return []
    b_max = max(config.b_values)
    order = seed_order(fold.y_tr, b_max, (config.random_state, fold_id), class_names=class_names, n_classes=fold.k)
    need_labels = "UNI" in seeded or "CMCSL" in seeded
    if need_labels:
        candidates = order.ravel()  # class-major: column c * b_max + j
        norms = [squared_norms(X) for X in fold.Xtr]
        d2_all = [squared_distances(X, X[candidates], xx) for X, xx in zip(fold.Xtr, norms)]
    out: list[tuple[str, int, list[Task]]] = []
    n_mod = len(names)
    for b in config.b_values:
        cols = np.sort((np.arange(fold.k)[:, None] * b_max + np.arange(b)[None, :]).ravel())
        seeds_unsorted = order.ravel()[cols]
        rank = np.argsort(seeds_unsorted)
        seeds, cols = seeds_unsorted[rank], cols[rank]
        seed_labels = fold.y_tr[seeds]
        if "PRE" in seeded:
            pre: list[Task] = [(seed_labels, seeds)] * n_mod
            out.append(("PRE", b, pre))
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
                uni: list[Task] = [(result.labels[m], None) for m in range(n_mod)]
                out.append(("UNI", b, uni))
            if "CMCSL" in seeded:
                cmcsl: list[Task] = [(result.final_labels, None)] * n_mod
                out.append(("CMCSL", b, cmcsl))
    return out


def _evaluate_fold_single_thread(*args: object) -> list[tuple[str, str, int, int, float]]:
    """:func:`_evaluate_fold` with one BLAS thread (for parallel workers, so they do not oversubscribe)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _evaluate_fold(*args)  # type: ignore[arg-type]


def _evaluate_fold(
    fs: FeatureSet,
    fold_id: int,
    train: np.ndarray,
    test: np.ndarray,
    config: CurveConfig,
    X_rows: Sequence[np.ndarray],
    column_step: str,
) -> list[tuple[str, str, int, int, float]]:
    """All rows of one fold."""
    fold = _Fold(fs, train, test, config, X_rows, column_step)
    names = fs.modality_names
    fixed: list[tuple[str, str, float]] = []
    if "FULL" in config.methods:
        scores = [fold.scores(m, [(fold.y_tr, None)])[0] for m in range(len(names))]
        fixed += [("FULL", n, s) for n, s in zip(names, scores)]
    if "EF" in config.methods:
        fixed.append(("EF", FUSED, fold.early_fusion()))
    if "LF" in config.methods:
        fixed.append(("LF", FUSED, fold.late_fusion()))
    rows = [(method, name, b, fold_id, score) for b in config.b_values for method, name, score in fixed]
    label_sets = _fold_label_sets(fold, fold_id, config, names, fs.class_names)
    for m, name in enumerate(names):
        scores = fold.scores(m, [tasks[m] for _, _, tasks in label_sets]) if label_sets else []
        rows += [(method, name, b, fold_id, s) for (method, b, _), s in zip(label_sets, scores)]
    return rows


def run_curve(
    fs: FeatureSet,
    methods: Iterable[str] | str = ("PRE", "UNI", "CMCSL"),
    classifier: str = "gnb",
    preprocessing: str = "l2std",
    b_values: Iterable[int] = range(1, 21),
    repeats: int = 5,
    random_state: int = 1410,
    class_weights: str = "pseudo",
    n_jobs: int = 1,
    progress: ProgressFn | None = None,
) -> CurveResult:
    """Compute BAC curves for ``methods`` over ``b_values`` under ``repeats`` x 2 CV.

    Parameters
    ----------
    fs : FeatureSet
        The data (M >= 2 modalities).
    methods : iterable of str or comma-separated str
        Any of :data:`METHODS`.
    classifier : {"gnb", "lr", "cart"}
        Base classifier.
    preprocessing : {"raw", "l2", "std", "minmax", "l2std"}
        Fitted on each training fold, applied to its test fold.
    b_values : iterable of int
        Seeds per class to evaluate.
    repeats : int
        Repetitions of 2-fold stratified CV (the paper: 5).
    random_state : int
        Seeds the CV split and the seed draws.
    class_weights : {"pseudo", "oracle", "none"}
        Sample-weight scheme (see :data:`cmcsl_core.models.classifiers.CLASS_WEIGHTS`).
    n_jobs : int
        Folds computed in parallel (joblib processes); 1 computes in-process.
    progress : callable(done, total), optional
        Called as work completes; ``total`` is ``folds * len(b_values)``.

    Returns
    -------
    CurveResult

    Raises
    ------
    CMCSLError
        For unknown names, or a ``b_class`` larger than a class in a training fold.
    """
    config = CurveConfig(
        methods=check_methods(methods),
        classifier=classifier,
        preprocessing=preprocessing,
        b_values=tuple(b_values),
        repeats=repeats,
        random_state=random_state,
        class_weights=class_weights,
    ).validated()
    if int(n_jobs) == 0 or int(n_jobs) < -1:
        raise CMCSLError(f"--jobs must be a positive number or -1 (all cores), got {n_jobs}")
    splits = cv_splits(fs.y, config.repeats, config.random_state)
    if any(m in config.methods for m in ("PRE", "UNI", "CMCSL")):
        _check_b_feasible(fs, splits, max(config.b_values))
    X_rows, column_step = _row_step(fs.X, config.preprocessing)
    total = len(splits) * len(config.b_values)
    done = [0]

    def tick(units: int) -> None:
        done[0] += units
        if progress is not None:
            progress(done[0], total)

    if progress is not None:
        progress(0, total)
    if n_jobs == 1:
        jobs: Iterable[list[tuple[str, str, int, int, float]]] = (
            _evaluate_fold(fs, i, tr, te, config, X_rows, column_step) for i, (tr, te) in enumerate(splits)
        )
    else:
        from joblib import Parallel, delayed

        jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_evaluate_fold_single_thread)(fs, i, tr, te, config, X_rows, column_step)
            for i, (tr, te) in enumerate(splits)
        )
    parts = []
    for part in jobs:
        parts.append(part)
        tick(len(config.b_values))
    frame = pd.DataFrame(
        [row for part in parts for row in part], columns=["method", "modality", "b_class", "fold", "bac"]
    )
    order = {
        "method": {m: i for i, m in enumerate(METHODS)},
        "modality": {m: i for i, m in enumerate((*fs.modality_names, FUSED))},
    }
    frame = frame.sort_values(
        ["method", "modality", "b_class", "fold"],
        key=lambda col: col.map(order[col.name]) if col.name in order else col,
        kind="stable",
    ).reset_index(drop=True)
    return CurveResult(frame=frame, config=config)


def config_dict(config: CurveConfig) -> dict[str, object]:
    """The config as a plain dict (for cache keys and CSV headers)."""
    return asdict(config)
