"""2-D views of each modality for the scatter plots: shipped or cached UMAP, else PCA at once.

The page never waits for UMAP: a missing UMAP view is queued in the background
(:mod:`.jobs`) and the page polls :func:`umap_pending` to swap it in. Preprocessed
arrays and PCA views are shared between sessions (``st.cache_resource``, read-only).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import streamlit as st

from cmcsl_core.constants import UMAP_SEED
from cmcsl_core.datasets.subsets import DATA_DIR
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.views.embedding import cached_umap, pca_2d, shipped_embedding, umap_key

from . import jobs
from .loading import Dataset

__all__ = ["View", "views", "umap_pending", "umap_progress", "umap_switched_off", "views_fingerprint", "preprocessed"]


@dataclass(frozen=True)
class View:
    """The 2-D coordinates of one modality and what they are."""

    xy: np.ndarray
    method: str  # "UMAP" or "PCA"
    umap_key: str


@st.cache_resource(show_spinner=False, max_entries=12)
def _preprocessed(data_key: str, preprocessing: str, _data: Dataset) -> tuple[np.ndarray, ...]:
    arrays = preprocess_features(_data.fs.X, preprocessing)
    for a in arrays:
        a.flags.writeable = False
    return tuple(arrays)


def preprocessed(data: Dataset, preprocessing: str) -> tuple[np.ndarray, ...]:
    """The data's modalities preprocessed (fitted on all rows), shared between sessions (read-only)."""
    return _preprocessed(data.key, preprocessing, data)


@st.cache_resource(show_spinner=False, max_entries=24)
def _umap_key(data_key: str, preprocessing: str, m: int, _X: np.ndarray) -> str:
    return umap_key(_X, UMAP_SEED)


@st.cache_resource(show_spinner=False, max_entries=24)
def _pca(data_key: str, preprocessing: str, m: int, _X: np.ndarray) -> np.ndarray:
    return pca_2d(_X)


class _NotReady(Exception):
    pass


@st.cache_resource(show_spinner=False, max_entries=24)
def _umap_ready(key: str) -> np.ndarray:
    xy = cached_umap(key)
    if xy is None:
        raise _NotReady  # not cached: ask again next time (exceptions are not cached)
    return xy


@st.cache_resource(show_spinner=False, max_entries=24)
def _shipped(data_key: str, preprocessing: str, m: int, _data: Dataset) -> np.ndarray | None:
    subset = _data.demo_subset
    if subset is None:
        return None
    name = f"{preprocessing}__{_data.fs.modality_names[m]}"
    return shipped_embedding(DATA_DIR / f"umap_demo_{subset}.npz", name, _data.fs.X[m])


def views(data: Dataset, preprocessing: str, start_umap: bool = True) -> list[View]:
    """One 2-D view per modality: UMAP when available (shipped or cached), else PCA at once.

    Missing UMAP views are queued in the background when ``start_umap`` (and the
    environment does not set ``CMCSL_NO_BACKGROUND_UMAP=1``).
    """
    X = _preprocessed(data.key, preprocessing, data)
    out = []
    missing: list[tuple[str, np.ndarray, int]] = []
    for m in range(len(X)):
        xy = _shipped(data.key, preprocessing, m, data)
        if xy is not None:
            out.append(View(xy, "UMAP", "shipped"))
            continue
        key = _umap_key(data.key, preprocessing, m, X[m])
        try:
            out.append(View(_umap_ready(key), "UMAP", key))
            continue
        except _NotReady:
            pass
        missing.append((key, X[m], UMAP_SEED))
        out.append(View(_pca(data.key, preprocessing, m, X[m]), "PCA", key))
    if missing and start_umap and not umap_switched_off():
        jobs.request_many(missing)  # one worker for all the views: umap is loaded and compiled once
    return out


def umap_pending(view_list: list[View]) -> list[str]:
    """Status of every view still waiting for UMAP (empty when all are UMAP or failed)."""
    return [s for v in view_list if v.method != "UMAP" for s in [jobs.status(v.umap_key)] if s in ("running", "queued")]


def umap_progress(view_list: list[View], names: tuple[str, ...]) -> list[str]:
    """``"text: laying out 4,869 items (12 s so far)"`` for each view UMAP is working on now."""
    out = []
    for name, v in zip(names, view_list):
        text = jobs.progress(v.umap_key) if v.method != "UMAP" else None
        if text:
            out.append(f"{name}: {text}")
    return out


def umap_switched_off() -> bool:
    """Whether this server computes no UMAP views (``CMCSL_NO_BACKGROUND_UMAP=1``)."""
    return os.environ.get("CMCSL_NO_BACKGROUND_UMAP") == "1"


def views_fingerprint(data: Dataset, preprocessing: str, view_list: list[View]) -> str:
    """A short, stable name of (data, views): what the linked scatter caches the coordinates by.

    Cheap (no hashing of coordinates): the data key, the preprocessing and each view's
    method and UMAP cache key; it changes when a PCA view is swapped for UMAP.
    """
    h = hashlib.blake2b(digest_size=12)
    for part in (data.key, preprocessing, *(f"{v.method}:{v.umap_key}" for v in view_list)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()
