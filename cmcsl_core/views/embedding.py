"""2-D views of feature matrices for the app: PCA (instant) and UMAP (cached on disk).

* :func:`pca_2d` projects onto the first two principal components in well under a
  second, so the app can draw something at once.
* :func:`umap_2d` runs umap-learn and stores the result in the :mod:`cmcsl_core.cache`,
  keyed by :func:`~cmcsl_core.cache.array_digest` of the input and the parameters,
  so each view is computed once per machine. umap is imported inside the function
  only (importing it costs seconds). Up to :data:`EXACT_KNN_MAX` items the neighbour
  graph is computed exactly by scikit-learn (one BLAS product) and handed to UMAP, which
  then skips pynndescent, whose numba compilation was most of UMAP's first use: on the
  built-in tweets (4,869 items, 1,280-d) 11 CPU-s instead of 44. numba's compiled
  functions are cached on disk (``NUMBA_CACHE_DIR``, by default in the cache folder).
  :func:`umap_2d` reports its stages to an optional ``stage`` callback.
* :func:`shipped_embedding` reads precomputed coordinates shipped with the
  repository (``data/umap_demo_HR.npz``, written by ``scripts/make_umap_demo.py``)
  when they were computed from the same data (checked by :func:`fingerprint`).

No Streamlit here; the app runs :func:`umap_2d` in a background process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from cmcsl_core.cache import array_digest, cache_dir, cache_key, cached_arrays
from cmcsl_core.constants import UMAP_SEED
from cmcsl_core.fileio import read_member
from cmcsl_core.types import PathLike

__all__ = [
    "UMAP_DEFAULTS",
    "EXACT_KNN_MAX",
    "pca_2d",
    "umap_key",
    "umap_2d",
    "cached_umap",
    "fingerprint",
    "shipped_embedding",
]

UMAP_DEFAULTS: Mapping[str, object] = {"n_neighbors": 15, "min_dist": 0.1, "metric": "euclidean", "knn": "exact"}
"""UMAP parameters used by the app (umap-learn's defaults; ``knn``: exact neighbours up to
:data:`EXACT_KNN_MAX` items, umap's approximate search above)."""

EXACT_KNN_MAX = 12_000
"""Largest number of items whose neighbour graph is computed exactly (an N x N distance product in
blocks: about 4 s for 5,000 x 1,280 on one core); above it, umap's own approximate search."""


def pca_2d(X: np.ndarray) -> np.ndarray:
    """Project the rows of ``X`` onto its first two principal components.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Features (already preprocessed).

    Returns
    -------
    ndarray of shape (N, 2), float32
        Coordinates; each component's sign is fixed so that its largest-magnitude
        loading is positive (deterministic output). Columns are zero when ``d < 2``
        or the data have fewer than two directions of variance.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"pca_2d needs a 2-D array, got shape {X.shape}")
    out = np.zeros((X.shape[0], 2), dtype=np.float32)
    if X.shape[0] < 2:
        return out
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:2]
    for j, k in enumerate(order):
        if vals[k] <= 1e-12 * max(float(vals.max()), 1e-300):
            continue
        v = vecs[:, k]
        v = v if v[np.argmax(np.abs(v))] >= 0 else -v
        out[:, j] = (Xc @ v).astype(np.float32)
    return out


def umap_key(X: np.ndarray, random_state: int = UMAP_SEED, **params: object) -> str:
    """The cache key of :func:`umap_2d` for ``X`` and the parameters."""
    merged = {**UMAP_DEFAULTS, **params}
    return cache_key("umap2d", digest=array_digest(np.asarray(X)), random_state=int(random_state), **merged)


def cached_umap(key: str) -> np.ndarray | None:
    """The coordinates stored under ``key`` if :func:`umap_2d` already computed them, else None."""
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:  # the header parsed under a lock (pages load views in threads)
            return np.asarray(read_member(z.zip, "xy", path.name), dtype=np.float32)
    except (OSError, ValueError, EOFError, KeyError):
        return None


def umap_2d(
    X: np.ndarray,
    random_state: int = UMAP_SEED,
    cache: bool = True,
    stage: Callable[[str], None] | None = None,
    **params: object,
) -> np.ndarray:
    """A 2-D UMAP embedding of the rows of ``X``, cached on disk.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        Features (already preprocessed).
    random_state : int
        UMAP's random seed (the result is reproducible for a given value).
    cache : bool
        Read/write the on-disk cache (key: :func:`umap_key`).
    stage : callable(str), optional
        Told what runs now ("loading umap", "finding neighbours", "laying out").
    **params
        Overrides of :data:`UMAP_DEFAULTS` (``n_neighbors``, ``min_dist``, ``metric``,
        ``knn``: ``"exact"`` or ``"approximate"``).

    Returns
    -------
    ndarray of shape (N, 2), float32
    """
    X = np.asarray(X, dtype=np.float64)
    merged = {**UMAP_DEFAULTS, **params}
    tell = stage or (lambda _text: None)

    def compute() -> dict[str, np.ndarray]:
        n = X.shape[0]
        if n <= 3:  # UMAP needs a few neighbours; tiny inputs get the PCA view
            return {"xy": pca_2d(X)}
        # a persistent numba cache makes umap's compilation a one-time cost per machine
        os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tell("loading umap (the first use on a machine compiles it)")
            import umap

            k = min(int(merged["n_neighbors"]), n - 1)  # type: ignore[call-overload]
            extra: dict[str, object] = {}
            if merged["knn"] == "exact" and 4096 <= n <= EXACT_KNN_MAX:  # below 4,096 umap is exact itself
                from sklearn.neighbors import NearestNeighbors

                tell(f"finding the {k} nearest neighbours of {n:,} items")
                dist, idx = (
                    NearestNeighbors(n_neighbors=k, metric=str(merged["metric"]), algorithm="brute")
                    .fit(X)
                    .kneighbors(X)
                )
                extra["precomputed_knn"] = (idx, dist, None)
            reducer = umap.UMAP(
                n_components=2,
                n_neighbors=k,
                min_dist=float(merged["min_dist"]),  # type: ignore[arg-type]
                metric=str(merged["metric"]),
                random_state=int(random_state),
                **extra,
            )
            tell(f"laying out {n:,} items")
            xy = reducer.fit_transform(X)
        return {"xy": np.asarray(xy, dtype=np.float32)}

    key = umap_key(X, random_state, **params)
    return np.asarray(cached_arrays(key, compute, enabled=cache)["xy"], dtype=np.float32)


def fingerprint(X: np.ndarray, rows: int = 64) -> str:
    """A digest of ``X`` that survives last-bit floating-point differences between machines.

    Uses ``rows`` evenly spaced rows rounded to 5 decimals, plus the shape.
    """
    X = np.asarray(X, dtype=np.float64)
    step = max(1, X.shape[0] // rows)
    sample = np.round(X[::step], 5).astype(np.float32) + np.float32(0.0)  # + 0.0 turns -0.0 into 0.0
    return array_digest(sample, np.asarray(X.shape, dtype=np.int64))


def shipped_embedding(path: PathLike, name: str, X_raw: np.ndarray) -> np.ndarray | None:
    """Precomputed coordinates ``name`` from a shipped ``.npz``, if they belong to ``X_raw``.

    Parameters
    ----------
    path : path
        The shipped file (e.g. ``data/umap_demo_HR.npz``). Entries: ``<name>`` (N x 2)
        and ``fp__<name>``, the :func:`fingerprint` of the *unpreprocessed* modality
        features they were computed from.
    name : str
        Entry name, ``"<preprocessing>__<modality>"``.
    X_raw : ndarray of shape (N, d)
        The modality's features as loaded (before preprocessing).

    Returns
    -------
    ndarray of shape (N, 2), float32, or None
        None when the file or entry is missing or the data differ (e.g. after the demo
        generator changed); the caller then computes the view.
    """
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            if name not in z.files or f"fp__{name}" not in z.files:
                return None
            if str(read_member(z.zip, f"fp__{name}", p.name)) != fingerprint(X_raw):
                return None
            xy = np.asarray(read_member(z.zip, name, p.name), dtype=np.float32)
    except (OSError, ValueError, EOFError):
        return None
    return xy if xy.shape == (np.asarray(X_raw).shape[0], 2) else None
