"""Linked WebGL scatter views: a bidirectional Streamlit component wrapping ``regl-scatterplot``.

One component instance draws one scatter per view (modality) side by side in one iframe;
hovering or selecting items in one view highlights the same items in the others.

Coordinates travel once per (data, view)
----------------------------------------
Streamlit re-sends *all* of an element's arguments whenever one of them changes, so the
coordinates never ride along with the arguments that change per click. The handshake:

1. Every render carries the ``fingerprint`` of (coordinates, view names) plus the small
   per-item arrays: colour codes (uint8/uint16 bytes), flags (uint8 bytes: bit 0 seed,
   bit 1 disagreement ring), the palette, and optionally the selection (uint32 bytes),
   and ``rev``, a digest of those bytes (Streamlit's frontend re-posts a component's
   arguments to its iframe only when the JSON arguments change, not the bytes ones).
2. The coordinates (float32 bytes, normalised to [-1, 1] per view) and the item names ride
   along only (a) on the first render of a fingerprint in this session, or (b) after the
   frame asked for them with ``{"event": "need_points", "fingerprint": fp}`` (it lacks
   them: reloaded iframe, page switch, lost render).
3. The frame keeps coordinates in memory keyed by fingerprint and answers a render that
   carried them with ``{"event": "have_points", "fingerprint": fp}``; from then on this
   session stops sending them until the frame asks again.

Every value the frame sends is ``{"nonce", "seq", "events": [...]}``: ``nonce`` names the
iframe, each event has an increasing ``seq``, and the list holds every event this session
has not acknowledged yet (``ack_nonce``/``ack_seq`` arguments), so a value that replaces
another before a rerun read it loses nothing. The session remembers the last ``seq`` per
nonce, so an event is applied exactly once even though Streamlit keeps returning the
component's last value on every rerun.

The page wraps the call in ``st.fragment`` so that an event reruns only the views' panel.
Rebuild the frontend with ``cd cmcsl_studio_ui/scatter/frontend && npm install && npm run build``
(the built ``frontend/build/`` is committed; users need no node).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

__all__ = ["BUILD_DIR", "ScatterEvent", "linked_scatter", "pending_events", "points_fingerprint", "normalised_points"]

BUILD_DIR = Path(__file__).resolve().parent / "frontend" / "build"
"""The built frontend (committed; rebuilt with ``npm run build`` in ``frontend/``)."""

_component = components.declare_component("cmcsl_linked_scatter", path=str(BUILD_DIR))

UNLABELLED_COLOR = "#c8c8c8"
"""Colour of items whose code is negative (e.g. not labelled)."""


@dataclass(frozen=True)
class ScatterEvent:
    """A user action in the views: ``kind`` is ``"click"`` (one item) or ``"select"`` (lasso).

    The frame also sends ``need_points``/``have_points`` handshake events; those are
    handled here and never returned.

    ``ids`` are item indices (rows of the arrays passed in), ``view`` the name of the view
    where it happened, ``seq`` the frame's event counter (increasing per iframe).
    """

    kind: str
    ids: tuple[int, ...]
    view: str
    seq: int


@dataclass
class _Handshake:
    """Per-session, per-key state of the coordinates handshake (kept in ``st.session_state``)."""

    sent: set[str]
    have: set[str]
    need: set[str]
    last_seq: dict[str, int]
    last_nonce: str = ""
    points_renders: int = 0


def points_fingerprint(views: Mapping[str, np.ndarray]) -> str:
    """A short hash of the views' names, shapes and coordinates (what the frame caches by)."""
    h = hashlib.blake2b(digest_size=12)
    for name, xy in views.items():
        arr = np.ascontiguousarray(xy, dtype=np.float32)
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def normalised_points(views: Mapping[str, np.ndarray]) -> np.ndarray:
    """Coordinates as float32 ``(views, n, 2)``, each view centred and scaled into [-0.95, 0.95].

    The aspect ratio of each view is kept (one scale for x and y); non-finite coordinates go to the centre.
    """
    out = []
    for xy in views.values():
        arr = np.asarray(xy, dtype=np.float64)
        finite = np.isfinite(arr).all(axis=1)
        if finite.any():
            lo = arr[finite].min(axis=0)
            hi = arr[finite].max(axis=0)
        else:
            lo = hi = np.zeros(2)
        centre = (lo + hi) / 2
        half = float(max((hi - lo).max() / 2, 1e-12))
        norm = (arr - centre) / half * 0.95
        norm[~finite] = 0.0
        out.append(norm.astype(np.float32))
    return np.stack(out)


def _check_views(views: Mapping[str, np.ndarray]) -> int:
    if not views:
        raise ValueError("linked_scatter needs at least one view")
    sizes = set()
    for name, xy in views.items():
        shape = np.shape(xy)
        if len(shape) != 2 or shape[1] != 2:
            raise ValueError(f"view {name!r}: coordinates must have shape (n, 2), got {shape}")
        sizes.add(shape[0])
    if len(sizes) != 1:
        raise ValueError(f"all views must hold the same items, got sizes {sorted(sizes)}")
    return sizes.pop()


def _codes(color: np.ndarray | None, n: int, m: int, palette: list[str]) -> tuple[bytes, int, list[str]]:
    """Colour codes as bytes (shared ``(n,)`` or per view ``(m, n)``); negative codes get a grey slot."""
    codes = np.zeros(n, dtype=np.int64) if color is None else np.asarray(color, dtype=np.int64)
    if codes.shape not in {(n,), (m, n)}:
        raise ValueError(f"color must have shape ({n},) or ({m}, {n}), got {codes.shape}")
    if codes.size and codes.min() < 0:
        palette = palette + [UNLABELLED_COLOR]
        codes = np.where(codes < 0, len(palette) - 1, codes)
    top = int(codes.max()) if codes.size else 0
    if top > 65535:
        raise ValueError("color codes must be below 65,536")
    width = 1 if top < 256 else 2
    data = codes.astype(np.uint8 if width == 1 else "<u2").tobytes()
    return data, width, palette


def _flags(n: int, seeds: np.ndarray | None, ring: np.ndarray | None) -> bytes:
    flags = np.zeros(n, dtype=np.uint8)
    for bit, arr in ((1, seeds), (2, ring)):
        if arr is None:
            continue
        a = np.asarray(arr)
        if a.dtype == bool:
            if a.shape != (n,):
                raise ValueError(f"boolean flags must have shape ({n},), got {a.shape}")
            flags[a] |= bit
        else:  # item indices
            flags[a.astype(np.int64)] |= bit
    return flags.tobytes()


def _handshake(key: str) -> _Handshake:
    slot = f"_linked_scatter_state::{key}"
    if slot not in st.session_state:
        st.session_state[slot] = _Handshake(set(), set(), set(), {})
    state: _Handshake = st.session_state[slot]
    return state


def _take(value: Any, state: _Handshake) -> list[ScatterEvent]:
    """Apply the frame's new events once (dedupe by nonce + seq); return the user events among them."""
    if not isinstance(value, dict) or not isinstance(value.get("events"), list):
        return []
    nonce = str(value.get("nonce", ""))
    last = state.last_seq.get(nonce, 0)
    out: list[ScatterEvent] = []
    for item in value["events"]:
        if not isinstance(item, dict):
            continue
        seq = int(item.get("seq", 0))
        if seq <= last:
            continue
        last = seq
        kind = item.get("event")
        fp = str(item.get("fingerprint"))
        if kind == "need_points":
            state.need.add(fp)
            state.have.discard(fp)
        elif kind == "have_points":
            state.have.add(fp)
            state.need.discard(fp)
        elif kind in {"click", "select"}:
            ids = tuple(int(i) for i in item.get("ids", ()))
            out.append(ScatterEvent(str(kind), ids, str(item.get("view", "")), seq))
    state.last_seq[nonce] = last
    state.last_nonce = nonce
    return out


def _wants_points(state: _Handshake, fp: str) -> bool:
    """Send the coordinates of ``fp`` in this render? On request, or once before any acknowledgement."""
    return fp in state.need or (fp not in state.sent and fp not in state.have)


def pending_events(key: str) -> list[ScatterEvent]:
    """The user's new clicks/lassos in the views with this ``key``, read *before* drawing them.

    Call it at the top of the fragment, apply the events (add/remove seeds, open an item),
    then call :func:`linked_scatter` with the updated seeds: each event is reported once
    (here), and the views show its effect in the same rerun. Also applies the frame's
    handshake messages.
    """
    return _take(st.session_state.get(key), _handshake(key))


def linked_scatter(
    views: Mapping[str, np.ndarray],
    *,
    key: str,
    color: np.ndarray | None = None,
    palette: Sequence[str] = ("#1f77b4",),
    seeds: np.ndarray | None = None,
    ring: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    label_names: Sequence[str] | None = None,
    thumb_url: str | None = None,
    selected: np.ndarray | Sequence[int] | None = None,
    fingerprint: str | None = None,
    height: int = 480,
    point_size: float | None = None,
) -> list[ScatterEvent]:
    """Draw linked scatter views of the same ``n`` items; return the user's new click/lasso, if any.

    Parameters
    ----------
    views
        View name -> coordinates ``(n, 2)``, one per modality, drawn side by side in this order.
    key
        Streamlit key of the component (required: it keeps the frame and its cache alive).
    color
        Integer colour code per item, ``(n,)`` shared by all views or ``(len(views), n)``
        per view; codes index ``palette`` (cycled); negative codes are drawn grey.
    palette
        Colours (CSS hex) of the codes.
    seeds, ring
        Boolean masks ``(n,)`` or item indices: seeds are drawn larger and outlined,
        ring items get a red ring (e.g. the modalities disagree).
    names
        Item names for the hover tooltip (sent with the coordinates only).
    label_names
        Name of each colour code, shown in the tooltip.
    thumb_url
        URL folder, relative to the server root
        (e.g. ``"component/cmcsl_studio_ui.hover.cmcsl_thumbnails/abc/"``), holding
        ``<item>.jpg`` thumbnails shown in the hover tooltip (items without a file show none).
    selected
        Item indices to select (highlight) in every view; ``None`` keeps the frame's own selection.
    fingerprint
        Identity of (coordinates, view names); computed with :func:`points_fingerprint` if not given.
        Pass a cheap one (e.g. the data set and view cache keys) to skip hashing the coordinates.
    height
        Height of each plot in pixels.
    point_size
        Base point size in pixels (default: 4, smaller for large ``n``).

    Returns
    -------
    list of ScatterEvent
        Clicks and lasso selections (oldest first) that happened since the last rerun and
        were not already returned by :func:`pending_events`; each is reported once.
        Usually empty or one event.
    """
    n = _check_views(views)
    m = len(views)
    fp = fingerprint or points_fingerprint(views)
    state = _handshake(key)
    events = _take(st.session_state.get(key), state)

    color_bytes, width, pal = _codes(color, n, m, list(palette))
    args: dict[str, Any] = {
        "fingerprint": fp,
        "n": n,
        "view_names": list(views),
        "color": color_bytes,
        "color_width": width,
        "palette": pal,
        "flags": _flags(n, seeds, ring),
        "height": int(height),
    }
    if label_names is not None:
        args["label_names"] = [str(s) for s in label_names]
    if thumb_url:
        args["thumb_url"] = str(thumb_url)
    if point_size is not None:
        args["point_size"] = float(point_size)
    if selected is not None:
        args["selected"] = np.asarray(selected, dtype="<u4").tobytes()
    if _wants_points(state, fp):
        args["points"] = normalised_points(views).tobytes()
        args["points_fingerprint"] = fp
        if names is not None:
            if len(names) != n:
                raise ValueError(f"names must hold {n} entries, got {len(names)}")
            args["names"] = [str(s) for s in names]
        state.sent.add(fp)
        state.need.discard(fp)
        state.points_renders += 1
    # Streamlit's frontend re-posts a component's arguments only when its JSON arguments (not its
    # bytes arguments) change, so a digest of the bytes rides in the JSON arguments.
    digest = hashlib.blake2b(digest_size=8)
    for name in ("color", "flags", "selected", "points"):
        if name in args:
            digest.update(name.encode())
            digest.update(args[name])
    args["rev"] = digest.hexdigest()
    if state.last_nonce:  # lets the frame drop the events this session has applied
        args["ack_nonce"] = state.last_nonce
        args["ack_seq"] = state.last_seq[state.last_nonce]
    value = _component(key=key, default=None, **args)
    return events + _take(value, state)
