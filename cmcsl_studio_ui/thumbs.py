"""Item thumbnails for the browser: always JPEGs this app re-encoded, never a file's bytes passed on.

Pure (no Streamlit). A feature file may carry small JPEG thumbnails per item
(:meth:`FeatureSet.thumbnail`; the loader adds them to a file that has only ``image_paths``,
:func:`cmcsl_core.datasets.thumbnails.with_thumbnails`). Whatever those bytes are, what reaches
a browser is :func:`item_thumbnail`: Pillow decodes them and writes a fresh baseline JPEG of at
most :data:`~cmcsl_core.encoders.thumbnails.THUMBNAIL_MAX_SIDE` pixels
(:func:`~cmcsl_core.encoders.thumbnails.reencode_thumbnail`), and an item whose picture could not
be read gets the placeholder (:func:`~cmcsl_core.encoders.thumbnails.placeholder_thumbnail`),
never a broken image.

The Clusters page's hover tooltip loads thumbnails as files: :func:`publish_thumbnails` writes
them (re-encoded) into a folder per data set under the cache folder (``CMCSL_CACHE_DIR``, else
``~/.cache/cmcsl-studio``: ``served-thumbnails/<digest>/<i>.jpg``), and removes the folders of
data sets not shown for :data:`STALE_DAYS` days (at most :data:`KEEP_FOLDERS` are kept).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from cmcsl_core.cache import cache_dir
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.encoders.thumbnails import THUMBNAIL_SIZE, placeholder_thumbnail, reencode_thumbnail
from cmcsl_core.fileio import io_threads

__all__ = [
    "has_thumbnails",
    "item_thumbnail",
    "thumbnail_data_url",
    "thumbnail_urls",
    "TABLE_THUMBNAILS",
    "square_thumbnail",
    "served_thumbnails_dir",
    "publish_thumbnails",
    "remove_stale_thumbnails",
    "STALE_DAYS",
    "KEEP_FOLDERS",
]

TABLE_THUMBNAILS = 200
"""Rows of a table that get a thumbnail (the first ones shown): keeps the page light."""

STALE_DAYS = 14
"""Published thumbnail folders not used for this many days are removed."""

KEEP_FOLDERS = 12
"""At most this many published thumbnail folders (data sets) are kept, the most recently used."""

_SERVED = "served-thumbnails"


def has_thumbnails(fs: FeatureSet) -> bool:
    """Whether the data has pictures: thumbnails (from its file, or made from its image paths when loaded).

    Items of such data whose picture is missing show the placeholder.
    """
    return fs.thumbnails is not None and (any(fs.thumbnails) or fs.image_paths is not None)


def item_thumbnail(fs: FeatureSet, i: int, max_side: int = THUMBNAIL_SIZE) -> bytes | None:
    """The JPEG to show for item ``i`` (re-encoded here).

    The placeholder when its picture is unreadable, None without pictures.
    """
    if not has_thumbnails(fs):
        return None
    data = fs.thumbnail(int(i))
    safe = reencode_thumbnail(data, max_side) if data else None
    return safe if safe is not None else placeholder_thumbnail(THUMBNAIL_SIZE)


def thumbnail_data_url(fs: FeatureSet, i: int) -> str | None:
    """``data:image/jpeg;base64,...`` of :func:`item_thumbnail`, or None when the data has no pictures."""
    data = item_thumbnail(fs, i)
    if data is None:
        return None
    return f"data:image/jpeg;base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_urls(fs: FeatureSet, rows: Iterable[int], limit: int = TABLE_THUMBNAILS) -> list[str | None]:
    """Data URLs for ``rows`` (None past the first ``limit`` rows and when the data has no pictures)."""
    return [thumbnail_data_url(fs, i) if n < limit else None for n, i in enumerate(rows)]


@lru_cache(maxsize=256)
def square_thumbnail(data: bytes, background: str = "#ffffff") -> bytes:
    """``data`` (an encoded image) re-encoded and centred on a square canvas of its longer side, as PNG bytes.

    Gallery cards then line up whatever the pictures' shapes; undecodable bytes give the placeholder.
    """
    from PIL import Image

    safe = reencode_thumbnail(data) or placeholder_thumbnail(THUMBNAIL_SIZE)
    with Image.open(io.BytesIO(safe)) as img:
        img = img.convert("RGB")
        side = max(img.size)
        canvas = Image.new("RGB", (side, side), background)
        canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def served_thumbnails_dir() -> Path:
    """The folder (under the cache folder) whose files the app serves as thumbnails; created."""
    path = cache_dir() / _SERVED
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish_thumbnails(fs: FeatureSet, data_key: str) -> str | None:
    """Write the items' thumbnails as ``<i>.jpg`` (re-encoded) into a folder of their own; returns its name.

    Written once per data set (and cache folder), published with one rename, so a tooltip never
    sees a half-written folder; a published folder's time is refreshed on every use, and stale
    folders are removed (:func:`remove_stale_thumbnails`). None when the data has no pictures.
    """
    if not has_thumbnails(fs):
        return None
    root = served_thumbnails_dir()
    digest = hashlib.blake2b(data_key.encode(), digest_size=10).hexdigest()
    target = root / digest
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root))

        def write(i: int) -> None:
            blob = item_thumbnail(fs, i)  # Pillow releases the GIL: the threads re-encode in parallel
            if blob:
                (tmp / f"{i}.jpg").write_bytes(blob)

        try:
            with ThreadPoolExecutor(max_workers=io_threads(), thread_name_prefix="cmcsl-thumbs") as pool:
                list(pool.map(write, range(fs.n_items)))
            os.replace(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not target.is_dir():
                return None
    else:
        os.utime(target)
    remove_stale_thumbnails(root, keep=target)
    return digest


def remove_stale_thumbnails(root: Path | None = None, keep: Path | None = None, max_age_days: float = STALE_DAYS,
                            max_folders: int = KEEP_FOLDERS) -> list[Path]:
    """Remove published folders unused for ``max_age_days``, the oldest beyond ``max_folders``, and temporaries.

    Temporaries are the abandoned ones.

    Returns the folders removed. ``keep`` (the folder in use) is never removed.
    """
    root = root or served_thumbnails_dir()
    now = time.time()
    try:
        entries = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    removed = []
    published = sorted(
        (p for p in entries if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for rank, path in enumerate(published):
        if path == keep:
            continue
        if now - path.stat().st_mtime > max_age_days * 86400 or rank >= max_folders:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    for path in entries:
        if path.name.startswith(".") and now - path.stat().st_mtime > 3600:  # a writer that died an hour ago
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
