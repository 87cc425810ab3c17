"""Picking seeds by hand: clicks and lassos in the linked views, a seed list, a searchable item table.

Hand-picked seeds are per session (``st.session_state``) and go into the URL. The views'
events (:class:`~cmcsl_studio_ui.scatter.ScatterEvent`) are read at the top of the views'
fragment (:func:`apply_view_events`), so the fragment draws the new labeling in the same
run. What an event does is decided by a pure function (:func:`plan_view_events`): by
default ("inspect") a click opens its item in the side panel and a lasso becomes the
inspected set, and no seed changes; adding or removing seeds is an explicit mode ("add"/
"remove"), and every seed change is announced (:func:`seed_change_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.seeds import parse_seed_list

from .item_panels import seed_items_table, with_thumbnails
from .labels import current_seeds
from .loading import Dataset
from .page import user_errors
from .scatter import ScatterEvent
from .session import (
    clear_inspected,
    clear_manual_seeds,
    current_settings,
    inspected,
    set_inspected,
    set_manual_seeds,
)
from .settings import Settings
from .text import md

__all__ = [
    "ACTIONS",
    "DEFAULT_ACTION",
    "ViewEdit",
    "seed_change_text",
    "seed_change_notice",
    "plan_view_events",
    "apply_view_events",
    "focused",
    "set_focus",
    "seed_panel",
    "item_table",
    "edit_seeds",
]

ACTIONS: dict[str, str] = {"inspect": "inspect", "add": "add seeds", "remove": "remove seeds"}
"""What a click or a lasso in the views does (the first is the default)."""

DEFAULT_ACTION = "inspect"
"""A click inspects unless the page is switched to adding or removing seeds."""

CHANGE_NOTE = "seed_change_note"
"""Session key of the last seed change's description (shown once by :func:`seed_change_notice`)."""


def seed_change_text(old: Iterable[int], new: Iterable[int], y: np.ndarray, class_names: Sequence[str]) -> str | None:
    """``"Seeds changed: added #12 (Horror); removed #40 (Drama). Now 16 seeds."`` (None: no change)."""
    before, after = {int(i) for i in old}, {int(i) for i in new}
    added, removed = sorted(after - before), sorted(before - after)
    if not added and not removed:
        return None

    def listed(items: list[int]) -> str:
        shown = ", ".join(f"#{i} ({class_names[int(y[i])]})" for i in items[:6])
        return shown + (f" and {len(items) - 6} more" if len(items) > 6 else "")

    parts = ([f"added {listed(added)}"] if added else []) + ([f"removed {listed(removed)}"] if removed else [])
    return f"Seeds changed: {'; '.join(parts)}. Now {len(after)} seeds; the labels below follow them."


def _note_change(data: Dataset, old: Iterable[int], new: Iterable[int]) -> None:
    text = seed_change_text(old, new, data.fs.y, data.fs.class_names)
    if text is not None:
        st.session_state[CHANGE_NOTE] = text


def seed_change_notice() -> None:
    """Say (once) what the last click, lasso or table edit did to the seeds."""
    text = st.session_state.pop(CHANGE_NOTE, None)
    if text:
        st.info(text, icon=":material/edit_location_alt:")


FOCUS = "focus_item"
"""Session key of the item open in the side panel: ``(data key, item index)``."""


def focused(data_key: str) -> int | None:
    """The item open in the side panel for the data set ``data_key`` (None: none)."""
    got = st.session_state.get(FOCUS)
    return int(got[1]) if got and got[0] == data_key else None


def set_focus(data_key: str, item: int | None) -> None:
    """Open ``item`` in the side panel (None: close it)."""
    st.session_state[FOCUS] = None if item is None else (data_key, int(item))


@dataclass(frozen=True)
class ViewEdit:
    """What the views' events amount to.

    ``seeds``: the new seed set (None: unchanged); ``focus``: the item to open in the side
    panel (None: unchanged); ``inspect``: the new inspected set (None: unchanged);
    ``refused``: an edit would have removed every seed and was skipped.
    """

    seeds: tuple[int, ...] | None
    focus: int | None
    inspect: tuple[int, ...] | None
    refused: bool = False


def plan_view_events(events: Sequence[ScatterEvent], action: str, seeds: Iterable[int]) -> ViewEdit:
    """Fold the events (oldest first) into one edit of the seeds ``seeds``, given the click action.

    A click opens its item (``focus``); with ``action`` "add"/"remove" a click or a lasso
    adds/removes its items; with "inspect" a lasso replaces the inspected set. An edit that
    would leave no seed is skipped (``refused``).
    """
    start = frozenset(int(i) for i in seeds)
    chosen = start
    focus: int | None = None
    inspect: tuple[int, ...] | None = None
    refused = False
    for ev in events:
        ids = frozenset(int(i) for i in ev.ids)
        if not ids:
            continue
        if ev.kind == "click":
            focus = min(ids)
        if action == "inspect":
            if ev.kind == "select":
                inspect = tuple(sorted(ids))
            continue
        new = chosen | ids if action == "add" else chosen - ids
        if not new:
            refused = True
            continue
        chosen = new
    return ViewEdit(None if chosen == start else tuple(sorted(chosen)), focus, inspect, refused)


def apply_view_events(data: Dataset, settings: Settings, events: Sequence[ScatterEvent]) -> ViewEdit | None:
    """Apply the views' new clicks and lassos: seed edits (into the URL), the side panel's item, the inspected set."""
    if not events:
        return None
    with user_errors():
        seeds = current_seeds(data, settings)
    edit = plan_view_events(events, str(st.session_state.get("click_action", DEFAULT_ACTION)), seeds.tolist())
    if edit.seeds is not None:
        _note_change(data, seeds.tolist(), edit.seeds)
        set_manual_seeds(data.key, edit.seeds)
    if edit.focus is not None:
        set_focus(data.key, edit.focus)
    if edit.inspect is not None:
        set_inspected(edit.inspect)
    if edit.refused:
        st.toast("At least one seed is needed; nothing removed.", icon=":material/warning:")
    return edit


def edit_seeds(data: Dataset, settings: Settings, items: Iterable[int], action: str) -> None:
    """Add or remove ``items`` from the seeds in use (which become hand-picked); refuse to remove all."""
    with user_errors():
        seeds = current_seeds(data, settings)
    chosen = set(int(i) for i in seeds)
    items = set(int(i) for i in items)
    new = chosen | items if action == "add" else chosen - items
    if not new:
        st.toast("At least one seed is needed; nothing removed.", icon=":material/warning:")
        return
    if new != chosen:
        _note_change(data, chosen, new)
        set_manual_seeds(data.key, sorted(new))


def _apply_seed_text(data: Dataset, before: tuple[int, ...]) -> None:
    text = st.session_state.get("seed_text", "")
    try:
        seeds = parse_seed_list(text, data.fs.n_items)
    except CMCSLError as exc:
        st.session_state["seed_text_error"] = str(exc)
        return
    st.session_state.pop("seed_text_error", None)
    _note_change(data, before, seeds)
    set_manual_seeds(data.key, seeds)


def seed_panel(data: Dataset, settings: Settings, result: LabelingResult, manual: bool) -> None:
    """Seeds per class, an editable list of seed indices, and the way back to random seeds."""
    fs = data.fs
    counts = np.bincount(result.seed_labels, minlength=fs.n_classes)
    table = pd.DataFrame(
        {"class": list(fs.class_names), "seeds": counts, "items": np.bincount(fs.y, minlength=fs.n_classes)}
    )
    st.dataframe(table, hide_index=True, key="seed_counts")
    seed_items_table(data, result)
    empty = [n for n, c in zip(fs.class_names, counts) if c == 0]
    if empty:
        st.warning(f"No seed in class {md(', '.join(empty))}: no item can get that label. Pick one for each class.")
    current = ",".join(str(int(i)) for i in result.seed_idx)
    if st.session_state.get("seed_text_src") != current:
        st.session_state["seed_text"] = current
        st.session_state["seed_text_src"] = current
    st.text_input(
        "Seed items (indices, comma separated)",
        key="seed_text",
        on_change=_apply_seed_text,
        args=(data, tuple(int(i) for i in result.seed_idx)),
        help="Edit the list and press Enter to use exactly these seeds.",
    )
    if st.session_state.get("seed_text_error"):
        st.error(md(st.session_state["seed_text_error"]) + " — fix the list and press Enter.")
    c1, c2 = st.columns(2)
    if manual:
        c1.button("Back to random seeds", on_click=clear_manual_seeds, icon=":material/undo:")
        c1.caption(f"{len(result.seed_idx)} hand-picked seeds (in the page address).")
    else:
        c1.caption(
            f"Random: {settings.b_class} per class, seed {settings.seed}. To pick seeds by hand, switch the views "
            "to 'add seeds' and click points."
        )
    rows = inspected()
    if rows:
        c2.button("Clear the inspected points", on_click=clear_inspected)
        c2.caption(f"{len(rows)} inspected: see them below.")


def _item_frame(data: Dataset, result: LabelingResult) -> pd.DataFrame:
    fs = data.fs
    names = np.asarray(fs.class_names, dtype=object)
    cols: dict[str, object] = {"index": np.arange(fs.n_items)}
    cols["title"] = [fs.item_name(i) for i in range(fs.n_items)] if fs.titles or fs.ids else cols["index"]
    cols["true"] = names[fs.y]
    for m, mod in enumerate(result.modality_names):
        cols[f"UNI {mod}"] = names[result.labels[m]]
    cols["CMCSL"] = names[result.final_labels]
    cols["disagree"] = result.disagree
    cols["seed"] = result.is_seed
    if fs.texts is not None:
        cols["text"] = [t[:160] for t in fs.texts]
    return pd.DataFrame(cols)


def item_table(data: Dataset, result: LabelingResult) -> None:
    """A searchable table of all items; selected rows can be added to or removed from the seeds."""
    frame = _item_frame(data, result)
    c1, c2 = st.columns([3, 1])
    query = c1.text_input("Search title, id, plot or label", key="item_query", placeholder="e.g. wedding").strip()
    only = c2.selectbox("Show", ["all items", "seeds", "disagreements", "inspected"], key="item_filter")
    mask = np.ones(len(frame), dtype=bool)
    if query:
        q = query.lower()
        hay = frame["title"].astype(str).str.lower() + " " + frame["true"].str.lower()
        if "text" in frame:
            hay = hay + " " + frame["text"].str.lower()
        mask &= hay.str.contains(q, regex=False).to_numpy()
        if q.isdigit() and int(q) < len(frame):
            mask[int(q)] = True
    if only == "seeds":
        mask &= frame["seed"].to_numpy()
    elif only == "disagreements":
        mask &= frame["disagree"].to_numpy()
    elif only == "inspected":
        keep = np.zeros(len(frame), dtype=bool)
        keep[inspected()] = True
        mask &= keep
    shown = frame[mask].reset_index(drop=True)
    shown, thumbs = with_thumbnails(data, shown)
    st.caption(f"{len(shown):,} of {len(frame):,} items")
    event = st.dataframe(
        shown,
        hide_index=True,
        key="item_table",
        on_select="rerun",
        selection_mode="multi-row",
        height=320,
        column_config={"text": st.column_config.TextColumn(width="large"), **thumbs},
        row_height=56 if thumbs else None,
    )
    rows = list(getattr(event, "selection", {}).get("rows", [])) if event is not None else []
    picked = shown.loc[rows, "index"].astype(int).tolist() if rows else []
    settings_ = current_settings()
    b1, b2, _ = st.columns([1, 1, 2])
    for col, action, label, icon in (
        (b1, "add", f"Add {len(picked)} selected as seeds", ":material/add:"),
        (b2, "remove", f"Remove {len(picked)} selected from seeds", ":material/remove:"),
    ):
        # a callback: the edit is applied before the (fragment's) rerun that draws it
        col.button(label, disabled=not picked, icon=icon, on_click=edit_seeds, args=(data, settings_, picked, action))
