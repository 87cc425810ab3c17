"""The paper's whole study as a resumable grid of curve folds, on joblib (loky) or Dask.

One *task* is one ``(subset, classifier, preprocessing, fold)``: the rows
:func:`~cmcsl_core.evaluation.folds.evaluate_fold` computes for that fold, for all
methods and b_class values. ``DIR/results.csv`` holds the curve columns plus
``subset, classifier, preprocessing``; every finished task is appended as one block
(write + flush + fsync), and then logged in ``DIR/tasks.log`` together with the byte
size results.csv has after the block. On a rerun with the same ``DIR`` the log tells
which tasks are complete: results.csv is truncated to the size after the last logged
task (dropping a block torn by a kill), a torn last log line is dropped, and only
the missing tasks run. So an interrupted or killed run resumes where it stopped and
never duplicates a row. ``DIR/grid.json`` records the settings; a rerun with
different settings (other methods, b values, repeats, ...) is refused, while more
subsets, classifiers or preprocessings just add tasks.

Backends: ``loky`` (joblib processes, ``jobs`` workers) or ``dask``
(``dask.distributed``: ``scheduler="local"`` starts a ``LocalCluster`` of ``jobs``
single-threaded worker processes, an address such as ``tcp://host:8786`` connects to
a running scheduler). With Dask each subset's FeatureSet is scattered to the workers
once. Every task is computed by the same function with one BLAS thread, so the
results are identical whatever the backend or the order of completion.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from cmcsl_core.constants import (
    B_VALUES,
    DEFAULT_CLASS_WEIGHTS,
    DEFAULT_METHODS,
    RANDOM_STATE,
    REPEATS,
)
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = [
    "GRID_KEYS",
    "GRID_COLUMNS",
    "BACKENDS",
    "GridSpec",
    "GridTask",
    "GridRun",
    "run_grid",
    "read_results",
    "completed_tasks",
]

GRID_KEYS: tuple[str, ...] = ("subset", "classifier", "preprocessing")
"""Columns that say which grid cell a row belongs to."""

GRID_COLUMNS: tuple[str, ...] = ("method", "modality", "b_class", "fold", "bac", *GRID_KEYS)
"""Columns of ``results.csv``: the curve columns, then the grid keys."""

BACKENDS: tuple[str, ...] = ("loky", "dask")

RESULTS = "results.csv"
LOG = "tasks.log"
SETTINGS = "grid.json"


@dataclass(frozen=True)
class GridTask:
    """One unit of work: one CV fold of one (subset, classifier, preprocessing) curve."""

    subset: str
    classifier: str
    preprocessing: str
    fold: int

    @property
    def key(self) -> str:
        """``subset,classifier,preprocessing,fold`` (as in tasks.log)."""
        return f"{self.subset},{self.classifier},{self.preprocessing},{self.fold}"


@dataclass(frozen=True)
class GridSpec:
    """What a grid computes.

    Parameters
    ----------
    source : str
        Data source name (demo, hdf5, w4k2, ...).
    subsets : tuple of str
        Paper subset names (or genre lists).
    path : str or None
        The source's file or folder.
    methods, b_values, repeats, random_state, class_weights
        As in :class:`~cmcsl_core.evaluation.config.CurveConfig`.
    classifiers, preprocessings : tuple of str
        The grid's other two axes.
    label_quality : bool
        Also the label-quality rows (modality ``labels``) of CMCSL and the labeler methods.
    """

    source: str = "demo"
    subsets: tuple[str, ...] = ("HR",)
    path: str | None = None
    methods: tuple[str, ...] = DEFAULT_METHODS
    classifiers: tuple[str, ...] = ("gnb",)
    preprocessings: tuple[str, ...] = ("l2std",)
    b_values: tuple[int, ...] = B_VALUES
    repeats: int = REPEATS
    random_state: int = RANDOM_STATE
    class_weights: str = DEFAULT_CLASS_WEIGHTS
    label_quality: bool = False

    def validated(self) -> "GridSpec":
        """Canonical names; CMCSLError for bad values or empty axes."""
        from cmcsl_core.evaluation.config import CurveConfig
        from cmcsl_core.method.preprocessing import check_preprocessing
        from cmcsl_core.models.base import check_classifier

        if not self.subsets or not self.classifiers or not self.preprocessings:
            raise CMCSLError("a grid needs at least one subset, classifier and preprocessing")
        source = str(self.source).strip().lower()
        base = CurveConfig(
            methods=tuple(self.methods),
            b_values=tuple(self.b_values),
            repeats=self.repeats,
            random_state=self.random_state,
            class_weights=self.class_weights,
        ).validated()
        return GridSpec(
            source=source,
            subsets=resolve_subsets(source, self.subsets),
            path=None if self.path in (None, "") else str(self.path),
            methods=base.methods,
            classifiers=tuple(dict.fromkeys(check_classifier(c) for c in self.classifiers)),
            preprocessings=tuple(dict.fromkeys(check_preprocessing(p) for p in self.preprocessings)),
            b_values=base.b_values,
            repeats=base.repeats,
            random_state=base.random_state,
            class_weights=base.class_weights,
            label_quality=bool(self.label_quality),
        )

    def curve_config(self, classifier: str, preprocessing: str) -> Any:
        """The CurveConfig of one grid cell."""
        from cmcsl_core.evaluation.config import CurveConfig

        return CurveConfig(
            methods=self.methods,
            classifier=classifier,
            preprocessing=preprocessing,
            b_values=self.b_values,
            repeats=self.repeats,
            random_state=self.random_state,
            class_weights=self.class_weights,
            label_quality=self.label_quality,
        ).validated()

    def tasks(self) -> list[GridTask]:
        """Every task, subset-major (so one subset's data is needed by a contiguous run)."""
        return [
            GridTask(s, c, p, f)
            for s in self.subsets
            for c in self.classifiers
            for p in self.preprocessings
            for f in range(2 * self.repeats)
        ]

    def fixed_settings(self) -> dict[str, object]:
        """Settings that must not change between a run and its resumption."""
        d = asdict(self)
        for axis in ("subsets", "classifiers", "preprocessings"):
            d.pop(axis)
        if not d["label_quality"]:  # grids written before the flag existed resume as before
            d.pop("label_quality")
        return json.loads(json.dumps(d))


@dataclass(frozen=True)
class GridRun:
    """What :func:`run_grid` did."""

    directory: Path
    n_tasks: int
    n_skipped: int
    n_run: int
    results: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", self.directory / RESULTS)


ALL_SUBSETS = "all"
"""The ``subsets`` entry that stands for every paper subset (or the whole file of a source without subsets)."""


def resolve_subsets(source: str, subsets: Sequence[str]) -> tuple[str, ...]:
    """The subsets a grid on ``source`` runs: ``all`` expanded, duplicates dropped.

    A source without subsets (``mvsa``, ``table``, ...) runs one "subset", the whole
    file, named by the source: ``all`` (or the source's name) gives ``(source,)``.

    Raises
    ------
    CMCSLError
        An unknown source, or subset names for a source that has none.
    """
    from cmcsl_core.datasets.sources import source_info

    info = source_info(source)
    names = tuple(dict.fromkeys(str(s).strip() for s in subsets if str(s).strip()))
    if not info.has_subset:
        if all(n.lower() in (ALL_SUBSETS, info.name) for n in names):
            return (info.name,)
        raise CMCSLError(
            f"source {info.name!r} has no subsets; use --subsets {ALL_SUBSETS} "
            f"(the whole file runs as one subset named {info.name!r})"
        )
    from cmcsl_core.datasets.subsets import load_subsets, resolve_subset

    if any(n.lower() == ALL_SUBSETS for n in names):
        return tuple(load_subsets())
    for name in names:
        resolve_subset(name)  # an unknown subset or genre fails here, before any file is written
    return names


def _load_subset(spec: GridSpec, subset: str) -> FeatureSet:
    from cmcsl_core.datasets.sources import load_source, source_info

    if not source_info(spec.source).has_subset:  # one "subset": the whole file
        return load_source(spec.source, None, path=spec.path)
    return load_source(spec.source, subset, path=spec.path)


@lru_cache(maxsize=4)
def _splits(y_bytes: bytes, n: int, repeats: int, random_state: int) -> list[tuple[Any, Any]]:
    import numpy as np

    from cmcsl_core.evaluation.splits import cv_splits

    y = np.frombuffer(y_bytes, dtype=np.int64, count=n)
    return cv_splits(y, repeats, random_state)


def evaluate_task(fs: FeatureSet, spec: GridSpec, task: GridTask) -> tuple[GridTask, list[tuple[object, ...]]]:
    """All result rows of one task (one BLAS thread), grid keys appended."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from cmcsl_core.evaluation.folds import evaluate_fold

    config = spec.curve_config(task.classifier, task.preprocessing)
    y = np.ascontiguousarray(fs.y, dtype=np.int64)
    tr, te = _splits(y.tobytes(), y.size, config.repeats, config.random_state)[task.fold]
    with threadpool_limits(limits=1):
        rows = evaluate_fold(fs, task.fold, tr, te, config)
    return task, [(*row, task.subset, task.classifier, task.preprocessing) for row in rows]


def _format_block(rows: Sequence[tuple[object, ...]]) -> bytes:
    lines = []
    for method, modality, b, fold, bac, subset, classifier, prep in rows:
        lines.append(f"{method},{modality},{b},{fold},{float(bac):.6f},{subset},{classifier},{prep}\n")  # type: ignore[arg-type]
    return "".join(lines).encode()


def completed_tasks(directory: PathLike) -> tuple[set[str], int]:
    """Keys of the complete tasks in ``directory`` and the size of results.csv after the last one.

    Repairs a torn tail: a partial last line of tasks.log is cut off, and results.csv
    is truncated to the size logged after the last complete task.
    """
    d = Path(directory)
    log, res = d / LOG, d / RESULTS
    header = (",".join(GRID_COLUMNS) + "\n").encode()
    done: set[str] = set()
    size = len(header)
    if log.is_file():
        data = log.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            with open(log, "r+b") as fh:
                fh.truncate(keep)
        for line in data[:keep].decode().splitlines():
            *key, end = line.split(",")
            done.add(",".join(key))
            size = max(size, int(end))
    if not res.is_file() or res.stat().st_size < len(header) or res.read_bytes()[: len(header)] != header:
        if done:
            raise CMCSLError(f"{res} is missing or damaged but {log} lists finished tasks; use a new --out")
        with open(res, "wb") as fh:
            fh.write(header)
            fh.flush()
            os.fsync(fh.fileno())
        return done, len(header)
    if res.stat().st_size > size:
        with open(res, "r+b") as fh:
            fh.truncate(size)
    elif res.stat().st_size < size:
        raise CMCSLError(f"{res} is shorter than {log} says; the directory is damaged, use a new --out")
    return done, size


def _check_settings(d: Path, spec: GridSpec) -> None:
    path = d / SETTINGS
    fixed = spec.fixed_settings()
    if path.is_file():
        old = json.loads(path.read_text())
        if old != fixed:
            changed = sorted(k for k in set(old) | set(fixed) if old.get(k) != fixed.get(k))
            raise CMCSLError(
                f"{d} holds a grid with other settings ({', '.join(changed)}); use another --out to start a new one"
            )
        return
    from cmcsl_core.fileio import write_atomically

    data = json.dumps(fixed, indent=2).encode()
    write_atomically(path, lambda fh: fh.write(data))


def _loky_results(
    spec: GridSpec, todo: list[GridTask], jobs: int
) -> Iterator[tuple[GridTask, list[tuple[object, ...]]]]:
    subsets = list(dict.fromkeys(t.subset for t in todo))
    if jobs == 1:
        for s in subsets:
            fs = _load_subset(spec, s)
            for t in todo:
                if t.subset == s:
                    yield evaluate_task(fs, spec, t)
        return
    from joblib import Parallel, delayed

    data = {s: _load_subset(spec, s) for s in subsets}
    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    yield from parallel(delayed(evaluate_task)(data[t.subset], spec, t) for t in todo)


def _dask_results(
    spec: GridSpec, todo: list[GridTask], jobs: int, scheduler: str
) -> Iterator[tuple[GridTask, list[tuple[object, ...]]]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        n = (os.cpu_count() or 1) if jobs == -1 else jobs
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = []
        for s in dict.fromkeys(t.subset for t in todo):
            fs_future = client.scatter(_load_subset(spec, s), broadcast=False)
            futures += [client.submit(evaluate_task, fs_future, spec, t, pure=False) for t in todo if t.subset == s]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_grid(
    spec: GridSpec,
    directory: PathLike,
    backend: str = "loky",
    scheduler: str = "local",
    jobs: int = 1,
    progress: ProgressFn | None = None,
) -> GridRun:
    """Run (or resume) a grid into ``directory`` (see the module docstring).

    Parameters
    ----------
    spec : GridSpec
        What to compute.
    directory : path
        Output folder (created); holds results.csv, tasks.log and grid.json.
    backend : {"loky", "dask"}
        Where tasks run.
    scheduler : str
        Dask only: ``"local"`` or a scheduler address.
    jobs : int
        Worker processes (loky, local Dask); -1 = all cores.
    progress : callable(done, total), optional
        Called after each task; ``done`` counts skipped (already complete) tasks too.

    Returns
    -------
    GridRun
    """
    spec = spec.validated()
    if backend not in BACKENDS:
        raise CMCSLError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if jobs == 0 or jobs < -1:
        raise CMCSLError(f"--jobs must be a positive number or -1, got {jobs}")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _check_settings(d, spec)
    done, size = completed_tasks(d)
    tasks = spec.tasks()
    todo = [t for t in tasks if t.key not in done]
    total = len(tasks)
    finished = total - len(todo)
    if progress is not None:
        progress(finished, total)
    if todo:
        results: Iterable[tuple[GridTask, list[tuple[object, ...]]]]
        if backend == "loky":
            results = _loky_results(spec, todo, jobs)
        else:
            results = _dask_results(spec, todo, jobs, scheduler)
        with open(d / RESULTS, "ab") as res, open(d / LOG, "ab") as log:
            for task, rows in results:
                block = _format_block(rows)
                res.write(block)
                res.flush()
                os.fsync(res.fileno())
                size += len(block)
                log.write(f"{task.key},{size}\n".encode())
                log.flush()
                os.fsync(log.fileno())
                finished += 1
                if progress is not None:
                    progress(finished, total)
    return GridRun(directory=d, n_tasks=total, n_skipped=total - len(todo), n_run=len(todo))


def read_results(directory: PathLike) -> Any:
    """The complete rows of a grid directory as a DataFrame (``GRID_COLUMNS``), torn tails ignored."""
    import pandas as pd

    d = Path(directory)
    _, size = completed_tasks(d)
    with open(d / RESULTS, "rb") as fh:
        data = fh.read(size)
    import io

    return pd.read_csv(io.BytesIO(data), dtype={"subset": str, "classifier": str, "preprocessing": str})
