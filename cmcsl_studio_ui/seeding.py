"""Picking seeds by hand: chart selections (click, box, lasso), a seed list, a searchable item table.

Hand-picked seeds are per session (``st.session_state``) and go into the URL.
Chart selections are read from the charts' widget state at the top of the run, so
the page draws the new labeling in the same run (no second rerun).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.seeds import parse_seed_list

from .labels import current_seeds
from .loading import Dataset
from .page import user_errors
from .session import clear_inspected, clear_manual_seeds, current_settings, inspected, set_inspected, set_manual_seeds
from .settings import Settings

__all__ = ["ACTIONS", "selected_items", "apply_chart_selections", "seed_panel", "item_table", "edit_seeds"]

ACTIONS: dict[str, str] = {"add": "add seeds", "remove": "remove seeds", "inspect": "only inspect"}


def selected_items(state: object) -> list[int]:
    """Item indices of the points selected in a chart's selection state (via ``customdata``)."""
    try:
        points = state["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return []
    out = set()
    for p in points or []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is not None:
            out.add(int(cd))
    return sorted(out)


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
        set_manual_seeds(data.key, sorted(new))


def apply_chart_selections(data: Dataset, settings: Settings, keys: Sequence[str]) -> None:
    """Turn new selections in the charts ``keys`` into seed edits (or the inspected set)."""
    ss = st.session_state
    for key in keys:
        items = selected_items(ss.get(key))
        sig = tuple(items)
        if ss.get(f"_done_{key}") == sig:
            continue
        ss[f"_done_{key}"] = sig
        if not items:
            continue
        action = ss.get("click_action", "add")
        if action == "inspect":
            set_inspected(items)
        else:
            edit_seeds(data, settings, items, action)


def _apply_seed_text(data_key: str, n_items: int) -> None:
    text = st.session_state.get("seed_text", "")
    try:
        seeds = parse_seed_list(text, n_items)
    except CMCSLError as exc:
        st.session_state["seed_text_error"] = str(exc)
        return
    st.session_state.pop("seed_text_error", None)
    set_manual_seeds(data_key, seeds)


def seed_panel(data: Dataset, settings: Settings, result: LabelingResult, manual: bool) -> None:
    """Seeds per class, an editable list of seed indices, and the way back to random seeds."""
    fs = data.fs
    counts = np.bincount(result.seed_labels, minlength=fs.n_classes)
    table = pd.DataFrame(
        {"class": list(fs.class_names), "seeds": counts, "items": np.bincount(fs.y, minlength=fs.n_classes)}
    )
    st.dataframe(table, hide_index=True, key="seed_counts")
    empty = [n for n, c in zip(fs.class_names, counts) if c == 0]
    if empty:
        st.warning(f"No seed in class {', '.join(empty)}: no item can get that label. Pick one for each class.")
    current = ",".join(str(int(i)) for i in result.seed_idx)
    if st.session_state.get("seed_text_src") != current:
        st.session_state["seed_text"] = current
        st.session_state["seed_text_src"] = current
    st.text_input(
        "Seed items (indices, comma separated)",
        key="seed_text",
        on_change=_apply_seed_text,
        args=(data.key, fs.n_items),
        help="Edit the list and press Enter to use exactly these seeds.",
    )
    if st.session_state.get("seed_text_error"):
        st.error(st.session_state["seed_text_error"] + " — fix the list and press Enter.")
    c1, c2 = st.columns(2)
    if manual:
        c1.button("Back to random seeds", on_click=clear_manual_seeds, icon=":material/undo:")
        c1.caption(f"{len(result.seed_idx)} hand-picked seeds (in the page address).")
    else:
        c1.caption(f"Random: {settings.b_class} per class, seed {settings.seed}. Click points to add seeds.")
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
    st.caption(f"{len(shown):,} of {len(frame):,} items")
    event = st.dataframe(
        shown,
        hide_index=True,
        key="item_table",
        on_select="rerun",
        selection_mode="multi-row",
        height=320,
        column_config={"text": st.column_config.TextColumn(width="large")},
    )
    rows = list(getattr(event, "selection", {}).get("rows", [])) if event is not None else []
    picked = shown.loc[rows, "index"].astype(int).tolist() if rows else []
    settings_ = current_settings()
    b1, b2, _ = st.columns([1, 1, 2])
    if b1.button(f"Add {len(picked)} selected as seeds", disabled=not picked, icon=":material/add:"):
        edit_seeds(data, settings_, picked, "add")
        st.rerun()
    if b2.button(f"Remove {len(picked)} selected from seeds", disabled=not picked, icon=":material/remove:"):
        edit_seeds(data, settings_, picked, "remove")
        st.rerun()
