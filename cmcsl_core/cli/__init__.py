"""Command line: ``python -m cmcsl_core {label,curve,export,subsets,cache} ...`` (also ``cmcsl``).

The CLI is a contract (other tools and the tests call exactly these flags) and
calls the same functions as the app: each command parses its flags into the
library's request value (:class:`~cmcsl_core.evaluation.config.CurveConfig`,
:class:`~cmcsl_core.method.request.LabelRequest`,
:class:`~cmcsl_core.datasets.sources.SourceSpec`) and runs it, so every number the
app shows can be reproduced here. A user mistake prints one line ``error: ...`` and
exits with code 2; no traceback.

Each command is a module of this package exposing ``NAME``, ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` lists them. To
add a command, write its module and add it to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import Sequence

from cmcsl_core.cli import cache, curve, export, label, subsets
from cmcsl_core.cli import fusion, grid
from cmcsl_core.cli import annotate, labels, labels_import
from cmcsl_core.cli.common import EXIT_USAGE, PROG, HelpFormatter, Parser
from cmcsl_core.errors import CMCSLError

__all__ = ["COMMANDS", "build_parser", "main", "console_main", "EXIT_USAGE"]

COMMANDS: tuple[ModuleType, ...] = (
    label,
    curve,
    export,
    subsets,
    cache,
    fusion,
    grid,
    annotate,
    labels,
    labels_import,
)
"""The command modules, in the order ``--help`` lists them."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m cmcsl_core``.

    With ``only`` (a command name), only that command's flags are added (the others
    keep their names and help), so running one command does not import what the
    other commands' flags need (e.g. pandas for the annotation commands).
    """
    parser = Parser(
        prog=PROG,
        description="Cross-Modality Clustering-based Self-Labeling (CMCSL): label, evaluate, export.",
        formatter_class=HelpFormatter,
    )
    names = ",".join(c.NAME for c in COMMANDS)
    sub = parser.add_subparsers(dest="command", metavar=f"{{{names}}}", parser_class=Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP, formatter_class=HelpFormatter)
        if only is None or command.NAME == only:
            command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, 2 for a user mistake, 130 when interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command_names = {c.NAME for c in COMMANDS}
    parser = build_parser(argv[0] if argv and argv[0] in command_names else None)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            names = ", ".join(c.NAME for c in COMMANDS)
            raise CMCSLError(f"no command given; choose one of {names} (see {PROG} --help)")
        code: int = args.run(args)
        return code
    except CMCSLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, like other Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except PermissionError as exc:
        print(f"error: permission denied: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE


def console_main() -> None:
    """Entry point of the ``cmcsl`` console script: exits with :func:`main`'s code."""
    sys.exit(main())
