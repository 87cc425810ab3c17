"""The paper's evaluation protocol: BAC curves over b_class under 5 x 2 CV.

:func:`run_curve` runs a :class:`~cmcsl_core.evaluation.config.CurveConfig` on a
feature set: it builds the folds (:mod:`~cmcsl_core.evaluation.splits`), scores each
fold (:mod:`~cmcsl_core.evaluation.folds`), in parallel with joblib if asked, and
gathers the rows into a :class:`~cmcsl_core.evaluation.result.CurveResult`.

Methods
-------
FULL   per modality, all true training labels (upper bound; independent of b).
PRE    per modality, the seeds only.
UNI    per modality, the modality's own nearest-seed pseudo-labels.
CMCSL  per modality, the cross-modal pseudo-labels.
EF     early fusion: one classifier on the concatenated preprocessed modalities,
       true labels (modality ``fused``).
LF     late fusion: per-modality classifiers on true labels, the class with the
       largest mean support wins, as in the authors' code (modality ``fused``).
LF-MEAN, LF-MAX, LF-DRA, LF-MLA
       late fusion of per-modality classifiers on true labels by mean, maximum,
       Detection Rate or Minimizing Loss weights (:mod:`~cmcsl_core.evaluation.late_fusion`).
CMCSL-MEAN, CMCSL-MAX, CMCSL-DRA, CMCSL-MLA
       the same fusions of the CMCSL classifiers (trained on pseudo-labels; DRA/MLA
       weights from held-out training items scored against the pseudo-labels).

Semi-supervised methods (PRE, UNI, CMCSL) see the true labels of their seeds and
nothing else, except that ``class_weights="oracle"`` reproduces the authors'
weights from the true class frequencies of the training fold.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from cmcsl_core.constants import FUSED, LABELS
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.evaluation.config import METHODS, CurveConfig, check_methods
from cmcsl_core.evaluation.folds import Row, evaluate_fold
from cmcsl_core.evaluation.result import CurveResult, sort_rows
from cmcsl_core.evaluation.splits import check_b_feasible, cv_splits
from cmcsl_core.types import ProgressFn

__all__ = ["METHODS", "CurveConfig", "CurveResult", "run_curve", "cv_splits", "check_methods"]


def run_curve(
    fs: FeatureSet,
    config: CurveConfig | None = None,
    progress: ProgressFn | None = None,
    **fields: object,
) -> CurveResult:
    """BAC of every method, modality, b_class and fold (5 x 2 CV by default).

    Parameters
    ----------
    fs : FeatureSet
        The data.
    config : CurveConfig, optional
        What to compute; the paper's defaults if omitted.
    progress : callable(done, total), optional
        Called as work completes; ``total`` is ``folds * len(b_values)``.
    **fields
        Shorthand for ``dataclasses.replace(config, **fields)``, e.g.
        ``run_curve(fs, methods=("PRE",), b_values=range(1, 6))``.

    Returns
    -------
    CurveResult
        Rows sorted by method (:data:`METHODS` order), modality, b_class and fold;
        the result does not depend on ``n_jobs``.

    Raises
    ------
    CMCSLError
        For unknown names, or a ``b_class`` larger than a class in a training fold.
    """
    config = config if config is not None else CurveConfig()
    if fields:
        if "b_values" in fields:
            fields["b_values"] = tuple(fields["b_values"])  # type: ignore[arg-type]
        config = dataclasses.replace(config, **fields)  # type: ignore[arg-type]
    config = config.validated()
    splits = cv_splits(fs.y, config.repeats, config.random_state)
    if config.seeded:
        check_b_feasible(fs, splits, max(config.b_values))
    total = len(splits) * len(config.b_values)
    if progress is not None:
        progress(0, total)
    jobs: Iterable[list[Row]]
    if config.n_jobs == 1:
        jobs = (evaluate_fold(fs, i, tr, te, config) for i, (tr, te) in enumerate(splits))
    else:
        jobs = _threaded_folds(fs, config, splits)
    rows: list[Row] = []
    for done, part in enumerate(jobs, start=1):
        rows += part
        if progress is not None:
            progress(done * len(config.b_values), total)
    return CurveResult(config=config, rows=sort_rows(rows, (*fs.modality_names, FUSED, LABELS)))


def _threaded_folds(
    fs: FeatureSet,
    config: CurveConfig,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
) -> Iterator[list[Row]]:
    """The folds' rows, in fold order, computed by ``config.n_jobs`` threads (-1: one per core).

    The work is NumPy/BLAS, which releases the GIL, so threads run the folds side by
    side without starting processes or copying the data; BLAS is limited to one
    thread meanwhile so the cores are not oversubscribed.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    cores = os.cpu_count() or 1
    workers = cores if config.n_jobs < 0 else min(config.n_jobs, cores)
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        futures = [
            pool.submit(evaluate_fold, fs, i, tr, te, config) for i, (tr, te) in enumerate(splits)
        ]
        for future in futures:
            yield future.result()
