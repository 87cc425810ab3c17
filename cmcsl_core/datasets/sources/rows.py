"""Items read from a source, before encoding: :class:`ItemRows` and the rows left out (:class:`SkippedItem`).

A source that encodes (``mvsa``, ``table``, ``raw``) reads its own layout into ``ItemRows``
(ids, image paths, texts, labels) plus the rows it had to leave out, each with a reason; the
encoding (:mod:`cmcsl_core.datasets.sources.encoding`) adds the undecodable images, and the
skip report (:mod:`cmcsl_core.datasets.sources.skipped`) tells the user.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

__all__ = ["MISSING_IMAGE", "MISSING_LABEL", "SkippedItem", "ItemRows", "decode_text"]

MISSING_IMAGE = "missing image"
MISSING_LABEL = "missing label"


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes Windows-1252 leaves undefined (0x81, 0x8D, ...) read as Latin-1."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("cmcsl-latin1", _latin1_fallback)


def decode_text(data: bytes, legacy: Sequence[str] = ()) -> str:
    """Decode text bytes: UTF-8 (a BOM is dropped), else ``legacy`` codecs, else Windows-1252; never fails.

    Parameters
    ----------
    data : bytes
        The raw bytes of a file or a field.
    legacy : sequence of str
        Codecs tried (strictly) after UTF-8, before the Windows-1252 fallback, e.g.
        ``("gb18030",)`` for MVSA, whose non-UTF-8 texts were saved as GBK.

    Returns
    -------
    str
        The text (not stripped). Bytes Windows-1252 leaves undefined read as Latin-1.
    """
    for codec in ("utf-8-sig", *legacy):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="cmcsl-latin1")


@dataclass(frozen=True)
class SkippedItem:
    """A row left out of the output: its id and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class ItemRows:
    """Items read from a source, ready to encode.

    Parameters
    ----------
    ids, image_paths, texts : tuple of str
        One entry per item; image paths are absolute.
    y : ndarray of int
        Class of every item, ``0 .. K-1``.
    class_names : tuple of str
        The K class names.
    modality_labels : dict of str to ndarray, optional
        Human labels per modality (``-1`` where unknown), kept in the feature file.
    titles : tuple of str, optional
        A title per item (``raw``: the movie's), kept in the feature file.
    """

    ids: tuple[str, ...]
    image_paths: tuple[str, ...]
    texts: tuple[str, ...]
    y: np.ndarray
    class_names: tuple[str, ...]
    modality_labels: Mapping[str, np.ndarray] | None = None
    titles: tuple[str, ...] | None = None

    def take(self, rows: np.ndarray) -> "ItemRows":
        """The items at positions ``rows``."""
        idx = [int(i) for i in rows]
        return ItemRows(
            ids=tuple(self.ids[i] for i in idx),
            image_paths=tuple(self.image_paths[i] for i in idx),
            texts=tuple(self.texts[i] for i in idx),
            y=self.y[np.asarray(idx, dtype=np.int64)],
            class_names=self.class_names,
            modality_labels=None
            if self.modality_labels is None
            else {k: v[np.asarray(idx, dtype=np.int64)] for k, v in self.modality_labels.items()},
            titles=None if self.titles is None else tuple(self.titles[i] for i in idx),
        )
