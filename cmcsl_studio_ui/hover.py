"""Hover text of the scatter points: one HTML header per item (name, id, plot snippet, true label)."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from .loading import Dataset

__all__ = ["hover_base"]

SNIPPET = 70
"""Characters of an item's text shown on hover."""


@st.cache_resource(show_spinner=False, max_entries=6)
def _hover_base(data_key: str, _data: Dataset) -> np.ndarray:
    fs = _data.fs
    names = np.asarray(fs.class_names, dtype=object)[fs.y]
    out = np.empty(fs.n_items, dtype=object)
    for i in range(fs.n_items):
        title = html.escape(fs.item_name(i), quote=False)
        ident = ""
        if fs.ids is not None and fs.ids[i] and fs.titles is not None:
            ident = f" ({html.escape(str(fs.ids[i]), quote=False)})"
        snippet = ""
        if fs.texts is not None and fs.texts[i]:
            text = fs.texts[i]
            snippet = "<br>" + html.escape(text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""), quote=False)
        out[i] = f"#{i} {title}{ident}{snippet}<br>true: {html.escape(str(names[i]), quote=False)}"
    return out


def hover_base(data: Dataset) -> np.ndarray:
    """Per-item hover header (HTML, escaped), shared between sessions."""
    return _hover_base(data.key, data)
