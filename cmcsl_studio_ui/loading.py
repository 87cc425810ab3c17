"""The data a page shows: a feature set loaded once per server from a typed, frozen data reference.

Feature sets are shared between sessions through ``st.cache_resource`` (read-only arrays),
keyed by a *data key* that names the data exactly: the :class:`SourceSpec` (source,
resolved subset, path, options) plus the path's size and modification time, a feature
file's path and stamp, or an upload's digest.

An uploaded feature set belongs to its session, not to a shared cache: it is held in the
session's state, checked against a memory budget before anything is allocated, and
released (with every shared cache entry computed from it) when the session ends or
uploads another file (:class:`_HeldUpload`).

When the app is served (:mod:`.serving`), every path goes through the data folder's
confinement first, and the data shown to the visitor names files relative to that folder.
"""

from __future__ import annotations

import io
import os
import threading
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from cmcsl_core.datasets.features import FeatureSet, load_features
from cmcsl_core.datasets.npzcheck import memory_budget
from cmcsl_core.datasets.sources import SourceSpec
from cmcsl_core.datasets.sources.items import LoadedItems, SkippedItem, load_spec_items
from cmcsl_core.datasets.thumbnails import needs_thumbnails, with_thumbnails
from cmcsl_core.errors import CMCSLError, SourceError

from .encoding import EncodingProgress
from .serving import confined, server_log, serving, upload_limit_mb
from .session import Upload, drop_upload_bytes, held_upload, hold_upload, uploaded_file
from .settings import FILE, TABLE_ROLES, Settings, parse_columns, source_label, takes_option, takes_path, takes_subset
from .text import md

__all__ = ["Dataset", "load_data", "data_spec", "release_data", "upload_budget", "table_columns", "waiting_for"]


@dataclass(frozen=True)
class Dataset:
    """A loaded feature set, the key that identifies its data, and how to get it on the command line."""

    key: str
    fs: FeatureSet
    features: str
    """The feature file to pass as ``--features`` to reproduce the app's numbers."""
    spec: SourceSpec | None = None
    """The source it was read from (None for a feature file or an upload)."""
    skipped: tuple[SkippedItem, ...] = ()
    """Rows the source skipped (why, which ids): listed on the Home page."""

    @property
    def export_command(self) -> str | None:
        """The ``export`` line that writes :attr:`features`, when the data comes from a source."""
        return self.spec.command(self.features) if self.spec is not None else None

    @property
    def paper_subset(self) -> str | None:
        """The paper subset's name, when the data is one (for the published curves)."""
        sub = self.spec.subset if self.spec is not None else None
        return sub.name if sub is not None and sub.is_paper else None

    @property
    def demo_subset(self) -> str | None:
        """The subset's name when the data is the built-in demo (which ships UMAP views)."""
        if self.spec is None or self.spec.source != "demo" or self.spec.subset is None:
            return None
        return self.spec.subset.name


def _freeze(fs: FeatureSet) -> FeatureSet:
    for a in (*fs.X, fs.y):
        a.flags.writeable = False
    return fs


def _stamp(path: str | None) -> str:
    """Size and modification time of a file or folder (part of the cache key)."""
    if not path:
        return ""
    try:
        st_ = os.stat(path)
    except OSError:
        return "missing"
    return f"{st_.st_size}-{st_.st_mtime_ns}"


@st.cache_resource(show_spinner=False, max_entries=6)
def _load_spec(key: str, _spec: SourceSpec) -> LoadedItems:
    # the progress bar is created inside the cached function, so that Streamlit can replay it (as empty)
    bar = st.empty()
    encoding = EncodingProgress()
    encodes = any(o.name == "image_encoder" for o in _spec.info.options)  # table, mvsa, raw: images then texts

    def progress(done: int, total: int) -> None:
        if total:
            if encodes:  # item sources: images, then texts, with the time left
                fraction, text = encoding.update(done, total)
            else:
                fraction, text = min(done / total, 1.0), f"Reading {_spec.source} data: {done:,}/{total:,}"
            bar.progress(fraction, text=text)

    loaded = load_spec_items(_spec, progress=progress)
    bar.empty()
    return LoadedItems(features=_freeze(loaded.features), skipped=tuple(loaded.skipped))


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_file(path: str, stamp: str) -> FeatureSet:
    fs = load_features(path)
    if needs_thumbnails(fs):  # made elsewhere: pictures from its image_paths (cached per image)
        bar = st.empty()

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Making thumbnails: {done:,}/{total:,} images")

        fs = with_thumbnails(fs, Path(path).parent, os.environ.get("CMCSL_DATA_ROOT") or None, progress)
        bar.empty()
    return _freeze(fs)


def upload_budget() -> int:
    """Bytes an uploaded feature file may take in memory once loaded: served, 8 times the upload
    cap (float16 features become float64); else the machine's budget."""
    cap = upload_limit_mb()
    budget = memory_budget()
    return budget if not cap else min(budget, 8 * cap * (1 << 20))


_HELD: dict[str, int] = {}
_HELD_LOCK = threading.Lock()

COLLECT_EVERY_S = 15.0
"""While some session holds an upload, a full garbage collection runs this often (in a thread of its own).

A session that ends leaves its state to Python's cycle collector, which an idle server (and
``runner.postScriptGC = false``) may not run for a long time; the upload would stay in memory."""

_collector: list[threading.Thread] = []


def _collect_while_held() -> None:
    import gc
    import time

    while True:
        time.sleep(COLLECT_EVERY_S)
        with _HELD_LOCK:
            held = bool(_HELD)
        if held:
            gc.collect()


def _ensure_collector() -> None:
    with _HELD_LOCK:
        if not _collector:
            _collector.append(threading.Thread(target=_collect_while_held, name="cmcsl-upload-release", daemon=True))
            _collector[0].start()


def release_data(key: str, n_modalities: int = 8) -> None:
    """Drop every shared cache entry computed from the data set ``key`` (an upload no session holds).

    The caches keyed by the data key (views, hover texts, the annotation store's
    fingerprint) would otherwise keep its arrays until pushed out by others.
    """
    from cmcsl_core.method.preprocessing import PREPROCESSINGS

    from . import annotating, hover, projections

    for p in PREPROCESSINGS:
        projections._preprocessed.clear(key, p)
        for m in range(n_modalities):
            for cached in (projections._pca, projections._umap_key, projections._shipped):
                cached.clear(key, p, m)
    for cached in (hover._hover_base, hover._hover_names, hover._thumbnail_url, annotating.data_fingerprint_cached):
        cached.clear(key)


def _release_upload(digest: str, n_modalities: int) -> None:
    with _HELD_LOCK:
        left = _HELD.get(digest, 0) - 1
        if left > 0:
            _HELD[digest] = left
            return
        _HELD.pop(digest, None)
    release_data(f"upload:{digest}", n_modalities)
    server_log("uploads").info("released the upload %s (no session holds it)", digest)


class _HeldUpload:
    """One session's uploaded feature set. Sessions holding the same file share the derived cache
    entries; when the last one lets go (its session ended, or it uploaded another file), they go."""

    def __init__(self, upload: Upload, fs: FeatureSet) -> None:
        self.digest = upload.digest
        self.data = Dataset(f"upload:{upload.digest}", fs, upload.name)
        with _HELD_LOCK:
            _HELD[upload.digest] = _HELD.get(upload.digest, 0) + 1
        weakref.finalize(self, _release_upload, upload.digest, fs.n_modalities)
        _ensure_collector()


def _load_upload(upload: Upload) -> Dataset:
    held = held_upload()
    if isinstance(held, _HeldUpload) and held.digest == upload.digest:
        return held.data
    if upload.data is None:
        raise SourceError("the uploaded file is no longer here; upload it again")
    fs = _freeze(load_features(io.BytesIO(upload.data), max_bytes=upload_budget()))
    held = _HeldUpload(upload, fs)
    hold_upload(held)
    drop_upload_bytes()  # the loaded arrays are what the session keeps
    return held.data


def _readable(text: str, kind: str) -> str:
    """The path to read: the served entry ``text`` (confined to the data folder), else ``text``."""
    return confined(text, kind) if serving() else text


def _as_given(spec: SourceSpec, settings: Settings) -> SourceSpec:
    """``spec`` with the served folder's paths as the visitor gave them (relative), for the command lines shown."""
    options = tuple((k, settings.image_encoder if k == "image_encoder" and v else v) for k, v in spec.options)
    return replace(spec, path=settings.path or None if spec.path else None, options=options)


def data_spec(settings: Settings) -> SourceSpec:
    """The validated data reference of the sidebar's source (subset resolved once, here).

    Served, its path (and an image encoder given as a weights file) is the real file under the
    data folder, or the one refusal for anything else.
    """
    source = settings.source
    options = {}
    if takes_option(source, "image_encoder"):
        encoder = settings.image_encoder or None
        if encoder and serving() and (os.sep in encoder or "." in encoder):
            encoder = _readable(encoder, "weights")
        options["image_encoder"] = encoder
    if takes_option(source, "image_column"):  # a table whose columns have other names (--image-column ...)
        options.update({f"{role}_column": name for role, name in parse_columns(settings.columns).items()})
    subset = settings.subset if takes_subset(source) else None
    path = _readable(settings.path, source) if settings.path and serving() else settings.path or None
    return SourceSpec.create(source, subset, path=path, **options)


def _export_name(spec: SourceSpec) -> str:
    name = spec.subset.name if spec.subset is not None else "all"
    name = name.replace("custom:", "").replace("+", "_").replace(",", "_")
    return f"{spec.source}_{name}.npz"


def load_data(settings: Settings) -> Dataset:
    """Load the data the sidebar chose (cached; a progress bar for slow sources).

    Raises
    ------
    CMCSLError
        Missing path, unreadable file, unknown subset... (pages show it with ``st.error``).
    """
    if settings.source == FILE:
        upload = uploaded_file()
        if upload is not None and not settings.path:
            return _load_upload(upload)
        if not settings.path:
            raise SourceError("give the path of a feature file (.npz) or upload one in the sidebar")
        path = _readable(settings.path, FILE)
        if not Path(path).is_file():
            raise SourceError(f"feature file {settings.path} does not exist; check the path")
        stamp = _stamp(path)
        return Dataset(f"file:{path}:{stamp}", _load_file(path, stamp), settings.path)
    spec = data_spec(settings)
    key = f"{spec!r}:{_stamp(spec.path)}"
    shown = _as_given(spec, settings) if serving() else spec  # commands name served paths as the visitor chose them
    loaded = _load_spec(key, spec)
    return Dataset(key, loaded.features, _export_name(spec), shown, loaded.skipped)


@st.cache_data(show_spinner=False, max_entries=16)
def _table_columns(path: str, stamp: str) -> tuple[str, ...] | None:
    from cmcsl_core.datasets.sources.table import read_table

    try:
        return tuple(read_table(path)[0])
    except SourceError:
        return None


def table_columns(path: str) -> tuple[str, ...] | None:
    """The column names of the table at ``path`` (None: not a readable table).

    Served, only a table inside the data folder is read (anything else: None, whether or not
    it exists; loading then gives the one refusal).
    """
    if not path or not path.strip():
        return None
    try:
        p = _readable(path.strip(), "table")
    except CMCSLError:
        return None
    p = str(Path(p).expanduser())
    return _table_columns(p, _stamp(p)) if Path(p).is_file() else None


def waiting_for(settings: Settings) -> str | None:
    """What the user has yet to give before the data can load (a path, a table's columns), or None.

    Pages show it as a note, not an error: nothing is wrong before a path has been typed.
    """
    source = settings.source
    if takes_path(source) and not settings.path.strip():
        if source == FILE and uploaded_file() is not None:
            return None
        where = "or upload one " if source == FILE else ""
        return f"Type the path of the data ({source_label(source)}) in the sidebar {where}to load it."
    if takes_option(source, "image_column"):
        columns = table_columns(settings.path)
        if columns is None:
            return None  # not a readable table: loading says why
        chosen = parse_columns(settings.columns)
        lower = {c.lower() for c in columns}
        missing = [r for r in TABLE_ROLES[1:] if chosen.get(r, r).lower() not in lower]
        if missing:
            return (
                f"Choose the table's {', '.join(missing)} column{'s' if len(missing) > 1 else ''} in the sidebar "
                f"(its columns: {', '.join(md(c) for c in columns)})."
            )
    return None
