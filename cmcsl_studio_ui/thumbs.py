"""Item thumbnails as data URLs, for tables (``st.column_config.ImageColumn``) and hover HTML.

Pure (no Streamlit): a feature file may carry small JPEG thumbnails per item
(:meth:`FeatureSet.thumbnail`); these helpers turn them into ``data:`` URLs.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import Iterable

from cmcsl_core.datasets.features import FeatureSet

__all__ = ["has_thumbnails", "thumbnail_data_url", "thumbnail_urls", "TABLE_THUMBNAILS", "square_thumbnail"]

TABLE_THUMBNAILS = 200
"""Rows of a table that get a thumbnail (the first ones shown): keeps the page light."""


def has_thumbnails(fs: FeatureSet) -> bool:
    """Whether the data carries item thumbnails."""
    return fs.thumbnails is not None and any(fs.thumbnails)


def _mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:3] == b"GIF":
        return "image/gif"
    return "image/jpeg"


def thumbnail_data_url(fs: FeatureSet, i: int) -> str | None:
    """``data:image/jpeg;base64,...`` of item ``i``'s thumbnail, or None when it has none."""
    data = fs.thumbnail(int(i))
    if not data:
        return None
    return f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_urls(fs: FeatureSet, rows: Iterable[int], limit: int = TABLE_THUMBNAILS) -> list[str | None]:
    """Data URLs for ``rows`` (None past the first ``limit`` rows and for items without a thumbnail)."""
    return [thumbnail_data_url(fs, i) if n < limit else None for n, i in enumerate(rows)]


@lru_cache(maxsize=256)
def square_thumbnail(data: bytes, background: str = "#ffffff") -> bytes:
    """``data`` (an encoded image) centred on a square canvas of its longer side, as PNG bytes.

    Gallery cards then line up whatever the pictures' shapes; undecodable bytes come back unchanged.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            side = max(img.size)
            canvas = Image.new("RGB", (side, side), background)
            canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    except (UnidentifiedImageError, OSError):
        return data
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
