"""k-nearest-neighbour graphs of one modality, built once and kept (memory and disk).

The spreading labelers (:mod:`cmcsl_core.method.labelers.spreading`) propagate labels
over each modality's *symmetric* kNN graph: item ``i`` and ``j`` are linked when either
is among the other's ``k`` nearest neighbours (Euclidean, itself excluded), with weight 1.

How the neighbours are found
    exactly, by blocked matrix products (``|x|^2 - 2 x.s + |s|^2``, a few MB of rows at a
    time), up to :data:`EXACT_MAX_ITEMS` items; above that approximately with
    ``pynndescent`` (installed with ``umap-learn``), which builds a 25,000-item graph in
    seconds where the exact search needs minutes on two cores.
What is cached
    the neighbour lists of a matrix, in memory on the :class:`FeatureGraphs` that holds
    the matrix and on disk under :func:`cmcsl_core.cache.cache_dir`, keyed by a digest of
    the matrix's bytes, ``k`` and the search: a graph is built once per (data,
    preprocessing, fold) and every later seed change, curve or process reuses it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from cmcsl_core.cache import array_digest, cache_key, cached_arrays
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labeling import squared_norms

__all__ = [
    "DEFAULT_K",
    "EXACT_MAX_ITEMS",
    "KnnGraph",
    "exact_knn",
    "approximate_knn",
    "knn_graph",
    "spreading_matrix",
    "FeatureGraphs",
]

DEFAULT_K: int = 10
"""Neighbours per item of the spreading graphs (Zhou et al.'s and scikit-learn's ``n_neighbors`` is 7; 10 here)."""

EXACT_MAX_ITEMS: int = 20_000
"""Largest number of items whose neighbours are searched exactly; above, ``pynndescent``."""


@dataclass(frozen=True)
class KnnGraph:
    """The ``k`` nearest neighbours of every item of one modality.

    Attributes
    ----------
    indices : ndarray of shape (N, k), int
        Neighbours of each item, nearest first (the item itself excluded).
    distances : ndarray of shape (N, k), float
        Their Euclidean distances.
    method : {"exact", "pynndescent"}
        How they were found.
    """

    indices: np.ndarray
    distances: np.ndarray
    method: str = "exact"
    _spreading: list[sp.csr_matrix] = field(default_factory=list, repr=False, compare=False)

    @property
    def n_items(self) -> int:
        """Number of items N."""
        return int(self.indices.shape[0])

    @property
    def k(self) -> int:
        """Neighbours per item."""
        return int(self.indices.shape[1])

    def adjacency(self) -> sp.csr_matrix:
        """The symmetric 0/1 adjacency ``W = A or A^T`` (no self-loops), CSR."""
        n, k = self.indices.shape
        rows = np.repeat(np.arange(n, dtype=np.int64), k)
        cols = self.indices.ravel().astype(np.int64)
        keep = rows != cols  # an approximate search may list an item as its own neighbour
        A = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
        W = A.maximum(A.T).tocsr()
        W.sort_indices()
        return W

    def spreading(self) -> sp.csr_matrix:
        """``S = D^-1/2 W D^-1/2`` of :meth:`adjacency` (made once per graph, then kept)."""
        if not self._spreading:
            self._spreading.append(spreading_matrix(self.adjacency()))
        return self._spreading[0]


def spreading_matrix(W: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    """The normalised affinity that label spreading multiplies by: ``D^-1/2 W D^-1/2`` with a zero diagonal.

    Exactly what :class:`sklearn.semi_supervised.LabelSpreading` builds from an affinity
    matrix (the negated normalised Laplacian of :func:`scipy.sparse.csgraph.laplacian`,
    diagonal set to 0): ``D`` holds the column sums without the diagonal (the in-degrees
    without self-loops; for a symmetric ``W`` the degrees), a zero degree counts as 1.
    """
    W = sp.csr_matrix(W, dtype=np.float64)
    deg = np.asarray(W.sum(axis=0)).ravel() - W.diagonal()
    w = np.sqrt(np.where(deg > 0, deg, 1.0))
    inv = 1.0 / w
    S = sp.csr_matrix(sp.diags(inv) @ W @ sp.diags(inv))
    S.setdiag(0.0)
    S.eliminate_zeros()
    S.sort_indices()
    return S


GRAPH_BLOCK_BYTES = 32 << 20
"""Bytes of the float32 distance block :func:`exact_knn` holds at a time (large blocks keep BLAS efficient)."""

RERANK_EXTRA = 8
"""Candidates beyond ``k`` that :func:`exact_knn` re-ranks in float64 per item."""


def exact_knn(X: np.ndarray, k: int = DEFAULT_K) -> KnnGraph:
    """The ``k`` nearest neighbours of every row of ``X`` (itself excluded), by blocked matrix products.

    A float32 pass (``|x|^2 - 2 x.s + |s|^2``, :data:`GRAPH_BLOCK_BYTES` at a time) keeps
    the ``k +`` :data:`RERANK_EXTRA` nearest candidates of each row; their distances are
    recomputed exactly in float64 and the ``k`` nearest kept (ties to the lower row
    index). So the result is the exact neighbour list unless float32 rounding pushed a
    true neighbour beyond ``k + 8`` candidates.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    k = _check_k(k, n)
    kc = min(k + RERANK_EXTRA, n - 1)
    X32 = X.astype(np.float32)
    xx32 = squared_norms(X32)
    xx = squared_norms(X)
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float64)
    step = max(1, GRAPH_BLOCK_BYTES // (4 * n))
    buf = np.empty((min(step, n), n), dtype=np.float32)
    for a in range(0, n, step):
        b = min(a + step, n)
        d2 = np.matmul(X32[a:b], X32.T, out=buf[: b - a])
        d2 *= -2.0
        d2 += xx32[None, :]
        d2 += xx32[a:b, None]
        d2[np.arange(b - a), np.arange(a, b)] = np.inf
        cand = np.argpartition(d2, kc - 1, axis=1)[:, :kc] if kc < n else np.argsort(d2, axis=1)[:, :kc]
        for r in range(0, b - a, 256):  # exact float64 distances of the candidates, a few rows at a time
            rows = np.arange(a + r, min(a + r + 256, b))
            c = cand[r : r + rows.size]
            dot = np.einsum("id,ijd->ij", X[rows], X[c])
            exact = np.maximum(xx[rows, None] - 2.0 * dot + xx[c], 0.0)
            order = np.lexsort((c, exact), axis=1)[:, :k]  # by distance, then by index
            indices[rows] = np.take_along_axis(c, order, axis=1)
            distances[rows] = np.sqrt(np.take_along_axis(exact, order, axis=1))
    return KnnGraph(indices, distances, "exact")


def approximate_knn(X: np.ndarray, k: int = DEFAULT_K, random_state: int = 0) -> KnnGraph:
    """Approximate neighbours by nearest-neighbour descent (``pynndescent``), itself excluded."""
    try:
        from pynndescent import NNDescent
    except ImportError:  # pragma: no cover - installed with umap-learn
        raise CMCSLError("pynndescent is needed for kNN graphs of more than "
                         f"{EXACT_MAX_ITEMS:,} items: pip install pynndescent") from None
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    k = _check_k(k, n)
    index = NNDescent(X, n_neighbors=k + 1, metric="euclidean", random_state=random_state, n_jobs=1)
    idx, dist = index.neighbor_graph
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float64)
    for i in range(n):  # drop the item itself (usually first), keep the k nearest others
        own = idx[i] != i
        indices[i] = idx[i][own][:k]
        distances[i] = dist[i][own][:k]
    return KnnGraph(indices, distances, "pynndescent")


def _check_k(k: int, n: int) -> int:
    k = int(k)
    if k < 1:
        raise CMCSLError(f"the kNN graph needs k >= 1 neighbours, got {k}")
    if n < 2:
        raise CMCSLError("a kNN graph needs at least 2 items")
    return min(k, n - 1)


def knn_graph(X: np.ndarray, k: int = DEFAULT_K, exact_max_items: int = EXACT_MAX_ITEMS, cache: bool = True) -> KnnGraph:
    """The kNN graph of ``X``: exact up to ``exact_max_items`` items, else ``pynndescent``; cached on disk.

    Parameters
    ----------
    X : ndarray of shape (N, d)
        The (preprocessed) features of one modality.
    k : int
        Neighbours per item (at most N - 1).
    exact_max_items : int
        Above this many items the search is approximate.
    cache : bool
        Read and write the disk cache (keyed by a digest of ``X``, ``k`` and the search).
    """
    X = np.asarray(X, dtype=np.float64)
    exact = X.shape[0] <= exact_max_items
    method = "exact" if exact else "pynndescent"

    def compute() -> dict[str, np.ndarray]:
        g = exact_knn(X, k) if exact else approximate_knn(X, k)
        return {"indices": g.indices, "distances": g.distances}

    key = cache_key("knn", digest=array_digest(X), k=int(k), method=method) if cache else ""
    arrays = cached_arrays(key, compute, enabled=cache)
    return KnnGraph(arrays["indices"], arrays["distances"], method)


class FeatureGraphs:
    """Preprocessed features of every modality, with each modality's kNN graph built on first use and kept.

    One object per (data, preprocessing, fold): the app keeps it per data set and
    preprocessing, a curve fold per fold, so a seed change never rebuilds a graph.

    Parameters
    ----------
    X_list : sequence of ndarray of shape (N, d_m)
        The preprocessed features.
    k : int
        Neighbours per item.
    cache : bool
        Use the disk cache (see :func:`knn_graph`).
    """

    def __init__(self, X_list: Sequence[np.ndarray], k: int = DEFAULT_K, cache: bool = True) -> None:
        self.X = tuple(X_list)
        self.k = int(k)
        self.cache = cache
        self._graphs: dict[tuple[int, int], KnnGraph] = {}
        self._lock = threading.Lock()  # sessions of the app share one object: build each graph once

    @property
    def n_items(self) -> int:
        """Number of items N."""
        return int(self.X[0].shape[0])

    @property
    def n_modalities(self) -> int:
        """Number of modalities M."""
        return len(self.X)

    def graph(self, m: int, k: int | None = None) -> KnnGraph:
        """Modality ``m``'s graph with ``k`` neighbours (default :attr:`k`), built or read from disk on first use."""
        key = (int(m), self.k if k is None else int(k))
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = knn_graph(self.X[m], key[1], cache=self.cache)
                self._graphs[key].spreading()
            return self._graphs[key]

    def spreading(self, m: int, k: int | None = None) -> sp.csr_matrix:
        """Modality ``m``'s normalised spreading matrix (:meth:`KnnGraph.spreading`)."""
        return self.graph(m, k).spreading()
