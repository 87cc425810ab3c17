"""Clusters: pick seeds, see the nearest-seed clusters per modality, the disagreements and the scores.

The views are the linked WebGL scatter (:mod:`cmcsl_studio_ui.scatter`): coordinates travel
to the browser once per (data, view); a seed change sends only the per-item colours and
flags. Everything that depends on the seeds lives in one fragment (:func:`clusters_panel`),
so a click, a lasso or a colouring change reruns only that panel, not the page.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from cmcsl_core.evaluation.metrics import LabelingSummary, labeling_summary
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.request import LabelRequest
from cmcsl_core.tables import label_csv
from cmcsl_studio_ui import seeding
from cmcsl_studio_ui.dominance import dominance_notice
from cmcsl_studio_ui.figures import color_modes, coloring, confusion_figure
from cmcsl_studio_ui.hover import hover_names, thumbnail_url
from cmcsl_studio_ui.human import human_disagreement_block
from cmcsl_studio_ui.item_panels import item_details
from cmcsl_studio_ui.labels import LABELS_CSV, is_manual, label_request, labeler_name, labeler_summary, run_labeling
from cmcsl_studio_ui.loading import Dataset
from cmcsl_studio_ui.page import CLUSTERS, cli_block, start_page, user_errors
from cmcsl_studio_ui.projections import View, umap_pending, umap_progress, umap_switched_off, views, views_fingerprint
from cmcsl_studio_ui.scatter import linked_scatter, pending_events
from cmcsl_studio_ui.session import current_settings, inspected, sync_url
from cmcsl_studio_ui.side_panel import side_panel
from cmcsl_studio_ui.sidebar import seed_widgets
from cmcsl_studio_ui.text import html, md

# Streamlit key of the linked views (keeps the frame and its coordinates alive across reruns); a comment,
# not a docstring: a bare string in a page script is drawn by Streamlit's magic
VIEWS_KEY = "clusters_views"

MAX_DETAILS = 6  # inspected items drawn in detail (the rest are in the table)
VIEWS_HEIGHT = 460  # pixels of the linked views


def metrics(summary: LabelingSummary, names: tuple[str, ...], labeler: str = "CMCSL") -> None:
    """Each modality's own accuracy, the labeler's accuracy, the disagreement rate and who won the disagreements."""
    cols = st.columns(len(names) + 3)
    best_uni = max(summary.uni_accuracy.values())
    own = "UNI" if labeler == "CMCSL" else "Own labels"
    for c, name in zip(cols, names):
        c.metric(
            f"{own} accuracy · {md(name)}", f"{summary.uni_accuracy[name]:.1%}", help=f"BAC {summary.uni_bac[name]:.3f}"
        )
    cols[len(names)].metric(
        f"{labeler} accuracy",
        f"{summary.cmcsl_accuracy:.1%}",
        delta=f"{summary.cmcsl_accuracy - best_uni:+.1%} vs best UNI",
        help=f"BAC {summary.cmcsl_bac:.3f}; scored on the {summary.n_scored:,} non-seed items",
    )
    cols[len(names) + 1].metric("Disagreement rate", f"{summary.disagreement_rate:.1%}")
    wins = " · ".join(
        f"{md(n)} {summary.wins[n]} ({summary.wins_correct[n] / max(summary.wins[n], 1):.0%} right)" for n in names
    )
    cols[len(names) + 2].markdown(f"**Disagreements won**  \n{wins}")


def controls(modes: dict[str, str]) -> tuple[str, bool]:
    """How to color the points, whether to ring disagreements, and what a click does."""
    c1 = st.container()  # the colour modes get a row of their own (up to 7 with annotator labels)
    c2, c3 = st.columns([1, 2], vertical_alignment="bottom")
    mode = c1.segmented_control(
        "Color points by",
        list(modes),
        format_func=modes.__getitem__,
        key="color_mode",
        default="cmcsl",
        help="UNI: each modality's own nearest-seed label. Decided by: which modality's label CMCSL kept "
        "where they disagree. Correct?: CMCSL label vs the true label.",
    ) or "cmcsl"
    highlight = c2.toggle("Ring disagreements", value=True, key="highlight")
    c3.radio(
        "A click or a lasso on the points…",
        list(seeding.ACTIONS),
        format_func=seeding.ACTIONS.__getitem__,
        key="click_action",
        horizontal=True,
        help="inspect (the default): a click opens the item in the side panel, a lasso lists the items below; "
        "no seed changes. add / remove seeds: clicks and lassos change the seeds (the page says what changed). "
        "Lasso with Shift+drag, or the Lasso mode above the views.",
    )
    return mode, highlight


def scatter_views(
    data: Dataset, result: LabelingResult, view_list: list[View], mode: str, highlight: bool, preprocessing: str
) -> None:
    """The linked views, one per modality (hover or select in one highlights the same items in the others)."""
    fs = data.fs
    colorings = [coloring(mode, fs, result, m) for m in range(len(view_list))]
    codes = np.stack([c.codes for c in colorings])
    shared = all(np.array_equal(codes[0], c) for c in codes[1:])  # e.g. CMCSL labels: one array serves all views
    linked_scatter(
        {f"{name} · {v.method}": v.xy for name, v in zip(fs.modality_names, view_list)},
        key=VIEWS_KEY,
        color=codes[0] if shared else codes,
        palette=colorings[0].colors,
        label_names=colorings[0].names,
        seeds=result.is_seed,
        ring=result.disagree if highlight else None,
        names=hover_names(data),
        thumb_url=thumbnail_url(data),
        fingerprint=views_fingerprint(data, preprocessing, view_list),
        height=VIEWS_HEIGHT,
    )
    legend = " ".join(
        f"<span style='color:{html(col)}'>●</span> {md(name)}"
        for name, col in zip(colorings[0].names, colorings[0].colors)
    )
    rings = " · ◯ thin ring: modalities disagree" if highlight else ""
    st.caption(f"{legend} · large, outlined: seed{rings}", unsafe_allow_html=True)


def confusion_panel(summary: LabelingSummary, class_names: tuple[str, ...]) -> None:
    """CMCSL's labels against the truth, drawn only while its expander is open.

    A Plotly chart redrawn on every seed change cost the browser about 60 ms of CPU per
    click; closed, the metrics above the views carry the same headline numbers.
    """
    box = st.expander(
        "Confusion matrix: CMCSL vs truth", icon=":material/grid_on:", key="confusion_open", on_change="rerun"
    )
    if box.open:
        with box:
            norm = st.toggle("Row percentages", value=True, key="cm_norm")
            st.plotly_chart(confusion_figure(summary.confusion, class_names, norm), key="confusion")


def umap_notice(data: Dataset, view_list: list[View]) -> None:
    """While UMAP runs in the background: a note with its progress, and a poll that reruns the page when it is done."""
    if umap_pending(view_list):

        @st.fragment(run_every=2.0)
        def _wait_for_umap() -> None:
            if not umap_pending(view_list):
                st.rerun()
            doing = umap_progress(view_list, data.fs.modality_names)
            st.info(
                "Showing a PCA view while UMAP runs in the background (once per data set and preprocessing; "
                "the first run on a machine also compiles umap, about a minute). The views switch to UMAP by "
                "themselves." + (" Now: " + "; ".join(doing) + "." if doing else ""),
                icon=":material/hourglass_top:",
            )

        _wait_for_umap()
    elif any(v.method != "UMAP" for v in view_list) and not umap_switched_off():
        st.warning("UMAP could not be computed for this data; showing PCA views.")


def inspector(data: Dataset, result: LabelingResult) -> None:
    """The inspected items (lasso with "only inspect"), each drawn by :func:`item_details`."""
    rows = inspected()
    if not rows:
        return
    with st.expander(f"Inspected items ({len(rows)})", expanded=True, icon=":material/visibility:"):
        for col, i in zip(st.columns(min(len(rows), 3)) * 2, rows[:MAX_DETAILS]):
            with col:
                item_details(data, result, i)
        if len(rows) > MAX_DETAILS:
            st.caption(f"…and {len(rows) - MAX_DETAILS} more: see the table (Show: inspected).")


def reproduce_block(data: Dataset, request: LabelRequest, result: LabelingResult) -> None:
    """The ``label`` command line of what the page shows, and the labels as a CSV download."""
    cli_block(data, request.command(data.features, LABELS_CSV))
    st.download_button(
        f"Download {LABELS_CSV}",
        lambda: label_csv(data.fs, result),  # made when clicked (100,000 items: 7 MB, 0.3 s), not on every rerun
        file_name=LABELS_CSV,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="labels_csv",
    )


@st.fragment
def clusters_panel(data: Dataset, view_list: list[View]) -> None:
    """Everything that depends on the seeds; reruns on its own after a click, a lasso or a setting in it."""
    t0 = time.perf_counter()
    fs = data.fs
    # one container above the views: whatever it holds this time (a hand-picked note, an error, the human-label
    # block), the views keep their place in the panel, so the browser keeps their frame and its coordinates
    with st.container():
        seed_widgets(current_settings(), in_row=True)  # here, not in the sidebar: a seed change reruns this panel only
        settings = current_settings()
        seeding.apply_view_events(data, settings, pending_events(VIEWS_KEY))
        request = label_request(data, settings)
        manual = is_manual(request)
        with user_errors():
            result = run_labeling(data, request)
        summary = labeling_summary(result, fs.y, fs.n_classes)

        how = (
            f"{len(result.seed_idx)} hand-picked seeds"
            if manual
            else f"{settings.b_class} random seeds per class (seed {settings.seed})"
        )
        st.caption(
            f"{fs.n_items:,} items, {fs.n_classes} classes · preprocessing **{settings.preprocessing}** · {how} · "
            f"labeler **{labeler_name(result)}**: {labeler_summary(result.labeler)}"
        )
        if result.selection is not None:
            st.caption(result.selection.describe())
        metrics(summary, fs.modality_names, labeler_name(result))
        seeding.seed_change_notice()
        dominance_notice(fs, result, settings.preprocessing)
        human_disagreement_block(data, result)  # data with human labels per modality (MVSA-Single): role P3
        modes = color_modes(fs)
        modes["cmcsl"] = f"{labeler_name(result)} label"  # the chosen labeler's final label
        mode, highlight = controls(modes)
    c_views, c_side = st.columns([3, 1])
    with c_views:
        scatter_views(data, result, view_list, mode, highlight, settings.preprocessing)
    with c_side:
        side_panel(data, result, settings.preprocessing)
    inspector(data, result)

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Seeds")
        seeding.seed_panel(data, settings, result, manual)
    with right:
        confusion_panel(summary, fs.class_names)

    # lazy: the table (all items) is built and sent only while its expander is open
    table = st.expander(
        "Find items and pick seeds from a table", icon=":material/search:", key="table_open", on_change="rerun"
    )
    if table.open:
        with table:
            seeding.item_table(data, result)
    # lazy like the table: the command line changes with every seed pick, so it is built and sent only while open
    reproduce = st.expander(
        "Download the labels and reproduce them on the command line",
        icon=":material/terminal:",
        key="reproduce_open",
        on_change="rerun",
    )
    if reproduce.open:
        with reproduce:
            reproduce_block(data, request, result)
    sync_url()  # a seed change in this panel reran only the panel: the address follows here
    st.caption(f"Labeling and drawing took {time.perf_counter() - t0:.2f} s on the server.", help="server time")


settings, data = start_page(CLUSTERS, seeds_in_sidebar=False)
st.title("Clusters")
view_list = views(data, settings.preprocessing)
umap_notice(data, view_list)
clusters_panel(data, view_list)
