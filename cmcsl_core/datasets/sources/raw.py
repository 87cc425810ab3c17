"""The raw MM-IMDb archive: posters + json files -> image-encoder / MiniLM features.

The original archive (``mmimdb.tar.gz``, about 8 GB) extracts to ``mmimdb/`` with
``split.json`` and a ``dataset/`` folder holding, for every movie, ``<id>.jpeg``
(the poster) and ``<id>.json`` (IMDb metadata: ``genres``, ``plot``, ``title``, ...).
:func:`load_raw` reads the movies of a subset (exactly-one rule, see
:mod:`cmcsl_core.datasets.subsets`) and encodes them: visual = the pooled features of an
image encoder (:mod:`cmcsl_core.encoders.image`: EfficientNet-Lite0 by default, or the
paper's ResNet-18), text = all-MiniLM-L6-v2 embedding of the first plot (384, unit norm).
Features are cached on disk by the files' contents and the encoders' identity, so a
second run is instant. ``finetune="ce"`` reproduces the paper: the image encoder is
fine-tuned on a stratified 20% of the subset, and only the other 80% are exported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmcsl_core.errors import SourceError
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.sources.items import EncoderOptions
from cmcsl_core.datasets.subsets import Subset, assign_labels, resolve_subset
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["MovieRecord", "RawScan", "find_dataset_dir", "scan_dataset", "load_raw"]

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
    for stem in sorted(jsons):
        try:
            with open(folder / jsons[stem][0], encoding="utf-8") as fh:
                meta = json.load(fh)
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            bad += 1
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
    return RawScan(folder=folder, movies=tuple(movies), bad_json=bad)


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


def load_raw(
    path: PathLike,
    subset: "str | Subset",
    progress: ProgressFn | None = None,
    image_encoder: str = "efficientnet-lite0",
    finetune: str = "none",
    batch_size: int = 64,
    device: str = "auto",
    limit: int | None = None,
    text_model: PathLike | None = None,
    use_cache: bool = True,
) -> FeatureSet:
    """Encode a subset of the raw MM-IMDb archive: posters with a CNN, plots with MiniLM.

    Parameters
    ----------
    path : path
        The extracted ``mmimdb`` folder or its ``dataset/`` subfolder.
    subset : str or Subset
        A paper subset (``"HR"``) or genres (``"Horror,Romance"``).
    progress : callable(done, total), optional
        Called after every batch; ``total`` is twice the number of movies (posters, then plots).
    image_encoder : str
        ``"efficientnet-lite0"`` (1280-d, bundled ImageNet weights), ``"resnet18"`` (512-d,
        torchvision's ImageNet weights), ``"none"`` (random ResNet-18, for trials) or a local
        ``.pth`` state dict (see :mod:`cmcsl_core.encoders.image`).
    finetune : str
        ``"none"``, ``"ce"`` or ``"supcon"``: fine-tune the image encoder on a stratified 20%
        of the movies (:mod:`cmcsl_core.encoders.finetune`) and export the other 80% only.
    batch_size : int
        Images per forward pass.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"`` (``"cuda:1"``, ...).
    limit : int, optional
        Encode at most this many movies (spread over the classes and the id range), for trials.
    text_model : path, optional
        A local sentence-transformers folder instead of the bundled all-MiniLM-L6-v2.
    use_cache : bool
        Read and write the on-disk feature cache.

    Returns
    -------
    FeatureSet
        Modalities ``("visual", "text")`` (width of the image encoder, 384), class names = the
        subset's genres, ids, titles, plots (``texts``) and poster paths; movies without a
        poster or with an unreadable one are left out and counted in ``description``.

    Raises
    ------
    SourceError
        Bad path, image encoder unavailable or invalid, unknown device or finetune mode, a subset genre found in
        no movie, no movie of the subset, or a class left without movies.
    """
    from cmcsl_core.encoders.finetune import finetune_image_encoder, split_finetune
    from cmcsl_core.encoders.image import describe_image_encoder, encode_images, load_image_encoder
    from cmcsl_core.encoders.text import encode_texts, load_text_encoder, minilm_path

    sub = resolve_subset(subset)
    options = EncoderOptions(
        image_encoder=image_encoder,
        text_model=None if text_model is None else os.fspath(text_model),
        finetune=str(finetune).strip().lower(),
        device=device,
        batch_size=int(batch_size),
    ).validated()
    finetune, batch_size = options.finetune, options.batch_size
    if limit is not None and int(limit) < sub.n_classes:
        raise SourceError(f"limit must be at least the number of classes ({sub.n_classes}), got {limit}")
    folder = find_dataset_dir(path)
    encoder = load_image_encoder(image_encoder, device)  # fails early when the weights are unavailable
    minilm_path(text_model)  # a wrong text model folder fails early too

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
    no_poster = sum(scan.movies[i].image is None for i in rows)
    has_poster = np.array([scan.movies[i].image is not None for i in rows], dtype=bool)
    rows, labels = rows[has_poster], labels[has_poster]
    _check_classes(labels, sub, f"with a poster in {folder}")
    if limit is not None:
        keep = _spread(labels, int(limit), sub.n_classes)
        rows, labels = rows[keep], labels[keep]
    movies = [scan.movies[i] for i in rows]
    n = len(movies)

    stages = 3 if finetune != "none" else 2

    def report(stage: int) -> ProgressFn | None:
        callback = progress
        if callback is None:
            return None
        return lambda done, total: callback(stage * n + (done * n) // max(total, 1), stages * n)

    image_paths = [str(folder / m.image[0]) for m in movies]  # type: ignore[index]
    n_tuned = 0
    if finetune != "none":
        tune, keep = split_finetune(labels)
        encoder = finetune_image_encoder(
            encoder, [image_paths[i] for i in tune], labels[tune], finetune,
            device=encoder.device, progress=report(0), use_cache=use_cache,
        )
        n_tuned = int(tune.size)
        movies, labels = [movies[i] for i in keep], labels[keep]
        image_paths = [image_paths[i] for i in keep]
    vis = encode_images(image_paths, encoder, int(batch_size), report(stages - 2), use_cache=use_cache)
    ok = vis.ok
    unreadable = int((~ok).sum())
    movies = [m for m, good in zip(movies, ok) if good]
    labels, image_paths = labels[ok], [p for p, good in zip(image_paths, ok) if good]
    _check_classes(labels, sub, f"with a readable poster in {folder}")

    texts = [m.plot for m in movies]
    text_encoder = load_text_encoder(text_model, encoder.device)
    text_features = encode_texts(texts, text_encoder, progress=report(stages - 1), use_cache=use_cache)
    if progress is not None:
        progress(stages * n, stages * n)

    skipped = []
    if no_poster:
        skipped.append(f"{no_poster} without poster")
    if unreadable:
        skipped.append(f"{unreadable} with an unreadable poster")
    if scan.bad_json:
        skipped.append(f"{scan.bad_json} unreadable json file(s) in the folder")
    no_plot = sum(not t for t in texts)
    description = (
        f"raw MM-IMDb ({folder}): {len(movies)} movies of subset {sub.name} ({', '.join(sub.genres)})"
        + (f", limited to {limit}" if limit is not None else "")
        + f"; visual = {describe_image_encoder(encoder)} pooled features; text = {text_encoder.name} of the first plot"
        + (f"; {n_tuned} movies used to fine-tune the image encoder and left out" if n_tuned else "")
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
        + (f"; {no_plot} movie(s) without plot (empty text)" if no_plot else "")
    )
    return FeatureSet(
        modality_names=("visual", "text"),
        X=(vis.features[ok], text_features),
        y=labels,
        class_names=sub.genres,
        ids=tuple(m.imdb_id for m in movies),
        titles=tuple(m.title for m in movies),
        texts=tuple(texts),
        image_paths=tuple(image_paths),
        source="raw",
        description=description,
    )
