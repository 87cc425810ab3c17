"""Where the Review page's labels go, and under which name.

* **Local**: the sidebar's *Database* field (default one SQLite file per feature file,
  ``$CMCSL_DB`` or ``$XDG_DATA_HOME/cmcsl-studio/``) and *Annotator* field; the page shows
  everyone's labels in that database.
* **Served** (:mod:`.serving`): no *Database* field. The database is fixed, one per feature
  file in the server's data folder (``$XDG_DATA_HOME/cmcsl-studio/annotations-<fp>.sqlite``,
  never ``$CMCSL_DB``), every visitor labels under their own identity (:mod:`.identity`),
  and each visitor's page shows, counts, exports and undoes their own labels only (the fold of
  their own actions), so that visitors label independently; the teacher's view sees everyone's.

One :class:`~cmcsl_core.annotations.store.AnnotationStore` per database and data set is shared
by all sessions (its connections stay open).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cmcsl_core.annotations import Action, AnnotationStore, HumanLabels, default_db_path, fingerprint
from cmcsl_core.annotations.paths import default_annotator
from cmcsl_core.errors import CMCSLError

from .identity import Visitor, identity_widgets, visitor
from .loading import Dataset
from .serving import serving

__all__ = [
    "Storage",
    "data_fingerprint",
    "data_fingerprint_cached",
    "shared_store",
    "served_store",
    "review_storage",
    "session_storage",
]


@st.cache_resource(show_spinner=False, max_entries=8)
def data_fingerprint_cached(data_key: str, _data: Dataset) -> str:
    return fingerprint(_data.fs)


def data_fingerprint(data: Dataset) -> str:
    """The feature set's fingerprint (the name of its annotation database), once per data set."""
    return data_fingerprint_cached(data.key, data)


@st.cache_resource(show_spinner=False, max_entries=16)
def _shared_store(path: str, default: bool, fp: str, data_key: str, _data: Dataset) -> AnnotationStore:
    if not default and not Path(path).parent.is_dir():
        raise CMCSLError(f"folder {Path(path).parent} does not exist: create it or give another database path")
    return AnnotationStore(_data.fs, None if default else path, fingerprint=fp)


@st.cache_resource(show_spinner=False, max_entries=16)
def _served_store(path: str, fp: str, data_key: str, _data: Dataset) -> AnnotationStore:
    store = AnnotationStore(_data.fs, path, fingerprint=fp, independent=True)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    return store


def shared_store(data: Dataset, path: str | None = None) -> AnnotationStore:
    """The store of ``data`` in ``path`` (None: the default database), shared by all sessions.

    Another path's folder must exist; the default database's folder is created on the first write.
    """
    fp = data_fingerprint(data)
    default = str(default_db_path(fp))
    path = default if path is None else path
    return _shared_store(path, path == default, fp, data.key, data)


def served_store(data: Dataset) -> AnnotationStore:
    """The fixed store of ``data`` when served: one per feature file in the server's data folder."""
    fp = data_fingerprint(data)
    return _served_store(str(default_db_path(fp, env=False)), fp, data.key, data)


@dataclass(frozen=True)
class Storage:
    """The Review page's store, who acts, and whose labels the page shows.

    Attributes
    ----------
    store : AnnotationStore
    annotator : str
        Who acts ("" until a served visitor has given a name).
    own : str or None
        Served: the visitor, whose labels alone the page shows. Locally None (everyone's).
    db_shown : str
        How the page and its command lines name the database (a file name only when served).
    """

    store: AnnotationStore
    annotator: str
    own: str | None
    db_shown: str

    def human(self) -> HumanLabels:
        """The human labels the page works with (served: the visitor's own)."""
        return self.store.current(self.own) if self.own is not None or not serving() else HumanLabels.empty()

    def history(self) -> list[Action]:
        """The actions the page lists (served: the visitor's own)."""
        if serving() and self.own is None:
            return []
        return self.store.history(self.own)


def _persisted_text(key: str, default: str) -> None:
    """Give the text field ``key`` its value kept across page switches (or ``default``)."""
    ss = st.session_state
    if key not in ss:
        ss[key] = ss.get(f"{key}_kept", default)


def _keep(key: str) -> None:
    st.session_state[f"{key}_kept"] = st.session_state[key]


def _local_storage(data: Dataset) -> Storage:
    ss = st.session_state
    fp = data_fingerprint(data)
    default_db = str(default_db_path(fp))
    if ss.get("review_db_for") != fp:  # another data set: its own database by default
        ss["review_db"] = ss["review_db_kept"] = default_db
        ss["review_db_for"] = fp
    _persisted_text("review_db", default_db)
    _persisted_text("review_by", default_annotator())
    st.text_input(
        "Database", key="review_db", on_change=_keep, args=("review_db",),
        help=f"SQLite file of the human labels (one per feature file). Default: {default_db}",
    )
    st.text_input(
        "Annotator", key="review_by", on_change=_keep, args=("review_by",), help="Your name, saved with every label"
    )
    _keep("review_db")
    _keep("review_by")
    db_text = str(ss["review_db"]).strip()
    if not db_text:
        raise CMCSLError(f"give the path of the annotation database in the sidebar (default {default_db})")
    db_path = str(Path(db_text).expanduser())
    return Storage(shared_store(data, db_path), str(ss["review_by"]).strip(), None, db_path)


def _served_storage(data: Dataset, me: Visitor | None) -> Storage:
    store = served_store(data)
    name = me.annotator if me is not None else ""
    return Storage(store, name, name or None, store.path.name)


def review_storage(data: Dataset) -> Storage:
    """Draw the sidebar's *Annotations* section and return the page's storage (errors: CMCSLError)."""
    with st.sidebar:
        st.subheader("Annotations", divider="gray")
        if not serving():
            return _local_storage(data)
        return _served_storage(data, identity_widgets())


def session_storage(data: Dataset) -> Storage:
    """The storage the Review page uses in this session, without drawing anything (errors: CMCSLError).

    For other pages that label (the Clusters side panel's *More like this*), inside fragments
    too: served, the fixed store and the visitor's identity ("" until given); locally, the
    database and annotator last chosen on the Review page (else the defaults).
    """
    if serving():
        return _served_storage(data, visitor())
    ss = st.session_state
    fp = data_fingerprint(data)
    default_db = str(default_db_path(fp))
    kept = str(ss.get("review_db_kept") or "").strip() if ss.get("review_db_for") == fp else ""
    db_path = str(Path(kept).expanduser()) if kept else default_db
    annotator = str(ss.get("review_by_kept") or default_annotator()).strip()
    return Storage(shared_store(data, db_path), annotator, None, db_path)
