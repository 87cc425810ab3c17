"""Reading image files into the encoders' input: RGB, resize 256 (short side), centre crop 224.

Any format Pillow reads is accepted (JPEG, PNG, GIF (first frame), WebP, BMP, TIFF, ...).
Palette, CMYK, greyscale, 16-bit and alpha images are converted to 8-bit RGB (alpha is
composited on white). A file that cannot be decoded (truncated, empty, not an image) gives
a one-line reason instead of an exception; ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left as
it is. JPEG files are decoded at a reduced scale when they are much larger than needed
(``Image.draft``), which makes big photos several times faster to read.

:func:`decode_image` also makes the item's thumbnail from the pixels it decoded (so the
encoding pipeline reads every image once); :func:`load_image` gives the pixels only.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

__all__ = ["RESIZE", "CROP", "MEAN", "STD", "MISSING", "Decoded", "decode_image", "load_image", "to_rgb"]

RESIZE = 256
"""Short side after resizing."""

CROP = 224
"""Side of the centre crop fed to the network."""

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
"""ImageNet normalisation (per RGB channel, on [0, 1] pixels)."""

MISSING = "missing file"
"""The error reason of a path that is not a readable file."""


def to_rgb(im: "Image.Image") -> "Image.Image":
    """Convert any Pillow image mode to 8-bit RGB (alpha composited on white)."""
    from PIL import Image

    assert isinstance(im, Image.Image)
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    elif mode in ("L", "1", "CMYK", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB")
    elif "transparency" in im.info and mode in ("L", "RGB"):
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


@dataclass(frozen=True)
class Decoded:
    """One image file, decoded for the encoders.

    Attributes
    ----------
    pixels : uint8 array (crop, crop, 3) or None
        The preprocessed RGB pixels; None when the file could not be used.
    reason : str
        Why it could not be used (``""`` when it could).
    thumbnail : bytes
        Its thumbnail (:mod:`cmcsl_core.encoders.thumbnails`); ``b""`` when not asked for or unusable.
    """

    pixels: np.ndarray | None
    reason: str = ""
    thumbnail: bytes = b""


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return "cannot decode: " + text[:160]


@contextmanager
def _rgb(path: str, resize: int) -> Iterator["Image.Image"]:
    """The image at ``path`` in 8-bit RGB, JPEGs decoded at the smallest DCT scale keeping the short side >= ``resize``.

    Raises what Pillow raises, ValueError for an image without pixels.
    """
    from PIL import Image

    with Image.open(path) as opened:
        w, h = opened.size
        if w < 1 or h < 1:
            raise ValueError("image has no pixels")
        if opened.format == "JPEG":
            scale = resize / min(w, h)
            if scale < 0.5:
                opened.draft("RGB", (max(1, int(np.ceil(w * scale))), max(1, int(np.ceil(h * scale)))))
        opened.load()  # raises for truncated files (LOAD_TRUNCATED_IMAGES untouched)
        im = to_rgb(opened)
        assert isinstance(im, Image.Image)
        yield im


def decode_image(
    path: Union[str, "os.PathLike[str]"],
    thumbnail: bool = False,
    resize: int = RESIZE,
    crop: int = CROP,
    pixels: bool = True,
) -> Decoded:
    """Decode one image file, preprocess it like torchvision's ``Resize(256)`` + ``CenterCrop(224)``.

    Parameters
    ----------
    path : path
        The image file.
    thumbnail : bool
        Also make its thumbnail (:func:`cmcsl_core.encoders.thumbnails.jpeg_thumbnail` of the
        decoded RGB image, before resizing: the one recipe of every item thumbnail).
    resize, crop : int
        Short side after resizing (bilinear, antialiased) and side of the centre crop.
    pixels : bool
        Give the pixels (False: the thumbnail only).

    Returns
    -------
    Decoded
        The RGB pixels (uint8 (crop, crop, 3)) and thumbnail, or the one-line reason the file
        cannot be used (``"missing file"`` or ``"cannot decode: ..."``); never raises for a bad file.
    """
    from PIL import Image, UnidentifiedImageError

    from cmcsl_core.encoders.thumbnails import jpeg_thumbnail

    path = os.fspath(path)
    if not os.path.isfile(path):
        return Decoded(None, MISSING)
    try:
        if os.path.getsize(path) == 0:
            return Decoded(None, "cannot decode: empty file")
        with _rgb(path, resize) as im:
            thumb = jpeg_thumbnail(im) if thumbnail else b""
            if not pixels:
                return Decoded(None, "", thumb)
            w, h = im.size
            # as torchvision's Resize(resize) + CenterCrop(crop) on a PIL image
            nw, nh = (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)
            if (nw, nh) != (w, h):
                im = im.resize((max(nw, 1), max(nh, 1)), Image.Resampling.BILINEAR)
            left, top = int(round((nw - crop) / 2.0)), int(round((nh - crop) / 2.0))
            im = im.crop((left, top, left + crop, top + crop))
            return Decoded(np.asarray(im, dtype=np.uint8), "", thumb)
    except FileNotFoundError:
        return Decoded(None, MISSING)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return Decoded(None, _reason(exc))


def load_image(path: Union[str, "os.PathLike[str]"], resize: int = RESIZE, crop: int = CROP) -> "np.ndarray | str":
    """:func:`decode_image`'s pixels (uint8 (crop, crop, 3)), or the reason the file cannot be used."""
    decoded = decode_image(path, thumbnail=False, resize=resize, crop=crop)
    return decoded.pixels if decoded.pixels is not None else decoded.reason
