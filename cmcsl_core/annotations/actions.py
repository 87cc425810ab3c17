"""The history's values: an :class:`Action`, the labels in force (:class:`HumanLabels`) and :func:`replay`.

The store keeps an append-only history of actions (``label``: an annotator gave an item
a class; ``undo``: an annotator took back their own last label action not undone yet).
The current human labels are the :func:`replay` of that history: an item's label is the
one of its latest ``label`` action that has not been undone. Undoing thus never touches
another annotator's later label of the same item, and undoing twice walks further back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Action", "HumanLabels", "replay", "utc_now"]


@dataclass(frozen=True)
class Action:
    """One row of the history.

    Attributes
    ----------
    id : int
        Position in the history (increasing).
    fingerprint : str
        Fingerprint of the feature file.
    item : str
        The item's id, or its index as text when the file has no ids.
    index : int
        The item's row in the feature file.
    label : str or None
        ``label``: the class given. ``undo``: the item's human label after the undo
        (None: no human label any more).
    annotator : str
        Who acted.
    time : str
        UTC time, ISO 8601 (``2026-01-31T12:00:00.000000Z``).
    previous : str or None
        The item's human label just before this action (None: none).
    kind : str
        ``"label"`` or ``"undo"``.
    undoes : int or None
        ``undo`` only: the id of the label action taken back.
    """

    id: int
    fingerprint: str
    item: str
    index: int
    label: str | None
    annotator: str
    time: str
    previous: str | None
    kind: str
    undoes: int | None

    def describe(self) -> str:
        """One line for a log or the CLI."""
        before = self.previous if self.previous is not None else "(none)"
        after = self.label if self.label is not None else "(none)"
        verb = "labelled" if self.kind == "label" else f"undid action {self.undoes} on"
        return f"#{self.id} {self.annotator} {verb} item {self.item}: {before} -> {after} at {self.time}"


@dataclass(frozen=True)
class HumanLabels:
    """The current human labels (the replay of the history), sorted by item index.

    Attributes
    ----------
    index : ndarray of int, shape (H,)
        Rows of the labelled items.
    labels : ndarray of int, shape (H,)
        Their classes (positions in ``class_names``).
    annotators : tuple of str
        Who gave each label.
    action_ids : ndarray of int, shape (H,)
        The label action in force for each item.
    """

    index: np.ndarray
    labels: np.ndarray
    annotators: tuple[str, ...]
    action_ids: np.ndarray

    @classmethod
    def empty(cls) -> "HumanLabels":
        """No human labels."""
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none.copy(), (), none.copy())

    def __len__(self) -> int:
        return int(self.index.size)

    def mask(self, n_items: int) -> np.ndarray:
        """Boolean mask (N,) of the human-labelled items."""
        out = np.zeros(n_items, dtype=bool)
        out[self.index] = True
        return out

    def as_dict(self, class_names: Sequence[str]) -> dict[int, str]:
        """``{item index: class name}``."""
        return {int(i): class_names[int(c)] for i, c in zip(self.index, self.labels)}


def replay(actions: Iterable[Action]) -> dict[int, Action]:
    """The label action in force per item: the latest ``label`` action not undone.

    Parameters
    ----------
    actions : iterable of Action
        Any part of a history that holds every action of the items concerned.

    Returns
    -------
    dict
        ``{item index: Action}`` for the items with a human label.
    """
    ordered = sorted(actions, key=lambda a: a.id)
    undone = {a.undoes for a in ordered if a.kind == "undo"}
    current: dict[int, Action] = {}
    for a in ordered:
        if a.kind == "label" and a.id not in undone:
            current[a.index] = a
    return current


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
