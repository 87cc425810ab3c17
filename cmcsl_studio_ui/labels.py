"""The labeling a page shows: the session's seeds as a :class:`LabelRequest`, run by the library.

Hand-picked seeds (per session) win over the sidebar's random draw (``b_class`` per class
from the random ``seed``). The request is what ``python -m cmcsl_core label`` parses,
so :meth:`LabelRequest.command` is the line that reproduces the page.
"""

from __future__ import annotations

import numpy as np

from cmcsl_core.method.labeling import LabelingResult, cross_modal_labels
from cmcsl_core.method.request import LabelRequest

from .loading import Dataset
from .session import manual_seeds
from .settings import Settings
from .views import preprocessed

__all__ = ["LABELS_CSV", "label_request", "is_manual", "current_seeds", "run_labeling"]

LABELS_CSV = "labels.csv"
"""File name of the labels download (and the ``--out`` of the command line shown)."""


def label_request(data: Dataset, settings: Settings) -> LabelRequest:
    """The session's labeling request: its hand-picked seeds for ``data``, else a random draw."""
    picked = manual_seeds(data.key)
    if picked:
        return LabelRequest(preprocessing=settings.preprocessing, b_class=None, seed=settings.seed, seeds=tuple(picked))
    return LabelRequest(preprocessing=settings.preprocessing, b_class=settings.b_class, seed=settings.seed, seeds=None)


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


def run_labeling(data: Dataset, request: LabelRequest) -> LabelingResult:
    """CMCSL labels of every item, exactly as ``python -m cmcsl_core label`` computes them.

    Same steps as :meth:`LabelRequest.run` (:func:`~cmcsl_core.method.labeling.propagate`), with the
    preprocessed arrays taken from the per-data-set cache of :mod:`.views` (a seed change then
    costs only the nearest-seed search).
    """
    seeds = request.seed_indices(data.fs)
    X = preprocessed(data, request.validated().preprocessing)
    return cross_modal_labels(list(X), seeds, data.fs.y[seeds], data.fs.modality_names)
