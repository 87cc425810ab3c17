"""BAC curves: balanced accuracy vs b_class for PRE, UNI, CMCSL (and FULL, EF, LF, the late fusions) under 5x2 CV.

The "Fusion" expander runs the late-fusion paper's own protocol (random train/validation/test
splits) on the current data, beside the paper's published MVSA-Single table.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cmcsl_core.constants import B_MAX, B_MIN, DEFAULT_METHODS, FUSED, LABELS, RANDOM_STATE, REPEATS
from cmcsl_core.evaluation.config import LABELER_METHODS, METHODS, CurveConfig
from cmcsl_core.evaluation.curve import CurveResult
from cmcsl_core.evaluation.stats import average_ranks_over_b, curve_statistics, wilcoxon_over_b
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, labeler_method
from cmcsl_core.models.classifiers import CLASS_WEIGHTS
from cmcsl_studio_ui.curves import (
    CURVE_CSV,
    PER_MODALITY,
    compute_curve,
    curve_image_cached,
    max_b_class,
    panel_names,
    published_overlay,
)
from cmcsl_studio_ui.figures import curve_figure
from cmcsl_studio_ui.fusion_panel import fusion_section
from cmcsl_studio_ui.loading import Dataset
from cmcsl_studio_ui.page import CURVES, cli_block, start_page, user_errors
from cmcsl_studio_ui.settings import MAX_SEED, Settings
from cmcsl_studio_ui.text import md

MAX_REPEATS = 10  # most CV repeats the curve offers
B_CLASS_CAP = 100  # largest b_class the range slider offers (the data may allow fewer)


def curve_config(data: Dataset, settings: Settings) -> CurveConfig:
    """The curve the controls ask for (methods, b_class range, CV repeats and seed, class weights)."""
    b_top = min(max_b_class(data.fs), B_CLASS_CAP)
    c1, c2, c3, c4, c5 = st.columns([3, 2, 1, 1, 1])
    chosen = [] if settings.labeler == DEFAULT_LABELER else [labeler_method(settings.labeler)]  # the sidebar's labeler
    methods = c1.multiselect(
        "Methods", list(METHODS), default=[*DEFAULT_METHODS, *chosen], key="curve_methods",
        help="CMCSL-SCALED, LS, CM-LS, SELF-TRAINING, CO-TRAINING and AUTO are the other labelers (see the "
        "sidebar's Labeler): a classifier trained on their labels, like CMCSL.",
    )
    b_range = c2.slider("b_class range", B_MIN, b_top, (B_MIN, min(B_MAX, b_top)), key="curve_b")
    repeats = c3.number_input(
        "CV repeats", 1, MAX_REPEATS, REPEATS, key="curve_repeats", help=f"Repetitions of 2-fold CV (paper: {REPEATS})."
    )
    cv_seed = c4.number_input(
        "CV seed", 0, MAX_SEED, RANDOM_STATE, key="curve_seed", help="Seeds the folds and seed draws."
    )
    weights = c5.selectbox(
        "Class weights",
        list(CLASS_WEIGHTS),
        key="curve_weights",
        help="pseudo: 1 - frequency of the labels trained on; oracle: of the true training labels "
        "(the authors' code); none: unweighted.",
    )
    quality = st.toggle(
        "Label quality: also score each labeler's own labels (BAC on the training fold's non-seed items)",
        value=True, key="curve_quality",
        help="For CMCSL and every other labeler method: how good its labels are before any classifier is trained "
        "on them (the panel and statistics tab 'labels').",
    )
    if not methods:
        st.info("Choose at least one method.")
        st.stop()
    with user_errors():
        return CurveConfig(
            methods=tuple(methods),
            classifier=settings.classifier,
            preprocessing=settings.preprocessing,
            b_values=tuple(range(int(b_range[0]), int(b_range[1]) + 1)),
            repeats=int(repeats),
            random_state=int(cv_seed),
            class_weights=weights,
            label_quality=bool(quality),
        ).validated()


def overlay_toggle(data: Dataset, settings: Settings, config: CurveConfig) -> dict[tuple[str, str], pd.DataFrame]:
    """The paper's published curves for these settings, when the data is a paper subset and the user wants them."""
    if data.paper_subset is None:
        return {}
    show = st.toggle(
        f"Overlay the paper's published curves for {data.paper_subset} (dashed)",
        value=True,
        key="curve_overlay",
        help="The authors' results on MM-IMDb (they used oracle class weights). "
        + ("The built-in demo is a simulation calibrated to them." if settings.source == "demo" else ""),
    )
    if not show:
        return {}
    overlay = published_overlay(data.paper_subset, data.fs.modality_names, config)
    if not overlay:
        st.caption("The paper published no curve for this classifier and preprocessing.")
    return overlay


def statistics(result: CurveResult, config: CurveConfig, modalities: tuple[str, ...]) -> None:
    """5x2 CV F-tests, Wilcoxon tests and average ranks, per modality."""
    st.subheader("Statistics")
    frame = result.frame
    tabs = list(modalities) if len([m for m in config.methods if m in PER_MODALITY]) >= 2 else []
    if len([m for m in config.methods if m not in PER_MODALITY]) >= 2:
        tabs.append(FUSED)  # EF, LF and the late fusions compared with each other
    if config.label_quality and len([m for m in config.methods if m == "CMCSL" or m in LABELER_METHODS]) >= 2:
        tabs.append(LABELS)  # the labelers' own labels compared with each other
    if not tabs:
        st.info(f"Choose at least two of {', '.join(PER_MODALITY)} (or two fused methods) to compare them.")
        return
    for tab, modality in zip(st.tabs([md(t) for t in tabs]), tabs):
        with tab:
            f_table = curve_statistics(frame, modality)
            st.markdown("**5x2 CV F-test** per b_class and method pair (Alpaydin 1999; p < 0.05 marks a difference)")
            st.dataframe(
                f_table.style.format({"mean_a": "{:.4f}", "mean_b": "{:.4f}", "F": "{:.3f}", "p_value": "{:.4f}"}),
                hide_index=True,
                height=240,
                key=f"ftest_{modality}",
            )
            left, right = st.columns(2)
            with left:
                st.markdown("**Wilcoxon signed-rank test over b_class** (fold means)")
                if len(config.b_values) < 2:
                    st.caption("Needs at least two b_class values.")
                else:
                    st.dataframe(
                        wilcoxon_over_b(frame, modality).style.format(
                            {"mean_a": "{:.4f}", "mean_b": "{:.4f}", "W": "{:.1f}", "p_value": "{:.4f}"}
                        ),
                        hide_index=True,
                        key=f"wilcoxon_{modality}",
                    )
            with right:
                st.markdown("**Average rank over b_class** (1 = best)")
                ranks = average_ranks_over_b(frame, modality).sort_values().to_frame()
                st.dataframe(ranks.style.format("{:.2f}"), key=f"ranks_{modality}")


def downloads(data: Dataset, settings: Settings, config: CurveConfig, result: CurveResult, overlay: dict) -> None:
    """The CSV the CLI writes, the figure as PNG and SVG, and the command line."""
    st.subheader("Download and reproduce")
    fs = data.fs
    summary = result.summary()
    title = f"{fs.source or settings.source} · {data.paper_subset or ''} · {config.classifier} · {config.preprocessing}"
    d1, d2, d3 = st.columns(3)
    d1.download_button(
        "Long-format CSV", result.csv_bytes(), CURVE_CSV, "text/csv", on_click="ignore", icon=":material/download:",
        key="curve_csv",
    )
    for col, fmt, mime, icon in (
        (d2, "png", "image/png", ":material/image:"),
        (d3, "svg", "image/svg+xml", ":material/draw:"),
    ):
        col.download_button(
            f"Figure ({fmt.upper()})",
            curve_image_cached(summary, panel_names(result, fs.modality_names), config.methods, fmt, title, overlay),
            f"curve.{fmt}",
            mime,
            on_click="ignore",
            icon=icon,
        )
    cli_block(data, config.command(data.features, CURVE_CSV))


settings, data = start_page(CURVES)
fs = data.fs
st.title("BAC curves")
st.caption(
    "A base classifier trained on the seeds only (**PRE**), on one modality's nearest-seed pseudo-labels "
    "(**UNI**) or on the cross-modal pseudo-labels (**CMCSL**), scored by balanced accuracy on the test folds "
    "of repeated 2-fold cross-validation. **FULL** uses all true labels (upper bound); **EF**/**LF** fuse both "
    "modalities; **LF-MEAN/MAX/DRA/MLA** fuse per-modality classifiers trained on true labels, "
    "**CMCSL-MEAN/MAX/DRA/MLA** "
    "those trained on CMCSL's pseudo-labels (DRA/MLA weights from held-out training items scored against the "
    "pseudo-labels: no true label beyond the seeds'; with LR, C chosen on those items). **CMCSL-SCALED, LS, CM-LS, "
    "SELF-TRAINING, CO-TRAINING, AUTO**: a classifier trained on another labeler's labels; the **labels** panel "
    "scores the labels themselves."
)
config = curve_config(data, settings)
with user_errors():
    result = compute_curve(data, config)
overlay = overlay_toggle(data, settings, config)
panels = panel_names(result, fs.modality_names)
st.plotly_chart(curve_figure(result.summary(), panels, config.methods, overlay), key="curves")
st.markdown(
    f"**Mean BAC over b_class {config.b_values[0]}..{config.b_values[-1]} and all folds**"
)
st.dataframe(result.overall().style.format("{:.4f}", na_rep="–"), key="curve_means")
statistics(result, config, fs.modality_names)
downloads(data, settings, config, result, overlay)
fusion_section(data, settings)
