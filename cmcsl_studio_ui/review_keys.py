"""The Review card's keyboard: a small browser component that shows the keys and sends them, one per card.

Streamlit's button shortcuts fire on whatever buttons are on screen when a key arrives, so a
key typed ahead of the next card could reach the next card's buttons before anyone saw it.
This component (``review_keys.js``, a ``st.components.v2`` component, no build step) times the
keys in the browser instead: a key counts only once the card it is pressed on has been on
screen for :data:`~cmcsl_studio_ui.review.KEY_DWELL` seconds, and only one key per card is
sent; every key names its card and a sequence number, checked again by the page
(:func:`~cmcsl_studio_ui.review.key_verdict`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import streamlit as st

from .review import KEY_DWELL, ReviewAction

__all__ = ["review_keys", "pressed_key", "KEYS_WIDGET"]

KEYS_WIDGET = "review_keys"
"""Streamlit key of the component (its trigger value is read back under it)."""

_CSS = """
.review-keys { display: flex; flex-wrap: wrap; gap: 0.35rem 0.6rem; align-items: center;
  font-family: var(--st-font, sans-serif); font-size: 0.85rem; color: var(--st-text-color, #31333f); }
.review-keys .title { font-weight: 600; margin-right: 0.2rem; }
.review-keys kbd { display: inline-block; min-width: 1.2em; padding: 0.05rem 0.35rem; text-align: center;
  border: 1px solid rgba(128, 128, 128, 0.5); border-bottom-width: 2px; border-radius: 0.3rem;
  background: var(--st-secondary-background-color, #f0f2f6); font-family: monospace; font-weight: 600; }
.review-keys.disabled .chip:not(.previous) { opacity: 0.45; }
.review-keys.busy { opacity: 0.6; }
.review-keys .note { color: #b45309; font-size: 0.8rem; }
"""

_COMPONENT: Any = None


def _component() -> Any:
    global _COMPONENT
    if _COMPONENT is None:
        js = (Path(__file__).with_name("review_keys.js")).read_text(encoding="utf-8")
        _COMPONENT = st.components.v2.component("cmcsl_review_keys", js=js, css=_CSS)
    return _COMPONENT


def review_keys(
    keys: dict[str, ReviewAction],
    labels: dict[str, str],
    item: int | None,
    token: str,
    run: int,
    enabled: bool,
    on_key: Callable[[], None],
) -> None:
    """Draw the keys' list and listen to them for the card of ``item``.

    ``labels`` are the keys' captions as shown (``"label Horror"``); ``token`` names the card
    drawn (the browser restarts its clock on a new one); ``run`` counts the draws (an older
    one reaching the browser late is ignored); ``enabled`` is False while no
    annotator's name is given (only "previous" works then); ``on_key`` is called with the
    key in :func:`pressed_key`.
    """
    data = {
        "item": None if item is None else int(item),
        "token": token,
        "run": int(run),
        "dwell_ms": int(KEY_DWELL * 1000),
        "enabled": bool(enabled),
        "keys": [{"key": k, "label": labels[k], "kind": a.kind} for k, a in keys.items()],
    }
    _component()(data=data, key=KEYS_WIDGET, on_key_change=on_key, height="content")


def pressed_key() -> dict[str, Any] | None:
    """The key the component just sent (``{"key", "item", "seq", "token"}``), read in its callback."""
    value = st.session_state.get(KEYS_WIDGET)
    got = value.get("key") if value is not None and hasattr(value, "get") else None
    return dict(got) if isinstance(got, dict) else None
