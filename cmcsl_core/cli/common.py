"""Helpers shared by the CLI's commands: the parser class, argument types, aliases, progress.

Front-end aliases live here, not in the library: ``--classifier logreg`` becomes
``lr`` and ``--preprocessing mm`` becomes ``minmax`` before a request is built.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable, NoReturn

from cmcsl_core.constants import CLI, DEFAULT_PREPROCESSING, LABEL_SEED
from cmcsl_core.errors import CMCSLError
from cmcsl_core.types import ProgressFn

__all__ = [
    "EXIT_USAGE",
    "PROG",
    "Parser",
    "HelpFormatter",
    "positive_int",
    "whole_int",
    "seed_int",
    "seconds_arg",
    "MAX_SEED",
    "int_list",
    "classifier_arg",
    "preprocessing_arg",
    "class_weights_arg",
    "methods_arg",
    "CLASSIFIER_ALIASES",
    "PREPROCESSING_ALIASES",
    "check_out",
    "tqdm_progress",
    "add_store_arguments",
    "add_writer_arguments",
    "add_seed_arguments",
    "labeler_arg",
]

EXIT_USAGE = 2
"""Exit code of a user mistake."""

PROG = CLI

CLASSIFIER_ALIASES: dict[str, str] = {"lg": "lr", "logreg": "lr", "logistic": "lr", "tree": "cart", "dt": "cart"}
"""CLI spellings of the base classifiers."""

PREPROCESSING_ALIASES: dict[str, str] = {"mm": "minmax"}
"""CLI spellings of the preprocessings."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one ``error: ...`` line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise CMCSLError(f"{message} (see {self.prog} --help)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default, except where there is none (None) or it is a switch (False)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _argument_type(convert: Callable[[str], object], name: str) -> Callable[[str], object]:
    """Wrap a converter so that its CMCSLError message reaches the user (argparse hides others)."""

    def parse(text: str) -> object:
        try:
            return convert(text)
        except CMCSLError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = name
    return parse


def whole_int(text: str) -> int:
    """A whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    value = whole_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


MAX_SEED = 2**31 - 1
"""Largest random seed (the app's limit too)."""


def seed_int(text: str) -> int:
    """A random seed: a whole number 0 .. 2**31 - 1."""
    value = whole_int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a random seed between 0 and {MAX_SEED}, got {value}")
    return value


def seconds_arg(text: str) -> float:
    """A finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """Whole numbers separated by commas and/or spaces, e.g. ``"3,17,42"``."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _classifier(text: str) -> str:
    from cmcsl_core.models.base import check_classifier

    key = text.strip().lower()
    return check_classifier(CLASSIFIER_ALIASES.get(key, key))


def _preprocessing(text: str) -> str:
    from cmcsl_core.method.preprocessing import check_preprocessing

    key = text.strip().lower()
    return check_preprocessing(PREPROCESSING_ALIASES.get(key, key))


def _class_weights(text: str) -> str:
    from cmcsl_core.models.base import check_class_weights

    return check_class_weights(text)


def _methods(text: str) -> tuple[str, ...]:
    from cmcsl_core.evaluation.config import check_methods

    return check_methods(text)


classifier_arg = _argument_type(_classifier, "classifier")
preprocessing_arg = _argument_type(_preprocessing, "preprocessing")
class_weights_arg = _argument_type(_class_weights, "class weights")
methods_arg = _argument_type(_methods, "methods")


def check_out(out: str, *inputs: str | None, suffix: str | None = None) -> Path:
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


def tqdm_progress(desc: str, enabled: bool = True) -> tuple[ProgressFn, Callable[[], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr, and a close function.

    The finished bar stays on the terminal (``leave=True``).
    """
    if not enabled:
        return (lambda done, total: None), (lambda: None)
    from tqdm import tqdm

    bar: list[tqdm] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=True))
        bar[0].n = done
        bar[0].refresh()

    def close() -> None:
        if bar:
            bar[0].close()

    return progress, close


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db`` and ``--features``: the annotation database of a feature file (annotate, labels, labels-import)."""
    parser.add_argument("--db", help="annotation database (SQLite); default: $CMCSL_DB, else one per feature file "
                        "in $XDG_DATA_HOME/cmcsl-studio")
    parser.add_argument("--features", required=True, help="feature file (.npz) the labels refer to")


def add_writer_arguments(parser: argparse.ArgumentParser, by_help: str) -> None:
    """``--by NAME`` (help ``by_help``) and ``--timeout``: who writes to the annotation database, how patiently."""
    from cmcsl_core.annotations.store import DEFAULT_TIMEOUT

    parser.add_argument("--by", help=by_help)
    parser.add_argument(
        "--timeout", type=seconds_arg, default=DEFAULT_TIMEOUT, help="seconds to wait for another writer"
    )


def _labeler(text: str) -> str:
    from cmcsl_core.method.labelers.registry import check_labeler

    return check_labeler(text)


labeler_arg = _argument_type(_labeler, "labeler")


def add_seed_arguments(parser: argparse.ArgumentParser) -> None:
    """The seeds of a labelling, ``--preprocessing`` and ``--labeler`` (label, labels).

    The seeds: ``--b-class`` or ``--seeds``, and ``--seed``.
    """
    from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, LABELER_NAMES
    from cmcsl_core.method.preprocessing import PREPROCESSINGS

    seeds = parser.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--b-class", type=positive_int, help="seeds per class, drawn at random")
    seeds.add_argument("--seeds", type=int_list, help="explicit seed item indices, e.g. 3,17,42")
    parser.add_argument("--seed", type=seed_int, default=LABEL_SEED, help="random seed of the --b-class draw")
    parser.add_argument(
        "--preprocessing",
        type=preprocessing_arg,
        default=DEFAULT_PREPROCESSING,
        help=f"one of {', '.join(PREPROCESSINGS)}",
    )
    parser.add_argument(
        "--labeler", type=labeler_arg, default=DEFAULT_LABELER,
        help=f"one of {', '.join(LABELER_NAMES)} (cmcsl: the paper's rule; see docs/labelers.md)",
    )
