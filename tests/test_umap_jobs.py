"""UMAP's background worker: a plain process (no Streamlit, no page run again), reaped, reporting its stage."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cmcsl_core.views.embedding import cached_umap, pca_2d, umap_key
from cmcsl_core.views.umap_job import read_status, run_jobs, status_path, write_job


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))


def test_the_worker_imports_no_streamlit() -> None:
    code = (
        "import sys, cmcsl_core.views.umap_job, cmcsl_studio_ui.jobs; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.strip() == "[]"


def test_run_jobs_writes_the_view_reports_and_removes_the_job(tmp_path: Path) -> None:
    X = np.arange(6, dtype=float).reshape(3, 2)  # tiny: the PCA view, no umap import
    job = write_job(tmp_path / "a.npz", X, 7)
    broken = tmp_path / "b.npz"
    broken.write_bytes(b"not a job")
    assert run_jobs([broken, job]) == 1
    assert not job.exists() and read_status(job)["done"] is True
    assert read_status(broken)["stage"] == "failed" and "b.npz" not in str(read_status(job))
    np.testing.assert_allclose(cached_umap(umap_key(X, 7)), pca_2d(X))
    assert status_path(job).name == "a.status.json"


def _zombies(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "Z" in line.split()[-1]]


def test_a_requested_view_is_computed_by_one_worker_and_no_zombie_is_left() -> None:
    from cmcsl_studio_ui import jobs

    views = [np.random.default_rng(k).normal(size=(3, 4)) for k in range(2)]
    keys = [umap_key(X, 5) for X in views]
    for key, X in zip(keys, views):
        jobs.request(key, X, 5)
    assert {jobs.status(k) for k in keys} <= {"queued", "running", "ready"}
    deadline = time.monotonic() + 60
    while any(jobs.status(k) != "ready" for k in keys) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [jobs.status(k) for k in keys] == ["ready", "ready"]
    while jobs._worker is not None and time.monotonic() < deadline:  # the reaper thread joins it
        time.sleep(0.05)
    assert jobs._worker is None and _zombies(os.getpid()) == []
    assert jobs.progress(keys[0]) is None
    # a job that cannot be computed: failed, not retried, not a zombie
    bad = "umap2d-not-a-key"
    with jobs._lock:
        jobs._pending[bad] = jobs._job_path(bad)
        jobs._pending[bad].parent.mkdir(parents=True, exist_ok=True)
        jobs._pending[bad].write_bytes(b"garbage")
        jobs._start_next()
    while jobs.status(bad) != "failed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs.status(bad) == "failed" and _zombies(os.getpid()) == []
