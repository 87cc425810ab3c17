"""``fusion``: the late-fusion paper's protocol (random train/validation/test splits) on a feature file."""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import (
    check_out,
    classifier_arg,
    positive_int,
    preprocessing_arg,
    seed_int,
    tqdm_progress,
)
from cmcsl_core.constants import RANDOM_STATE

NAME = "fusion"
HELP = "per-modality and late-fusion (MEAN, MAX, DRA, MLA) accuracy/F1 over random train/validation/test splits"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``fusion``."""
    from cmcsl_core.evaluation.fusion import ALPHAS, F1_AVERAGES, MLA_METRICS

    p.add_argument("--features", required=True, help="feature file (.npz)")
    p.add_argument("--split", default="8:1:1", help="train:validation:test proportions (stratified)")
    p.add_argument("--repeats", type=positive_int, default=5, help="random splits")
    p.add_argument("--classifier", type=classifier_arg, default="lr", help="base classifier: gnb, lr or cart")
    p.add_argument("--preprocessing", type=preprocessing_arg, default="l2std", help="fitted on the train part only")
    p.add_argument("--seed", type=seed_int, default=RANDOM_STATE, help="random state of the splits")
    p.add_argument("--alpha", choices=ALPHAS, default="none", help="DRA's alpha_j: 0 or the class share")
    p.add_argument("--mla-metric", choices=MLA_METRICS, default="accuracy", help="MLA's modality weight")
    p.add_argument("--f1", choices=F1_AVERAGES, default="weighted", help="F1 averaging of the f1 column")
    p.add_argument(
        "--c-grid", default=None,
        help="lr only: C values chosen from on the validation part, comma separated (one value: that C, no "
        "choice); default half decades from 1e-4 to 10",
    )
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.add_argument("--out", required=True, help="CSV file to write (model, repeat, accuracy, f1)")


def run(args: argparse.Namespace) -> int:
    """Run the study, write the CSV, print the summary beside the published table."""
    from cmcsl_core.datasets.features import load_features
    from cmcsl_core.evaluation.fusion_study import FusionStudyConfig, parse_split, run_fusion_study
    from cmcsl_core.evaluation.model_selection import C_GRID, check_c_grid

    out = check_out(args.out, args.features, suffix=".csv")
    config = FusionStudyConfig(
        split=parse_split(args.split),
        repeats=args.repeats,
        classifier=args.classifier,
        preprocessing=args.preprocessing,
        random_state=args.seed,
        alpha=args.alpha,
        mla_metric=args.mla_metric,
        f1_average=args.f1,
        c_grid=C_GRID if args.c_grid is None else check_c_grid(args.c_grid),
    ).validated()
    fs = load_features(args.features)
    progress, close = tqdm_progress("repeats", not args.no_progress)
    try:
        result = run_fusion_study(fs, config, progress=progress)
    finally:
        close()
    result.to_csv(out)
    table = result.with_published()
    print(f"mean over {config.repeats} random {args.split} splits ({config.classifier}, {config.preprocessing}; "
          f"F1 = {config.f1_average} F1), beside the late-fusion paper (MVSA-Single):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    if result.chosen_c:
        print(f"LR's C chosen on the validation part (lowest log-loss): {result.chosen_c_text()}")
    print(f"our features: {result.encoders}")
    print(f"wrote {out} ({len(result.frame)} rows)")
    return 0
