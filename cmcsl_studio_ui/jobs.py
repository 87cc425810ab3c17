"""UMAP in the background: one worker process at a time, shared by all sessions.

The app never waits for UMAP. :func:`request` queues a view (its cache key and the
preprocessed features, written to a job file); a worker process
(``python -m cmcsl_core.views.umap_job``) computes every view queued so far in turn, so
umap is imported and compiled once for them, and writes each into the on-disk cache,
where :func:`status` finds it. :func:`progress` says what the worker is doing.

A plain subprocess, not ``multiprocessing``: a spawned ``multiprocessing`` child runs the
parent's ``__main__`` again, which under ``streamlit run`` is the page that started it (the
page then ran in the worker, flooding the server's log with "missing ScriptRunContext").
A thread per worker waits for it, so no finished worker is left a zombie. No Streamlit
import here.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from cmcsl_core.cache import cache_dir
from cmcsl_core.views.embedding import cached_umap
from cmcsl_core.views.umap_job import read_status, write_job

__all__ = ["request", "request_many", "status", "progress", "JOBS_DIR"]

JOBS_DIR = "umap-jobs"
"""Folder (in the cache folder) of the job files and their progress reports."""

_lock = threading.Lock()
_pending: "OrderedDict[str, Path]" = OrderedDict()
_running: dict[str, Path] = {}
_worker: subprocess.Popen[bytes] | None = None
_failed: set[str] = set()


def _job_path(key: str) -> Path:
    # one folder per server process: two servers sharing a cache folder never take each other's jobs
    name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    return cache_dir() / JOBS_DIR / str(os.getpid()) / f"{name}.npz"


def _wait(proc: subprocess.Popen[bytes], keys: list[str]) -> None:
    """Thread body: reap the worker when it ends, note the views it could not make, start the next."""
    proc.wait()
    global _worker
    with _lock:
        for key in keys:
            job = _running.pop(key, None)
            if cached_umap(key) is None:
                _failed.add(key)
            if job is not None:
                job.unlink(missing_ok=True)
        if _worker is proc:
            _worker = None
        _start_next()


def _start_next() -> None:
    """Start a worker for every pending job if none is running (call with the lock held)."""
    global _worker
    if _worker is not None or not _pending:
        return
    batch = [(k, j) for k, j in _pending.items() if cached_umap(k) is None]
    _pending.clear()
    if not batch:
        return
    log = open(batch[0][1].with_suffix(".log"), "wb")  # the worker's own output stays out of the server's log
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmcsl_core.views.umap_job", *(str(j) for _, j in batch)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, close_fds=True,
    )
    log.close()
    _worker = proc
    _running.update(batch)
    threading.Thread(target=_wait, args=(proc, [k for k, _ in batch]), daemon=True, name="umap-reaper").start()


def request(key: str, X: np.ndarray, random_state: int) -> None:
    """Queue the UMAP view ``key`` of ``X`` unless it is cached, queued, running or failed."""
    request_many([(key, X, random_state)])


def request_many(views: list[tuple[str, np.ndarray, int]]) -> None:
    """Queue several views at once (one worker computes them all: umap is loaded once)."""
    with _lock:
        for key, X, random_state in views:
            if key in _running or key in _pending or key in _failed or cached_umap(key) is not None:
                continue
            _pending[key] = write_job(_job_path(key), X, int(random_state))
        _start_next()


def status(key: str) -> str:
    """``"ready"``, ``"running"``, ``"queued"``, ``"failed"`` or ``"unknown"`` for the view ``key``."""
    if cached_umap(key) is not None:
        return "ready"
    with _lock:
        if key in _running:
            report = read_status(_running[key])
            return "running" if report is not None and not report.get("done") else "queued"
        if key in _pending:
            return "queued"
        if key in _failed:
            return "failed"
    return "unknown"


def progress(key: str) -> str | None:
    """What the worker does for the view ``key`` now, and for how long (None when it is not running)."""
    with _lock:
        job = _running.get(key)
    report = read_status(job) if job is not None else None
    if not report or report.get("done"):
        return None
    elapsed = time.time() - float(report.get("started", time.time()))  # type: ignore[arg-type]
    return f"{report.get('stage', 'starting')} ({elapsed:.0f} s so far)"
