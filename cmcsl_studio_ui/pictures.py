"""An item's picture wherever the app shows the item: its thumbnail, or a clear placeholder.

Pure (no Streamlit). Data *has pictures* when it carries thumbnails or knows its image
files (``image_paths``); then every item gets a picture: its thumbnail
(:meth:`FeatureSet.thumbnail`), or, where its image could not be read, the placeholder
(a grey square saying so), never a broken image. Data without pictures (the simulated
demo's features) shows none.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

from cmcsl_core.datasets.features import FeatureSet

__all__ = ["has_pictures", "picture", "picture_url", "placeholder_png", "PLACEHOLDER_TEXT"]

PLACEHOLDER_TEXT = "no picture"
"""What the placeholder says (also its alt text)."""


def has_pictures(fs: FeatureSet) -> bool:
    """Whether the data has pictures: thumbnails, or image files."""
    return (fs.thumbnails is not None and any(fs.thumbnails)) or fs.image_paths is not None


@lru_cache(maxsize=4)
def placeholder_png(size: int = 96) -> bytes:
    """A light grey square with a dashed border and the words "no picture" (PNG)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (238, 238, 238))
    draw = ImageDraw.Draw(img)
    for x in range(0, size, 8):  # dashed border
        for a, b in (((x, 0), (x + 4, 0)), ((x, size - 1), (x + 4, size - 1)), ((0, x), (0, x + 4)), ((size - 1, x), (size - 1, x + 4))):
            draw.line([a, b], fill=(160, 160, 160))
    box = draw.textbbox((0, 0), PLACEHOLDER_TEXT)
    w, h = box[2] - box[0], box[3] - box[1]
    draw.text(((size - w) / 2, (size - h) / 2), PLACEHOLDER_TEXT, fill=(110, 110, 110))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def picture(fs: FeatureSet, i: int) -> bytes | None:
    """Item ``i``'s thumbnail; the placeholder where the data has pictures but not this one; else None."""
    thumb = fs.thumbnail(int(i))
    if thumb:
        return thumb
    return placeholder_png() if has_pictures(fs) else None


def _mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def picture_url(fs: FeatureSet, i: int) -> str | None:
    """:func:`picture` as a ``data:`` URL (None when the data has no pictures)."""
    data = picture(fs, i)
    if data is None:
        return None
    return f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
