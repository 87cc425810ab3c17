"""``annotate``: record one human label, or take back the annotator's last one.

``python -m cmcsl_core annotate --db DB --features F.npz --item I --label CLASS [--by NAME]``
prints one line describing the stored action; ``--undo`` (instead of ``--item`` and
``--label``) takes back that annotator's last label action that is not undone yet.
"""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import add_store_arguments, add_writer_arguments
from cmcsl_core.errors import CMCSLError

NAME = "annotate"
HELP = "record one human label in the annotation database (or --undo your last one)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``annotate``."""
    add_store_arguments(parser)
    parser.add_argument("--item", help="the item: its id, or its index 0..N-1")
    parser.add_argument("--label", help="class name")
    parser.add_argument("--undo", action="store_true", help="take back this annotator's last label instead")
    add_writer_arguments(parser, "annotator's name (default: $CMCSL_ANNOTATOR, else the login name)")


def run(args: argparse.Namespace) -> int:
    """Store the action and print it."""
    from cmcsl_core.annotations.paths import default_annotator
    from cmcsl_core.annotations.store import AnnotationStore
    from cmcsl_core.datasets.features import load_features

    if args.undo and (args.item is not None or args.label is not None):
        raise CMCSLError("--undo takes back your last label; do not give --item or --label with it")
    if not args.undo and (args.item is None or args.label is None):
        raise CMCSLError("give --item and --label (or --undo)")
    fs = load_features(args.features)
    store = AnnotationStore(fs, args.db, timeout=args.timeout)
    who = args.by if args.by is not None else default_annotator()
    action = store.undo(who) if args.undo else store.label(args.item, args.label, who)
    print(action.describe())
    return 0
