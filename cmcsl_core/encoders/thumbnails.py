"""Item thumbnails: small JPEGs made by the library itself, cached by the image file's content.

The format is the built-in MVSA file's: the longer side :data:`THUMBNAIL_SIZE` (96 px),
JPEG quality :data:`THUMBNAIL_QUALITY` (70), RGB (alpha composited on white). The encoding
pipeline (:mod:`cmcsl_core.encoders.pipeline`) makes them from the pixels it decodes anyway;
:func:`file_thumbnails` makes them for files only (a feature file that carries ``image_paths``
but no thumbnails), with the same per-file cache.

Anything shown to a browser goes through :func:`reencode_thumbnail` (Pillow decodes the bytes,
whatever they are, and writes a fresh JPEG of bounded size: never a user's bytes passed on), and
an item whose image cannot be read shows :func:`placeholder_thumbnail`.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from cmcsl_core.cache import cached_rows
from cmcsl_core.fileio import distinct_contents, io_threads
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

__all__ = [
    "THUMBNAIL_SIZE",
    "THUMBNAIL_QUALITY",
    "THUMBNAIL_MAX_SIDE",
    "THUMBNAIL_MAX_PIXELS",
    "THUMBNAILS_NAMESPACE",
    "THUMBNAILS_IDENTITY",
    "jpeg_thumbnail",
    "make_thumbnail",
    "file_thumbnails",
    "reencode_thumbnail",
    "placeholder_thumbnail",
    "pack_thumbnails",
    "unpack_thumbnails",
]

THUMBNAIL_SIZE = 96
"""Longer side of an item thumbnail, in pixels."""

THUMBNAIL_QUALITY = 70
"""JPEG quality of an item thumbnail."""

THUMBNAIL_MAX_SIDE = 256
"""Longer side, in pixels, of any thumbnail re-encoded for a browser (:func:`reencode_thumbnail`)."""

THUMBNAIL_MAX_PIXELS = 4096 * 4096
"""Images declaring more pixels than this are not decoded for a thumbnail (a bound on memory and time)."""

THUMBNAILS_NAMESPACE = "thumbnails"
"""The per-file cache namespace of thumbnails (:func:`cmcsl_core.cache.cached_rows`)."""

THUMBNAILS_IDENTITY = f"jpeg-{THUMBNAIL_SIZE}px-q{THUMBNAIL_QUALITY}-lanczos/v1"
"""Everything besides a file's content that decides its thumbnail."""

_FIELD = "jpeg"


def jpeg_thumbnail(im: "Image.Image", size: int = THUMBNAIL_SIZE, quality: int = THUMBNAIL_QUALITY) -> bytes:
    """A JPEG of an RGB Pillow image whose longer side is at most ``size`` (Lanczos)."""
    from PIL import Image

    small = im.convert("RGB") if im.mode != "RGB" else im.copy()  # the caller's image stays as it is
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def make_thumbnail(path: PathLike) -> bytes:
    """The thumbnail of an image file (any format Pillow reads); ``b""`` when it cannot be read.

    The same bytes as the encoding pipeline makes for the same file (one recipe,
    :func:`cmcsl_core.encoders.decode.decode_image`).
    """
    from cmcsl_core.encoders.decode import decode_image

    return decode_image(path, thumbnail=True, pixels=False).thumbnail


def pack_thumbnails(thumbs: Sequence[bytes]) -> dict[str, np.ndarray]:
    """Thumbnails as a cache row field: fixed-width bytes (a JPEG ends in ``FF D9``, so no byte is lost)."""
    return {_FIELD: np.asarray(list(thumbs), dtype=np.bytes_) if thumbs else np.zeros(0, dtype="S1")}


def unpack_thumbnails(rows: dict[str, np.ndarray]) -> list[bytes]:
    """The thumbnails of cache rows written by :func:`pack_thumbnails`."""
    return [bytes(b) for b in rows[_FIELD].tolist()]


def file_thumbnails(
    paths: Sequence[PathLike],
    digests: Optional[Sequence[str | None]] = None,
    made: Optional[dict[str, bytes]] = None,
    progress: Optional[ProgressFn] = None,
    use_cache: bool = True,
) -> tuple[bytes, ...]:
    """The thumbnail of every file (``b""`` for a missing or unreadable one), cached by content.

    Parameters
    ----------
    paths : sequence of path
        Image files.
    digests : sequence of str or None, optional
        The files' SHA-256 when the caller has them already (None: unreadable); computed otherwise.
    made : dict of digest to bytes, optional
        Thumbnails the caller has just made from decoded pixels: stored, not made again.
    progress : callable(done, total), optional
        Called as files are read (``total`` = files not cached).
    use_cache : bool
        Read and write the on-disk cache (one row per distinct content).
    """
    names = [os.fspath(p) for p in paths]
    if digests is None:
        digests, first = distinct_contents(names)
    else:
        first = {}
        for name, d in zip(names, digests):
            if d is not None:
                first.setdefault(d, name)
    made = made or {}

    def compute(todo: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, bytes] = {d: made[d] for d in todo if d in made}
        rest = [d for d in todo if d not in out]
        if rest:
            with ThreadPoolExecutor(max_workers=io_threads(), thread_name_prefix="cmcsl-thumb") as pool:
                for k, (d, thumb) in enumerate(zip(rest, pool.map(lambda d: make_thumbnail(first[d]), rest)), 1):
                    out[d] = thumb
                    if progress is not None and (k % 64 == 0 or k == len(rest)):
                        progress(k, len(rest))
        return pack_thumbnails([out[d] for d in todo])

    present = [d for d in digests if d is not None]
    if not present:
        return tuple(b"" for _ in names)
    stored = iter(
        unpack_thumbnails(cached_rows(THUMBNAILS_NAMESPACE, THUMBNAILS_IDENTITY, present, compute, enabled=use_cache))
    )
    return tuple(next(stored) if d is not None else b"" for d in digests)


@lru_cache(maxsize=2048)
def reencode_thumbnail(data: bytes, max_side: int = THUMBNAIL_MAX_SIDE, quality: int = 80) -> bytes | None:
    """A fresh JPEG of encoded image bytes, at most ``max_side`` px; None when they are not a usable image.

    Whatever ``data`` holds (a feature file's thumbnail, from anywhere), the result is a
    baseline JPEG written here by Pillow: no metadata, no script, bounded size.
    """
    from PIL import Image, UnidentifiedImageError

    from cmcsl_core.encoders.decode import to_rgb

    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > THUMBNAIL_MAX_PIXELS or min(opened.size) < 1:
                return None
            opened.draft("RGB", (max_side, max_side))
            opened.load()
            return jpeg_thumbnail(to_rgb(opened), max_side, quality)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


@lru_cache(maxsize=8)
def placeholder_thumbnail(size: int = THUMBNAIL_SIZE, text: str = "no picture") -> bytes:
    """A JPEG that says an item's picture could not be read: a grey square, a crossed frame and ``text``."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), (236, 236, 240))
    draw = ImageDraw.Draw(im)
    pad = max(2, size // 6)
    box = (pad, pad, size - pad, size - pad - size // 6)
    draw.rectangle(box, outline=(150, 150, 160), width=max(1, size // 48))
    draw.line((box[0], box[1], box[2], box[3]), fill=(150, 150, 160), width=max(1, size // 48))
    draw.line((box[0], box[3], box[2], box[1]), fill=(150, 150, 160), width=max(1, size // 48))
    width = draw.textlength(text)
    draw.text(((size - width) / 2, size - pad - size // 8), text, fill=(90, 90, 100))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()
