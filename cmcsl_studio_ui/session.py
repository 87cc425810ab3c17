"""Per-browser-session state: the current :class:`~.settings.Settings`, hand-picked seeds, inspected items.

``st.session_state`` is the truth within a session (it survives page switches); the URL
is read once, on the session's first run (:func:`init_session`), and rewritten after
every change (:func:`sync_url`), so a copied link reopens the same view. Getters only
read; every write is a function whose name says so.

Keys: ``cfg`` (the settings as a dict), ``manual_seeds`` (hand-picked item indices or
None), ``manual_for`` (the data key they belong to; None until a data set adopts them),
``inspected`` (items selected with "only inspect"), ``uploaded`` (an uploaded feature file:
its name, digest and bytes until loaded), ``upload_held`` (the loaded upload, released with the
session or when another file is uploaded).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, replace
from typing import Any, Iterable, NamedTuple, Sequence

import streamlit as st

from .settings import Settings
from .url import ignored_params, settings_from_params, settings_to_params

__all__ = [
    "init_session",
    "current_settings",
    "store_settings",
    "update_settings",
    "Upload",
    "uploaded_file",
    "store_upload",
    "held_upload",
    "hold_upload",
    "drop_upload_bytes",
    "manual_seeds",
    "manual_seed_count",
    "adopt_manual_seeds",
    "set_manual_seeds",
    "clear_manual_seeds",
    "forget_manual_seeds",
    "randomize_seeds",
    "inspected",
    "set_inspected",
    "clear_inspected",
    "sync_url",
    "link_notice",
]


def init_session() -> None:
    """On a session's first run, take the settings and hand-picked seeds from the URL."""
    ss = st.session_state
    if "cfg" in ss:
        return
    params = st.query_params.to_dict()
    settings, seeds = settings_from_params(params)
    ignored = ignored_params(params)
    if ignored:  # shown once, by the first page drawn (link_notice)
        ss["link_notice"] = "Ignored in the link: " + "; ".join(ignored) + "."
    ss["cfg"] = asdict(settings)
    ss["manual_seeds"] = seeds
    ss["manual_for"] = None


def current_settings() -> Settings:
    """The session's settings (those of the URL before the first run stored any)."""
    cfg = st.session_state.get("cfg")
    if cfg is None:
        return settings_from_params(st.query_params.to_dict())[0]
    return Settings(**cfg)


def store_settings(settings: Settings) -> None:
    """Make ``settings`` the session's settings."""
    st.session_state["cfg"] = asdict(settings)


def update_settings(**changes: Any) -> None:
    """Change some fields of the session's settings (widget callbacks)."""
    store_settings(replace(current_settings(), **changes))


class Upload(NamedTuple):
    """A feature file uploaded in this session: its name, content digest, and bytes (None once loaded)."""

    name: str
    digest: str
    data: bytes | None


def uploaded_file() -> Upload | None:
    """The feature file uploaded in this session, kept across page switches."""
    return st.session_state.get("uploaded")


def store_upload(name: str | None, data: bytes | None) -> None:
    """Keep an uploaded file for the session (None: forget it); the file loaded before is let go."""
    st.session_state.pop("upload_held", None)
    if name is None or data is None:
        st.session_state["uploaded"] = None
        return
    st.session_state["uploaded"] = Upload(name, hashlib.sha256(data).hexdigest()[:24], data)


def held_upload() -> object | None:
    """The loaded upload this session holds (see :mod:`.loading`)."""
    return st.session_state.get("upload_held")


def hold_upload(held: object) -> None:
    """Keep the loaded upload for the session (it is released when the session lets go of it)."""
    st.session_state["upload_held"] = held


def drop_upload_bytes() -> None:
    """Forget the uploaded bytes once they are loaded (the session keeps the arrays)."""
    upload = uploaded_file()
    if upload is not None:
        st.session_state["uploaded"] = upload._replace(data=None)


def manual_seeds(data_key: str) -> list[int] | None:
    """Seeds picked by hand for the data set ``data_key``, or None (random seeds)."""
    seeds = st.session_state.get("manual_seeds")
    owner = st.session_state.get("manual_for")
    if not seeds or owner not in (None, data_key):
        return None
    return list(seeds)


def manual_seed_count() -> int:
    """How many seeds are picked by hand (0: random seeds)."""
    return len(st.session_state.get("manual_seeds") or ())


def adopt_manual_seeds(data_key: str) -> None:
    """Tie hand-picked seeds to the data set now shown; drop them when another data set is shown."""
    ss = st.session_state
    if not ss.get("manual_seeds"):
        return
    if ss.get("manual_for") is None:
        ss["manual_for"] = data_key
    elif ss["manual_for"] != data_key:  # another data set: hand-picked seeds do not carry over
        ss["manual_seeds"] = None
        ss["manual_for"] = None
        sync_url()


def set_manual_seeds(data_key: str, seeds: Iterable[int]) -> None:
    """Use these seed items (indices) from now on, and put them into the URL."""
    st.session_state["manual_seeds"] = sorted({int(i) for i in seeds})
    st.session_state["manual_for"] = data_key
    sync_url()


def forget_manual_seeds() -> None:
    """Widget callback: random seeds again (the URL follows at the end of the run)."""
    st.session_state["manual_seeds"] = None


def clear_manual_seeds() -> None:
    """Go back to random seeds (b_class per class, from the random seed), in the URL too."""
    forget_manual_seeds()
    sync_url()


def randomize_seeds() -> None:
    """Button callback: a fresh random seed, and no hand-picked seeds."""
    update_settings(seed=secrets.randbelow(100_000))
    forget_manual_seeds()


def inspected() -> list[int]:
    """Items selected with "only inspect" (shown in the table and the details)."""
    return list(st.session_state.get("inspected") or [])


def set_inspected(items: Sequence[int]) -> None:
    """Inspect these items."""
    st.session_state["inspected"] = sorted({int(i) for i in items})


def clear_inspected() -> None:
    """Button callback: inspect nothing."""
    st.session_state.pop("inspected", None)


def sync_url() -> None:
    """Write the session's settings and hand-picked seeds into the page address."""
    params = settings_to_params(current_settings(), st.session_state.get("manual_seeds"))
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def link_notice() -> str | None:
    """What the session's first link held that was ignored (once; None afterwards or for a clean link)."""
    return st.session_state.pop("link_notice", None)
