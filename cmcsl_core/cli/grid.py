"""``grid``: the paper's whole study (subsets x classifiers x preprocessings x folds), resumable, on joblib or Dask."""

from __future__ import annotations

import argparse
from pathlib import Path

from cmcsl_core.cli.common import methods_arg, positive_int, seed_int, tqdm_progress, whole_int
from cmcsl_core.constants import B_MAX, DEFAULT_CLASS_WEIGHTS, DEFAULT_METHODS, RANDOM_STATE, REPEATS
from cmcsl_core.errors import CMCSLError

NAME = "grid"
HELP = "run (or resume) a grid of curves into a folder: results.csv, then the paper's tables"


def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _new_folder(out: Path) -> Path | None:
    """The outermost folder of ``out`` that a run would create (None: ``out`` exists)."""
    if out.exists():
        return None
    top = out
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    return top


def _tidy_failed(out: Path, created: Path | None) -> str:
    """After a failed run: remove the folders it created if no task finished; else say what is kept."""
    import shutil

    from cmcsl_core.evaluation.grid import LOG

    log = out / LOG
    finished = log.is_file() and log.stat().st_size > 0
    if created is not None and not finished:
        shutil.rmtree(created, ignore_errors=True)
        return ""
    return f" (the finished tasks are kept in {out}: rerun the same command to resume)" if finished else ""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``grid``."""
    from cmcsl_core.evaluation.grid import BACKENDS

    p.add_argument("--source", required=True, help="data source: demo, hdf5, w4k2, ...")
    p.add_argument("--path", help="the source's file or folder (not needed for demo)")
    p.add_argument("--subsets", default="all", help="comma-separated paper subsets, or all")
    p.add_argument("--methods", type=methods_arg, default=",".join(DEFAULT_METHODS), help="comma-separated methods")
    p.add_argument("--classifiers", default="gnb", help="comma-separated: gnb, lr, cart")
    p.add_argument("--preprocessing", default="l2std", help="comma-separated: raw, l2, std, minmax, l2std")
    p.add_argument("--b-max", type=positive_int, default=B_MAX, help="b_class 1..B_MAX")
    p.add_argument("--repeats", type=positive_int, default=REPEATS, help="repetitions of 2-fold CV")
    p.add_argument("--seed", type=seed_int, default=RANDOM_STATE, help="random state of the CV splits and seed draws")
    p.add_argument("--class-weights", default=DEFAULT_CLASS_WEIGHTS, help="pseudo, oracle or none")
    p.add_argument("--backend", choices=BACKENDS, default="loky", help="joblib processes or a Dask cluster")
    p.add_argument("--scheduler", default="local", help="dask: local (a LocalCluster) or an address tcp://host:8786")
    p.add_argument("--jobs", type=whole_int, default=1, help="worker processes (loky, local dask); -1 = all cores")
    p.add_argument("--label-quality", action="store_true",
                   help="also the BAC of each labeler's own labels (modality 'labels'; its own tables)")
    p.add_argument("--no-tables", action="store_true", help="do not write the tables")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument("--out", required=True, help="output folder (created; rerun with the same folder to resume)")


def run(args: argparse.Namespace) -> int:
    """Run or resume the grid, then write the tables."""
    from cmcsl_core.cli.common import CLASSIFIER_ALIASES, PREPROCESSING_ALIASES
    from cmcsl_core.evaluation.grid import GridSpec, read_results, run_grid
    from cmcsl_core.evaluation.grid_tables import write_tables

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CMCSLError(f"--out {out} is a file; give a folder")
    subsets = _names(args.subsets)  # "all": every paper subset, or the whole file of a source without subsets
    spec = GridSpec(
        source=args.source,
        subsets=subsets,
        path=args.path,
        methods=args.methods,
        classifiers=tuple(CLASSIFIER_ALIASES.get(c.lower(), c) for c in _names(args.classifiers)),
        preprocessings=tuple(PREPROCESSING_ALIASES.get(p.lower(), p) for p in _names(args.preprocessing)),
        b_values=tuple(range(1, args.b_max + 1)),
        repeats=args.repeats,
        random_state=args.seed,
        class_weights=args.class_weights,
        label_quality=args.label_quality,
    ).validated()
    progress, close = tqdm_progress("grid tasks", not args.no_progress)
    created = _new_folder(out)
    try:
        done = run_grid(spec, out, backend=args.backend, scheduler=args.scheduler, jobs=args.jobs, progress=progress)
    except BaseException as exc:
        kept = _tidy_failed(out, created)
        if args.backend == "dask" and isinstance(exc, OSError) and not isinstance(exc, PermissionError):
            raise CMCSLError(f"cannot reach the Dask scheduler {args.scheduler}: {exc}{kept}") from None
        if kept and isinstance(exc, CMCSLError):
            raise CMCSLError(f"{exc}{kept}") from None
        raise
    finally:
        close()
    print(f"{done.n_tasks} tasks: {done.n_skipped} already complete, {done.n_run} run; rows in {done.results}")
    if not args.no_tables:
        written = write_tables(read_results(out), out / "tables")
        print(f"wrote {len(written)} table files to {out / 'tables'}")
    return 0
