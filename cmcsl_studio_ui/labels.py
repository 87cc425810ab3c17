"""The labeling a page shows: the session's seeds as a :class:`LabelRequest`, run by the library.

Hand-picked seeds (per session) win over the sidebar's random draw (``b_class`` per class
from the random ``seed``); the sidebar's *Labeler* says how the items are labelled. The
request is what ``python -m cmcsl_core label`` parses, so :meth:`LabelRequest.command` is
the line that reproduces the page.

The preprocessed features and their kNN graphs (:class:`FeatureGraphs`) are kept per data
set and preprocessing, shared by the sessions: a graph is built once (and read from the
disk cache after a restart), so a seed change with label spreading costs only the
spreading.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.registry import LABELER_INFO, make_labeler
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.request import LabelRequest

from .loading import Dataset
from .projections import preprocessed
from .session import manual_seeds
from .settings import Settings

__all__ = [
    "LABELS_CSV",
    "label_request",
    "is_manual",
    "current_seeds",
    "feature_graphs",
    "run_labeling",
    "labeler_name",
    "labeler_summary",
]

LABELS_CSV = "labels.csv"
"""File name of the labels download (and the ``--out`` of the command line shown)."""


def label_request(data: Dataset, settings: Settings) -> LabelRequest:
    """The session's labeling request: its hand-picked seeds for ``data``, else a random draw."""
    picked = manual_seeds(data.key)
    if picked:
        return LabelRequest(
            preprocessing=settings.preprocessing, b_class=None, seed=settings.seed, seeds=tuple(picked),
            labeler=settings.labeler,
        )
    return LabelRequest(
        preprocessing=settings.preprocessing, b_class=settings.b_class, seed=settings.seed, seeds=None,
        labeler=settings.labeler,
    )


def is_manual(request: LabelRequest) -> bool:
    """True when the request names its seeds (picked by hand) instead of drawing them."""
    return request.seeds is not None


def current_seeds(data: Dataset, settings: Settings) -> np.ndarray:
    """The seed items in use (sorted indices).

    Raises
    ------
    CMCSLError
        Seeds out of range, or ``b_class`` larger than a class allows.
    """
    return np.asarray(label_request(data, settings).seed_indices(data.fs))


@st.cache_resource(show_spinner=False, max_entries=12)
def _graphs(data_key: str, preprocessing: str, _data: Dataset) -> FeatureGraphs:
    return FeatureGraphs(preprocessed(_data, preprocessing))


def feature_graphs(data: Dataset, preprocessing: str, labeler: str = "cmcsl") -> FeatureGraphs:
    """The data's preprocessed modalities with their kNN graphs, shared between sessions.

    A labeler that spreads over graphs gets them built here, once per data set and
    preprocessing, behind a spinner (a few seconds for thousands of items).
    """
    graphs = _graphs(data.key, preprocessing, data)
    if labeler not in ("cmcsl", "cmcsl-scaled", "self-training", "co-training"):
        with st.spinner("Building each modality's nearest-neighbour graph (once per data set and preprocessing)…"):
            graphs.build()
    return graphs


def run_labeling(data: Dataset, request: LabelRequest) -> LabelingResult:
    """The request's labeler's labels of every item, exactly as ``python -m cmcsl_core label`` computes them.

    Same steps as :meth:`LabelRequest.run`, with the preprocessed arrays and kNN graphs taken from
    the per-data-set cache (:func:`feature_graphs`): a seed change costs only the labeling.
    """
    req = request.validated()
    seeds = request.seed_indices(data.fs)
    graphs = feature_graphs(data, req.preprocessing, req.labeler)
    return make_labeler(req.labeler).label(graphs, seeds, data.fs.y[seeds], data.fs.n_classes, data.fs.modality_names)


def labeler_name(result: LabelingResult) -> str:
    """How the pages name the labels of ``result``: ``CMCSL``, ``CM-LS``, ``Auto → CM-LS``, ..."""
    name = result.labeler.upper()
    return f"Auto → {name}" if result.selection is not None else name


def labeler_summary(labeler: str) -> str:
    """One sentence on what the labeler does (the registry's)."""
    return LABELER_INFO[labeler].summary
