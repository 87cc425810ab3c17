"""BAC curves: balanced accuracy vs b_class for PRE, UNI, CMCSL (and FULL, EF, LF) under 5x2 CV."""

from __future__ import annotations

import streamlit as st

from cmcsl_core.models.classifiers import CLASS_WEIGHTS
from cmcsl_core.evaluation.curve import METHODS, CurveResult
from cmcsl_core.evaluation.stats import average_ranks_over_b, curve_statistics, wilcoxon_over_b
from cmcsl_studio_ui.curves import (
    CurveArgs,
    cli_command,
    compute_curve,
    curve_csv,
    curve_image_cached,
    max_b_class,
    published_overlay,
)
from cmcsl_studio_ui.data import user_errors
from cmcsl_studio_ui.figures import curve_figure
from cmcsl_studio_ui.page import cli_block, start_page

settings, data = start_page("BAC curves", ":material/show_chart:")
fs = data.fs
st.title("BAC curves")
st.caption(
    "A base classifier trained on the seeds only (**PRE**), on one modality's nearest-seed pseudo-labels "
    "(**UNI**) or on the cross-modal pseudo-labels (**CMCSL**), scored by balanced accuracy on the test folds "
    "of 5x2 cross-validation. **FULL** uses all true labels (upper bound); **EF**/**LF** fuse both modalities."
)

b_top = min(max_b_class(fs), 100)
c1, c2, c3, c4, c5 = st.columns([3, 2, 1, 1, 1])
methods = c1.multiselect("Methods", list(METHODS), default=["PRE", "UNI", "CMCSL"], key="curve_methods")
b_range = c2.slider("b_class range", 1, b_top, (1, min(20, b_top)), key="curve_b")
repeats = c3.number_input("CV repeats", 1, 10, 5, key="curve_repeats", help="Repetitions of 2-fold CV (paper: 5).")
cv_seed = c4.number_input("CV seed", 0, 2**31 - 1, 1410, key="curve_seed", help="Seeds the folds and seed draws.")
weights = c5.selectbox(
    "Class weights",
    list(CLASS_WEIGHTS),
    key="curve_weights",
    help="pseudo: 1 - frequency of the labels trained on; oracle: of the true training labels "
    "(the authors' code); none: unweighted.",
)
if not methods:
    st.info("Choose at least one method.")
    st.stop()

args = CurveArgs(
    methods=tuple(m for m in METHODS if m in methods),
    classifier=settings.classifier,
    preprocessing=settings.preprocessing,
    b_min=int(b_range[0]),
    b_max=int(b_range[1]),
    repeats=int(repeats),
    seed=int(cv_seed),
    class_weights=weights,
)
with user_errors():
    frame = compute_curve(data, args)
result = CurveResult(frame=frame)
summary = result.summary()

overlay = {}
if data.paper_subset is not None:
    show = st.toggle(
        f"Overlay the paper's published curves for {data.paper_subset} (dashed)",
        value=True,
        key="curve_overlay",
        help="The authors' results on MM-IMDb (they used oracle class weights). "
        + ("The built-in demo is a simulation calibrated to them." if settings.source == "demo" else ""),
    )
    if show:
        overlay = published_overlay(
            data.paper_subset, fs.modality_names, args.methods, args.classifier, args.preprocessing
        )
        if not overlay:
            st.caption("The paper published no curve for this classifier and preprocessing.")

st.plotly_chart(curve_figure(summary, fs.modality_names, args.methods, overlay), key="curves")

mean_table = result.overall()
st.markdown(f"**Mean BAC over b_class {args.b_min}..{args.b_max} and all folds**")
st.dataframe(mean_table.style.format("{:.4f}", na_rep="–"), key="curve_means")

st.subheader("Statistics")
semi = [m for m in args.methods if m not in ("EF", "LF")]
if len(semi) < 2:
    st.info("Choose at least two of FULL, PRE, UNI, CMCSL to compare them.")
else:
    for tab, modality in zip(st.tabs(list(fs.modality_names)), fs.modality_names):
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
                if args.b_max - args.b_min + 1 < 2:
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

st.subheader("Download and reproduce")
title = f"{fs.source or settings.source} · {data.paper_subset or ''} · {args.classifier} · {args.preprocessing}"
d1, d2, d3 = st.columns(3)
d1.download_button(
    "Long-format CSV", curve_csv(frame), "curve.csv", "text/csv", on_click="ignore", icon=":material/download:"
)
for col, fmt, mime, icon in ((d2, "png", "image/png", ":material/image:"), (d3, "svg", "image/svg+xml", ":material/draw:")):
    col.download_button(
        f"Figure ({fmt.upper()})",
        curve_image_cached(summary, fs.modality_names, args.methods, fmt, title, overlay),
        f"curve.{fmt}",
        mime,
        on_click="ignore",
        icon=icon,
    )
cli_block(data, cli_command(data, args))
