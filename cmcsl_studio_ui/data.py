"""Cached data for the pages: feature sets, preprocessed arrays, seeds, labeling, 2-D views.

Heavy objects are shared between sessions through ``st.cache_resource`` (feature
sets, preprocessed arrays, PCA views; all read-only) and ``st.cache_data`` (BAC
curves), keyed by a *data key* that names the data exactly (source, subset, path
with its size and modification time, or an upload's digest). Per-session choices
(seeds) never enter a shared cache.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import streamlit as st

from cmcsl_core.views.embedding import cached_umap, pca_2d, shipped_embedding, umap_key
from cmcsl_core.errors import CMCSLError, SourceError
from cmcsl_core.datasets.features import FeatureSet, load_features
from cmcsl_core.method.labeling import LabelingResult, cross_modal_labels
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.method.seeds import check_seeds, draw_seeds
from cmcsl_core.datasets.subsets import DATA_DIR

from . import jobs
from .state import Settings, manual_seeds

__all__ = [
    "UMAP_SEED",
    "Dataset",
    "View",
    "user_errors",
    "load_data",
    "preprocessed",
    "current_seeds",
    "labeling",
    "views",
    "umap_pending",
    "hover_base",
]

UMAP_SEED = 42
"""UMAP's random_state in the app (and in scripts/make_umap_demo.py)."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a CMCSLError as ``st.error`` (what is wrong, what to do) and stop the page: no traceback."""
    try:
        yield
    except CMCSLError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


@dataclass(frozen=True)
class Dataset:
    """A loaded feature set and the key that identifies its data exactly."""

    key: str
    fs: FeatureSet
    features_arg: str
    """What to pass as ``--features`` to reproduce the app's numbers on the command line."""
    export_cmd: str | None
    """The ``python -m cmcsl_core export`` line that writes that file, if one is needed."""
    paper_subset: str | None
    """The paper subset name, when the data is one (for the published overlay)."""


def _freeze(fs: FeatureSet) -> FeatureSet:
    for a in (*fs.X, fs.y):
        a.flags.writeable = False
    return fs


@st.cache_resource(show_spinner=False, max_entries=6)
def _load_source(source: str, subset: str, path: str, stamp: str, weights: str = "imagenet") -> FeatureSet:
    from cmcsl_core.datasets.sources import load_source

    # the progress bar is created inside the cached function, so that Streamlit can replay it (as empty)
    bar = st.empty()

    def progress(done: int, total: int) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"Reading {source} data: {done:,}/{total:,}")

    options = {"weights": weights} if source == "raw" else {}
    fs = load_source(source, subset, path=path or None, progress=progress, **options)
    bar.empty()
    return _freeze(fs)


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_file(path: str, stamp: str) -> FeatureSet:
    return _freeze(load_features(path))


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_upload(digest: str, _data: bytes) -> FeatureSet:
    import io

    return _freeze(load_features(io.BytesIO(_data)))


def _stamp(path: str) -> str:
    """Size and modification time of a file or folder (part of the cache key)."""
    try:
        st_ = os.stat(path)
    except OSError:
        return "missing"
    return f"{st_.st_size}-{st_.st_mtime_ns}"


def load_data(settings: Settings) -> Dataset:
    """Load the data the sidebar chose (cached; a progress bar for slow sources).

    Raises
    ------
    CMCSLError
        Missing path, unreadable file, unknown subset... (shown by :func:`user_errors`).
    """
    from cmcsl_core.datasets.subsets import resolve_subset

    if settings.source == "file":
        upload = st.session_state.get("upload")
        if upload is not None and not settings.path:
            data = upload.getvalue()
            digest = hashlib.sha256(data).hexdigest()[:24]
            fs = _load_upload(digest, data)
            return Dataset(f"upload:{digest}", fs, upload.name, None, None)
        if not settings.path:
            raise SourceError("give the path of a feature file (.npz) or upload one in the sidebar")
        if not Path(settings.path).is_file():
            raise SourceError(f"feature file {settings.path} does not exist; check the path")
        stamp = _stamp(settings.path)
        fs = _load_file(settings.path, stamp)
        return Dataset(f"file:{settings.path}:{stamp}", fs, settings.path, None, None)

    sub = resolve_subset(settings.subset)
    stamp = _stamp(settings.path) if settings.path else ""
    raw = settings.source == "raw"
    fs = _load_source(settings.source, sub.name, settings.path, stamp, settings.weights if raw else "imagenet")
    spec = sub.name if sub.is_paper else ",".join(sub.genres)
    path_arg = f" --path {settings.path}" if settings.path else ""
    if raw:
        path_arg += f" --weights {settings.weights}"
    out = f"{settings.source}_{sub.name.replace('custom:', '').replace('+', '_')}.npz"
    export = f'python -m cmcsl_core export --source {settings.source}{path_arg} --subset "{spec}" --out {out}'
    key = f"{settings.source}:{sub.name}:{settings.path}:{stamp}" + (f":{settings.weights}" if raw else "")
    return Dataset(key, fs, out, export, sub.name if sub.is_paper else None)


@st.cache_resource(show_spinner=False, max_entries=12)
def preprocessed(data_key: str, preprocessing: str, _fs: FeatureSet) -> tuple[np.ndarray, ...]:
    """The modalities of ``_fs`` preprocessed (fitted on all rows), read-only, shared by sessions."""
    arrays = preprocess_features(_fs.X, preprocessing)
    for a in arrays:
        a.flags.writeable = False
    return arrays


def current_seeds(data: Dataset, settings: Settings) -> tuple[np.ndarray, bool]:
    """The seed items in use: hand-picked ones for this data set, else a random draw.

    Returns
    -------
    seeds : ndarray of int
        Sorted item indices.
    manual : bool
        True when the seeds were picked by hand.
    """
    fs = data.fs
    picked = manual_seeds(data.key)
    if picked:
        return check_seeds(picked, fs.n_items), True
    return draw_seeds(fs.y, settings.b_class, settings.seed, class_names=fs.class_names), False


def labeling(data: Dataset, preprocessing: str, seeds: np.ndarray) -> LabelingResult:
    """CMCSL labels of every item from ``seeds`` (fast: reuses the cached preprocessed arrays)."""
    X = preprocessed(data.key, preprocessing, data.fs)
    return cross_modal_labels(X, seeds, data.fs.y[seeds], data.fs.modality_names)


@dataclass(frozen=True)
class View:
    """The 2-D coordinates of one modality and what they are."""

    xy: np.ndarray
    method: str  # "UMAP" or "PCA"
    umap_key: str


@st.cache_resource(show_spinner=False, max_entries=24)
def _umap_key(data_key: str, preprocessing: str, m: int, _X: np.ndarray) -> str:
    return umap_key(_X, UMAP_SEED)


@st.cache_resource(show_spinner=False, max_entries=24)
def _pca(data_key: str, preprocessing: str, m: int, _X: np.ndarray) -> np.ndarray:
    return pca_2d(_X)


@st.cache_resource(show_spinner=False, max_entries=24)
def _umap_ready(key: str) -> np.ndarray | None:
    xy = cached_umap(key)
    if xy is None:
        raise _NotReady  # not cached: ask again next time
    return xy


class _NotReady(Exception):
    pass


@st.cache_resource(show_spinner=False, max_entries=24)
def _shipped_cached(data_key: str, preprocessing: str, m: int, _data: Dataset) -> np.ndarray | None:
    return _shipped(_data, preprocessing, m)


def _shipped(data: Dataset, preprocessing: str, m: int) -> np.ndarray | None:
    if not data.key.startswith("demo:"):
        return None
    subset = data.key.split(":")[1]
    name = f"{preprocessing}__{data.fs.modality_names[m]}"
    return shipped_embedding(DATA_DIR / f"umap_demo_{subset}.npz", name, data.fs.X[m])


def views(data: Dataset, preprocessing: str, start_umap: bool = True) -> list[View]:
    """One 2-D view per modality: UMAP when available (shipped or cached), else PCA at once.

    Missing UMAP views are queued in the background (:mod:`cmcsl_studio_ui.jobs`)
    when ``start_umap``; the page polls :func:`umap_pending` and swaps them in.
    """
    X = preprocessed(data.key, preprocessing, data.fs)
    out = []
    for m in range(len(X)):
        xy = _shipped_cached(data.key, preprocessing, m, data)
        if xy is not None:
            out.append(View(xy, "UMAP", "shipped"))
            continue
        key = _umap_key(data.key, preprocessing, m, X[m])
        try:
            out.append(View(_umap_ready(key), "UMAP", key))
            continue
        except _NotReady:
            pass
        if start_umap and os.environ.get("CMCSL_NO_BACKGROUND_UMAP") != "1":
            jobs.request(key, np.array(X[m]), UMAP_SEED)
        out.append(View(_pca(data.key, preprocessing, m, X[m]), "PCA", key))
    return out


def umap_pending(view_list: list[View]) -> list[str]:
    """Status of every view still waiting for UMAP (empty when all are UMAP or failed)."""
    return [s for v in view_list if v.method != "UMAP" for s in [jobs.status(v.umap_key)] if s in ("running", "queued")]


@st.cache_resource(show_spinner=False, max_entries=6)
def hover_base(data_key: str, _fs: FeatureSet) -> np.ndarray:
    """Per-item hover header: name, id, a plot snippet and the true label (HTML)."""
    fs = _fs
    names = np.asarray(fs.class_names, dtype=object)[fs.y]
    out = np.empty(fs.n_items, dtype=object)
    for i in range(fs.n_items):
        title = _esc(fs.item_name(i))
        ident = f" ({_esc(fs.ids[i])})" if fs.ids is not None and fs.ids[i] and fs.titles is not None else ""
        snippet = ""
        if fs.texts is not None and fs.texts[i]:
            text = fs.texts[i]
            snippet = "<br>" + _esc(text[:70] + ("…" if len(text) > 70 else ""))
        out[i] = f"#{i} {title}{ident}{snippet}<br>true: {_esc(names[i])}"
    return out


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
