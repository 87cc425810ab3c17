"""The data a page shows: a feature set loaded once per server from a typed, frozen data reference.

Feature sets are shared between sessions through ``st.cache_resource`` (read-only arrays),
keyed by a *data key* that names the data exactly: the :class:`SourceSpec` (source,
resolved subset, path, options) plus the path's size and modification time, a feature
file's path and stamp, or an upload's digest.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from cmcsl_core.datasets.features import FeatureSet, load_features
from cmcsl_core.datasets.sources import SourceSpec
from cmcsl_core.datasets.sources.items import LoadedItems, SkippedItem, load_spec_items
from cmcsl_core.errors import SourceError

from .encoding import EncodingProgress
from .session import uploaded_file
from .settings import FILE, TABLE_ROLES, Settings, parse_columns, source_label, takes_option, takes_path, takes_subset

__all__ = ["Dataset", "load_data", "data_spec", "table_columns", "waiting_for"]


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
    return _freeze(load_features(path))


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_upload(digest: str, _data: bytes) -> FeatureSet:
    return _freeze(load_features(io.BytesIO(_data)))


def data_spec(settings: Settings) -> SourceSpec:
    """The validated data reference of the sidebar's source (subset resolved once, here)."""
    source = settings.source
    options = {"image_encoder": settings.image_encoder or None} if takes_option(source, "image_encoder") else {}
    if takes_option(source, "image_column"):  # a table whose columns have other names (--image-column ...)
        options.update({f"{role}_column": name for role, name in parse_columns(settings.columns).items()})
    subset = settings.subset if takes_subset(source) else None
    return SourceSpec.create(source, subset, path=settings.path or None, **options)


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
            name, data = upload
            digest = hashlib.sha256(data).hexdigest()[:24]
            return Dataset(f"upload:{digest}", _load_upload(digest, data), name)
        if not settings.path:
            raise SourceError("give the path of a feature file (.npz) or upload one in the sidebar")
        if not Path(settings.path).is_file():
            raise SourceError(f"feature file {settings.path} does not exist; check the path")
        stamp = _stamp(settings.path)
        return Dataset(f"file:{settings.path}:{stamp}", _load_file(settings.path, stamp), settings.path)
    spec = data_spec(settings)
    key = f"{spec!r}:{_stamp(spec.path)}"
    loaded = _load_spec(key, spec)
    return Dataset(key, loaded.features, _export_name(spec), spec, loaded.skipped)


@st.cache_data(show_spinner=False, max_entries=16)
def _table_columns(path: str, stamp: str) -> tuple[str, ...] | None:
    from cmcsl_core.datasets.sources.table import read_table

    try:
        return tuple(read_table(path)[0])
    except SourceError:
        return None


def table_columns(path: str) -> tuple[str, ...] | None:
    """The column names of the table at ``path`` (None: not a readable table)."""
    p = str(Path(path).expanduser()) if path else ""
    return _table_columns(p, _stamp(p)) if p and Path(p).is_file() else None


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
                f"(its columns: {', '.join(columns)})."
            )
    return None
