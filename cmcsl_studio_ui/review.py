"""Pure logic of the Review page (no Streamlit here): keys, actions, the walk through the queue, metrics.

The page (``pages/4_Review.py``, drawn by :mod:`.review_card` and :mod:`.review_page`) only renders;
everything it decides lives here so it is tested without a browser:

* :func:`key_map` -- one key per action: ``1``..``9``, ``0`` choose class 1..10;
  one letter per modality accepts that modality's label (its first free letter:
  ``v`` visual, ``t`` text; never ``c`` or ``r``, which Streamlit reserves); ``s`` skip;
  ``u`` undo; ``p`` back to the previous item. The card listens to them with its keyboard
  component (:mod:`.review_keys`) and has its own set of buttons (:func:`button_key`).
* :func:`key_verdict` -- the type-ahead guard: a key counts only on the card that was on
  screen when it was pressed, and only once that card has been completely drawn for
  :data:`KEY_DWELL` seconds; every other press is dropped (never applied to an item the
  annotator did not see).
* :func:`apply_action` -- stores a label / undo in the :class:`AnnotationStore`
  (skip stores nothing) and returns what the page shows next.
* :class:`ReviewCursor` -- the position in the queue; skips reviewed and skipped
  items, so the next item appears at once.
* :func:`progress_metrics` / :func:`metrics_delta` -- pseudo-label accuracy (where the
  truth is known) and the disagreement count, now vs the session start.
* :func:`nearest_seed_item` -- the seed item behind a modality's proposal.
* :func:`filter_queue` -- the queue's items whose text, name or id contain a search.
* :func:`labels_command` -- the ``python -m cmcsl_core labels`` line of the page's labels.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from cmcsl_core.annotations.provenance import AnnotatedLabels
from cmcsl_core.annotations.store import Action, AnnotationStore, HumanLabels
from cmcsl_core.constants import CLI
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.request import LabelRequest

__all__ = [
    "SKIP_KEY",
    "UNDO_KEY",
    "PREVIOUS_KEY",
    "KEY_DWELL",
    "button_key",
    "ShownCard",
    "key_verdict",
    "filter_queue",
    "annotator_labels",
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
PREVIOUS_KEY = "p"
KEY_DWELL = 0.35
"""Seconds a card must have been shown before its keys count (quicker presses were typed ahead)."""
RESERVED_KEYS = frozenset("cr")
"""Keys Streamlit keeps for itself (clear cache, rerun): never bound to an action."""
_CLASS_KEYS = "1234567890"


@dataclass(frozen=True)
class ReviewAction:
    """What a key does.

    Attributes
    ----------
    kind : {"class", "modality", "skip", "undo", "previous"}
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
    letter of its name not yet taken (``s``, ``u`` and ``p`` are bound, ``c`` and ``r``
    reserved by Streamlit), else the first free letter of the alphabet.
    """
    keys: dict[str, ReviewAction] = {}
    for k, name in enumerate(class_names[: len(_CLASS_KEYS)]):
        keys[_CLASS_KEYS[k]] = ReviewAction("class", k, f"{_CLASS_KEYS[k]} {name}")
    taken = {SKIP_KEY, UNDO_KEY, PREVIOUS_KEY, *RESERVED_KEYS, *keys}
    for m, name in enumerate(modality_names):
        letters = [c for c in name.lower() if c.isalpha()] + list("abcdefghijklmnopqrstuvwxyz")
        key = next(c for c in letters if c not in taken)
        taken.add(key)
        keys[key] = ReviewAction("modality", m, f"{key} accept {name}")
    keys[SKIP_KEY] = ReviewAction("skip", -1, f"{SKIP_KEY} skip")
    keys[UNDO_KEY] = ReviewAction("undo", -1, f"{UNDO_KEY} undo")
    keys[PREVIOUS_KEY] = ReviewAction("previous", -1, f"{PREVIOUS_KEY} previous item")
    return keys


def button_key(key: str, item: int | None) -> str:
    """The Streamlit key of ``key``'s button on the card of ``item``.

    Every card has its own buttons: a press that reaches the server after the card changed
    still names the card it was pressed on (its button's arguments cannot be rebound to the
    next item), so :func:`key_verdict` can drop it.
    """
    return f"review_key_{key}_{'none' if item is None else int(item)}"


@dataclass(frozen=True)
class ShownCard:
    """The card on screen and whether its keys count yet.

    Attributes
    ----------
    item : int or None
        Its item (None: the queue is done).
    since : float or None
        ``time.monotonic()`` at the end of the first run that drew the whole card; None
        while it is being drawn (a run cut short by the next key leaves it None).
    used : bool
        A key was applied to it: every further key is dropped until the next card is drawn
        (a key repeated or delivered twice never acts twice).
    """

    item: int | None
    since: float | None = None
    used: bool = False


def key_verdict(
    pressed_on: int | None, shown: ShownCard | None, now: float, dwell: float = KEY_DWELL, timed: bool = True
) -> str | None:
    """Whether a key pressed on the card of ``pressed_on`` counts: None if it does, else why it is dropped.

    A key counts only on the card still shown, once (the first key applied marks the card
    used) and, when ``timed``, only ``dwell`` seconds after the server finished drawing the
    card. Keys typed ahead (``2`` pressed five times, 60 ms apart) thus label the item on
    screen once, never the next, unseen item. The browser's key handler times the keys
    itself (it knows when the card appeared) and sends ``timed=False`` keys.
    """
    if shown is None or pressed_on != shown.item:
        return "it was pressed on a card that is no longer shown"
    if shown.used:
        return "a key was already applied to this card"
    if not timed:
        return None
    if shown.since is None:
        return "the card was still being drawn"
    if now - shown.since < dwell:
        return "the card had just been drawn"
    return None


def filter_queue(fs: FeatureSet, order: Sequence[int] | np.ndarray, query: str) -> np.ndarray:
    """The items of ``order`` (in order) whose text, name or id contain ``query`` (case-insensitive).

    ``#12`` is item 12 itself (the page's ``#index`` notation; only it, although a name such as
    "Romance #12" holds the same characters); ``12`` finds item 12 and the items whose text, name
    or id contain "12". An empty query keeps every item.
    """
    order = np.asarray(order, dtype=np.int64)
    q = str(query).strip().lower()
    if not q:
        return order
    if q.startswith("#") and q[1:].isdigit():
        return order[order == int(q[1:])]
    number = q
    keep = np.zeros(order.size, dtype=bool)
    for n, i in enumerate(order.tolist()):
        hay = [fs.item_name(i)]
        if fs.texts is not None:
            hay.append(fs.texts[i])
        if fs.ids is not None:
            hay.append(str(fs.ids[i]))
        keep[n] = any(q in h.lower() for h in hay if h) or (number.isdigit() and int(number) == i)
    return order[keep]


def annotator_labels(human: HumanLabels, annotator: str) -> int:
    """How many of the human labels in force ``annotator`` gave."""
    return sum(1 for a in human.annotators if a == annotator)


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
    if action.kind in ("skip", "previous"):
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

    def previous(self) -> "ReviewCursor":
        """Back to the item before the current one in the queue (reviewed or skipped ones too)."""
        if self.position == 0:
            return self
        pos = self.position - 1
        return replace(self, position=pos, skipped=self.skipped - {self.queue[pos]})

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
