"""``labels-import``: add the labels of a CSV (or Parquet) file to the annotation database.

``python -m cmcsl_core labels-import --db DB --features F.npz --csv FILE [--by NAME]``
reads the columns ``id`` (or ``index``) and ``label`` -- or a file written by ``labels``,
whose human rows it takes -- and stores them all in ONE transaction: a bad row (an
unknown class or item) is reported and nothing is written.
"""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import add_store_arguments, add_writer_arguments
from cmcsl_core.errors import CMCSLError

NAME = "labels-import"
HELP = "import human labels (columns id or index, label) into the annotation database"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``labels-import``."""
    add_store_arguments(parser)
    parser.add_argument("--csv", required=True, help="label file: CSV (or .parquet) with id or index, and label")
    add_writer_arguments(parser, "annotator's name for every row (default: the file's annotator column, "
                         "else $CMCSL_ANNOTATOR, else the login name)")


def run(args: argparse.Namespace) -> int:
    """Validate every row, then store them in one transaction."""
    from cmcsl_core.annotations.formats import read_label_file
    from cmcsl_core.annotations.paths import default_annotator
    from cmcsl_core.annotations.store import AnnotationStore
    from cmcsl_core.datasets.features import load_features

    fs = load_features(args.features)
    rows = read_label_file(args.csv)
    store = AnnotationStore(fs, args.db, timeout=args.timeout)
    for row, item, label in zip(rows.rows, rows.items, rows.labels):
        try:
            store.resolve_item(item)
            store.resolve_label(label)
        except CMCSLError as exc:
            raise CMCSLError(f"{args.csv}, row {row}: {exc}; nothing was imported") from None
    who: str | list[str] = args.by if args.by is not None else (rows.annotators or default_annotator())
    actions = store.label_many(rows.items, rows.labels, who)
    changed = sum(a.previous != a.label for a in actions)
    print(f"imported {len(actions)} labels ({changed} changed) into {store.path}")
    return 0
