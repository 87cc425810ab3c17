"""The late-fusion paper's own protocol: random train/validation/test splits, per-modality and fused scores.

For every repeat the items are split at random, stratified by class, into train,
validation and test parts (default 8:1:1). The preprocessing is fitted on the train
part only. One base classifier per modality is trained on the train part; for
logistic regression its ``C`` is chosen on the validation part (lowest validation
log-loss over ``c_grid``, :mod:`cmcsl_core.evaluation.model_selection`; the chosen
values are in :attr:`FusionStudyResult.chosen_c`); DRA and MLA weights come from the
validation part (:mod:`cmcsl_core.evaluation.fusion`); every model is scored on the
test part by accuracy and F1. F1 is the support-weighted F1
by default (``f1_average="weighted"``, the usual figure on MVSA) or macro F1.

Test labels are used for scoring only: the weights and predictions depend on the
train and validation items alone (tested by poisoning the test labels).
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from cmcsl_core.constants import CLI, RANDOM_STATE
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.fusion import (
    ALPHAS,
    F1_AVERAGES,
    FUSION_RULES,
    MLA_METRICS,
    FusionWeights,
    fit_fusion_weights,
    fuse,
    macro_f1,
    weighted_f1,
)
from cmcsl_core.evaluation.model_selection import C_GRID, best_c, c_text, check_c_grid
from cmcsl_core.fileio import write_atomically
from cmcsl_core.method.preprocessing import check_preprocessing, fit_preprocessor
from cmcsl_core.models.base import check_class_weights, check_classifier, class_weight_vector
from cmcsl_core.models.proba import FitTask, fit_predict_proba
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "PUBLISHED_FUSION",
    "F1_AVERAGES",
    "FusionStudyConfig",
    "FusionStudyResult",
    "parse_split",
    "split_text",
    "stratified_three_way",
    "fusion_splits",
    "run_fusion_study",
]

PUBLISHED_FUSION: dict[str, tuple[float, float]] = {
    "image": (0.621, 0.616),
    "text": (0.707, 0.711),
    "LF-DRA": (0.692, 0.681),
    "LF-MLA": (0.727, 0.722),
}
"""The late-fusion paper's MVSA-Single table: (accuracy, F1) per model."""

_ALIASES = {"visual": "image", "image": "image", "text": "text"}


def parse_split(text: str | tuple[float, ...]) -> tuple[float, float, float]:
    """``"8:1:1"`` -> (0.8, 0.1, 0.1); CMCSLError unless three positive parts."""
    parts = text.split(":") if isinstance(text, str) else list(text)
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise CMCSLError(f"--split must look like 8:1:1, got {text!r}") from None
    if len(values) != 3 or min(values) <= 0:
        raise CMCSLError(f"--split needs three positive parts train:validation:test, got {text!r}")
    tot = sum(values)
    return (values[0] / tot, values[1] / tot, values[2] / tot)


@dataclass(frozen=True)
class FusionStudyConfig:
    """Settings of :func:`run_fusion_study` (the ``fusion`` command's flags).

    ``c_grid``: the ``C`` values an ``lr`` classifier chooses from on the validation
    part (one value: that ``C``, no choice; ignored by ``gnb`` and ``cart``).
    """

    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    repeats: int = 5
    classifier: str = "lr"
    preprocessing: str = "l2std"
    random_state: int = RANDOM_STATE
    class_weights: str = "none"
    alpha: str = "none"
    mla_metric: str = "accuracy"
    f1_average: str = "weighted"
    c_grid: tuple[float, ...] = C_GRID

    def validated(self) -> "FusionStudyConfig":
        """A checked copy; CMCSLError for bad values."""
        if int(self.repeats) < 1:
            raise CMCSLError(f"repeats must be at least 1, got {self.repeats}")
        for value, choices, what in (
            (self.alpha, ALPHAS, "alpha"),
            (self.mla_metric, MLA_METRICS, "MLA metric"),
            (self.f1_average, F1_AVERAGES, "F1 average"),
        ):
            if value not in choices:
                raise CMCSLError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
        return FusionStudyConfig(
            split=parse_split(tuple(self.split)),
            repeats=int(self.repeats),
            classifier=check_classifier(self.classifier),
            preprocessing=check_preprocessing(self.preprocessing),
            random_state=int(self.random_state),
            class_weights=check_class_weights(self.class_weights),
            alpha=self.alpha,
            mla_metric=self.mla_metric,
            f1_average=self.f1_average,
            c_grid=check_c_grid(self.c_grid),
        )

    def command(self, features: str, out: str = "fusion.csv") -> str:
        """The equivalent ``python -m cmcsl_core fusion ...`` line, paths shell-quoted.

        The split is written as the smallest whole-number ratio that gives the same
        proportions (``8:1:1``). Parsing the line with the CLI gives back this
        (validated) config; the CLI has no class-weight flag, so ``class_weights``
        must be ``"none"``.

        Raises
        ------
        CMCSLError
            ``class_weights`` other than ``"none"`` (the ``fusion`` command cannot express it).
        """
        c = self.validated()
        if c.class_weights != "none":
            raise CMCSLError("the fusion command trains unweighted classifiers; use class_weights='none'")
        args = [
            "fusion",
            "--features", str(features),
            "--split", split_text(c.split),
            "--repeats", str(c.repeats),
            "--classifier", c.classifier,
            "--preprocessing", c.preprocessing,
            "--seed", str(c.random_state),
            "--alpha", c.alpha,
            "--mla-metric", c.mla_metric,
            "--f1", c.f1_average,
            *(["--c-grid", ",".join(c_text(v) for v in c.c_grid)] if c.c_grid != C_GRID else []),
            "--out", str(out),
        ]
        return f"{CLI} {shlex.join(args)}"


def split_text(split: tuple[float, float, float]) -> str:
    """``(0.8, 0.1, 0.1)`` -> ``"8:1:1"``: the smallest whole ratio (up to 1000) with the same proportions."""
    fractions = parse_split(tuple(split))
    for scale in range(1, 1001):
        parts = [round(v * scale) for v in fractions]
        if min(parts) > 0 and parse_split(tuple(float(p) for p in parts)) == fractions:
            return ":".join(str(p) for p in parts)
    return ":".join(repr(v) for v in fractions)


@dataclass(frozen=True)
class FusionStudyResult:
    """Scores per model and repeat, and the fusion weights of every repeat.

    Attributes
    ----------
    frame : DataFrame
        Columns ``model, repeat, accuracy, f1``: each modality (named as in the file),
        then LF-MEAN, LF-MAX, LF-DRA, LF-MLA.
    weights : tuple of dict
        Per repeat, ``{rule: FusionWeights}``.
    predictions : tuple of dict
        Per repeat, ``{model: predicted classes of that repeat's test items}``.
    config : FusionStudyConfig
    encoders : str
        Where the features came from (the file's ``source`` and ``description``).
    chosen_c : tuple of dict
        Per repeat, ``{modality: C}`` chosen on the validation part (empty for ``gnb``/``cart``).
    """

    frame: "pandas.DataFrame"
    weights: tuple[dict[str, FusionWeights], ...]
    predictions: tuple[dict[str, np.ndarray], ...]
    config: FusionStudyConfig = field(default_factory=FusionStudyConfig)
    encoders: str = ""
    chosen_c: tuple[dict[str, float], ...] = ()

    def chosen_c_text(self) -> str:
        """The chosen ``C`` per modality over the repeats, e.g. ``image 0.0003 (x5), text 0.001 (x2), 0.003 (x3)``."""
        if not self.chosen_c:
            return ""
        parts = []
        for name in self.chosen_c[0]:
            values, counts = np.unique([c[name] for c in self.chosen_c], return_counts=True)
            parts.append(f"{name} " + ", ".join(f"{c_text(v)} (x{n})" for v, n in zip(values, counts)))
        return "; ".join(parts)

    def summary(self) -> "pandas.DataFrame":
        """Mean and std of accuracy and F1 per model (in row order)."""
        g = self.frame.groupby("model", sort=False)[["accuracy", "f1"]]
        out = g.agg(["mean", "std"])
        out.columns = [f"{a}_{b}" for a, b in out.columns]
        return out.reset_index()

    def with_published(self) -> "pandas.DataFrame":
        """The summary beside the late-fusion paper's MVSA-Single numbers (NaN where it has none)."""
        s = self.summary()
        key = s["model"].map(lambda m: _ALIASES.get(str(m).lower(), m))
        s["paper_accuracy"] = key.map(lambda m: PUBLISHED_FUSION.get(m, (np.nan, np.nan))[0])
        s["paper_f1"] = key.map(lambda m: PUBLISHED_FUSION.get(m, (np.nan, np.nan))[1])
        return s

    def csv_bytes(self) -> bytes:
        """The per-repeat frame as CSV."""
        return self.frame.to_csv(index=False, float_format="%.6f").encode()

    def to_csv(self, path: PathLike) -> Path:
        """Write the per-repeat frame atomically."""
        data = self.csv_bytes()
        write_atomically(Path(path), lambda fh: fh.write(data))
        return Path(path)


def stratified_three_way(
    y: np.ndarray, split: tuple[float, float, float], random_state: int | tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (train, validation, test) positions, stratified by class.

    Per class of ``c`` items, ``round(c * validation)`` go to validation and
    ``round(c * test)`` to test (at least one each when ``c >= 3``), the rest to train.
    """
    rng = np.random.default_rng(random_state)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n = members.size
        n_val, n_te = int(round(n * split[1])), int(round(n * split[2]))
        if n >= 3:
            n_val, n_te = max(n_val, 1), max(n_te, 1)
        if n - n_val - n_te < 1:
            raise CMCSLError(f"class {int(c)} has too few items ({n}) for a train/validation/test split")
        parts[0].append(members[n_val + n_te :])
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val : n_val + n_te])
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    if va.size == 0 or te.size == 0:
        raise CMCSLError("the validation or test split is empty; use more items or a larger share")
    return tr, va, te


def fusion_splits(fs: FeatureSet, config: FusionStudyConfig) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The (train, validation, test) positions of every repeat (seeded by ``(random_state, repeat)``)."""
    cfg = config.validated()
    return [stratified_three_way(fs.y, cfg.split, (cfg.random_state, r)) for r in range(cfg.repeats)]


def run_fusion_study(
    fs: FeatureSet,
    config: FusionStudyConfig | None = None,
    progress: ProgressFn | None = None,
    splits: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> FusionStudyResult:
    """Run the late-fusion paper's protocol on ``fs`` (see the module docstring).

    Parameters
    ----------
    fs : FeatureSet
        The data (M >= 2 modalities).
    config : FusionStudyConfig, optional
        Settings; the defaults otherwise.
    progress : callable(done, total), optional
        Called after every repeat.
    splits : sequence of (train, validation, test) positions, optional
        Use these partitions instead of :func:`fusion_splits` (one per repeat).

    Returns
    -------
    FusionStudyResult
    """
    import pandas as pd

    cfg = (config or FusionStudyConfig()).validated()
    parts = list(splits) if splits is not None else fusion_splits(fs, cfg)
    k = fs.n_classes
    names = fs.modality_names
    rows = []
    all_weights = []
    all_preds = []
    all_c: list[dict[str, float]] = []
    f1 = weighted_f1 if cfg.f1_average == "weighted" else macro_f1
    grid = cfg.c_grid if cfg.classifier == "lr" else (1.0,)
    for r, (tr, va, te) in enumerate(parts):
        y_tr, y_va = fs.y[tr], fs.y[va]
        w = class_weight_vector(y_tr, k, cfg.class_weights, y_tr)
        tasks = [FitTask(y_tr, w, C=c) for c in grid]  # one model per C, fitted together
        val_p, test_p = [], []
        chosen: dict[str, float] = {}
        for name, X in zip(names, fs.X):
            prep = fit_preprocessor(X[tr], cfg.preprocessing)
            Xtr = prep.transform(X[tr])
            Xeval = prep.transform(np.vstack([X[va], X[te]]))
            Ps = fit_predict_proba(cfg.classifier, Xtr, Xeval, tasks, k)
            j = best_c([P[: va.size] for P in Ps], y_va, grid)[0] if len(grid) > 1 else 0
            P = Ps[j]
            chosen[name] = grid[j]
            val_p.append(P[: va.size])
            test_p.append(P[va.size :])
        preds: dict[str, np.ndarray] = {n: np.argmax(p, axis=1) for n, p in zip(names, test_p)}
        weights: dict[str, FusionWeights] = {}
        for rule in FUSION_RULES:
            fw = fit_fusion_weights(rule, y_va, val_p, k, cfg.alpha, cfg.mla_metric)
            weights[rule] = fw
            preds[f"LF-{rule}"] = np.argmax(fuse(test_p, fw), axis=1)
        y_te = fs.y[te]
        for model, p in preds.items():
            rows.append((model, r, float(np.mean(p == y_te)), f1(y_te, p, k)))
        all_weights.append(weights)
        all_preds.append(preds)
        if cfg.classifier == "lr":
            all_c.append(chosen)
        if progress is not None:
            progress(r + 1, len(parts))
    frame = pd.DataFrame(rows, columns=["model", "repeat", "accuracy", "f1"])
    encoders = "; ".join(s for s in (fs.source, fs.description) if s) or "unknown encoders"
    return FusionStudyResult(frame, tuple(all_weights), tuple(all_preds), cfg, encoders, tuple(all_c))


def config_dict(config: FusionStudyConfig) -> dict[str, object]:
    """The config as a plain dict."""
    return asdict(config)
