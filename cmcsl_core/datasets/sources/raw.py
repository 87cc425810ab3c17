"""The raw MM-IMDb archive: posters + json files -> image-encoder / MiniLM features.

The original archive (``mmimdb.tar.gz``, about 8 GB) extracts to ``mmimdb/`` with
``split.json`` and a ``dataset/`` folder holding, for every movie, ``<id>.jpeg``
(the poster) and ``<id>.json`` (IMDb metadata: ``genres``, ``plot``, ``title``, ...).
:func:`load_raw` reads the movies of a subset (exactly-one rule, see
:mod:`cmcsl_core.datasets.subsets`) and encodes them: visual = the pooled features of an
image encoder (:mod:`cmcsl_core.encoders.image`: EfficientNet-Lite0 by default, or the
paper's ResNet-18), text = all-MiniLM-L6-v2 embedding of the first plot (384, unit norm).
The movies go through the one encoding pipeline of every item source
(:mod:`cmcsl_core.datasets.sources.encoding`): features and thumbnails cached on disk by the
files' contents and the encoders' identity, so a second run is instant. ``finetune="ce"``
reproduces the paper: the image encoder is fine-tuned on a stratified 20% of the subset, and
only the other 80% are exported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.sources.encoding import (
    ItemEncoders,
    LoadedItems,
    default_encoders,
    encode_items,
    item_loader_doc,
)
from cmcsl_core.datasets.sources.rows import MISSING_IMAGE, ItemRows, SkippedItem
from cmcsl_core.datasets.subsets import Subset, assign_labels, resolve_subset
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["MovieRecord", "RawScan", "find_dataset_dir", "scan_dataset", "load_raw_items", "load_raw"]

_IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".gz", ".zip")


@dataclass(frozen=True)
class MovieRecord:
    """One movie of the archive (json read, poster not yet)."""

    imdb_id: str
    genres: tuple[str, ...]
    title: str
    plot: str
    json_stat: tuple[str, int, int]
    image: tuple[str, int, int] | None  # (file name, size, mtime_ns) of the poster, None if absent


@dataclass(frozen=True)
class RawScan:
    """The movies found in a ``dataset/`` folder."""

    folder: Path
    movies: tuple[MovieRecord, ...]
    bad_json: int
    bad_json_files: tuple[str, ...] = ()


def find_dataset_dir(path: PathLike) -> Path:
    """Locate the folder holding ``<id>.json`` / ``<id>.jpeg`` files.

    Parameters
    ----------
    path : path
        The extracted ``mmimdb`` folder, its ``dataset/`` subfolder, or the folder the
        archive was extracted into (holding ``mmimdb/``).

    Raises
    ------
    SourceError
        Missing path, the still-compressed archive, a plain file, or a folder without movies.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(f"{p} does not exist; pass the extracted mmimdb folder (or its dataset/ subfolder)")
    if p.is_file():
        if p.name.lower().endswith(_ARCHIVE_SUFFIXES):
            raise SourceError(
                f"{p} is the compressed archive; extract it first (tar -xzf {p.name}) "
                "and pass the extracted mmimdb folder"
            )
        raise SourceError(f"{p} is a file; pass the extracted mmimdb folder (or its dataset/ subfolder)")
    for candidate in (p / "dataset", p, p / "mmimdb" / "dataset"):
        if candidate.is_dir() and any(n.endswith(".json") and n != "split.json" for n in os.listdir(candidate)):
            return candidate
    raise SourceError(
        f"no MM-IMDb movies in {p}: expected <id>.json and <id>.jpeg files in it or in its dataset/ subfolder"
    )


def _first_plot(value: object) -> str:
    """The first non-empty plot, without IMDb's trailing ``::author`` signature."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, str) and item.strip():
            text = item.strip()
            head, sep, tail = text.rpartition("::")
            if sep and head.strip() and len(tail) < 80:
                text = head.strip()
            return text
    return ""


def scan_dataset(folder: Path) -> RawScan:
    """Read every ``<id>.json`` of ``folder`` (genres, title, first plot) and find its poster.

    Unreadable json files are counted in ``bad_json`` and left out.
    """
    jsons: dict[str, tuple[str, int, int]] = {}
    images: dict[str, tuple[str, int, int]] = {}
    with os.scandir(folder) as it:
        for entry in it:
            if not entry.is_file():
                continue
            stem, ext = os.path.splitext(entry.name)
            ext = ext.lower()
            if ext == ".json" and entry.name != "split.json":
                st = entry.stat()
                jsons[stem] = (entry.name, st.st_size, st.st_mtime_ns)
            elif ext in _IMAGE_SUFFIXES:
                prev = images.get(stem)  # prefer .jpeg over .jpg over .png
                prev_ext = os.path.splitext(prev[0])[1].lower() if prev else ""
                if prev is None or _IMAGE_SUFFIXES.index(ext) < _IMAGE_SUFFIXES.index(prev_ext):
                    st = entry.stat()
                    images[stem] = (entry.name, st.st_size, st.st_mtime_ns)
    movies = []
    bad = 0
    bad_files: list[str] = []
    for stem in sorted(jsons):
        try:
            with open(folder / jsons[stem][0], encoding="utf-8") as fh:
                meta = json.load(fh)
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            bad += 1
            bad_files.append(jsons[stem][0])
            continue
        genres = meta.get("genres") or []
        if isinstance(genres, str):
            genres = [genres]
        title = meta.get("title")
        movies.append(
            MovieRecord(
                imdb_id=stem,
                genres=tuple(str(g) for g in genres if isinstance(g, str)),
                title=title.strip() if isinstance(title, str) else "",
                plot=_first_plot(meta.get("plot")),
                json_stat=jsons[stem],
                image=images.get(stem),
            )
        )
    return RawScan(folder=folder, movies=tuple(movies), bad_json=bad, bad_json_files=tuple(bad_files))


def _spread(labels: np.ndarray, limit: int, k: int) -> np.ndarray:
    """Positions of at most ``limit`` items, allotted to classes by size (>= 1 each), evenly spaced."""
    n = labels.size
    if limit >= n:
        return np.arange(n)
    counts = np.bincount(labels, minlength=k)
    quota = np.minimum(counts, np.maximum(1, np.floor(limit * counts / n).astype(int)))
    order = np.argsort(-(limit * counts / n - np.floor(limit * counts / n)))
    for c in order:  # largest remainders first
        if quota.sum() >= limit:
            break
        if quota[c] < counts[c]:
            quota[c] += 1
    picked = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if quota[c]:
            picked.append(members[np.linspace(0, members.size - 1, quota[c]).round().astype(int)])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=int)


def _check_classes(labels: np.ndarray, sub: Subset, where: str) -> None:
    """Raise a SourceError naming the subset's classes that have no movie left."""
    empty = [g for k, g in enumerate(sub.genres) if not np.any(labels == k)]
    if empty:
        raise SourceError(f"class(es) {', '.join(empty)} of subset {sub.name} have no movie {where}")


def _read_rows(path: PathLike, sub: Subset, limit: int | None) -> tuple[ItemRows, list[SkippedItem], Path]:
    """The movies of ``sub`` with a poster file (at most ``limit``, spread), the ones left out, and the folder."""
    folder = find_dataset_dir(path)
    scan = scan_dataset(folder)
    if not scan.movies:
        raise SourceError(f"none of the json files in {folder} could be read ({scan.bad_json} unreadable)")
    present = {g.strip().lower() for m in scan.movies for g in m.genres}
    missing = [g for g in sub.genres if g.lower() not in present]
    if missing:
        raise SourceError(
            f"genre(s) {', '.join(missing)} of subset {sub.name} found in none of the "
            f"{len(scan.movies)} movies in {folder}"
        )
    rows, labels = assign_labels([m.genres for m in scan.movies], sub)
    rule = f"(a movie belongs when exactly one of {', '.join(sub.genres)} is its genre)"
    _check_classes(labels, sub, f"in {folder} {rule}")
    skipped = [SkippedItem(scan.movies[i].imdb_id, MISSING_IMAGE) for i in rows if scan.movies[i].image is None]
    skipped += [SkippedItem(name, "unreadable json") for name in scan.bad_json_files]
    has_poster = np.array([scan.movies[i].image is not None for i in rows], dtype=bool)
    rows, labels = rows[has_poster], labels[has_poster]
    _check_classes(labels, sub, f"with a poster in {folder}")
    if limit is not None:
        keep = _spread(labels, int(limit), sub.n_classes)
        rows, labels = rows[keep], labels[keep]
    movies = [scan.movies[i] for i in rows]
    items = ItemRows(
        ids=tuple(m.imdb_id for m in movies),
        image_paths=tuple(str(folder / m.image[0]) for m in movies),  # type: ignore[index]
        texts=tuple(m.plot for m in movies),
        y=np.asarray(labels, dtype=np.int64),
        class_names=sub.genres,
        titles=tuple(m.title for m in movies),
    )
    return items, skipped, folder


@item_loader_doc
def load_raw_items(
    path: PathLike,
    subset: "str | Subset",
    progress: ProgressFn | None = None,
    encoder: EncoderOptions = EncoderOptions(),
    limit: int | None = None,
    encoders: ItemEncoders | None = None,
    use_cache: bool = True,
) -> LoadedItems:
    """Encode a subset of the raw MM-IMDb archive: posters with a CNN, plots with MiniLM.

    Parameters
    ----------
    path : path
        The extracted ``mmimdb`` folder or its ``dataset/`` subfolder.
    subset : str or Subset
        A paper subset (``"HR"``) or genres (``"Horror,Romance"``).
    limit : int, optional
        Encode at most this many movies (spread over the classes and the id range), for trials.
    {encoder_parameters}

    The feature set has the modalities ``("visual", "text")`` (width of the image encoder,
    384), class names = the subset's genres, ids, titles, plots (``texts``), poster paths
    and thumbnails; ``encoder.finetune`` ``ce`` reproduces the paper (the image encoder is
    fine-tuned on a stratified 20% of the subset, and only the other 80% are exported).
    Movies without a poster or with an unreadable one are left out (and listed as skipped).

    Raises
    ------
    SourceError
        Bad path, image encoder unavailable or invalid, the torch extra missing where needed,
        unknown device or finetune mode, a subset genre found in no movie, no movie of the
        subset, or a class left without movies.
    """
    sub = resolve_subset(subset)
    options = encoder.validated()
    if limit is not None and int(limit) < sub.n_classes:
        raise SourceError(f"limit must be at least the number of classes ({sub.n_classes}), got {limit}")
    encoders = default_encoders(options) if encoders is None else encoders  # weights unavailable: fails before reading
    rows, skipped, folder = _read_rows(path, sub, limit)

    def check(kept: ItemRows, left_out: Sequence[SkippedItem], where: str) -> None:
        _check_classes(kept.y, sub, f"with a readable poster in {folder}")

    description = (
        f"raw MM-IMDb ({folder}): {len(rows.ids)} movies of subset {sub.name} ({', '.join(sub.genres)}) with a poster"
        + (f", limited to {limit}" if limit is not None else "")
        + "; texts are the first plots"
    )
    loaded = encode_items(rows, encoders, "raw", description, skipped, options.finetune, progress, use_cache,
                          modality_names=("visual", "text"), check_kept=check)
    fs = loaded.features
    no_plot = sum(not t for t in fs.texts or ())
    if no_plot:
        fs = replace(fs, description=f"{fs.description}; {no_plot} movie(s) without plot (empty text)")
    return LoadedItems(features=fs, skipped=loaded.skipped)


def load_raw(
    path: PathLike, subset: "str | Subset", progress: ProgressFn | None = None, **options: object
) -> FeatureSet:
    """:func:`load_raw_items` returning only the feature set."""
    return load_raw_items(path, subset, progress=progress, **options).features  # type: ignore[arg-type]
