"""The annotation database a page labels into, shared by the Review page and the Clusters side panel.

One :class:`AnnotationStore` per database and data set, kept open and shared by sessions
(``st.cache_resource``). The Review page's sidebar chooses the database and the annotator
(session keys ``review_db_kept`` and ``review_by_kept``); other pages label into the same
database with the same name, or the defaults (:func:`default_db_path`,
:func:`default_annotator`) before the Review page was opened.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cmcsl_core.annotations import AnnotationStore, default_db_path, fingerprint
from cmcsl_core.annotations.store import default_annotator
from cmcsl_core.errors import CMCSLError

from .loading import Dataset

__all__ = ["data_fingerprint", "open_store", "session_store", "session_annotator"]


@st.cache_resource(show_spinner=False, max_entries=8)
def _fingerprint(data_key: str, _data: Dataset) -> str:
    return fingerprint(_data.fs)


def data_fingerprint(data: Dataset) -> str:
    """The data's fingerprint (names its default database; a database of other data is refused)."""
    return _fingerprint(data.key, data)


@st.cache_resource(show_spinner=False, max_entries=16)
def _store(path: str, default: bool, fp: str, data_key: str, _data: Dataset) -> AnnotationStore:
    if not default and not Path(path).parent.is_dir():
        raise CMCSLError(f"folder {Path(path).parent} does not exist: create it or give another database path")
    return AnnotationStore(_data.fs, None if default else path, fingerprint=fp)


def open_store(data: Dataset, path: str) -> AnnotationStore:
    """The store of database ``path`` for ``data`` (the default database's folder is created on the
    first write; another path's folder must exist: CMCSLError)."""
    fp = data_fingerprint(data)
    default = str(default_db_path(fp))
    return _store(path, path == default, fp, data.key, data)


def session_store(data: Dataset) -> AnnotationStore:
    """The store of the database chosen on the Review page in this session (else the default one)."""
    fp = data_fingerprint(data)
    kept = st.session_state.get("review_db_kept") if st.session_state.get("review_db_for") == fp else None
    path = str(Path(str(kept).strip()).expanduser()) if kept and str(kept).strip() else str(default_db_path(fp))
    return open_store(data, path)


def session_annotator() -> str:
    """The annotator's name given on the Review page in this session (else the default name)."""
    return str(st.session_state.get("review_by_kept") or default_annotator()).strip()
