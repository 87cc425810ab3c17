"""Clusters: pick seeds, see the nearest-seed clusters per modality, the disagreements and the scores."""

from __future__ import annotations

import time

import streamlit as st

from cmcsl_core.tables import label_csv
from cmcsl_core.evaluation.metrics import labeling_summary
from cmcsl_studio_ui import seeding
from cmcsl_studio_ui.data import current_seeds, hover_base, labeling, umap_pending, user_errors, views
from cmcsl_studio_ui.figures import COLOR_MODES, confusion_figure, scatter_view
from cmcsl_studio_ui.page import cli_block, start_page

t0 = time.perf_counter()
settings, data = start_page("Clusters", ":material/scatter_plot:")
fs = data.fs
names = fs.modality_names

st.title("Clusters")
seeding.apply_chart_selections(data, settings, [f"view_{m}" for m in range(len(names))])
with user_errors():
    seeds, manual = current_seeds(data, settings)
    result = labeling(data, settings.preprocessing, seeds)
summary = labeling_summary(result, fs.y, fs.n_classes)

how = f"{len(seeds)} hand-picked seeds" if manual else f"{settings.b_class} random seeds per class (seed {settings.seed})"
st.caption(
    f"{fs.n_items:,} items, {fs.n_classes} classes · preprocessing **{settings.preprocessing}** · {how}. "
    "Each item takes the label of its nearest seed in each modality (UNI); where they disagree, "
    "the modality in which the item is closer to its seed wins (CMCSL)."
)

# ---- metrics
cols = st.columns(len(names) + 3)
best_uni = max(summary.uni_accuracy.values())
for c, name in zip(cols, names):
    c.metric(f"UNI accuracy · {name}", f"{summary.uni_accuracy[name]:.1%}", help=f"BAC {summary.uni_bac[name]:.3f}")
cols[len(names)].metric(
    "CMCSL accuracy",
    f"{summary.cmcsl_accuracy:.1%}",
    delta=f"{summary.cmcsl_accuracy - best_uni:+.1%} vs best UNI",
    help=f"BAC {summary.cmcsl_bac:.3f}; scored on the {summary.n_scored:,} non-seed items",
)
cols[len(names) + 1].metric("Disagreement rate", f"{summary.disagreement_rate:.1%}")
wins = " · ".join(
    f"{n} {summary.wins[n]} ({summary.wins_correct[n] / max(summary.wins[n], 1):.0%} right)" for n in names
)
cols[len(names) + 2].markdown(f"**Disagreements won**  \n{wins}")

# ---- controls
c1, c2, c3 = st.columns([5, 2, 4], vertical_alignment="bottom")
mode = c1.segmented_control(
    "Color points by",
    list(COLOR_MODES),
    format_func=COLOR_MODES.__getitem__,
    key="color_mode",
    default="cmcsl",
    help="UNI: each modality's own nearest-seed label. Decided by: which modality's label CMCSL kept "
    "where they disagree. Correct?: CMCSL label vs the true label.",
) or "cmcsl"
highlight = c2.toggle("Ring disagreements", value=True, key="highlight")
c3.radio(
    "Clicking or lasso-selecting points…",
    list(seeding.ACTIONS),
    format_func=seeding.ACTIONS.__getitem__,
    key="click_action",
    horizontal=True,
)

# ---- the views
view_list = views(data, settings.preprocessing)
base = hover_base(data.key, fs)
inspected = st.session_state.get("inspected", [])
for col, (m, name), view in zip(st.columns(len(names)), enumerate(names), view_list):
    with col:
        fig = scatter_view(
            view.xy, fs, result, m, mode, base, f"{name} · {view.method}", highlight, selected=inspected
        )
        st.plotly_chart(
            fig,
            key=f"view_{m}",
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
            config={"displaylogo": False, "scrollZoom": True},
        )
pending = umap_pending(view_list)
if pending:

    @st.fragment(run_every=2.0)
    def _wait_for_umap() -> None:
        if not umap_pending(view_list):
            st.rerun()
        st.info(
            "Showing a PCA view while UMAP runs in the background (once per data set and preprocessing; "
            "the first run on a machine also compiles numba). The views switch to UMAP by themselves.",
            icon=":material/hourglass_top:",
        )

    _wait_for_umap()
elif any(v.method != "UMAP" for v in view_list):
    st.warning("UMAP could not be computed for this data; showing PCA views.")

# ---- seeds and confusion
left, right = st.columns([1, 1])
with left:
    st.subheader("Seeds")
    seeding.seed_panel(data, settings, result, manual)
with right:
    st.subheader("Confusion matrix: CMCSL vs truth")
    norm = st.toggle("Row percentages", value=True, key="cm_norm")
    st.plotly_chart(confusion_figure(summary.confusion, fs.class_names, norm), key="confusion")

with st.expander("Find items and pick seeds from a table", icon=":material/search:"):
    seeding.item_table(data, result)

with st.expander("Download the labels and reproduce them on the command line", icon=":material/terminal:"):
    seed_arg = f"--seeds {','.join(map(str, seeds))}" if manual else f"--b-class {settings.b_class} --seed {settings.seed}"
    cli_block(
        data,
        f"python -m cmcsl_core label --features {data.features_arg} {seed_arg} "
        f"--preprocessing {settings.preprocessing} --out labels.csv",
    )
    st.download_button(
        "Download labels.csv",
        label_csv(fs, result),
        file_name="labels.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
st.caption(f"Labeling and drawing took {time.perf_counter() - t0:.2f} s on the server.")
