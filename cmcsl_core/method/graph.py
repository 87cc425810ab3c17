"""k-nearest-neighbour graphs of one modality, built once and kept (memory and disk).

The spreading labelers (:mod:`cmcsl_core.method.labelers.spreading`) propagate labels
over each modality's *symmetric* kNN graph: item ``i`` and ``j`` are linked when either
is among the other's ``k`` nearest neighbours (Euclidean, itself excluded), with weight 1.

How the neighbours are found
    exactly, by a blocked float32 matrix product and a float64 re-ranking of the few
    candidates it leaves (:func:`exact_knn`), up to :data:`EXACT_MAX_ITEMS` items; above that approximately with
    ``pynndescent`` (installed with ``umap-learn``), which builds a 25,000-item graph in
    seconds where the exact search needs minutes on two cores.
What is cached
    the neighbour lists of a matrix, in memory on the :class:`FeatureGraphs` that holds
    the matrix and on disk under :func:`cmcsl_core.cache.cache_dir`, keyed by a digest of
    the matrix's bytes, ``k`` and the search: a graph is built once per (data,
    preprocessing, fold) and every later seed change, curve or process reuses it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # imported where a graph is built: 75 ms that commands without graphs need not pay
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
        import scipy.sparse as sp
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
    import scipy.sparse as sp
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
"""Bytes of the float32 block of :func:`exact_knn` held at a time (large blocks keep BLAS efficient)."""

GROUP = 32
"""Columns per group whose minimum :func:`exact_knn` uses to bound each row's ``k``-th distance."""

RERANK_BYTES = 4 << 20
"""Bytes of candidate rows :func:`exact_knn` gathers at a time for the float64 re-ranking (a buffer reused:
fresh memory costs a page fault per 4 KB, more than the copy)."""

_U32 = 2.0**-24  # unit roundoff of float32


def exact_knn(X: np.ndarray, k: int = DEFAULT_K) -> KnnGraph:
    """The ``k`` nearest neighbours of every row of ``X`` (itself excluded), exactly, ties to the lower index.

    A float32 matrix product (BLAS, every core) gives, for a block of rows at a time,
    ``|s|^2 - 2 x.s`` for every other row ``s`` (the row's own ``|x|^2`` does not change its
    order): one product of ``[x, 1]`` with ``[-2 s, |s|^2]``. The columns fall into
    strided groups of :data:`GROUP`; the ``k``-th smallest group minimum ``t`` bounds the
    row's ``k``-th distance from above (the minima are ``k`` distinct items). With
    ``m``, a bound on the float32 error of any entry of the row (``(d + 6) u (2 |x| R + R^2)``,
    ``R`` the largest norm), every true ``k``-nearest neighbour has a float32 value
    ``<= t + 2 m``: only the few groups whose minimum lies below that are searched, and
    their candidates (usually ``k`` to ``k + 2``) are ranked by float64 distance (summed
    squared differences), then by index. So the result is exactly the brute-force neighbour
    list (tested), at the cost of one float32 product: no sort or partition of the n x n
    matrix. (The float32 pass runs on ``X`` scaled by a power of two, largest norm 0.5 .. 1.)
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    k = _check_k(k, n)
    xx = squared_norms(X)
    if not np.all(np.isfinite(xx)):
        raise CMCSLError("the features hold NaN or infinite values")
    ng = -(-n // GROUP)
    npad = ng * GROUP
    # scaled by a power of two (exact; the order of distances unchanged) so that float32 neither overflows
    # nor underflows: the largest norm becomes 0.5 .. 1
    norm_max = float(np.sqrt(xx.max()))
    scale = 2.0 ** -np.ceil(np.log2(norm_max)) if norm_max > 0 else 1.0
    Xs = X * scale
    xs = xx * scale * scale
    left = np.empty((n, d + 1), dtype=np.float32)
    left[:, :d] = Xs
    left[:, d] = 1.0
    right = np.zeros((npad, d + 1), dtype=np.float32)
    right[:n, :d] = Xs
    right[:n, :d] *= -2.0
    right[:n, d] = xs
    norms = np.sqrt(xs)
    top = float(norms.max())
    margin = 1.01 * (d + 6) * _U32 * (2.0 * norms * top + top * top)
    by_groups = ng >= k
    step = max(1, GRAPH_BLOCK_BYTES // (4 * npad))
    buf = np.empty((min(step, n), npad), dtype=np.float32)
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float64)
    offsets = ng * np.arange(GROUP)
    for a in range(0, n, step):
        b = min(a + step, n)
        rows = b - a
        D = np.matmul(left[a:b], right.T, out=buf[:rows])
        D[:, n:] = np.inf
        D[np.arange(rows), np.arange(a, b)] = np.inf
        if by_groups:  # column c is in group c % ng
            D3 = D.reshape(rows, GROUP, ng)
            gmin = D3.min(axis=1)
            t = np.partition(gmin, k - 1, axis=1)[:, k - 1]
        else:  # fewer groups than k: the row's own k-th value
            t = np.partition(D, k - 1, axis=1)[:, k - 1]
        limit = np.nextafter((t + 2.0 * margin[a:b]).astype(np.float32), np.float32(np.inf))
        if by_groups:
            gr, gg = np.nonzero(gmin <= limit[:, None])  # row-major: rows in order
            pr, ps = np.nonzero(D3[gr, :, gg] <= limit[gr, None])
            r_idx, c_idx = gr[pr], gg[pr] + offsets[ps]
        else:
            r_idx, c_idx = np.nonzero(D <= limit[:, None])
        _rerank(X, a, r_idx, c_idx, rows, k, indices, distances)
    return KnnGraph(indices, distances, "exact")


def _rerank(
    X: np.ndarray,
    a: int,
    r_idx: np.ndarray,
    c_idx: np.ndarray,
    rows: int,
    k: int,
    indices: np.ndarray,
    distances: np.ndarray,
) -> None:
    """Rows ``a + r_idx`` (non-decreasing) with candidates ``c_idx``.

    Keeps the ``k`` nearest by float64 distance, then index.
    """
    d = X.shape[1]
    counts = np.bincount(r_idx, minlength=rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    narrow = counts <= k + 2
    wide = np.flatnonzero(~narrow)
    parts = [(np.flatnonzero(narrow), k + 2)] + ([(wide, int(counts[wide].max()))] if wide.size else [])
    for members, width in parts:
        chunk = max(1, RERANK_BYTES // (8 * width * d))
        gathered = np.empty((min(chunk, members.size) * width, d))
        cols = np.arange(width)[None, :]
        for s in range(0, members.size, chunk):
            r = members[s : s + chunk]
            valid = cols < counts[r, None]
            cand = c_idx[np.where(valid, starts[r, None] + cols, starts[r, None])]
            G = np.take(X, cand.ravel(), axis=0, out=gathered[: cand.size]).reshape(r.size, width, d)
            np.subtract(G, X[a + r, None, :], out=G)  # differences, not |x|^2 - 2 x.s + |s|^2: no cancellation
            d2 = np.where(valid, np.einsum("rwd,rwd->rw", G, G), np.inf)
            order = np.lexsort((cand, d2), axis=1)[:, :k]
            indices[a + r] = np.take_along_axis(cand, order, axis=1)
            distances[a + r] = np.sqrt(np.take_along_axis(d2, order, axis=1))


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


def knn_graph(
    X: np.ndarray, k: int = DEFAULT_K, exact_max_items: int = EXACT_MAX_ITEMS, cache: bool = True
) -> KnnGraph:
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
        self._lock = threading.Lock()  # guards the dicts; sessions of the app share one object
        self._building: dict[tuple[int, int], threading.Lock] = {}  # one per graph: each is built once

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
            if key in self._graphs:
                return self._graphs[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # another thread building the same graph: wait for it
            with self._lock:
                if key in self._graphs:
                    return self._graphs[key]
            g = knn_graph(self.X[m], key[1], cache=self.cache)
            g.spreading()
            with self._lock:
                self._graphs[key] = g
            return g

    def build(self, k: int | None = None) -> None:
        """Every modality's graph; those not built yet side by side, a thread each (the float32 products and
        the re-ranking of two modalities overlap on two cores)."""
        kk = self.k if k is None else int(k)
        with self._lock:
            missing = [m for m in range(self.n_modalities) if (m, kk) not in self._graphs]
        if len(missing) < 2:
            for m in missing:
                self.graph(m, kk)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1)) as pool:
            list(pool.map(lambda m: self.graph(m, kk), missing))

    def spreading(self, m: int, k: int | None = None) -> sp.csr_matrix:
        """Modality ``m``'s normalised spreading matrix (:meth:`KnnGraph.spreading`)."""
        return self.graph(m, k).spreading()
