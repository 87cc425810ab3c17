"""The compiled step of label spreading (numba), imported only when spreading runs.

One pass over the rows of the CSR graph computes ``alpha * S F + static`` for every
column and, in the same pass, each column's summed absolute change, so a step reads the
graph and the label matrix once and allocates nothing. Compiled on first use and cached
on disk by numba (``cache=True``; ``$NUMBA_CACHE_DIR``); ``nogil`` lets the folds of a curve
spread side by side in threads. :mod:`cmcsl_core.method.spreading` falls back to NumPy and
SciPy when numba is missing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["spread_step"]


@njit(cache=True, nogil=True)
def spread_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    F: np.ndarray,
    static: np.ndarray,
    alpha: float,
    active: np.ndarray,
    out: np.ndarray,
    change: np.ndarray,
) -> None:  # pragma: no cover - compiled (its results are tested against scikit-learn)
    """``out = alpha * S @ F + static`` on the ``active`` columns (the others copied), ``change[q] = sum |out - F|``."""
    n, c = F.shape
    for q in range(c):
        change[q] = 0.0
    for i in range(n):
        for q in range(c):
            out[i, q] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            w = data[p]
            for q in range(c):
                out[i, q] += w * F[j, q]
        for q in range(c):
            if active[q]:
                v = alpha * out[i, q] + static[i, q]
                out[i, q] = v
                change[q] += abs(v - F[i, q])
            else:
                out[i, q] = F[i, q]
