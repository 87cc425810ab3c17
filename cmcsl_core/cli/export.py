"""``export``: build a feature file from a data source (a SourceSpec)."""

from __future__ import annotations

import argparse

from cmcsl_core.cli.common import check_out, tqdm_progress
from cmcsl_core.datasets.sources import DEFAULT_SOURCE, DEFAULT_SUBSET, SOURCE_TABLE, SourceOption, SourceSpec

NAME = "export"
HELP = "build a feature file (.npz) from a data source (default: the built-in demo)"


def _options() -> dict[str, list[tuple[str, SourceOption]]]:
    """Every option name of the registered sources, with the sources that take it."""
    found: dict[str, list[tuple[str, SourceOption]]] = {}
    for name, info in SOURCE_TABLE.items():
        for opt in info.options:
            found.setdefault(opt.name, []).append((name, opt))
    return found


def add_arguments(e: argparse.ArgumentParser) -> None:
    """The flags of ``export`` (source options come from the sources' registry)."""
    listing = "; ".join(f"{n}: {info.help}" for n, info in SOURCE_TABLE.items())
    e.add_argument("--source", default=DEFAULT_SOURCE, type=str.lower, choices=tuple(SOURCE_TABLE), metavar="SOURCE",
                   help=f"where the data comes from ({listing})")
    e.add_argument("--path", help="the source's file or folder (not needed for demo)")
    with_subsets = ", ".join(n for n, info in SOURCE_TABLE.items() if info.has_subset)
    e.add_argument("--subset", help=f"paper subset (e.g. HR) or genres, e.g. Horror,Romance "
                                    f"(default: {DEFAULT_SUBSET}; sources {with_subsets})")
    for name, users in _options().items():
        by_text: dict[str, list[str]] = {}  # sources sharing one option definition are named together
        for src, opt in users:
            by_text.setdefault(opt.help + (f" (default: {opt.default})" if opt.default is not None else ""), []).append(
                src
            )
        text = "; ".join(f"{', '.join(sources)}: {what}" for what, sources in by_text.items())
        e.add_argument(users[0][1].flag, dest=f"option_{name}", metavar=name.upper(), help=text.replace("%", "%%"))
    e.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    e.add_argument("--out", required=True, help="feature file to write (.npz)")


def spec_from_args(args: argparse.Namespace) -> SourceSpec:
    """The :class:`SourceSpec` that parsed ``export`` flags describe."""
    options = {
        name: getattr(args, f"option_{name}")
        for name in _options()
        if getattr(args, f"option_{name}", None) is not None
    }
    return SourceSpec.create(args.source, args.subset, args.path, **options)


def run(args: argparse.Namespace) -> int:
    """Export, then print what the file holds."""
    from cmcsl_core.datasets.features import load_features, save_features
    from cmcsl_core.datasets.sources.items import load_spec_items, report_skipped

    spec = spec_from_args(args)
    out = check_out(args.out, args.path, *spec.input_files(), suffix=".npz")
    progress, close = tqdm_progress(spec.source, not args.no_progress)
    try:
        loaded = load_spec_items(spec, progress)
        path = save_features(loaded.features, out)
    finally:
        close()
    skipped_line = report_skipped(loaded.skipped, path)
    if skipped_line:
        print(skipped_line)
    fs = load_features(path)
    counts = ", ".join(f"{n} {c}" for n, c in zip(fs.class_names, fs.class_counts()))
    dims = ", ".join(f"{n} {x.shape[1]}" for n, x in zip(fs.modality_names, fs.X))
    print(f"{fs.n_items} items ({counts}); features: {dims}")
    print(f"wrote {path}")
    return 0
