"""What hovering a scatter point shows: the item's name, a text snippet, its true label and its thumbnail.

:func:`hover_base` is the HTML header of the Plotly views (How CMCSL works page);
:func:`hover_names` the plain-text tooltips of the linked views (Clusters page), sent to the
browser once per data set and view together with the coordinates; :func:`thumbnail_url`
publishes the data's thumbnails (if it has any) as files, so the tooltip loads them straight
from the server, without a round trip to the Python side.

The files are JPEGs this app re-encoded (:func:`.thumbs.publish_thumbnails`), kept under the
cache folder (never under the repository), and served by Streamlit's documented custom-component
file serving: :func:`streamlit.components.v1.declare_component` with ``path=`` serves the files
of that folder at ``/component/<module>.<name>/...`` (path traversal refused, ``Cache-Control:
public``), here ``/component/cmcsl_studio_ui.hover.cmcsl_thumbnails/<digest>/<i>.jpg``. A hover
costs the server one small file read; the browser caches it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from .loading import Dataset
from .text import html as escape_html
from .thumbs import publish_thumbnails, served_thumbnails_dir

__all__ = ["hover_base", "hover_names", "thumbnail_url", "THUMBNAILS_COMPONENT"]

SNIPPET = 70
"""Characters of an item's text shown on hover."""

MAX_SNIPPETS = 20_000
"""Above this many items the tooltips carry the name only (they travel with the coordinates)."""

THUMBNAILS_COMPONENT = "cmcsl_thumbnails"
"""Name of the file-serving "component" whose folder holds the published thumbnails (it draws nothing)."""



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


@lru_cache(maxsize=4)
def _served_route(folder: str) -> str:
    """Register ``folder`` as the thumbnails' file-serving component (once per folder); its URL path."""
    components.declare_component(THUMBNAILS_COMPONENT, path=folder)
    return f"component/{__name__}.{THUMBNAILS_COMPONENT}"


@st.cache_resource(show_spinner=False, max_entries=6)
def _thumbnail_url(data_key: str, _data: Dataset) -> str | None:
    digest = publish_thumbnails(_data.fs, data_key)
    if digest is None:
        return None
    return f"{_served_route(str(served_thumbnails_dir()))}/{digest}/"


def thumbnail_url(data: Dataset) -> str | None:
    """URL folder (relative to the server root) of the items' thumbnails ``<i>.jpg``, or None when the data has none."""
    return _thumbnail_url(data.key, data)
