"""The "How CMCSL works" page's steps, each named: its title, how the views are coloured, what it says
and what it draws under the views.

:data:`STEPS` is the page's walk (:data:`SEEDS`, :data:`CLUSTERS`, :data:`DISAGREEMENTS`,
:data:`RESOLUTION`); a :class:`Step` says what it shows, so the page asks a step, never its
number. For another labeler than the paper's, steps 2 and 4 take that labeler's words
(:mod:`.labeler_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.evaluation.metrics import LabelingSummary, labeling_summary
from cmcsl_core.method.labeling import LabelingResult

from .dominance import RULE_COMPARES
from .item_panels import item_gallery, with_thumbnails
from .labeler_steps import LabelerSteps, labeler_steps
from .labels import labeler_name
from .loading import Dataset
from .settings import Settings
from .text import md
from .wording import Wording, wording

__all__ = ["HowContext", "Step", "STEPS", "SEEDS", "CLUSTERS", "DISAGREEMENTS", "RESOLUTION", "step_picker"]

SEED_CARDS = 8  # seed cards at most (the first seed of each class)
EXAMPLES = 4  # disagreeing items shown as cards (with their pictures) under the views
EXAMPLE_ROWS = 8  # disagreeing items in the table under the cards
THUMB_ROW_HEIGHT = 56  # pixels of a table row that shows a thumbnail
STEP_KEY = "how_step"  # session state of the step shown (its title)


@dataclass(frozen=True)
class HowContext:
    """What every step reads: the data, the sidebar's settings and the labeler's run on them."""

    data: Dataset
    settings: Settings
    result: LabelingResult
    manual: bool
    """Whether the seeds are hand-picked (else ``b_class`` per class, drawn)."""
    summary: LabelingSummary
    words: Wording
    shown_as: LabelerSteps | None
    """Another labeler's own steps 2 and 4 (None: the paper's rule)."""

    @classmethod
    def of(cls, data: Dataset, settings: Settings, result: LabelingResult, manual: bool) -> "HowContext":
        fs = data.fs
        summary = labeling_summary(result, fs.y, fs.n_classes)
        shown_as = labeler_steps(result, summary, fs.modality_names)
        return cls(data, settings, result, manual, summary, wording(fs), shown_as)

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.data.fs.modality_names

    def uni_accuracies(self) -> str:
        return ", ".join(f"{md(n)} {self.summary.uni_accuracy[n]:.1%}" for n in self.modalities)


@dataclass(frozen=True)
class Step:
    """One step of the walk."""

    title: str
    """As the step picker shows it (and as session state keeps it)."""
    color_mode: str
    """How the views colour the items (:func:`cmcsl_studio_ui.figures.scatter_view`'s mode)."""
    explain: Callable[[HowContext], str]
    """What the step says (markdown)."""
    examples: Callable[[HowContext], None]
    """What it draws under the views."""
    about_disagreements: bool = False
    """Whether it is about the disagreements (the page says when one modality decides them all)."""
    resolved: bool = False
    """Whether the disagreements are shown resolved (highlighted in the views, the kept label listed)."""


# ------------------------------------------------------------------ what each step says
def _seeds_text(how: HowContext) -> str:
    fs, r, s = how.data.fs, how.result, how.settings
    n = len(r.seed_idx)
    seed_text = (
        f"{n} hand-picked seeds"
        if how.manual
        else f"**{s.b_class} seeds per class** ({n} in all, random seed {s.seed})"
    )
    return (
        f"We know the true label of only a few items, the *seeds*: here {seed_text}. Every other one of the "
        f"{fs.n_items:,} {how.words.items} is unlabeled. "
        "The same seed item is shown in each modality's view (diamonds). "
        "Use *Randomize seeds* in the sidebar to draw others."
    )


def _clusters_text(how: HowContext) -> str:
    if how.shown_as is not None:
        return how.shown_as.per_modality
    return (
        "**In each modality separately**, every item takes the label of its **nearest seed** (Euclidean distance "
        f"on the {how.settings.preprocessing}-preprocessed features): this partitions the items into one cluster per "
        f"seed. These are the UNI pseudo-labels. Accuracy: {how.uni_accuracies()}."
    )


def _disagreements_text(how: HowContext) -> str:
    n_dis = int(how.result.disagree.sum())
    return (
        f"The modalities label **{n_dis:,} {how.words.items} ({how.summary.disagreement_rate:.1%})** "
        "differently (red). "
        f"Elsewhere they agree and that label is kept. {how.words.conflict}"
    )


def _resolution_text(how: HowContext) -> str:
    if how.shown_as is not None:
        return how.shown_as.resolution
    wins = ", ".join(f"{md(n)} {how.summary.wins[n]:,}" for n in how.modalities)
    return (
        f"{RULE_COMPARES} Colors now show the CMCSL label. "
        f"Accuracy: CMCSL {how.summary.cmcsl_accuracy:.1%} vs UNI {how.uni_accuracies()}. Disagreements won: {wins}."
    )


# ------------------------------------------------------------------ what each step draws under the views
def _seed_cards(how: HowContext) -> None:
    fs, r = how.data.fs, how.result
    cls = np.asarray(fs.class_names, dtype=object)
    per_class = np.bincount(r.seed_labels, minlength=fs.n_classes)
    st.markdown("**Seeds per class:** " + " · ".join(f"{md(c)} {n}" for c, n in zip(fs.class_names, per_class)))
    first = [int(r.seed_idx[np.flatnonzero(r.seed_labels == c)[0]]) for c in range(fs.n_classes) if per_class[c]]
    first = first[:SEED_CARDS]
    item_gallery(how.data, first, [f"seed of **{md(cls[fs.y[i]])}**" for i in first], key="how_seed_cards")


def _no_examples(how: HowContext) -> None:
    return None


def _example_note(how: HowContext, i: int, resolved: bool) -> str:
    """A disagreeing item's card: each modality's label, the annotators' where known, and (resolved) the kept one."""
    fs, r, names = how.data.fs, how.result, how.modalities
    cls = np.asarray(fs.class_names, dtype=object)
    human = fs.modality_labels or {}
    note = "UNI: " + " · ".join(f"{md(n)} *{md(cls[r.labels[m, i]])}*" for m, n in enumerate(names))
    if any(n in human and human[n][i] >= 0 for n in names):
        note += "  \nannotators: " + " · ".join(
            f"{md(n)} *{md(cls[human[n][i]])}*" for n in names if n in human and human[n][i] >= 0
        )
    if not resolved:
        return note
    verdict = "right" if r.final_labels[i] == fs.y[i] else "wrong"
    return f"{note}  \nkept {md(names[r.decided_by[i]])} → **{md(cls[r.final_labels[i]])}** ({verdict})"


def _disagreement_examples(how: HowContext, resolved: bool) -> None:
    """The first disagreeing items as cards, then as a table (resolved: with the label kept)."""
    fs, r, names = how.data.fs, how.result, how.modalities
    if not r.disagree.any():
        return
    cls = np.asarray(fs.class_names, dtype=object)
    human = fs.modality_labels or {}
    st.markdown("**Some disagreements, resolved**" if resolved else "**Some disagreements**")
    rows = np.flatnonzero(r.disagree & ~r.is_seed)[:EXAMPLE_ROWS]
    notes = [_example_note(how, int(i), resolved) for i in rows[:EXAMPLES]]
    item_gallery(how.data, rows[:EXAMPLES], notes, key="how_cards")
    table: dict[str, object] = {"index": rows, "item": [fs.item_name(i) for i in rows], "true": cls[fs.y[rows]]}
    for m, n in enumerate(names):
        table[f"{n} label"] = cls[r.labels[m, rows]]
        table[f"{n} distance"] = np.round(r.distances[m, rows], 3)
        if n in human:
            table[f"{n} annotator"] = [cls[v] if v >= 0 else "—" for v in human[n][rows]]
    if resolved:
        table["kept"] = [names[d] for d in r.decided_by[rows]]
        table[labeler_name(r)] = cls[r.final_labels[rows]]
        table["right?"] = np.where(r.final_labels[rows] == fs.y[rows], "yes", "no")
    if fs.texts is not None:
        table["text"] = [fs.texts[i] for i in rows]
    frame, config = with_thumbnails(how.data, pd.DataFrame(table))
    config["text"] = st.column_config.TextColumn("text", width="large")
    row_height = THUMB_ROW_HEIGHT if len(config) > 1 else None
    st.dataframe(frame, hide_index=True, key="how_examples", column_config=config, row_height=row_height)


def _unresolved(how: HowContext) -> None:
    _disagreement_examples(how, resolved=False)


def _resolved(how: HowContext) -> None:
    _disagreement_examples(how, resolved=True)


SEEDS = Step("1 · Seeds", "none", _seeds_text, _seed_cards)
CLUSTERS = Step("2 · Nearest-seed clusters", "uni", _clusters_text, _no_examples)
DISAGREEMENTS = Step("3 · Disagreements", "disagree", _disagreements_text, _unresolved, about_disagreements=True)
RESOLUTION = Step("4 · Resolution", "cmcsl", _resolution_text, _resolved, about_disagreements=True, resolved=True)
STEPS = (SEEDS, CLUSTERS, DISAGREEMENTS, RESOLUTION)
"""The walk, in order."""

_TITLES = tuple(s.title for s in STEPS)


def _move(delta: int) -> None:
    i = _TITLES.index(st.session_state.get(STEP_KEY) or _TITLES[0])
    st.session_state[STEP_KEY] = _TITLES[min(max(i + delta, 0), len(_TITLES) - 1)]


def step_picker() -> Step:
    """Back, the steps, Next: the step chosen (kept in session state only, no widget default)."""
    if st.session_state.get(STEP_KEY) not in _TITLES:
        st.session_state[STEP_KEY] = _TITLES[0]
    c1, c2, c3 = st.columns([1, 6, 1], vertical_alignment="bottom")
    c1.button("Back", on_click=_move, args=(-1,), icon=":material/arrow_back:", width="stretch")
    title = c2.segmented_control("Step", _TITLES, key=STEP_KEY, label_visibility="collapsed") or _TITLES[0]
    c3.button("Next", on_click=_move, args=(1,), icon=":material/arrow_forward:", width="stretch")
    return STEPS[_TITLES.index(title)]
