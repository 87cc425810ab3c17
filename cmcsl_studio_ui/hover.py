"""What hovering a scatter point shows: the item's name, a text snippet, its true label and its thumbnail.

:func:`hover_base` is the HTML header of the Plotly views (How CMCSL works page);
:func:`hover_names` the plain-text tooltips of the linked views (Clusters page), sent to the
browser once per data set and view together with the coordinates; :func:`thumbnail_url`
publishes the data's thumbnails (if it has any) as static files, so the tooltip can show
them without a round trip to the Python side (``server.enableStaticServing`` in
``.streamlit/config.toml``: files under ``./static/`` are served at ``/app/static/``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st

from .loading import Dataset
from .text import html as escape_html

__all__ = ["hover_base", "hover_names", "thumbnail_url", "STATIC_DIR"]

SNIPPET = 70
"""Characters of an item's text shown on hover."""

MAX_SNIPPETS = 20_000
"""Above this many items the tooltips carry the name only (they travel with the coordinates)."""

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
"""Streamlit's static folder (next to app.py); thumbnails go to ``thumbs/<digest>/`` inside it."""


def _snippet(text: str) -> str:
    return text[:SNIPPET] + ("…" if len(text) > SNIPPET else "")


@st.cache_resource(show_spinner=False, max_entries=6)
def _hover_base(data_key: str, _data: Dataset) -> np.ndarray:
    fs = _data.fs
    names = np.asarray(fs.class_names, dtype=object)[fs.y]
    out = np.empty(fs.n_items, dtype=object)
    for i in range(fs.n_items):
        title = escape_html(fs.item_name(i))
        ident = ""
        if fs.ids is not None and fs.ids[i] and fs.titles is not None:
            ident = f" ({escape_html(str(fs.ids[i]))})"
        snippet = ""
        if fs.texts is not None and fs.texts[i]:
            snippet = "<br>" + escape_html(_snippet(fs.texts[i]))
        out[i] = f"#{i} {title}{ident}{snippet}<br>true: {escape_html(str(names[i]))}"
    return out


def hover_base(data: Dataset) -> np.ndarray:
    """Per-item hover header (HTML, escaped), shared between sessions."""
    return _hover_base(data.key, data)


@st.cache_resource(show_spinner=False, max_entries=6)
def _hover_names(data_key: str, _data: Dataset) -> tuple[str, ...]:
    fs = _data.fs
    truth = np.asarray(fs.class_names, dtype=object)[fs.y]
    named = fs.titles is not None or fs.ids is not None
    snippets = fs.texts is not None and fs.n_items <= MAX_SNIPPETS
    out = []
    for i in range(fs.n_items):
        line = f"#{i} {fs.item_name(i)}" if named else f"#{i}"
        if named and fs.ids is not None and fs.ids[i] and fs.titles is not None:
            line += f" ({fs.ids[i]})"
        if snippets and fs.texts is not None and fs.texts[i]:
            line += "\n" + _snippet(fs.texts[i])
        out.append(f"{line}\ntrue: {truth[i]}")
    return tuple(out)


def hover_names(data: Dataset) -> tuple[str, ...]:
    """Per-item tooltip of the linked views (plain text, lines split by ``\\n``), shared between sessions."""
    return _hover_names(data.key, data)


@st.cache_resource(show_spinner=False, max_entries=6)
def _thumbnail_url(data_key: str, _data: Dataset) -> str | None:
    fs = _data.fs
    if fs.thumbnails is None:
        return None
    digest = hashlib.blake2b(data_key.encode(), digest_size=10).hexdigest()
    target = STATIC_DIR / "thumbs" / digest
    if not target.is_dir():  # written once per data set (and machine); published with one rename
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=target.parent))
        try:
            for i, blob in enumerate(fs.thumbnails):
                if blob:
                    (tmp / f"{i}.jpg").write_bytes(bytes(blob))
            os.replace(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not target.is_dir():
                return None
    return f"app/static/thumbs/{digest}/"


def thumbnail_url(data: Dataset) -> str | None:
    """URL folder (relative to the server root) of the items' thumbnails ``<i>.jpg``, or None when the data has none."""
    return _thumbnail_url(data.key, data)
