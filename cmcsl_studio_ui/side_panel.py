"""The Clusters page's side panel: the clicked item in detail, and "More like this", labelled into the
Review page's annotation database as this session's annotator."""

from __future__ import annotations

import streamlit as st

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labeling import LabelingResult

from . import seeding
from .annotating import session_storage
from .identity import identity_widgets
from .item_panels import item_details
from .loading import Dataset
from .neighbours import more_like_this
from .page import error_text
from .projections import preprocessed
from .serving import serving
from .text import md

__all__ = ["side_panel"]

MORE_K = 6  # "More like this": neighbours per modality
MORE_PER_ROW = 3  # ... drawn per row (the panel is narrow)


def _label_neighbours(data: Dataset, items: list[int], label: str) -> None:
    """Store "More like this" labels (one transaction) in the Review page's store, as this session's annotator."""
    try:
        storage = session_storage(data)
        done = storage.store.label_many(items, [label] * len(items), storage.annotator)
    except CMCSLError as exc:
        st.session_state["neighbours_note"] = ("error", error_text(exc))
        return
    st.session_state["neighbours_note"] = (
        "info",
        f"Saved {len(done)} labels '{md(label)}' (one transaction; see the Review page).",
    )


def side_panel(data: Dataset, result: LabelingResult, preprocessing: str) -> None:
    """The clicked item in detail (picture and text when the data has them) and more like it."""
    i = seeding.focused(data.key)
    if i is None or not 0 <= i < data.fs.n_items:
        st.caption("Click a point to see the item here.")
        return
    with st.container(key="item_panel"):
        item_details(data, result, i)
        st.button("Close", key="close_item", on_click=seeding.set_focus, args=(data.key, None), icon=":material/close:")
        note = st.session_state.pop("neighbours_note", None)
        if note is not None:
            (st.error if note[0] == "error" else st.success)(note[1])
        box = st.expander("More like this", icon=":material/join:", key="panel_more_open", on_change="rerun")
        if box.open:
            with box:
                storage = None
                try:
                    storage = session_storage(data)  # served: the fixed store, this visitor's own labels
                    human = storage.human()
                except CMCSLError as exc:
                    st.caption(f"Labels cannot be saved: {error_text(exc)}")
                    human = None
                if storage is not None and not storage.annotator and serving():
                    identity_widgets()  # a served visitor names themselves once (here or on the Review page)
                can_label = human is not None and storage is not None and bool(storage.annotator)
                more_like_this(
                    data, preprocessed(data, preprocessing), i, result.final_labels, int(result.final_labels[i]),
                    () if human is None else human.index,
                    (lambda items, label: _label_neighbours(data, items, label)) if can_label else None,
                    key="panel_more", k=MORE_K, per_row=MORE_PER_ROW, stacked=True,
                )
                if storage is not None:
                    who = md(storage.annotator) if storage.annotator else "—"
                    st.caption(
                        f"Labels go to the annotation database of the Review page ({md(storage.db_shown)}), as {who}."
                    )
