"""What one run of the Review page works with: :class:`ReviewContext`, the memoised runs, the flash line.

The page builds one :class:`ReviewContext` per run (the data, the labels request, the
annotation storage, the run from the seeds alone, the queue chosen above the card) and hands
it to everything it draws (:mod:`.review_card`, :mod:`.review_page`), the fragment and the
buttons' callbacks included: nothing reads the page's globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import streamlit as st

from cmcsl_core.annotations import (
    AnnotatedLabels,
    AnnotationStore,
    HumanLabels,
    disagreement_gap,
    labels_with_annotations,
)
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.request import LabelRequest

from .annotating import Storage
from .labels import feature_graphs
from .loading import Dataset
from .review import ReviewAction, ReviewMetrics

__all__ = ["QueueChoice", "ReviewContext", "annotated", "flash", "show_flash"]

MEMO_RUNS = 3
"""Runs with human labels kept per session besides the newest (the base run and the latest states)."""

_MEMO = "review_memo"
_FLASH = "review_flash"


@dataclass(frozen=True)
class QueueChoice:
    """The queue chosen above the card (its widgets and the walk in force)."""

    order: str
    """One of :data:`cmcsl_core.annotations.queue.QUEUE_ORDERS`."""
    unreviewed_only: bool
    """Whether the walk leaves out the items labelled already."""
    suggested: tuple[int, ...] | None
    """The "Label these next" items the card walks instead of the queue (None: the queue)."""
    next_round: int
    """Which batch of a batch order (:data:`~cmcsl_core.annotations.queue.BATCH_ORDERS`) is shown."""
    classes: tuple[int, ...] = ()
    """Only items for which a modality proposes one of these classes (empty: all)."""
    decided: tuple[str, ...] = ()
    """Only disagreements resolved by one of these modalities (empty: any)."""
    query: str = ""
    """Only items whose text, name or id contain this."""


@dataclass(frozen=True, eq=False)
class ReviewContext:
    """Everything the Review page's parts read: built once per run of the page."""

    data: Dataset
    request: LabelRequest
    """The labels request of the sidebar (its seeds, preprocessing, labeler)."""
    storage: Storage
    """The annotation database and who labels."""
    base: AnnotatedLabels
    """The run from the seeds alone (the queue's order and gaps come from it)."""
    start: ReviewMetrics
    """The metrics when the session started (the counters show the change since)."""
    keys: dict[str, ReviewAction]
    """The keys of the card (:func:`cmcsl_studio_ui.review.key_map`)."""
    queue: QueueChoice

    @cached_property
    def base_gap(self) -> np.ndarray:
        """Per item, the gap between the modalities' scaled distances in the run from the seeds alone."""
        return disagreement_gap(self.base.result)

    @property
    def fs(self) -> FeatureSet:
        return self.data.fs

    @property
    def names(self) -> tuple[str, ...]:
        """The class names."""
        return self.data.fs.class_names

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.data.fs.modality_names

    @property
    def store(self) -> AnnotationStore:
        return self.storage.store

    @property
    def annotator(self) -> str:
        return self.storage.annotator

    def human(self) -> HumanLabels:
        """The human labels in the database now (served: the visitor's own)."""
        return self.storage.human()

    def reviewed(self) -> np.ndarray:
        """The items the walk passes over now: those labelled, when only unreviewed items are walked."""
        return self.storage.human().index if self.queue.unreviewed_only else np.zeros(0, dtype=np.int64)

    def now(self, human: HumanLabels) -> AnnotatedLabels:
        """The labels in force with ``human`` among the seeds."""
        return annotated(self.data, self.request, human)


def annotated(data: Dataset, request: LabelRequest, human: HumanLabels) -> AnnotatedLabels:
    """The request's labeler from its seeds plus ``human`` (memoised per session on the labels in force)."""
    ss = st.session_state
    key = (data.key, request, tuple(int(a) for a in human.action_ids))
    memo = ss.get(_MEMO) or {}
    if key not in memo:
        graphs = feature_graphs(data, request.preprocessing, request.validated().labeler)
        memo = dict(list(memo.items())[-MEMO_RUNS:])
        memo[key] = labels_with_annotations(data.fs, request, human, graphs)
        ss[_MEMO] = memo
    return memo[key]


def flash(kind: str, message: str) -> None:
    """A line for the next draw of the card (``kind`` "error" or "info"), set by a callback."""
    st.session_state[_FLASH] = (kind, message)


def show_flash() -> None:
    """Draw (once) the line a callback left."""
    held = st.session_state.pop(_FLASH, None)
    if held is None:
        return
    kind, message = held
    if kind == "error":
        st.error(message, icon=":material/error:")
    else:
        st.caption(message)
