"""Pure logic of the Review page (no Streamlit here): keys, actions, the walk through the queue, metrics.

The page (to be added in ``pages/``) only renders; everything it decides lives here
so it is tested without a browser:

* :func:`key_map` -- one key per action: ``1``..``9``, ``0`` choose class 1..10;
  one letter per modality accepts that modality's label (its first free letter:
  ``v`` visual, ``t`` text; never ``c`` or ``r``, which Streamlit reserves); ``s`` skip; ``u`` undo.
  The page binds them with ``st.button(..., shortcut=key)``.
* :func:`apply_action` -- stores a label / undo in the :class:`AnnotationStore`
  (skip stores nothing) and returns what the page shows next.
* :class:`ReviewCursor` -- the position in the queue; skips reviewed and skipped
  items, so the next item appears at once.
* :func:`progress_metrics` / :func:`metrics_delta` -- pseudo-label accuracy (where the
  truth is known) and the disagreement count, now vs the session start.
* :func:`nearest_seed_item` -- the seed item behind a modality's proposal.
* :func:`labels_command` -- the ``python -m cmcsl_core labels`` line of the page's labels.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from cmcsl_core.annotations.provenance import AnnotatedLabels
from cmcsl_core.annotations.store import Action, AnnotationStore
from cmcsl_core.constants import CLI
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.request import LabelRequest

__all__ = [
    "SKIP_KEY",
    "UNDO_KEY",
    "RESERVED_KEYS",
    "ReviewAction",
    "key_map",
    "resolve_key",
    "apply_action",
    "ReviewCursor",
    "progress_metrics",
    "metrics_delta",
    "nearest_seed_item",
    "labels_command",
]

SKIP_KEY = "s"
UNDO_KEY = "u"
RESERVED_KEYS = frozenset("cr")
"""Keys Streamlit keeps for itself (clear cache, rerun): never bound to an action."""
_CLASS_KEYS = "1234567890"


@dataclass(frozen=True)
class ReviewAction:
    """What a key does.

    Attributes
    ----------
    kind : {"class", "modality", "skip", "undo"}
    value : int
        The class position (``class``) or modality position (``modality``); -1 otherwise.
    caption : str
        Button caption, e.g. ``"1 Horror"`` or ``"t accept text"``.
    """

    kind: str
    value: int = -1
    caption: str = ""


def key_map(modality_names: Sequence[str], class_names: Sequence[str]) -> dict[str, ReviewAction]:
    """The key of every action (keys are single lower-case characters).

    Classes get ``1``..``9``, ``0`` (the first ten classes); each modality the first
    letter of its name not yet taken (``s`` and ``u`` are bound, ``c`` and ``r``
    reserved by Streamlit), else the first free letter of the alphabet.
    """
    keys: dict[str, ReviewAction] = {}
    for k, name in enumerate(class_names[: len(_CLASS_KEYS)]):
        keys[_CLASS_KEYS[k]] = ReviewAction("class", k, f"{_CLASS_KEYS[k]} {name}")
    taken = {SKIP_KEY, UNDO_KEY, *RESERVED_KEYS, *keys}
    for m, name in enumerate(modality_names):
        letters = [c for c in name.lower() if c.isalpha()] + list("abcdefghijklmnopqrstuvwxyz")
        key = next(c for c in letters if c not in taken)
        taken.add(key)
        keys[key] = ReviewAction("modality", m, f"{key} accept {name}")
    keys[SKIP_KEY] = ReviewAction("skip", -1, f"{SKIP_KEY} skip")
    keys[UNDO_KEY] = ReviewAction("undo", -1, f"{UNDO_KEY} undo")
    return keys


def resolve_key(key: str, keys: dict[str, ReviewAction]) -> ReviewAction | None:
    """The action of a pressed key (case-insensitive), or None for an unbound key."""
    return keys.get(str(key).strip().lower()[:1]) if key else None


def apply_action(
    action: ReviewAction,
    item: int,
    result: LabelingResult,
    store: AnnotationStore,
    annotator: str,
) -> Action | None:
    """Carry out ``action`` on ``item``: label it (a class, or a modality's proposal), undo, or skip.

    Returns the stored :class:`Action` (None for skip). Store errors
    (:class:`~cmcsl_core.annotations.store.AnnotationError`) propagate for the
    page to show with ``st.error``.
    """
    if action.kind == "skip":
        return None
    if action.kind == "undo":
        return store.undo(annotator)
    if action.kind == "modality":
        cls = int(result.labels[action.value, item])
    elif action.kind == "class":
        cls = action.value
    else:
        raise ValueError(f"unknown review action {action.kind!r}")
    return store.label(int(item), store.class_names[cls], annotator)


@dataclass(frozen=True)
class ReviewCursor:
    """Where the annotator is in the queue (immutable; keep it in ``st.session_state``).

    Attributes
    ----------
    queue : tuple of int
        Items in review order (``review_queue``), fixed for the session so items do
        not jump around while CMCSL reruns.
    position : int
        Index into ``queue`` of the current item (``len(queue)``: done).
    skipped : frozenset of int
        Items skipped in this session.
    """

    queue: tuple[int, ...]
    position: int = 0
    skipped: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def start(cls, queue: Sequence[int] | np.ndarray, reviewed: Sequence[int] | np.ndarray = ()) -> "ReviewCursor":
        """A cursor on the first item of ``queue`` that is not reviewed."""
        return cls(tuple(int(i) for i in queue)).advance(reviewed, from_current=True)

    @property
    def current(self) -> int | None:
        """The item to show, or None when the queue is done."""
        return self.queue[self.position] if self.position < len(self.queue) else None

    def advance(self, reviewed: Sequence[int] | np.ndarray = (), from_current: bool = False) -> "ReviewCursor":
        """The next item that is neither reviewed nor skipped (the current one too if ``from_current``)."""
        done = {int(i) for i in np.asarray(reviewed, dtype=np.int64).ravel()} | set(self.skipped)
        pos = self.position if from_current else self.position + 1
        while pos < len(self.queue) and self.queue[pos] in done:
            pos += 1
        return replace(self, position=pos)

    def skip(self, reviewed: Sequence[int] | np.ndarray = ()) -> "ReviewCursor":
        """Skip the current item."""
        cur = self.current
        skipped = self.skipped if cur is None else self.skipped | {cur}
        return replace(self, skipped=skipped).advance(reviewed)

    def back_to(self, item: int) -> "ReviewCursor":
        """Show ``item`` again (after an undo took back its label)."""
        if item in self.queue:
            return replace(self, position=self.queue.index(item), skipped=self.skipped - {item})
        return self

    def remaining(self, reviewed: Sequence[int] | np.ndarray = ()) -> int:
        """Items left from the current one on (not reviewed, not skipped)."""
        done = {int(i) for i in np.asarray(reviewed, dtype=np.int64).ravel()} | set(self.skipped)
        return sum(1 for i in self.queue[self.position :] if i not in done)


@dataclass(frozen=True)
class ReviewMetrics:
    """What the page reports moving during a session."""

    accuracy: float
    """CMCSL pseudo-label accuracy on items labelled by neither a seed nor a person (vs ``fs.y``)."""
    disagreements: int
    """Items whose modalities disagree."""
    human: int
    """Human labels in force."""


def progress_metrics(fs: FeatureSet, annotated: AnnotatedLabels) -> ReviewMetrics:
    """:class:`ReviewMetrics` of one run (accuracy is NaN when every item is a seed or human-labelled)."""
    scored = np.ones(fs.n_items, dtype=bool)
    scored[annotated.seed_idx] = False
    scored[annotated.human.index] = False
    acc = float(np.mean(annotated.final_labels[scored] == fs.y[scored])) if scored.any() else float("nan")
    return ReviewMetrics(acc, int(annotated.result.disagree.sum()), len(annotated.human))


def metrics_delta(start: ReviewMetrics, now: ReviewMetrics) -> dict[str, float]:
    """Change since the session started (for ``st.metric`` deltas)."""
    return {
        "accuracy": now.accuracy - start.accuracy,
        "disagreements": float(now.disagreements - start.disagreements),
        "human": float(now.human - start.human),
    }


def nearest_seed_item(result: LabelingResult, modality: int, item: int) -> int:
    """The seed item whose label modality ``modality`` proposes for ``item`` (its nearest seed)."""
    nearest = int(result.nearest_seed[modality, item])
    return int(np.asarray(result.seed_idx)[nearest]) if result.seeds_are_rows else nearest


def labels_command(request: LabelRequest, features: str, db: str, out: str = "labels.csv") -> str:
    """The ``python -m cmcsl_core labels`` line writing the page's labels (the request's seeds + the database)."""
    line = request.command(features, out)
    prefix = f"{CLI} label "
    if not line.startswith(prefix):  # pragma: no cover - LabelRequest.command always starts so
        raise ValueError(f"unexpected label command {line!r}")
    return f"{CLI} labels --db {shlex.quote(str(db))} {line[len(prefix):]}"
