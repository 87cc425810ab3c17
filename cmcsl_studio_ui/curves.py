"""BAC curves for the app: cached computation with a progress bar, the paper overlay, exports."""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.evaluation.curve import CurveResult, run_curve
from cmcsl_core.datasets.features import FeatureSet

from .data import Dataset

__all__ = ["CurveArgs", "compute_curve", "curve_image_cached", "curve_csv", "published_overlay", "cli_command", "max_b_class"]


@dataclass(frozen=True)
class CurveArgs:
    """The arguments of one curve (the CLI's ``curve`` flags)."""

    methods: tuple[str, ...]
    classifier: str
    preprocessing: str
    b_min: int
    b_max: int
    repeats: int
    seed: int
    class_weights: str


@st.cache_data(show_spinner=False, max_entries=32)
def _curve(data_key: str, args: CurveArgs, _fs: FeatureSet) -> pd.DataFrame:
    # the progress bar is created inside the cached function, so that Streamlit can replay it (as empty)
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(done / total, text=f"5x2 CV: {done}/{total} (fold, b_class) steps")

    frame = run_curve(
        _fs,
        methods=args.methods,
        classifier=args.classifier,
        preprocessing=args.preprocessing,
        b_values=range(args.b_min, args.b_max + 1),
        repeats=args.repeats,
        random_state=args.seed,
        class_weights=args.class_weights,
        progress=progress,
    ).frame
    bar.empty()
    return frame


def compute_curve(data: Dataset, args: CurveArgs) -> pd.DataFrame:
    """The long-format curve frame (cached per data and arguments), with a progress bar while computing."""
    return _curve(data.key, args, data.fs)


def curve_csv(frame: pd.DataFrame) -> bytes:
    """The CSV bytes ``python -m cmcsl_core curve`` writes for the same frame."""
    return CurveResult(frame=frame).csv_bytes()


def max_b_class(fs: FeatureSet) -> int:
    """The largest b_class every training fold of 2-fold CV can offer (about half the smallest class)."""
    return max(1, int(np.bincount(fs.y, minlength=fs.n_classes).min()) // 2)


def published_overlay(
    subset: str | None, modalities: tuple[str, ...], methods: tuple[str, ...], classifier: str, preprocessing: str
) -> dict[tuple[str, str], pd.DataFrame]:
    """The paper's curves for the settings it published (empty for custom data)."""
    if subset is None:
        return {}
    from cmcsl_core.datasets.published import published_curve, published_setting_exists

    out = {}
    for method in methods:
        mods = ("fused",) if method in ("EF", "LF") else modalities
        for mod in mods:
            if published_setting_exists(subset, mod, method, classifier, preprocessing):
                out[(mod, method)] = published_curve(subset, mod, method, classifier, preprocessing)
    return out


def cli_command(data: Dataset, args: CurveArgs) -> str:
    """The ``python -m cmcsl_core curve`` line that writes the same CSV."""
    return (
        f"python -m cmcsl_core curve --features {data.features_arg} --methods {','.join(args.methods)} "
        f"--classifier {args.classifier} --preprocessing {args.preprocessing} --b-min {args.b_min} "
        f"--b-max {args.b_max} --repeats {args.repeats} --seed {args.seed} "
        f"--class-weights {args.class_weights} --out curve.csv"
    )


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
