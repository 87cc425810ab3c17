"""Who is labelling: one identity per visitor, and who is the teacher.

* **Served** (:mod:`.serving`), with Streamlit's ``st.login`` configured in the app's
  secrets (an ``[auth]`` section): the login is the identity (the provider's e-mail, else
  its subject id). Without it: each visitor gives a name once per session, and the
  annotator stored with every action is that name plus a token drawn for the session
  (``alice #3f9c2a``), so two visitors who type the same name are still two annotators,
  and nobody can act, or undo, as someone else. The identity cannot be changed within
  the session.
* **Local**: the Review page's *Annotator* field, as before (default ``$CMCSL_ANNOTATOR``
  or the login name).

The teacher's view (:mod:`.teacher`) opens, when served, to whoever gives the teacher key:
``$CMCSL_TEACHER_KEY``, else a key drawn when the server starts and written to its log
(only the person at the server's terminal sees it); with ``st.login``, also to the logins
listed under ``[cmcsl] teachers`` in the secrets. Locally it is open.
"""

from __future__ import annotations

import hmac
import os
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .serving import server_log, serving

__all__ = [
    "Visitor",
    "MAX_NAME",
    "TEACHER_KEY_ENV",
    "login_configured",
    "visitor",
    "identity_widgets",
    "is_teacher",
    "teacher_key",
    "teacher_gate",
]

MAX_NAME = 40
"""Longest name a visitor may give."""

TEACHER_KEY_ENV = "CMCSL_TEACHER_KEY"
"""Environment variable: the key that opens the teacher's view when served."""


@dataclass(frozen=True)
class Visitor:
    """A visitor's identity for this session.

    Attributes
    ----------
    name : str
        How the page greets them.
    annotator : str
        What the store records with each of their actions (unique to them).
    via : str
        ``"login"`` (st.login), ``"name"`` (given once for the session) or ``"local"``.
    """

    name: str
    annotator: str
    via: str


def _secrets(section: str) -> Any:
    try:
        return st.secrets[section] if section in st.secrets else None
    except Exception:  # no secrets file at all
        return None


def login_configured() -> bool:
    """Whether the app's secrets configure ``st.login`` (an ``[auth]`` section)."""
    return _secrets("auth") is not None


def clean_name(text: str) -> str:
    """A visitor's name: control characters removed, spaces collapsed, at most :data:`MAX_NAME` characters."""
    kept = "".join(c for c in str(text) if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[:MAX_NAME]


def _logged_in() -> Visitor | None:
    user = st.user
    if not user.get("is_logged_in"):
        return None
    who = str(user.get("email") or user.get("sub") or "").strip()
    if not who:
        return None
    return Visitor(str(user.get("name") or who), who, "login")


def visitor() -> Visitor | None:
    """This session's identity when served (None until given); locally None (the page asks)."""
    if not serving():
        return None
    if login_configured():
        return _logged_in()
    held = st.session_state.get("visitor")
    return held if isinstance(held, Visitor) else None


def _take_name() -> None:
    name = clean_name(st.session_state.get("visitor_name_input", ""))
    if not name:
        st.session_state["visitor_name_error"] = "Give a name (letters, digits, spaces)."
        return
    st.session_state.pop("visitor_name_error", None)
    st.session_state["visitor"] = Visitor(name, f"{name} #{secrets.token_hex(3)}", "name")


def identity_widgets() -> Visitor | None:
    """Draw (in the current container) who is labelling, and ask once per session when served."""
    from .text import md

    if not serving():
        return None
    if login_configured():
        me = _logged_in()
        if me is None:
            st.caption("Log in to label: your labels are kept under your login.")
            if st.button("Log in", key="visitor_login", icon=":material/login:"):
                st.login()
            return None
        st.caption(f"Labelling as **{md(me.name)}** ({md(me.annotator)}).")
        if st.button("Log out", key="visitor_logout", icon=":material/logout:"):
            st.logout()
        return me
    me = visitor()
    if me is not None:
        st.caption(f"Labelling as **{md(me.name)}** for this session (saved as *{md(me.annotator)}*).")
        return me
    with st.form("visitor_form", border=False):
        st.text_input("Your name", key="visitor_name_input", max_chars=MAX_NAME,
                      help="Saved with every label you give, for this session; others cannot act under it.")
        st.form_submit_button("Start labelling", on_click=_take_name, icon=":material/person:")
    if st.session_state.get("visitor_name_error"):
        st.error(st.session_state["visitor_name_error"])
    return None


@st.cache_resource(show_spinner=False)
def teacher_key() -> str:
    """The key of the teacher's view: ``$CMCSL_TEACHER_KEY``, else one drawn now and written to the server's log."""
    key = os.environ.get(TEACHER_KEY_ENV, "").strip()
    if key:
        return key
    key = secrets.token_urlsafe(9)
    server_log("teacher").info(
        "cmcsl-studio: the teacher's key for this server is %s (set $%s to choose one)", key, TEACHER_KEY_ENV
    )
    return key


def _teachers() -> set[str]:
    section = _secrets("cmcsl")
    try:
        return {str(t).strip().lower() for t in (section or {}).get("teachers", [])}
    except Exception:
        return set()


def is_teacher() -> bool:
    """Whether this session may open the teacher's view (always, locally)."""
    if not serving():
        return True
    if st.session_state.get("teacher") is True:
        return True
    me = _logged_in() if login_configured() else None
    return me is not None and me.annotator.lower() in _teachers()


def _check_key() -> None:
    given = str(st.session_state.get("teacher_key_input", ""))
    ok = hmac.compare_digest(given.strip().encode(), teacher_key().encode())
    st.session_state["teacher"] = ok
    st.session_state["teacher_key_error"] = None if ok else "That is not this server's teacher key."


def teacher_gate() -> bool:
    """True for a teacher; else draw the key field and return False."""
    teacher_key()  # drawn (and logged) when the server first serves a page that asks
    if is_teacher():
        return True
    st.info(
        "This view shows every visitor's labels. Give the teacher's key (set by $CMCSL_TEACHER_KEY, or printed "
        "in the server's log when it started).",
        icon=":material/lock:",
    )
    with st.form("teacher_form", border=False):
        st.text_input("Teacher's key", type="password", key="teacher_key_input")
        st.form_submit_button("Open the teacher's view", on_click=_check_key, icon=":material/lock_open:")
    if st.session_state.get("teacher_key_error"):
        st.error(st.session_state["teacher_key_error"])
    return False
