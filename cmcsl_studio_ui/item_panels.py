"""Items in detail: one item (the Clusters page's inspector), item tables with thumbnails.

:func:`item_details` is the one place that draws an item (thumbnail, text, labels); tables of
items get a thumbnail column from :func:`with_thumbnails`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.method.labeling import LabelingResult

from .loading import Dataset
from .text import md, quote
from .thumbs import TABLE_THUMBNAILS, has_thumbnails, item_thumbnail, square_thumbnail, thumbnail_urls

__all__ = [
    "item_details",
    "item_label_table",
    "with_thumbnails",
    "seed_items_table",
    "item_gallery",
    "item_heading",
    "item_strip",
    "example_items",
    "THUMB_COLUMN",
    "TEXT_CHARS",
]

THUMB_COLUMN = "image"
"""Name of the thumbnail column of item tables."""

TEXT_CHARS = 400
"""Characters of an item's text shown in its details."""


def item_heading(data: Dataset, i: int) -> str:
    """``#12 Title (id)`` for items with titles, ``#12 · id 4711`` for items with ids only, else ``#12``."""
    fs = data.fs
    i = int(i)
    ident = str(fs.ids[i]) if fs.ids is not None and fs.ids[i] else ""
    if fs.titles is not None and fs.titles[i]:
        return f"#{i} {fs.titles[i]}" + (f" ({ident})" if ident else "")
    return f"#{i} · id {ident}" if ident else f"#{i}"


def item_label_table(data: Dataset, result: LabelingResult, i: int) -> pd.DataFrame:
    """Per modality: the nearest-seed label, the distance to that seed, whether CMCSL kept it, and
    (data with human labels per modality) the annotators' label."""
    fs = data.fs
    names = np.asarray(fs.class_names, dtype=object)
    frame = pd.DataFrame(
        {
            "modality": list(result.modality_names),
            "label": names[result.labels[:, i]],
            "distance": np.round(result.distances[:, i], 3),
            "kept": [
                bool(result.disagree[i]) and int(result.decided_by[i]) == m for m in range(len(result.modality_names))
            ],
        }
    )
    human = fs.modality_labels or {}
    if any(m in human for m in result.modality_names):
        frame["annotator"] = [
            names[human[m][i]] if m in human and human[m][i] >= 0 else "—" for m in result.modality_names
        ]
    return frame


def item_details(data: Dataset, result: LabelingResult, i: int) -> None:
    """Draw item ``i``: thumbnail, name, id, text, true label, CMCSL label and the per-modality labels."""
    fs = data.fs
    i = int(i)
    true, final = fs.class_names[fs.y[i]], fs.class_names[result.final_labels[i]]
    st.markdown(f"**{md(item_heading(data, i))}**")
    thumb = item_thumbnail(fs, i)  # re-encoded here (or the placeholder); None: the data has no pictures
    if thumb:
        st.image(thumb, width=160)
    badges = [
        f"true **{md(true)}**",
        f"{result.labeler.upper()} **{md(final)}** ({'right' if true == final else 'wrong'})",
    ]
    if result.is_seed[i]:
        badges.append("seed")
    if result.disagree[i]:
        badges.append("modalities disagree")
    human = fs.modality_labels or {}
    known = [m for m in result.modality_names if m in human and human[m][i] >= 0]
    if len(known) >= 2 and len({int(human[m][i]) for m in known}) > 1:
        badges.append("annotators disagree")
    st.caption(" · ".join(badges))
    if fs.texts is not None and fs.texts[i]:
        text = fs.texts[i]
        st.markdown(quote(text[:TEXT_CHARS] + ("…" if len(text) > TEXT_CHARS else "")))
    st.dataframe(item_label_table(data, result, i), hide_index=True, key=f"item_{i}_labels")


def with_thumbnails(
    data: Dataset, frame: pd.DataFrame, index: str = "index", limit: int = TABLE_THUMBNAILS
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` with a thumbnail column first (data URLs of its first ``limit`` rows) and that column's config.

    ``frame[index]`` holds item indices. Data without thumbnails: ``frame`` unchanged and no config.
    """
    if not has_thumbnails(data.fs) or frame.empty:
        return frame, {}
    out = frame.copy()
    out.insert(0, THUMB_COLUMN, thumbnail_urls(data.fs, out[index].astype(int), limit))
    help_ = "The item's image (thumbnail)"
    if len(out) > limit:
        help_ += f"; shown for the first {limit} rows: search or filter to see others"
    return out, {THUMB_COLUMN: st.column_config.ImageColumn(THUMB_COLUMN, width="small", help=help_)}


def seed_items_table(data: Dataset, result: LabelingResult) -> None:
    """The seed items themselves (thumbnail, class, text), for data with thumbnails or texts."""
    fs = data.fs
    if not has_thumbnails(fs) and fs.texts is None:
        return
    seeds = np.asarray(result.seed_idx, dtype=np.int64)
    names = np.asarray(fs.class_names, dtype=object)
    frame = pd.DataFrame({"index": seeds, "class": names[np.asarray(result.seed_labels)]})
    if fs.texts is not None:
        frame["text"] = [fs.texts[i] for i in seeds]
    frame, config = with_thumbnails(data, frame)
    config["text"] = st.column_config.TextColumn("text", width="large")
    st.dataframe(frame, hide_index=True, key="seed_items", column_config=config, row_height=56 if config else None)


GALLERY_TEXT = 140
"""Characters of an item's text under its picture in a gallery."""

GALLERY_WIDTH = 150
"""Width of a gallery picture in pixels (thumbnails are small: larger would only blur them)."""


def example_items(data: Dataset, per_class: int = 1, disagreeing: int = 4) -> tuple[list[int], list[str]]:
    """A few items to show the data by, and a note on each: the first ``per_class`` items of every
    class, then (data with human labels per modality) the first ``disagreeing`` items whose
    annotators disagree. Deterministic (first by index)."""
    fs = data.fs
    names = fs.class_names
    human = fs.modality_labels or {}
    pair = [m for m in fs.modality_names if m in human][:2]
    differ = np.zeros(fs.n_items, dtype=bool)
    if len(pair) == 2:
        a, b = human[pair[0]], human[pair[1]]
        differ = (a >= 0) & (b >= 0) & (a != b)
    rows: list[int] = []
    for c in range(fs.n_classes):
        rows += np.flatnonzero((fs.y == c) & ~differ)[:per_class].tolist()
    rows += np.flatnonzero(differ)[:disagreeing].tolist() if len(pair) == 2 else []

    def note(i: int) -> str:
        if len(pair) == 2:
            return "annotators: " + " · ".join(
                f"{md(m)} *{md(names[human[m][i]])}*" if human[m][i] >= 0 else f"{md(m)} —" for m in pair
            )
        return f"label: *{md(names[fs.y[i]])}*"

    return rows, [note(i) for i in rows]


def item_gallery(data: Dataset, rows: Any, notes: Any = None, per_row: int = 4, key: str = "gallery") -> None:
    """Items as cards in a row of columns: thumbnail (when the data has them), a note, the text's start.

    ``notes`` (one markdown line per row, optional) say what the card shows, e.g. the item's labels.
    """
    fs = data.fs
    rows = [int(i) for i in rows]
    if not rows:
        return
    notes = list(notes) if notes is not None else [""] * len(rows)
    with st.container(key=key):
        for start in range(0, len(rows), per_row):
            for col, i, note in zip(st.columns(per_row), rows[start : start + per_row], notes[start : start + per_row]):
                with col:
                    thumb = item_thumbnail(fs, i)
                    if thumb:
                        st.image(square_thumbnail(thumb), width=GALLERY_WIDTH)
                    st.markdown(f"**{md(item_heading(data, i))}**" + (f"  \n{note}" if note else ""))
                    if fs.texts is not None and fs.texts[i]:
                        text = fs.texts[i]
                        st.caption(md(text[:GALLERY_TEXT] + ("…" if len(text) > GALLERY_TEXT else "")))


STRIP_WIDTH = 72
"""Width of a picture in an item strip (the side panel's and the review card's neighbours)."""


def item_strip(data: Dataset, rows: Any, captions: Any = None, per_row: int = 3, width: int = STRIP_WIDTH) -> None:
    """Small cards in rows: each item's picture (when the data has pictures), ``#i`` and a caption line.

    For narrow places (the Clusters side panel, a column of the review card); ``captions``
    (optional, one short markdown line per item, escaped by the caller) say e.g. its label or distance.
    """
    fs = data.fs
    rows = [int(i) for i in rows]
    captions = list(captions) if captions is not None else [""] * len(rows)
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, i, cap in zip(cols, rows[start : start + per_row], captions[start : start + per_row]):
            with col:
                thumb = item_thumbnail(fs, i)  # re-encoded by the app, or the placeholder; None: no pictures
                if thumb:
                    st.image(square_thumbnail(thumb), width=width)
                text = f"**#{i}**" + (f" {cap}" if cap else "")
                if fs.texts is not None and fs.texts[i] and not thumb:
                    text += "  \n" + md(fs.texts[i][:60] + ("…" if len(fs.texts[i]) > 60 else ""))
                st.caption(text)
