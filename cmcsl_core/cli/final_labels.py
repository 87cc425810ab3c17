"""``labels``: every item's final label, human labels first, with provenance.

``python -m cmcsl_core labels --db DB --features F.npz (--b-class B [--seed S] | --seeds ...)
[--preprocessing P] --out labels.csv`` writes the ``label`` command's columns plus
``provenance`` (human, seed, agree, or the modality that decided) and ``annotator``.
Human labels win; CMCSL labels every other item from the seeds plus the human labels.
``--format`` (or the suffix of ``--out``: .csv, .parquet, .json) picks CSV, Parquet or
Label Studio's JSON import format (human labels as annotations, the rest as scored predictions),
with its labeling config written beside it as ``<out stem>.label_config.xml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cmcsl_core.cli.common import add_seed_arguments, add_store_arguments, check_out
from cmcsl_core.cli.self_label import request_from_args
from cmcsl_core.errors import CMCSLError

NAME = "labels"
HELP = "final labels from seeds plus human labels, with provenance (CSV, Parquet, Label Studio JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``labels``."""
    from cmcsl_core.annotations.formats import FORMATS

    add_store_arguments(parser)
    add_seed_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from the suffix of --out)")
    parser.add_argument("--out", required=True, help="file to write, one row (or task) per item")


def run(args: argparse.Namespace) -> int:
    """Compute and write the labels; print a one-line summary per provenance."""
    from cmcsl_core.annotations.formats import export_labels, format_for
    from cmcsl_core.annotations.provenance import labels_with_annotations
    from cmcsl_core.annotations.store import AnnotationStore
    from cmcsl_core.datasets.features import load_features

    fmt = format_for(args.out, args.format)
    out = check_out(args.out, args.features, args.db)
    request = request_from_args(args)
    fs = load_features(args.features)
    store = AnnotationStore(fs, args.db)
    if not store.path.exists():
        raise CMCSLError(f"annotation database {store.path} does not exist; record labels with `annotate` first")
    annotated = labels_with_annotations(fs, request, store)
    export_labels(fs, annotated, out, fmt)
    counts = annotated.counts()
    parts = ", ".join(f"{k} {counts[k]}" for k in sorted(counts))
    n_human, n_seeds = len(annotated.human), annotated.seed_idx.size
    print(f"{fs.n_items} items, {n_human} human labels, {n_seeds} seeds; provenance: {parts}")
    print(f"wrote {Path(out)} ({fmt})")
    if fmt == "label-studio":
        from cmcsl_core.annotations.formats import label_studio_config_path

        print(f"wrote {label_studio_config_path(out)} (its labeling config: paste it into the project's settings)")
    return 0
