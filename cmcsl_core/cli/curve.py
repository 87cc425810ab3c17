"""``curve``: BAC vs b_class under 5 x 2 CV (a CurveConfig), written as a long-format CSV."""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import (
    check_out,
    class_weights_arg,
    classifier_arg,
    int_list,
    methods_arg,
    positive_int,
    preprocessing_arg,
    seed_int,
    tqdm_progress,
    whole_int,
)
from cmcsl_core.constants import (
    B_MAX,
    B_MIN,
    DEFAULT_CLASS_WEIGHTS,
    DEFAULT_CLASSIFIER,
    DEFAULT_METHODS,
    DEFAULT_PREPROCESSING,
    RANDOM_STATE,
    REPEATS,
)
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.config import METHODS, CurveConfig
from cmcsl_core.evaluation.model_selection import C_GRID, check_c_grid

NAME = "curve"
HELP = "BAC vs b_class under repeated 2-fold CV (the paper: 5x2), long-format CSV"


def add_arguments(c: argparse.ArgumentParser) -> None:
    """The flags of ``curve``."""
    from cmcsl_core.method.preprocessing import PREPROCESSINGS
    from cmcsl_core.models.base import CLASS_WEIGHTS, CLASSIFIERS

    c.add_argument("--features", required=True, help="feature file (.npz)")
    c.add_argument("--methods", type=methods_arg, default=",".join(DEFAULT_METHODS),
                   help=f"comma-separated, any of {','.join(METHODS)}")
    c.add_argument(
        "--classifier", type=classifier_arg, default=DEFAULT_CLASSIFIER, help=f"one of {', '.join(CLASSIFIERS)}"
    )
    c.add_argument("--preprocessing", type=preprocessing_arg, default=DEFAULT_PREPROCESSING,
                   help=f"one of {', '.join(PREPROCESSINGS)}")
    c.add_argument("--b-min", type=positive_int, help=f"smallest b_class (default: {B_MIN})")
    c.add_argument("--b-max", type=positive_int, help=f"largest b_class (default: {B_MAX})")
    c.add_argument(
        "--b-values", type=int_list, help="explicit b_class values, e.g. 1,5,10 (instead of --b-min/--b-max)"
    )
    c.add_argument("--repeats", type=positive_int, default=REPEATS, help="repetitions of 2-fold CV")
    c.add_argument("--seed", type=seed_int, default=RANDOM_STATE, help="random state of the CV splits and seed draws")
    c.add_argument("--class-weights", type=class_weights_arg, default=DEFAULT_CLASS_WEIGHTS,
                   help=f"one of {', '.join(CLASS_WEIGHTS)}")
    c.add_argument(
        "--jobs", type=whole_int, default=-1, help="folds side by side in threads; -1 = all cores, 1 = one at a time"
    )
    c.add_argument("--label-quality", action="store_true",
                   help="also the BAC of each labeler's own labels on the training fold's non-seed items "
                   "(modality 'labels')")
    c.add_argument("--c-grid", default=None,
                   help="with --classifier lr: the C values the DRA/MLA methods choose from on their validation "
                   "split, comma separated (default half decades from 1e-4 to 10)")
    c.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    c.add_argument("--out", required=True, help="CSV file to write (method, modality, b_class, fold, bac)")


def config_from_args(args: argparse.Namespace) -> CurveConfig:
    """The :class:`CurveConfig` that parsed ``curve`` flags describe."""
    if args.b_values is not None:
        if args.b_min is not None or args.b_max is not None:
            raise CMCSLError("give either --b-values or --b-min/--b-max, not both")
        b_values = tuple(args.b_values)
    else:
        b_min = B_MIN if args.b_min is None else args.b_min
        b_max = B_MAX if args.b_max is None else args.b_max
        if b_min > b_max:
            raise CMCSLError(f"--b-min {b_min} is larger than --b-max {b_max}")
        b_values = tuple(range(b_min, b_max + 1))
    return CurveConfig(
        methods=args.methods,
        classifier=args.classifier,
        preprocessing=args.preprocessing,
        b_values=b_values,
        repeats=args.repeats,
        random_state=args.seed,
        class_weights=args.class_weights,
        n_jobs=args.jobs,
        label_quality=args.label_quality,
        c_grid=C_GRID if args.c_grid is None else check_c_grid(args.c_grid),
    ).validated()


def run(args: argparse.Namespace) -> int:
    """Run the curve, write the CSV, print the mean BAC table."""
    from cmcsl_core.datasets.features import load_features
    from cmcsl_core.evaluation.curve import run_curve

    out = check_out(args.out, args.features, suffix=".csv")
    config = config_from_args(args)
    fs = load_features(args.features)
    progress, close = tqdm_progress(f"{config.repeats}x2 CV", not args.no_progress)
    try:
        result = run_curve(fs, config, progress=progress)
    finally:
        close()
    result.to_csv(out)
    b = config.b_values
    print(f"mean BAC over b_class {b[0]}..{b[-1]} ({len(b)} values) and {2 * config.repeats} folds:")
    print(result.overall_text())
    print(f"wrote {out} ({len(result)} rows)")
    return 0
