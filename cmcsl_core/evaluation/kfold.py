"""Repeated stratified k-fold splits in plain NumPy, identical to scikit-learn's.

:func:`repeated_stratified_kfold` yields exactly the (train, test) index pairs of
``sklearn.model_selection.RepeatedStratifiedKFold(n_splits, n_repeats, random_state)``
(tested), without importing scikit-learn (whose import costs about a second on the
``curve`` command line). The algorithm is scikit-learn's: classes are numbered by first
appearance; each class's items are allocated to folds by a round robin over the sorted
labels; the fold numbers of every class are shuffled with one ``RandomState`` shared by
all repeats.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = ["repeated_stratified_kfold"]


def _test_folds(y: np.ndarray, n_splits: int, rng: np.random.RandomState) -> np.ndarray:
    _, y_idx, y_inv = np.unique(y, return_index=True, return_inverse=True)
    _, class_perm = np.unique(y_idx, return_inverse=True)
    y_encoded = class_perm[y_inv.ravel()]
    n_classes = len(y_idx)
    y_order = np.sort(y_encoded)
    allocation = np.asarray([np.bincount(y_order[i::n_splits], minlength=n_classes) for i in range(n_splits)])
    test_folds = np.empty(len(y), dtype="i")
    for k in range(n_classes):
        folds_for_class = np.arange(n_splits).repeat(allocation[:, k])
        rng.shuffle(folds_for_class)
        test_folds[y_encoded == k] = folds_for_class
    return test_folds


def repeated_stratified_kfold(
    y: np.ndarray, n_splits: int = 2, n_repeats: int = 5, random_state: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs, repeat-major, as ``RepeatedStratifiedKFold(...).split(X, y)``.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Class labels.
    n_splits, n_repeats : int
        Folds per repeat and repeats.
    random_state : int
        Seeds one ``numpy.random.RandomState`` shared by all repeats.

    Raises
    ------
    CMCSLError
        If every class has fewer than ``n_splits`` items.
    """
    y = np.asarray(y).ravel()
    if np.all(n_splits > np.bincount(np.unique(y, return_inverse=True)[1].ravel())):
        raise CMCSLError(f"n_splits={n_splits} cannot be greater than the number of members in each class")
    rng = np.random.RandomState(random_state)
    indices = np.arange(y.size)
    for _ in range(n_repeats):
        folds = _test_folds(y, n_splits, rng)
        for i in range(n_splits):
            mask = folds == i
            yield indices[~mask], indices[mask]
