"""The cross-validation folds of a curve, and whether a ``b_class`` fits in them."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cmcsl_core.constants import RANDOM_STATE, REPEATS
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError

__all__ = ["cv_splits", "check_b_feasible"]

Split = tuple[np.ndarray, np.ndarray]


def cv_splits(y: np.ndarray, repeats: int = REPEATS, random_state: int = RANDOM_STATE) -> list[Split]:
    """The (train, test) index pairs of ``repeats`` x 2 repeated stratified CV.

    Raises
    ------
    CMCSLError
        A class with fewer than 2 items.
    """
    from cmcsl_core.evaluation.kfold import repeated_stratified_kfold  # = sklearn's, without its import cost

    min_count = int(np.bincount(y).min())
    if min_count < 2:
        raise CMCSLError("every class needs at least 2 items for 2-fold cross-validation")
    return list(repeated_stratified_kfold(y, n_splits=2, n_repeats=repeats, random_state=random_state))


def check_b_feasible(fs: FeatureSet, splits: Sequence[Split], b_max: int) -> None:
    """Raise a clear CMCSLError if some training fold has a class smaller than ``b_max``."""
    counts = np.array([np.bincount(fs.y[tr], minlength=fs.n_classes) for tr, _ in splits])
    fold, c = np.unravel_index(int(np.argmin(counts)), counts.shape)
    smallest = int(counts[fold, c])
    empty = [name for name, n in zip(fs.class_names, fs.class_counts()) if n == 0]
    if empty:
        raise CMCSLError(
            f"class {empty[0]!r} has no items, so no seed can be drawn for it (b_class seeds are drawn from every "
            "class); give the file items of that class or leave it out of class_names"
        )
    if b_max > smallest:
        raise CMCSLError(
            f"b_class={b_max} is impossible: class {fs.class_names[c]!r} has only {smallest} item(s) in a "
            f"training fold (half of its {int(fs.class_counts()[c])}); use b_class <= {smallest}"
        )
