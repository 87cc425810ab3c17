"""Choosing the labeled seed items.

The paper's protocol gives ``b_class`` labeled items per class. We draw them
uniformly *without* replacement (the authors' code drew with replacement, which
can silently give fewer distinct seeds), from a reproducible random stream.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cmcsl_core.errors import SeedError

__all__ = ["RandomState", "as_generator", "seed_order", "draw_seeds", "check_seeds", "parse_seed_list"]

RandomState = int | np.random.SeedSequence | np.random.Generator | Sequence[int] | None


def as_generator(random_state: RandomState) -> np.random.Generator:
    """A NumPy Generator from an int, a sequence of ints, a SeedSequence or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def seed_order(
    y: np.ndarray,
    b_max: int,
    random_state: RandomState = None,
    rows: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    n_classes: int | None = None,
) -> np.ndarray:
    """A random order of ``b_max`` distinct candidate seeds per class.

    Row ``c`` holds ``b_max`` item indices of class ``c``: the first ``b_max`` of a
    uniform random permutation of the class's items. Taking the first ``b`` columns
    gives a uniform draw of ``b`` items without replacement, and the draws for
    growing ``b`` are nested (raising ``b_class`` adds seeds, it does not reshuffle).

    Parameters
    ----------
    y : ndarray of shape (N,)
        True labels ``0 .. K-1`` (only the seeds' labels are ever used downstream).
    b_max : int
        Seeds per class, at least 1.
    random_state : int, sequence of int, SeedSequence or Generator
        The same value gives the same order.
    rows : ndarray of int, optional
        Restrict the draw to these item indices (e.g. a training fold).
    class_names : sequence of str, optional
        Used in error messages.
    n_classes : int, optional
        Number of classes K (default ``y.max() + 1``).

    Returns
    -------
    ndarray of int, shape (K, b_max)

    Raises
    ------
    SeedError
        If ``b_max < 1`` or a class has fewer than ``b_max`` items to draw from.
    """
    y = np.asarray(y)
    if isinstance(b_max, bool) or not isinstance(b_max, (int, np.integer)):
        raise SeedError(f"b_class must be a whole number, got {b_max!r}")
    b_max = int(b_max)
    if b_max < 1:
        raise SeedError(f"b_class must be at least 1, got {b_max}")
    rng = as_generator(random_state)
    pool = np.arange(y.shape[0]) if rows is None else np.asarray(rows)
    labels = y[pool]
    k = int(n_classes if n_classes is not None else (y.max() + 1 if y.size else 0))
    # one stable sort groups the candidates of every class
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    sizes = np.diff(bounds)
    if k and int(sizes.min()) < b_max:
        smallest = int(np.argmin(sizes))  # the class that limits b_class (the first of equals)
        name = class_names[smallest] if class_names is not None else f"class {smallest}"
        where = " in the training rows" if rows is not None else ""
        n_small = int(sizes[smallest])
        if n_small == 0:
            raise SeedError(
                f"class {name!r} has no items{where}, so no seed can be drawn for it (b_class seeds are "
                "drawn from every class); give the file items of that class or leave it out of class_names"
            )
        fix = f"the largest valid b_class is {n_small}"
        raise SeedError(
            f"b_class={b_max} is larger than class {name!r}, the smallest class, which has only {n_small} "
            f"item(s){where}; {fix}"
        )
    out = np.empty((k, b_max), dtype=np.int64)
    for c in range(k):
        candidates = pool[order[bounds[c] : bounds[c + 1]]]
        out[c] = rng.permutation(candidates)[:b_max]
    return out


def draw_seeds(
    y: np.ndarray,
    b_class: int,
    random_state: RandomState = None,
    rows: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    n_classes: int | None = None,
) -> np.ndarray:
    """Draw ``b_class`` seed items per class, uniformly without replacement.

    Parameters are those of :func:`seed_order`. The same ``random_state`` with a
    larger ``b_class`` returns a superset of the seeds.

    Returns
    -------
    ndarray of int
        Sorted item indices (into ``y``), ``b_class`` per class.

    Raises
    ------
    SeedError
        If ``b_class < 1`` or a class has fewer than ``b_class`` items.
    """
    order = seed_order(y, b_class, random_state, rows, class_names, n_classes)
    return np.sort(order.ravel())


def check_seeds(seed_idx: Sequence[int] | np.ndarray, n_items: int) -> np.ndarray:
    """Validate an explicit list of seed indices; return them as a sorted int array.

    Raises
    ------
    SeedError
        If the list is empty, holds non-integers, out-of-range or repeated indices.
    """
    arr = np.asarray(seed_idx)
    if arr.size == 0:
        raise SeedError("at least one seed item is needed")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise SeedError("seed indices must be whole numbers")
    arr = arr.astype(np.int64).ravel()
    bad = arr[(arr < 0) | (arr >= n_items)]
    if bad.size:
        raise SeedError(f"seed index {int(bad[0])} is out of range: items are numbered 0..{n_items - 1}")
    uniq, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise SeedError(f"seed index {int(uniq[counts > 1][0])} is given more than once")
    return uniq


def parse_seed_list(text: str, n_items: int) -> np.ndarray:
    """Parse ``"3,17,42"`` (commas and/or spaces) into validated seed indices."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise SeedError(f"seeds must be item indices separated by commas, got {text!r}") from None
    return check_seeds(values, n_items)
