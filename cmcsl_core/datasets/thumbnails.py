"""Thumbnails for a feature file made elsewhere: it names its images (``image_paths``) but carries none.

Feature files exported by this library carry their items' thumbnails (the encoding pipeline
makes them). A file made by another tool, or an older one, may carry ``image_paths`` only;
:func:`with_thumbnails` gives it thumbnails from those files (relative paths resolved against
the feature file's folder), made once per image content and cached
(:func:`cmcsl_core.encoders.thumbnails.file_thumbnails`). An image that cannot be read gets an
empty thumbnail, which the app shows as the placeholder.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.encoders.thumbnails import file_thumbnails
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["needs_thumbnails", "resolve_image_paths", "with_thumbnails"]


def needs_thumbnails(fs: FeatureSet) -> bool:
    """Whether ``fs`` names image files but carries no thumbnails."""
    return fs.thumbnails is None and fs.image_paths is not None


def resolve_image_paths(fs: FeatureSet, folder: PathLike, root: PathLike | None = None) -> list[str | None]:
    """Each item's image path: absolute as written, or relative to ``folder``; None when empty or outside ``root``.

    Parameters
    ----------
    fs : FeatureSet
        A feature set with ``image_paths``.
    folder : path
        The feature file's folder (relative paths are resolved against it).
    root : path, optional
        When given, only images inside this folder are read (a served app's data folder).
    """
    base = Path(folder).expanduser()
    limit = None if root is None else os.path.realpath(Path(root).expanduser())
    out: list[str | None] = []
    for raw in fs.image_paths or ():
        text = str(raw).strip()
        if not text:
            out.append(None)
            continue
        path = Path(text).expanduser()
        full = os.path.realpath(path if path.is_absolute() else base / path)
        if limit is not None and os.path.commonpath([limit, full]) != limit:
            out.append(None)
            continue
        out.append(full)
    return out


def with_thumbnails(
    fs: FeatureSet,
    folder: PathLike,
    root: PathLike | None = None,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
) -> FeatureSet:
    """``fs`` with a thumbnail per item made from its image file (unchanged when it has thumbnails or no paths).

    Parameters
    ----------
    fs : FeatureSet
        The loaded feature file.
    folder : path
        The feature file's folder: relative ``image_paths`` are resolved against it.
    root : path, optional
        Read only images inside this folder (others get no thumbnail).
    progress : callable(done, total), optional
        Called as images not cached yet are read.
    use_cache : bool
        Read and write the per-image thumbnail cache.

    Returns
    -------
    FeatureSet
        With ``thumbnails``: a 96 px JPEG per item, ``b""`` where the image is missing,
        unreadable or outside ``root``.
    """
    if not needs_thumbnails(fs):
        return fs
    paths = resolve_image_paths(fs, folder, root)
    readable = [p for p in paths if p is not None]
    made = iter(file_thumbnails(readable, progress=progress, use_cache=use_cache))
    thumbs = tuple(next(made) if p is not None else b"" for p in paths)
    return replace(fs, thumbnails=thumbs)
