"""BAC curves for the app.

Cached computation of a :class:`CurveConfig` with a progress bar, the paper overlay, exports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.constants import FUSED, LABELS
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.evaluation.config import SEEDED_METHODS, CurveConfig
from cmcsl_core.evaluation.curve import CurveResult, run_curve
from cmcsl_core.evaluation.fusion_study import FusionStudyConfig, FusionStudyResult, run_fusion_study

from .loading import Dataset

__all__ = [
    "CURVE_CSV",
    "FUSION_CSV",
    "PER_MODALITY",
    "compute_curve",
    "compute_fusion",
    "fusion_weights_frame",
    "curve_image_cached",
    "published_overlay",
    "max_b_class",
    "panel_names",
]

CURVE_CSV = "curve.csv"
"""File name of the curve download (and the ``--out`` of the command line shown)."""

FUSION_CSV = "fusion.csv"
"""File name of the late-fusion study's download (and the ``--out`` of its command line)."""

PER_MODALITY: tuple[str, ...] = ("FULL", *SEEDED_METHODS)
"""Methods with one curve per modality (the others, EF and LF, fuse the modalities: modality ``fused``)."""


@st.cache_data(show_spinner=False, max_entries=32)
def _curve(data_key: str, config: CurveConfig, _fs: FeatureSet) -> pd.DataFrame:
    # the progress bar is created inside the cached function, so that Streamlit can replay it (as empty)
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"{config.repeats}x2 CV: {done}/{total} (fold, b_class) steps")

    frame = run_curve(_fs, config, progress=progress).frame
    bar.empty()
    return frame


def compute_curve(data: Dataset, config: CurveConfig) -> CurveResult:
    """The curve of ``config`` on ``data`` (cached per data and config), with a progress bar while computing.

    Raises
    ------
    CMCSLError
        An invalid config, or b_class larger than the training folds allow.
    """
    config = config.validated()
    return CurveResult(frame=_curve(data.key, config, data.fs), config=config)


@st.cache_data(show_spinner=False, max_entries=16)
def _fusion(data_key: str, config: FusionStudyConfig, _fs: FeatureSet) -> FusionStudyResult:
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"late-fusion study: {done}/{total} random splits")

    progress(0, config.repeats)
    result = run_fusion_study(_fs, config, progress=progress)
    bar.empty()
    return result


def compute_fusion(data: Dataset, config: FusionStudyConfig) -> FusionStudyResult:
    """The late-fusion paper's protocol on ``data`` (cached per data and config), with a progress bar.

    Raises
    ------
    CMCSLError
        An invalid config, or a class too small for a train/validation/test split.
    """
    return _fusion(data.key, config.validated(), data.fs)


def fusion_weights_frame(
    result: FusionStudyResult, modalities: tuple[str, ...], class_names: tuple[str, ...]
) -> pd.DataFrame:
    """The DRA and MLA weights, averaged over the repeats: one row per modality.

    Columns ``DRA <class>`` (the per-class column weights ``W_ij``) and ``MLA`` (the modality weight ``W_i``).
    """
    cols: dict[str, np.ndarray] = {}
    dra = [w["DRA"].weights for w in result.weights if w["DRA"].weights is not None]
    if dra:
        mean = np.mean(np.stack(dra), axis=0)
        for j, name in enumerate(class_names):
            cols[f"DRA {name}"] = mean[:, j]
    mla = [w["MLA"].weights for w in result.weights if w["MLA"].weights is not None]
    if mla:
        cols["MLA"] = np.mean(np.stack(mla), axis=0)
    return pd.DataFrame(cols, index=pd.Index(list(modalities), name="modality"))


def panel_names(result: CurveResult, modalities: tuple[str, ...]) -> tuple[str, ...]:
    """The figure's panels: one per modality, plus ``labels`` when the curve scored the labels themselves."""
    has_quality = result.config.label_quality and bool((result.frame["modality"] == LABELS).any())
    return (*modalities, LABELS) if has_quality else modalities


def max_b_class(fs: FeatureSet) -> int:
    """The largest b_class every training fold of 2-fold CV can offer (about half the smallest class)."""
    return max(1, int(np.bincount(fs.y, minlength=fs.n_classes).min()) // 2)


def published_overlay(
    subset: str | None, modalities: tuple[str, ...], config: CurveConfig
) -> dict[tuple[str, str], pd.DataFrame]:
    """The paper's curves for the settings it published (empty for custom data)."""
    if subset is None:
        return {}
    from cmcsl_core.datasets.published import published_curve, published_setting_exists

    out = {}
    for method in config.methods:
        mods = modalities if method in PER_MODALITY else (FUSED,)
        for mod in mods:
            if published_setting_exists(subset, mod, method, config.classifier, config.preprocessing):
                out[(mod, method)] = published_curve(subset, mod, method, config.classifier, config.preprocessing)
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def curve_image_cached(
    summary: pd.DataFrame,
    modalities: tuple[str, ...],
    methods: tuple[str, ...],
    fmt: str,
    title: str,
    overlay: dict[tuple[str, str], pd.DataFrame],
) -> bytes:
    """:func:`cmcsl_studio_ui.figures.curve_image`, cached (matplotlib takes a few tenths of a second)."""
    from .figures import curve_image

    return curve_image(summary, modalities, methods, fmt, title, overlay)
