"""UMAP views computed in a separate process: ``python -m cmcsl_core.views.umap_job JOB.npz [JOB.npz ...]``.

A job file holds ``X`` (the preprocessed features) and ``random_state``; the process
computes every job's view in turn with :func:`~cmcsl_core.views.embedding.umap_2d` (which
stores it in the cache), so umap is imported and compiled once for all the views queued
together. It runs at low priority with one numba thread, writes what it is doing to
``<job>.status.json`` (``{"stage", "since", "started", "done", "error"}``) for the app to
show, and deletes each job file when its view is done. It imports nothing of Streamlit or
of the app's pages (a worker started with ``multiprocessing`` would run the page that
started it again, in the worker).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from cmcsl_core.fileio import write_atomically

__all__ = ["status_path", "write_job", "read_status", "run_jobs", "main"]


def status_path(job: Path) -> Path:
    """Where the job ``job`` reports its progress."""
    return job.with_name(job.name.replace(".npz", "") + ".status.json")


def write_job(job: Path, X: np.ndarray, random_state: int) -> Path:
    """Write a job file (atomically) for :func:`run_jobs`."""
    job.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(job, lambda fh: np.savez(fh, X=np.asarray(X), random_state=np.int64(random_state)))
    return job


def read_status(job: Path) -> dict[str, object] | None:
    """The job's last progress report, or None (not started, or unreadable)."""
    try:
        return dict(json.loads(status_path(job).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _stage(job: Path, started: float, text: str) -> None:
    _report(job, started, stage=text)


def _report(job: Path, started: float, **fields: object) -> None:
    data = {"started": started, "since": time.time(), **fields}
    text = json.dumps(data).encode()
    try:
        write_atomically(status_path(job), lambda fh: fh.write(text))
    except OSError:  # progress is a courtesy: never fail the view for it
        pass


def run_jobs(jobs: list[Path]) -> int:
    """Compute the view of every job (in order); returns the number that failed."""
    from cmcsl_core.views.embedding import umap_2d

    failed = 0
    for job in jobs:
        started = time.time()
        try:
            with np.load(job, allow_pickle=False) as z:
                X, random_state = np.asarray(z["X"]), int(z["random_state"])
            umap_2d(X, random_state, stage=functools.partial(_stage, job, started))
        except Exception as exc:  # one bad view must not stop the others; the app shows "failed"
            failed += 1
            _report(job, started, stage="failed", error=f"{type(exc).__name__}: {exc}")
            continue
        _report(job, started, stage="done", done=True)
        job.unlink(missing_ok=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process (low priority, one numba thread)."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # leave a core to the app
    try:
        os.nice(10)
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        pass
    jobs = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    return 1 if run_jobs(jobs) else 0


if __name__ == "__main__":  # pragma: no cover - run as a process by cmcsl_studio_ui.jobs
    raise SystemExit(main())
