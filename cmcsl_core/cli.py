"""Command line: ``python -m cmcsl_core {label,curve,export,subsets} ...``.

The CLI is a contract (other tools and the tests call exactly these flags) and
calls the same functions as the app, so every number the app shows can be
reproduced here. A user mistake prints one line ``error: ...`` and exits with
code 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from cmcsl_core.errors import CMCSLError


__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one ``error: ...`` line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise CMCSLError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m cmcsl_core``."""
    from cmcsl_core.models.classifiers import CLASS_WEIGHTS, CLASSIFIERS
    from cmcsl_core.method.preprocessing import PREPROCESSINGS

    parser = _Parser(
        prog="python -m cmcsl_core",
        description="Cross-Modality Clustering-based Self-Labeling (CMCSL): label, evaluate, export.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{label,curve,export,subsets}", parser_class=_Parser)

    p = sub.add_parser("label", help="self-label every item of a feature file from a few seeds")
    p.add_argument("--features", required=True, help="feature file (.npz)")
    seeds = p.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--b-class", type=_positive_int, help="seeds per class, drawn at random")
    seeds.add_argument("--seeds", help="explicit seed item indices, e.g. 3,17,42")
    p.add_argument("--seed", type=_int, default=0, help="random seed for --b-class (default 0)")
    p.add_argument("--preprocessing", default="l2std", help=f"one of {', '.join(PREPROCESSINGS)} (default l2std)")
    p.add_argument("--out", required=True, help="CSV file to write, one row per item")

    c = sub.add_parser("curve", help="BAC vs b_class under 5x2 CV, long-format CSV")
    c.add_argument("--features", required=True, help="feature file (.npz)")
    c.add_argument("--methods", default="PRE,UNI,CMCSL", help="comma-separated: FULL,PRE,UNI,CMCSL,EF,LF")
    c.add_argument("--classifier", default="gnb", help=f"one of {', '.join(CLASSIFIERS)} (default gnb)")
    c.add_argument("--preprocessing", default="l2std", help=f"one of {', '.join(PREPROCESSINGS)} (default l2std)")
    c.add_argument("--b-min", type=_positive_int, default=1, help="smallest b_class (default 1)")
    c.add_argument("--b-max", type=_positive_int, default=20, help="largest b_class (default 20)")
    c.add_argument("--repeats", type=_positive_int, default=5, help="repetitions of 2-fold CV (default 5)")
    c.add_argument("--seed", type=_int, default=1410, help="random state of CV and seed draws (default 1410)")
    c.add_argument(
        "--class-weights", default="pseudo", help=f"one of {', '.join(CLASS_WEIGHTS)} (default pseudo)"
    )
    c.add_argument("--jobs", type=_int, default=1, help="folds in parallel (joblib); -1 = all cores")
    c.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    c.add_argument("--out", required=True, help="CSV file to write (method, modality, b_class, fold, bac)")

    e = sub.add_parser("export", help="build a feature file from a data source")
    e.add_argument("--source", required=True, help="demo, hdf5, w4k2 or raw")
    e.add_argument("--path", help="the source's file or folder (not needed for demo)")
    e.add_argument("--subset", default="HR", help="paper subset (e.g. HR) or genres, e.g. Horror,Romance")
    e.add_argument("--weights", default="imagenet", help="raw only: imagenet, none, or a local .pth file")
    e.add_argument("--device", default="cpu", help="raw only: cpu or cuda")
    e.add_argument("--batch-size", type=_positive_int, default=64, help="raw only: images per batch (default 64)")
    e.add_argument("--limit", type=_positive_int, help="raw only: encode at most this many movies (a quick look)")
    e.add_argument("--out", required=True, help="feature file to write (.npz)")

    sub.add_parser("subsets", help="list the 20 paper subsets with genres and counts")
    return parser


def _tqdm_progress(desc: str, enabled: bool = True) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress(done, total) callback drawing a tqdm bar on stderr, and a close function."""
    if not enabled:
        return (lambda done, total: None), (lambda: None)
    from tqdm import tqdm

    bar: list = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False))
        bar[0].n = done
        bar[0].refresh()

    def close() -> None:
        if bar:
            bar[0].close()

    return progress, close


def _check_out(out: str, *inputs: str | None, suffix: str | None = None) -> Path:
    """Refuse an output path that would overwrite an input, or a missing folder."""
    path = Path(out)
    if suffix and path.suffix.lower() != suffix:
        raise CMCSLError(f"--out must end in {suffix}, got {path.name}")
    for inp in inputs:
        if inp and Path(inp).exists() and path.exists() and path.resolve() == Path(inp).resolve():
            raise CMCSLError(f"--out {out} is the input file; choose another name")
    if path.exists() and path.is_dir():
        raise CMCSLError(f"--out {out} is a folder; give a file name")
    if not path.parent.exists():
        raise CMCSLError(f"the folder of --out ({path.parent}) does not exist")
    return path


def _cmd_label(args: argparse.Namespace) -> int:
    from cmcsl_core.datasets.features import load_features, write_atomically
    from cmcsl_core.method.labeling import propagate
    from cmcsl_core.evaluation.metrics import labeling_summary
    from cmcsl_core.method.preprocessing import check_preprocessing
    from cmcsl_core.method.seeds import draw_seeds, parse_seed_list
    from cmcsl_core.tables import label_csv

    out = _check_out(args.out, args.features, suffix=".csv")
    preprocessing = check_preprocessing(args.preprocessing)
    fs = load_features(args.features)
    if args.seeds is not None:
        seeds = parse_seed_list(args.seeds, fs.n_items)
    else:
        seeds = draw_seeds(fs.y, args.b_class, args.seed, class_names=fs.class_names)
    result = propagate(fs, seeds, preprocessing)
    data = label_csv(fs, result)
    write_atomically(out, lambda fh: fh.write(data))
    s = labeling_summary(result, fs.y, fs.n_classes)
    uni = ", ".join(f"{k} {v:.4f}" for k, v in s.uni_accuracy.items())
    wins = ", ".join(f"{k} {v}" for k, v in s.wins.items())
    print(f"{fs.n_items} items, {len(seeds)} seeds, preprocessing {preprocessing}")
    print(f"pseudo-label accuracy on {s.n_scored} non-seed items: UNI {uni}; CMCSL {s.cmcsl_accuracy:.4f}")
    print(f"disagreements {s.disagreement_rate:.2%}, decided by: {wins}")
    print(f"wrote {out}")
    return 0


def _cmd_curve(args: argparse.Namespace) -> int:
    from cmcsl_core.evaluation.curve import run_curve
    from cmcsl_core.datasets.features import load_features

    out = _check_out(args.out, args.features, suffix=".csv")
    if args.b_min > args.b_max:
        raise CMCSLError(f"--b-min {args.b_min} is larger than --b-max {args.b_max}")
    fs = load_features(args.features)
    progress, close = _tqdm_progress("5x2 CV" if args.repeats == 5 else "CV", not args.no_progress)
    try:
        result = run_curve(
            fs,
            methods=args.methods,
            classifier=args.classifier,
            preprocessing=args.preprocessing,
            b_values=range(args.b_min, args.b_max + 1),
            repeats=args.repeats,
            random_state=args.seed,
            class_weights=args.class_weights,
            n_jobs=args.jobs,
            progress=progress,
        )
    finally:
        close()
    result.to_csv(out)
    table = result.overall()
    print(f"mean BAC over b_class {args.b_min}..{args.b_max} and {2 * args.repeats} folds:")
    print(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="-"))
    print(f"wrote {out} ({len(result.frame)} rows)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from cmcsl_core.datasets.sources import export_features

    out = _check_out(args.out, args.path, suffix=".npz")
    options: dict[str, object] = {}
    if args.source == "raw":
        options = {"weights": args.weights, "device": args.device, "batch_size": args.batch_size, "limit": args.limit}
    progress, close = _tqdm_progress(f"{args.source}")
    try:
        path = export_features(args.source, args.subset, out, path=args.path, progress=progress, **options)
    finally:
        close()
    from cmcsl_core.datasets.features import load_features

    fs = load_features(path)
    counts = ", ".join(f"{n} {c}" for n, c in zip(fs.class_names, fs.class_counts()))
    dims = ", ".join(f"{n} {x.shape[1]}" for n, x in zip(fs.modality_names, fs.X))
    print(f"{fs.n_items} items ({counts}); features: {dims}")
    print(f"wrote {path}")
    return 0


def _cmd_subsets(args: argparse.Namespace) -> int:
    from cmcsl_core.datasets.subsets import subsets_table

    table = subsets_table()
    print(table.to_string(index=False))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "label": _cmd_label,
    "curve": _cmd_curve,
    "export": _cmd_export,
    "subsets": _cmd_subsets,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, or 2 for a user mistake)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CMCSLError(f"no command given; choose one of {', '.join(COMMANDS)} (see python -m cmcsl_core --help)")
        return COMMANDS[args.command](args)
    except CMCSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, like other Unix tools
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except PermissionError as exc:
        print(f"error: permission denied: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
