"""How CMCSL works: the algorithm's steps on the current data, one at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.evaluation.metrics import labeling_summary
from cmcsl_studio_ui.dominance import RULE_COMPARES, dominance_notice
from cmcsl_studio_ui.figures import scatter_view
from cmcsl_studio_ui.hover import hover_base
from cmcsl_studio_ui.item_panels import item_gallery, with_thumbnails
from cmcsl_studio_ui.labels import is_manual, label_request, labeler_name, run_labeling
from cmcsl_studio_ui.labeler_steps import labeler_steps
from cmcsl_studio_ui.page import HOW, start_page, user_errors
from cmcsl_studio_ui.text import md
from cmcsl_studio_ui.projections import views
from cmcsl_studio_ui.wording import wording

settings, data = start_page(HOW)
fs = data.fs
names = fs.modality_names
words = wording(fs)
st.title("How CMCSL works")

request = label_request(data, settings)
manual = is_manual(request)
with user_errors():
    result = run_labeling(data, request)
seeds = result.seed_idx
summary = labeling_summary(result, fs.y, fs.n_classes)
n_dis = int(result.disagree.sum())

STEPS = ("1 · Seeds", "2 · Nearest-seed clusters", "3 · Disagreements", "4 · Resolution")
shown_as = labeler_steps(result, summary, names)  # another labeler than the paper's: its own steps 2 and 4
if shown_as is not None:
    st.caption(shown_as.caption)


def _move(delta: int) -> None:
    i = STEPS.index(st.session_state.get("how_step") or STEPS[0])
    st.session_state["how_step"] = STEPS[min(max(i + delta, 0), len(STEPS) - 1)]


if st.session_state.get("how_step") not in STEPS:  # the step lives in session state only (no widget default)
    st.session_state["how_step"] = STEPS[0]
c1, c2, c3 = st.columns([1, 6, 1], vertical_alignment="bottom")
c1.button("Back", on_click=_move, args=(-1,), icon=":material/arrow_back:", width="stretch")
step = c2.segmented_control("Step", STEPS, key="how_step", label_visibility="collapsed") or STEPS[0]
c3.button("Next", on_click=_move, args=(1,), icon=":material/arrow_forward:", width="stretch")
k = STEPS.index(step)

per_class = np.bincount(result.seed_labels, minlength=fs.n_classes)
seed_text = (
    f"{len(seeds)} hand-picked seeds"
    if manual
    else f"**{settings.b_class} seeds per class** ({len(seeds)} in all, random seed {settings.seed})"
)
texts = [
    f"We know the true label of only a few items, the *seeds*: here {seed_text}. Every other one of the "
    f"{fs.n_items:,} {words.items} is unlabeled. The same seed item is shown in each modality's view (diamonds). "
    "Use *Randomize seeds* in the sidebar to draw others.",
    "**In each modality separately**, every item takes the label of its **nearest seed** (Euclidean distance "
    f"on the {settings.preprocessing}-preprocessed features): this partitions the items into one cluster per "
    "seed. These are the UNI pseudo-labels. Accuracy: "
    + ", ".join(f"{md(n)} {summary.uni_accuracy[n]:.1%}" for n in names)
    + ".",
    f"The modalities label **{n_dis:,} {words.items} ({summary.disagreement_rate:.1%})** differently (red). "
    f"Elsewhere they agree and that label is kept. {words.conflict}",
    f"{RULE_COMPARES} Colors now show the CMCSL label. "
    f"Accuracy: CMCSL {summary.cmcsl_accuracy:.1%} vs UNI "
    + ", ".join(f"{md(n)} {summary.uni_accuracy[n]:.1%}" for n in names)
    + ". Disagreements won: "
    + ", ".join(f"{md(n)} {summary.wins[n]:,}" for n in names)
    + ".",
]
if shown_as is not None:
    texts[1], texts[3] = shown_as.per_modality, shown_as.resolution
st.info(texts[k], icon=":material/lightbulb:")
if k >= 2:  # the disagreements and their resolution: say when one modality decides them all
    dominance_notice(fs, result, settings.preprocessing)

modes = ("none", "uni", "disagree", "cmcsl")
view_list = views(data, settings.preprocessing)
base = hover_base(data)
for col, (m, name), view in zip(st.columns(len(names)), enumerate(names), view_list):
    with col:
        fig = scatter_view(
            view.xy,
            fs,
            result,
            m,
            modes[k],
            base,
            f"{name} · {view.method}",
            highlight_disagreements=k == 3,
            dragmode="zoom",
        )
        st.plotly_chart(fig, key=f"how_view_{m}", config={"displaylogo": False})

cls = np.asarray(fs.class_names, dtype=object)
EXAMPLES = 4  # items shown as cards (with their pictures) under the views
if k == 0:
    st.markdown("**Seeds per class:** " + " · ".join(f"{md(c)} {n}" for c, n in zip(fs.class_names, per_class)))
    first = [int(seeds[np.flatnonzero(result.seed_labels == c)[0]]) for c in range(fs.n_classes) if per_class[c]]
    item_gallery(data, first[:8], [f"seed of **{md(cls[fs.y[i]])}**" for i in first[:8]], key="how_seed_cards")
elif k >= 2 and n_dis:
    st.markdown("**Some disagreements, resolved**" if k == 3 else "**Some disagreements**")
    rows = np.flatnonzero(result.disagree & ~result.is_seed)[:8]
    human = fs.modality_labels or {}

    def _note(i: int) -> str:
        note = "UNI: " + " · ".join(f"{md(n)} *{md(cls[result.labels[m, i]])}*" for m, n in enumerate(names))
        if any(n in human and human[n][i] >= 0 for n in names):
            note += "  \nannotators: " + " · ".join(
                f"{md(n)} *{md(cls[human[n][i]])}*" for n in names if n in human and human[n][i] >= 0
            )
        if k < 3:
            return note
        verdict = "right" if result.final_labels[i] == fs.y[i] else "wrong"
        return f"{note}  \nkept {md(names[result.decided_by[i]])} → **{md(cls[result.final_labels[i]])}** ({verdict})"

    item_gallery(data, rows[:EXAMPLES], [_note(int(i)) for i in rows[:EXAMPLES]], key="how_cards")
    table: dict[str, object] = {"index": rows, "item": [fs.item_name(i) for i in rows], "true": cls[fs.y[rows]]}
    for m, n in enumerate(names):
        table[f"{n} label"] = cls[result.labels[m, rows]]
        table[f"{n} distance"] = np.round(result.distances[m, rows], 3)
        if n in human:
            table[f"{n} annotator"] = [cls[v] if v >= 0 else "—" for v in human[n][rows]]
    if k == 3:
        table["kept"] = [names[d] for d in result.decided_by[rows]]
        table[labeler_name(result)] = cls[result.final_labels[rows]]
        table["right?"] = np.where(result.final_labels[rows] == fs.y[rows], "yes", "no")
    if fs.texts is not None:
        table["text"] = [fs.texts[i] for i in rows]
    frame, config = with_thumbnails(data, pd.DataFrame(table))
    config["text"] = st.column_config.TextColumn("text", width="large")
    st.dataframe(frame, hide_index=True, key="how_examples", column_config=config, row_height=56 if len(config) > 1 else None)
