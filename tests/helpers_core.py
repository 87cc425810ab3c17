"""Shared helpers for the cmcsl_core tests: synthetic data and plain reference implementations.

The reference functions here are deliberately naive (explicit Python loops,
``np.linalg.norm``) so the fast library code is checked against something obviously right.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from cmcsl_core.datasets.features import FeatureSet, make_feature_set

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
"""``../shared``: the paper's results and MVSA-Single (CI has it; a fresh clone may not)."""
PAPER_DIR = SHARED_DIR / "paper"
"""The paper's published arrays and Table I (``../shared/paper``)."""

ALLOW_NO_SHARED_ENV = "CMCSL_ALLOW_NO_SHARED"
"""Set to 1 to skip (not fail) the tests that need ``../shared`` when it is missing (off by default)."""


def require_shared(relative: str) -> Path:
    """``../shared/<relative>``; the calling test fails when it is missing.

    A run without ``../shared`` must not look green: it fails with a clear message, unless
    ``CMCSL_ALLOW_NO_SHARED=1`` says that skipping these tests is intended.
    """
    path = SHARED_DIR / relative
    if path.exists():
        return path
    message = (
        f"../shared/{relative} is missing ({path}): this test needs the shared data "
        f"(the paper's results, MVSA-Single) that CI has; provide it, or set {ALLOW_NO_SHARED_ENV}=1 to skip"
    )
    if os.environ.get(ALLOW_NO_SHARED_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def synthetic_features(
    class_sizes: Sequence[int] = (60, 40, 50),
    dims: Sequence[int] = (6, 4),
    separation: float = 1.2,
    seed: int = 0,
    with_ids: bool = False,
    class_names: Sequence[str] | None = None,
    modality_names: Sequence[str] | None = None,
) -> FeatureSet:
    """A small FeatureSet: Gaussian blobs per class in every modality (classes overlap)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(class_sizes)), class_sizes)
    y = y[rng.permutation(y.size)]
    X = []
    for m, d in enumerate(dims):
        means = rng.normal(scale=separation * (1.0 + 0.3 * m), size=(len(class_sizes), d))
        X.append(means[y] + rng.normal(size=(y.size, d)) + 2.0)  # offset: not centred
    names = tuple(modality_names) if modality_names is not None else (("visual", "text", "audio", "meta")[: len(dims)])
    extra: dict[str, object] = {}
    if with_ids:
        extra["ids"] = tuple(f"tt{1000 + i}" for i in range(y.size))
        extra["titles"] = tuple(f"Movie {i}" for i in range(y.size))
    return make_feature_set(X, y, modality_names=names, class_names=class_names, source="synthetic", **extra)


# ---------------------------------------------------------------------------------------------
# brute-force reference of cross-modal self-labeling
# ---------------------------------------------------------------------------------------------


def reference_labels(
    X_list: Sequence[np.ndarray], seed_idx: Sequence[int], seed_labels: Sequence[int]
) -> dict[str, np.ndarray]:
    """Nearest seed per modality (ties -> lowest seed position, seeds keep their own) and the
    cross-modal rule (all agree -> kept, decided_by -1; else smallest distance, ties -> first modality)."""
    seed_idx = [int(s) for s in seed_idx]
    seed_labels = [int(v) for v in seed_labels]
    n = X_list[0].shape[0]
    m_count = len(X_list)
    labels = np.zeros((m_count, n), dtype=np.int64)
    nearest = np.zeros((m_count, n), dtype=np.int64)
    dist = np.zeros((m_count, n))
    for m, X in enumerate(X_list):
        for i in range(n):
            if i in seed_idx:
                pos, best = seed_idx.index(i), 0.0
            else:
                pos, best = -1, np.inf
                for p, s in enumerate(seed_idx):
                    d = float(np.linalg.norm(X[i] - X[s]))
                    if d < best:  # strict: an equal distance keeps the earlier seed
                        pos, best = p, d
            nearest[m, i] = pos
            dist[m, i] = best
            labels[m, i] = seed_labels[pos]
    final = np.zeros(n, dtype=np.int64)
    decided = np.zeros(n, dtype=np.int64)
    disagree = np.zeros(n, dtype=bool)
    for i in range(n):
        if all(labels[m, i] == labels[0, i] for m in range(m_count)):
            final[i], decided[i] = labels[0, i], -1
            continue
        disagree[i] = True
        win = 0
        for m in range(1, m_count):
            if dist[m, i] < dist[win, i]:
                win = m
        final[i], decided[i] = labels[win, i], win
    return {
        "labels": labels,
        "nearest_seed": nearest,
        "distances": dist,
        "final_labels": final,
        "decided_by": decided,
        "disagree": disagree,
    }


def assert_matches_reference(result, ref: dict[str, np.ndarray], atol: float = 1e-9) -> None:
    """Compare a LabelingResult with :func:`reference_labels`' output."""
    np.testing.assert_array_equal(result.labels, ref["labels"])
    np.testing.assert_array_equal(result.nearest_seed, ref["nearest_seed"])
    np.testing.assert_allclose(result.distances, ref["distances"], rtol=0, atol=atol)
    np.testing.assert_array_equal(result.final_labels, ref["final_labels"])
    np.testing.assert_array_equal(result.decided_by, ref["decided_by"])
    np.testing.assert_array_equal(result.disagree, ref["disagree"])


def weights_from(labels: np.ndarray, source: np.ndarray | None, k: int) -> np.ndarray:
    """``1 - freq[label]`` with frequencies taken from ``source`` (None = no weights)."""
    if source is None:
        return np.ones(labels.size)
    freq = np.bincount(source, minlength=k) / source.size
    return 1.0 - freq[labels]


# ---------------------------------------------------------------------------------------------
# brute-force reference of the paper's subset rule
# ---------------------------------------------------------------------------------------------


def exactly_one_reference(genre_lists: Sequence[Sequence[str]], genres: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose genre list holds exactly one of ``genres``, and that genre's position (the label).

    A plain loop over exact (canonical) genre names, to check the library's vectorised rule.
    """
    rows, labels = [], []
    for i, movie in enumerate(genre_lists):
        hits = [g for g in genres if g in movie]
        if len(hits) == 1:
            rows.append(i)
            labels.append(list(genres).index(hits[0]))
    return np.array(rows, dtype=np.int64), np.array(labels, dtype=np.int64)


def sklearn_preprocessor(name: str):
    """The scikit-learn equivalent of preprocessing ``name`` (a fresh, unfitted estimator)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, Normalizer, StandardScaler

    return {
        "raw": FunctionTransformer,
        "l2": Normalizer,
        "std": StandardScaler,
        "minmax": MinMaxScaler,
        "l2std": lambda: make_pipeline(Normalizer(), StandardScaler()),
    }[name]()


SKLEARN_PREPROCESSINGS: tuple[str, ...] = ("raw", "l2", "std", "minmax", "l2std")
"""The preprocessing names :func:`sklearn_preprocessor` knows (written out, not read from the library)."""
