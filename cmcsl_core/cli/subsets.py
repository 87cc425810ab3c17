"""``subsets``: the 20 paper subsets with their genres and movie counts, in 100 columns."""

from __future__ import annotations

import argparse
import textwrap

NAME = "subsets"
HELP = "list the 20 paper subsets (Table I): genres, movies per class, totals"

WIDTH = 100
"""Columns the table fits in."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``subsets`` has no flags."""


def format_subsets(width: int = WIDTH) -> str:
    """The subsets as a text table at most ``width`` columns wide; long genre lists wrap."""
    from cmcsl_core.datasets.subsets import demo_counts, load_subsets

    subsets = list(load_subsets().values())
    name_w = max(len("subset"), *(len(s.name) for s in subsets))
    kind_w = max(len("kind"), *(len(s.kind) for s in subsets))
    head = f"{'subset':<{name_w}}  {'kind':<{kind_w}}  {'K':>2}  {'total':>5}  {'demo':>5}  "
    indent = " " * len(head)
    lines = [head + "genres (movies per class in MM-IMDb)"]
    for s in subsets:
        lead = (
            f"{s.name:<{name_w}}  {s.kind:<{kind_w}}  {s.n_classes:>2}  {s.total or 0:>5}  {sum(demo_counts(s)):>5}  "
        )
        # a genre and its count never split across lines (textwrap does not break at U+00A0)
        genres = ", ".join(f"{g}\u00a0{c}" for g, c in zip(s.genres, s.class_counts or ()))
        wrapped = textwrap.wrap(genres, width=width, initial_indent=lead, subsequent_indent=indent,
                               break_long_words=False, break_on_hyphens=False)
        lines += [line.replace("\u00a0", " ") for line in wrapped]
    lines.append(f"{'':<{name_w}}  demo = the 80% of a subset kept for the experiments (the demo's size)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    print(format_subsets())
    return 0
