"""Command line: ``python -m cmcsl_core {label,curve,export,subsets,cache} ...`` (also ``cmcsl``).

The CLI is a contract (other tools and the tests call exactly these flags) and
calls the same functions as the app: each command parses its flags into the
library's request value (:class:`~cmcsl_core.evaluation.config.CurveConfig`,
:class:`~cmcsl_core.method.request.LabelRequest`,
:class:`~cmcsl_core.datasets.sources.SourceSpec`) and runs it, so every number the
app shows can be reproduced here. A user mistake prints one line ``error: ...`` and
exits with code 2; no traceback.

Each command is a module of this package exposing ``NAME``, ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMAND_NAMES` lists them
and :func:`commands` imports them (the module is the command's name with ``-`` as ``_``,
except where :data:`COMMAND_MODULES` names another). To add a command, write its module
and add its name to :data:`COMMAND_NAMES`. Running one command imports only that command's module.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import Sequence

from cmcsl_core.cli.common import EXIT_USAGE, PROG, HelpFormatter, Parser
from cmcsl_core.cli.memory import keep_freed_memory
from cmcsl_core.errors import CMCSLError

__all__ = ["COMMAND_NAMES", "COMMAND_MODULES", "commands", "build_parser", "main", "console_main", "EXIT_USAGE"]

COMMAND_NAMES: tuple[str, ...] = (
    "label",
    "curve",
    "export",
    "subsets",
    "cache",
    "fusion",
    "grid",
    "annotate",
    "labels",
    "labels-import",
)
"""The commands, in the order ``--help`` lists them (each is the module ``NAME`` with ``-`` as ``_``)."""

COMMAND_MODULES: dict[str, str] = {"label": "self_label", "labels": "final_labels"}
"""Commands whose module is named for what it holds (``label`` and ``labels`` would read alike)."""


def commands(only: str | None = None) -> tuple[ModuleType, ...]:
    """The command modules (all, or just the one named ``only``), imported on demand."""
    names = COMMAND_NAMES if only is None else (only,)
    modules = (COMMAND_MODULES.get(n, n.replace("-", "_")) for n in names)
    return tuple(importlib.import_module(f"cmcsl_core.cli.{m}") for m in modules)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m cmcsl_core``.

    With ``only`` (a command name), only that command's module is imported and only
    its flags are added (the others keep their names), so running one command does
    not import what the other commands need (e.g. pandas for the annotation commands,
    the encoders for ``export``).
    """
    parser = Parser(
        prog=PROG,
        description="Cross-Modality Clustering-based Self-Labeling (CMCSL): label, evaluate, export.",
        formatter_class=HelpFormatter,
    )
    names = ",".join(COMMAND_NAMES)
    sub = parser.add_subparsers(dest="command", metavar=f"{{{names}}}", parser_class=Parser)
    loaded = {c.NAME: c for c in commands(only)}
    for name in COMMAND_NAMES:
        command = loaded.get(name)
        if command is None:
            sub.add_parser(name, formatter_class=HelpFormatter)
            continue
        p = sub.add_parser(name, help=command.HELP, description=command.HELP, formatter_class=HelpFormatter)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, 2 for a user mistake, 130 when interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMAND_NAMES else None)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            names = ", ".join(COMMAND_NAMES)
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
    except OSError as exc:  # a write that fails (a full disk, a read-only or virtual folder like /proc)
        print(f"error: {_os_error_text(exc)}", file=sys.stderr)
        return EXIT_USAGE


def _os_error_text(exc: OSError) -> str:
    """One line for a failed file operation: what failed, on which file."""
    what = exc.strerror or str(exc) or type(exc).__name__
    name = exc.filename
    if name is None:
        return what
    base = os.path.basename(str(name))
    if base.startswith(".") and base.endswith(".tmp"):  # write_atomically's temporary file: name the target
        target = base[1:].rsplit(".", 2)[0]
        name = os.path.join(os.path.dirname(str(name)), target)
    return f"cannot write {name}: {what}" if exc.filename2 is None else f"{what}: {name} -> {exc.filename2}"


def console_main() -> None:
    """Entry point of the ``cmcsl`` console script and of ``python -m cmcsl_core``.

    Tunes the process's allocator (:func:`~cmcsl_core.cli.memory.keep_freed_memory`)
    and exits with :func:`main`'s code.
    """
    keep_freed_memory()
    sys.exit(main())
