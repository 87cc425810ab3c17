""""More like this": an item's nearest neighbours per modality, with their pictures, labelled in one click.

Drawn on the Review card and in the Clusters side panel. The neighbours come from
:func:`cmcsl_core.annotations.similar.similar_items` in the space CMCSL labels in (the
preprocessed features); items a person already labelled are left out. The button labels
the item and all its listed neighbours with one class, one transaction
(:meth:`AnnotationStore.label_many`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import streamlit as st

from cmcsl_core.annotations.similar import similar_items

from .item_panels import item_strip
from .loading import Dataset
from .text import md

__all__ = ["NEIGHBOURS", "neighbour_items", "more_like_this"]

NEIGHBOURS = 6
"""Neighbours listed per modality."""


def neighbour_items(neighbours: Sequence[np.ndarray], item: int | None = None) -> list[int]:
    """The item (first, if given) and its neighbours of every modality, each once, in order."""
    seen: dict[int, None] = {} if item is None else {int(item): None}
    for rows in neighbours:
        for i in rows.tolist():
            seen.setdefault(int(i), None)
    return list(seen)


def more_like_this(
    data: Dataset,
    X_list: Sequence[np.ndarray],
    item: int,
    labels: np.ndarray,
    default_class: int,
    exclude: Sequence[int] | np.ndarray,
    on_label: Callable[[list[int], str], None] | None,
    key: str,
    k: int = NEIGHBOURS,
    per_row: int = 3,
    stacked: bool = False,
) -> None:
    """List ``item``'s ``k`` nearest items per modality (picture, ``#i``, current label) and a
    "label them all" button.

    ``labels`` are the current labels (class positions) shown under each neighbour;
    ``on_label(items, class_name)`` stores the labels (one transaction), None: no button
    (e.g. no annotator's name yet). ``stacked``: the class and the button one above the other
    (narrow places).
    """
    fs = data.fs
    names = fs.class_names
    neighbours = similar_items(X_list, item, k, exclude)
    for name, rows in zip(fs.modality_names, neighbours):
        st.markdown(f"Nearest in **{md(name)}**")
        if rows.size:
            item_strip(data, rows, [f"*{md(names[int(labels[i])])}*" for i in rows], per_row=per_row)
        else:
            st.caption("none left (all labelled)")
    items = neighbour_items(neighbours, item)
    c1, c2 = (st.container(), st.container()) if stacked else st.columns([3, 2], vertical_alignment="bottom")
    cls = c1.selectbox(
        f"Label #{item} and these {len(items) - 1} items as",
        range(len(names)),
        index=int(default_class),
        format_func=names.__getitem__,
        key=f"{key}_class",
    )
    c2.button(
        f"Label {len(items)} items",
        key=f"{key}_label",
        on_click=on_label,
        args=(items, names[int(cls)]),
        disabled=on_label is None or len(items) == 0,
        icon=":material/done_all:",
        help="One transaction: every listed item gets this label (undo takes them back one by one)",
    )
