"""``cache``: where the on-disk cache is, how big it is, and how to empty it."""

from __future__ import annotations

import argparse

NAME = "cache"
HELP = "show the on-disk cache's folder and size; --clear empties it"

EPILOG = (
    "The cache holds deterministic results that are expensive to recompute (demo features, "
    "encoded images and texts, 2-d views), one .npz per entry; it only grows. Its folder is "
    "$CMCSL_CACHE_DIR if set, else ~/.cache/cmcsl-studio. Emptying it is always safe: entries "
    "are recomputed on demand."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``cache``."""
    p.epilog = EPILOG
    p.add_argument("--clear", action="store_true", help="delete every cache entry")


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    """Print path, entries and size; with ``--clear``, empty the cache first and say what was freed."""
    from cmcsl_core.cache import cache_dir, cache_usage, clear_cache

    path = cache_dir()
    if args.clear:
        files, size = clear_cache()
        print(f"cleared {path}: {files} files, {_size(size)} freed")
        return 0
    files, size = cache_usage()
    print(f"{path}: {files} files, {_size(size)}")
    return 0
