"""Serving a class: the data folder, the upload cap, what a visitor may read, errors without tracebacks.

The app is *served* when ``$CMCSL_DATA_ROOT`` names a folder (``CMCSL_DATA_ROOT=~/class-data
./run --server.address 0.0.0.0``). Then:

* the sidebar offers the built-in data and the entries under that folder only, and every
  path a visitor sends (sidebar, deep link, encoder weights) goes through
  :func:`confined` (:func:`cmcsl_core.dataroot.confine`): one answer for anything else;
* uploads are capped at ``$CMCSL_MAX_UPLOAD_MB`` (default 50; ``0``: no uploads);
* messages shown to visitors name files relative to the data folder, never the server's
  paths (:func:`public_text`);
* the annotation store is fixed, one per feature file, and every visitor labels under an
  identity of their own (:mod:`.identity`, :mod:`.annotating`).

Whether served or not, an unexpected error never shows a traceback: ``.streamlit/config.toml``
sets ``client.showErrorDetails = "none"``, and :func:`report_errors` gives each such error an
id that the visitor sees and the server's log keeps with the details.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

import streamlit as st

from cmcsl_core.annotations.paths import data_dir
from cmcsl_core.cache import cache_dir
from cmcsl_core.dataroot import confine, data_root, offered

__all__ = [
    "UPLOAD_ENV",
    "DEFAULT_UPLOAD_MB",
    "served_root",
    "serving",
    "upload_limit_mb",
    "confined",
    "offered_paths",
    "public_text",
    "report_errors",
    "ERROR_LOGGER",
    "STREAMLIT_ERROR_LOGGER",
    "server_log",
]

UPLOAD_ENV = "CMCSL_MAX_UPLOAD_MB"
"""Environment variable: the largest upload in MB when served (``0``: uploads off)."""

DEFAULT_UPLOAD_MB = 50
"""The upload cap when served and ``$CMCSL_MAX_UPLOAD_MB`` is not set."""

ERROR_LOGGER = "cmcsl_studio.errors"
"""The logger that writes unexpected errors, with their id and traceback, to the server's log."""

REPO_ROOT = Path(__file__).resolve().parent.parent


def served_root() -> Path | None:
    """The served data folder (``$CMCSL_DATA_ROOT``, resolved), or None when the app is not served.

    Raises
    ------
    CMCSLError
        If the variable is set but names no folder (every page shows it).
    """
    return data_root()


def serving() -> bool:
    """Whether the app is served to visitors (``$CMCSL_DATA_ROOT`` is set)."""
    return bool(os.environ.get("CMCSL_DATA_ROOT", "").strip())


def upload_limit_mb() -> int | None:
    """The upload cap in MB when served (0: uploads off), None when not served (Streamlit's own limit)."""
    if not serving():
        return None
    text = os.environ.get(UPLOAD_ENV, "").strip()
    try:
        return max(int(float(text)), 0) if text else DEFAULT_UPLOAD_MB
    except ValueError:
        return DEFAULT_UPLOAD_MB


def offered_paths(kind: str) -> list[str]:
    """The served folder's entries a source of ``kind`` reads (relative paths), cached for 30 s."""
    root = served_root()
    return [] if root is None else _offered(str(root), kind)


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _offered(root: str, kind: str) -> list[str]:
    return offered(Path(root), kind)


def confined(text: str, kind: str) -> str:
    """The real path of the served entry ``text`` of ``kind`` (relative to the data folder).

    Raises
    ------
    OutsideDataRootError
        One message for anything that is not such an entry (outside, missing, wrong kind).
    """
    root = served_root()
    if root is None:
        return text
    from cmcsl_core.dataroot import PATH_KINDS

    return str(confine(text, root, kind if kind in PATH_KINDS else None))


def public_text(text: str) -> str:
    """``text`` with the server's own folders taken out when served: the data folder's entries
    relative to it, the app, cache, annotation and home folders by name only. Used for every
    message a visitor sees (locally the messages keep their paths: the visitor is the owner)."""
    out = str(text)
    if not serving():
        return out
    places: list[tuple[str, str]] = []
    try:
        root = served_root()
    except Exception:  # a broken $CMCSL_DATA_ROOT is reported elsewhere
        root = None
    if root is not None:
        places += [(str(root) + os.sep, ""), (str(root), ".")]
        given = os.environ.get("CMCSL_DATA_ROOT", "").strip()
        if given and given != str(root):
            places += [(given.rstrip(os.sep) + os.sep, ""), (given, ".")]
    places += [
        (str(data_dir()), "<annotations>"),
        (str(cache_dir()), "<cache>"),
        (str(REPO_ROOT), "<app>"),
        (sys.prefix, "<python>"),
        (str(Path.home()), "~"),
    ]
    for path, name in sorted(places, key=lambda p: -len(p[0])):
        if path and path not in (os.sep, "."):
            out = out.replace(path, name)
    return out


_MESSAGE = (
    "Something went wrong on the server (error **{id}**). Nothing you saved is lost; reload the page or try "
    "again. If it keeps happening, tell whoever runs this server the error id: its log has the details."
)


class _ErrorReporter(logging.Handler):
    """Streamlit logs every uncaught error of a page run before it shows its generic notice; this
    handler gives the error an id, writes id and traceback to :data:`ERROR_LOGGER`, and shows the
    id to the visitor (it runs in the page's own thread, while the failed run still draws)."""

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.levelno < logging.ERROR:
            return
        error_id = secrets.token_hex(4)
        server_log("errors").error("error %s in a page run", error_id, exc_info=record.exc_info)
        try:
            st.error(_MESSAGE.format(id=error_id), icon=":material/error:")
        except Exception:  # no page to draw on: the log has it
            pass


STREAMLIT_ERROR_LOGGER = "streamlit.error_util"
"""The logger Streamlit writes a page's uncaught error to (with ``logger.enableRich`` off, its default)."""


def server_log(name: str) -> logging.Logger:
    """The logger ``cmcsl_studio.<name>``, written to the server's terminal (stderr) at INFO and above."""
    top = logging.getLogger("cmcsl_studio")
    if not top.handlers:
        out = logging.StreamHandler(sys.stderr)
        out.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        top.addHandler(out)
        top.setLevel(logging.INFO)
        top.propagate = False
    return logging.getLogger(f"cmcsl_studio.{name}")


def report_errors() -> logging.Handler:
    """Install the error reporter once per server process (idempotent); return it.

    Streamlit writes an uncaught error to its logger only when its rich tracebacks are off
    (``logger.enableRich``, on by default when ``rich`` is installed), so they are turned off.
    """
    if st.get_option("logger.enableRich"):
        st.set_option("logger.enableRich", False)
    server_log("errors")
    source = logging.getLogger(STREAMLIT_ERROR_LOGGER)
    for handler in source.handlers:
        if isinstance(handler, _ErrorReporter):
            return handler
    handler = _ErrorReporter(level=logging.ERROR)
    source.addHandler(handler)
    return handler
