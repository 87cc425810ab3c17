"""``label``: self-label every item of a feature file from a few seeds (a LabelRequest)."""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import add_seed_arguments, check_out
from cmcsl_core.method.request import LabelRequest

NAME = "label"
HELP = "self-label every item of a feature file from a few seeds; one CSV row per item"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``label``."""
    p.add_argument("--features", required=True, help="feature file (.npz)")
    add_seed_arguments(p)
    p.add_argument("--out", required=True, help="CSV file to write, one row per item")


def request_from_args(args: argparse.Namespace) -> LabelRequest:
    """The :class:`LabelRequest` that parsed ``label`` flags describe."""
    return LabelRequest(
        preprocessing=args.preprocessing, b_class=args.b_class, seed=args.seed, seeds=args.seeds, labeler=args.labeler
    ).validated()


def run(args: argparse.Namespace) -> int:
    """Label, write the CSV, print a summary."""
    from cmcsl_core.datasets.features import load_features
    from cmcsl_core.evaluation.metrics import human_disagreement, human_label_pair, labeling_summary
    from cmcsl_core.fileio import write_atomically
    from cmcsl_core.tables import label_csv

    out = check_out(args.out, args.features, suffix=".csv")
    request = request_from_args(args)
    fs = load_features(args.features)
    seeds = request.seed_indices(fs)
    result = request.run(fs)
    data = label_csv(fs, result)
    write_atomically(out, lambda fh: fh.write(data))
    s = labeling_summary(result, fs.y, fs.n_classes)
    uni = ", ".join(f"{k} {v:.4f}" for k, v in s.uni_accuracy.items())
    wins = ", ".join(f"{k} {v}" for k, v in s.wins.items())
    print(f"{fs.n_items} items, {len(seeds)} seeds, preprocessing {request.preprocessing}, labeler {request.labeler}")
    if result.selection is not None:
        print(result.selection.describe())
    each = "UNI" if result.labeler in ("cmcsl", "cmcsl-scaled") else "per modality"
    print(
        f"pseudo-label accuracy on {s.n_scored} non-seed items: {each} {uni}; "
        f"{result.labeler.upper()} {s.cmcsl_accuracy:.4f}"
    )
    print(f"disagreements {s.disagreement_rate:.2%}, decided by: {wins}")
    human = human_disagreement(fs, result)
    if human is not None:
        a, b = human_label_pair(fs) or ("", "")
        print(f"vs the human labels (labels_{a} != labels_{b}): {human.describe()}")
    print(f"wrote {out}")
    return 0
