"""UMAP in the background: one worker process at a time, shared by all sessions.

The app never waits for UMAP. :func:`request` queues a view (its cache key and the
preprocessed features); a spawned process runs :func:`cmcsl_core.views.embedding.umap_2d`,
which writes the result into the on-disk cache, where :func:`status` finds it.
A separate process (not a thread) keeps the app responsive on small machines.
No Streamlit import here: the worker process imports this module.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import OrderedDict

import numpy as np

from cmcsl_core.views.embedding import cached_umap, umap_2d

__all__ = ["request", "status"]

_lock = threading.Lock()
_pending: "OrderedDict[str, tuple[np.ndarray, int]]" = OrderedDict()
_running: dict[str, mp.process.BaseProcess] = {}
_failed: set[str] = set()


def _work(X: np.ndarray, random_state: int) -> None:
    """Worker process body: compute (and cache) one UMAP view, politely (low priority, one thread)."""
    import os

    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # leave a core to the app (read when numba is imported)
    try:
        os.nice(10)
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    umap_2d(X, random_state)


def _start_next() -> None:
    """Start the oldest pending job if no worker is running (call with the lock held)."""
    for key, proc in list(_running.items()):
        if proc.is_alive():
            return
        proc.join(timeout=0)
        if proc.exitcode != 0 or cached_umap(key) is None:
            _failed.add(key)
        del _running[key]
    while _pending:
        key, (X, rs) = _pending.popitem(last=False)
        if cached_umap(key) is not None:
            continue
        proc = mp.get_context("spawn").Process(target=_work, args=(X, rs), daemon=True, name=f"umap-{key}")
        proc.start()
        _running[key] = proc
        return


def request(key: str, X: np.ndarray, random_state: int) -> None:
    """Queue the UMAP view ``key`` of ``X`` unless it is cached, queued, running or failed."""
    with _lock:
        if key in _running or key in _pending or key in _failed or cached_umap(key) is not None:
            _start_next()
            return
        _pending[key] = (X, int(random_state))
        _start_next()


def status(key: str) -> str:
    """``"ready"``, ``"running"``, ``"queued"``, ``"failed"`` or ``"unknown"`` for the view ``key``."""
    if cached_umap(key) is not None:
        return "ready"
    with _lock:
        _start_next()
        if key in _running:
            return "running"
        if key in _pending:
            return "queued"
        if key in _failed:
            return "failed"
    return "unknown"

