"""Source ``mvsa``: the MVSA-Single tweets (an image and a text each, labelled per modality).

Layout of the folder (``--path DIR``)::

    DIR/labelResultAll.txt   header ``ID<TAB>text,image``, then ``1<TAB>neutral,positive``
    DIR/data/<id>.jpg        the tweet's image
    DIR/data/<id>.txt        the tweet's text (UTF-8, else GBK, else Windows-1252)

The label file's header names the order of the two labels (``text,image`` in the public
file); it is read, never assumed. Labels are ``positive``, ``neutral``, ``negative``
(class names in that fixed order: :data:`CLASS_NAMES`).

``labels`` chooses ``y``:

``merged`` (default)
    the late-fusion paper's rule (:func:`merge_labels`): the same label on both sides is
    kept; one side neutral takes the other side; positive vs negative drops the tweet.
    On the public file: 4,511 tweets (2,683 positive, 470 neutral, 1,358 negative),
    358 dropped.
``text`` / ``image``
    that modality's human label; every tweet is kept (4,869).

Both human labels stay in the feature file as ``labels_image`` and ``labels_text``
(``-1`` where unknown), with ``ids``, ``texts`` and ``image_paths``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.sources.items import (
    MISSING_IMAGE,
    MISSING_LABEL,
    EncoderOptions,
    ItemEncoders,
    ItemRows,
    LoadedItems,
    SkippedItem,
    decode_text,
    encode_with_options,
    item_loader_doc,
)
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = [
    "CLASS_NAMES",
    "LABEL_MODES",
    "LABEL_FILE",
    "MvsaLabels",
    "find_mvsa_dir",
    "read_labels",
    "merge_labels",
    "choose_labels",
    "read_mvsa_rows",
    "load_mvsa_items",
    "load_mvsa",
]

CLASS_NAMES: tuple[str, ...] = ("positive", "neutral", "negative")
"""The MVSA classes, in the order of ``class_names`` (label ``k`` is ``CLASS_NAMES[k]``)."""

LABEL_MODES: tuple[str, ...] = ("merged", "text", "image")
"""Choices of ``labels`` (what ``y`` is)."""

LABEL_FILE = "labelResultAll.txt"
"""The per-modality label file of MVSA-Single."""

TEXT_LEGACY_CODECS: tuple[str, ...] = ("gb18030",)
"""Codecs tried after UTF-8 for the tweets' texts (then Windows-1252). The public files that are
not UTF-8 (1,131 of 4,869) are GBK: ``A1 AD`` is the ellipsis, ``A1 B0``/``A1 B1`` the curly
quotes, ``A8 A6`` an e-acute; all of them decode as GB18030 into the right words."""

UNKNOWN = -1
_POSITIVE, _NEUTRAL, _NEGATIVE = (CLASS_NAMES.index(c) for c in ("positive", "neutral", "negative"))


@dataclass(frozen=True)
class MvsaLabels:
    """The label file, one entry per row.

    Parameters
    ----------
    ids : tuple of str
        Tweet ids, in file order.
    text, image : ndarray of int
        Label per modality (index into :data:`CLASS_NAMES`), ``-1`` where missing or unknown.
    bad_lines : tuple of int
        Line numbers (1-based) that are not ``ID<TAB>label,label`` rows and were left out.
    """

    ids: tuple[str, ...]
    text: np.ndarray
    image: np.ndarray
    bad_lines: tuple[int, ...] = ()

    def merged(self) -> np.ndarray:
        """The paper's merged label of every row (``-1``: dropped or unknown)."""
        return merge_labels(self.text, self.image)


def find_mvsa_dir(path: PathLike) -> Path:
    """The MVSA folder (holding ``labelResultAll.txt`` and ``data/``): ``path`` or its ``MVSA_Single`` child.

    Raises
    ------
    SourceError
        When ``path`` does not exist or holds no label file / ``data`` folder.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(f"{p} does not exist; pass the MVSA-Single folder (holding {LABEL_FILE} and data/)")
    if p.is_file():
        if p.name == LABEL_FILE:
            p = p.parent
        else:
            raise SourceError(f"{p} is a file; pass the MVSA-Single folder (holding {LABEL_FILE} and data/)")
    for candidate in (p, p / "MVSA_Single", p / "mvsa-single", p / "MVSA-Single"):
        if (candidate / LABEL_FILE).is_file() and (candidate / "data").is_dir():
            return candidate
    raise SourceError(f"{p} is not an MVSA-Single folder: expected {LABEL_FILE} and a data/ folder in it")


def _label_index(word: str) -> int:
    word = word.strip().lower()
    return CLASS_NAMES.index(word) if word in CLASS_NAMES else UNKNOWN


def read_labels(path: PathLike) -> MvsaLabels:
    """Read ``labelResultAll.txt`` (the header names which label is text and which image).

    Rows whose labels cannot be parsed keep their id with ``-1`` labels; lines without an
    id and a tab are listed in ``bad_lines``.

    Raises
    ------
    SourceError
        Unreadable file, or a header that does not name ``text`` and ``image``.
    """
    path = Path(path)
    try:
        lines = decode_text(path.read_bytes()).splitlines()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not lines:
        raise SourceError(f"{path} is empty; expected a header 'ID<TAB>text,image' and one row per tweet")
    head = lines[0].split("\t")
    order = [w.strip().lower() for w in head[1].split(",")] if len(head) == 2 else []
    if sorted(order) != ["image", "text"]:
        raise SourceError(f"{path}: header {lines[0]!r} does not name the columns text and image (ID<TAB>text,image)")
    t_pos, i_pos = order.index("text"), order.index("image")
    ids: list[str] = []
    text: list[int] = []
    image: list[int] = []
    bad: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        tweet = parts[0].strip()
        if len(parts) < 2 or not tweet:
            bad.append(number)
            continue
        words = parts[1].split(",") if len(parts) == 2 else []
        ids.append(tweet)
        if len(words) == 2:
            text.append(_label_index(words[t_pos]))
            image.append(_label_index(words[i_pos]))
        else:
            text.append(UNKNOWN)
            image.append(UNKNOWN)
    return MvsaLabels(tuple(ids), np.asarray(text, dtype=np.int64), np.asarray(image, dtype=np.int64), tuple(bad))


def merge_labels(text: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The late-fusion paper's merge rule, vectorised.

    Same label: kept; one side neutral: the other side; positive vs negative: ``-1``
    (dropped). A missing label on either side gives ``-1``.
    """
    text = np.asarray(text, dtype=np.int64)
    image = np.asarray(image, dtype=np.int64)
    out = np.full(text.shape, UNKNOWN, dtype=np.int64)
    known = (text >= 0) & (image >= 0)
    same = known & (text == image)
    out[same] = text[same]
    take_image = known & (text == _NEUTRAL) & (image != _NEUTRAL)
    out[take_image] = image[take_image]
    take_text = known & (image == _NEUTRAL) & (text != _NEUTRAL)
    out[take_text] = text[take_text]
    return out


def choose_labels(labels: MvsaLabels, mode: str = "merged") -> tuple[np.ndarray, dict[int, str]]:
    """``y`` for ``mode`` (one of :data:`LABEL_MODES`) and the reasons of rows without one.

    Returns
    -------
    y : ndarray of int
        ``-1`` where the row has no label in this mode.
    reasons : dict
        Row position -> why it has no label.
    """
    mode = str(mode).strip().lower()
    if mode not in LABEL_MODES:
        raise SourceError(f"unknown labels {mode!r}; choose one of {', '.join(LABEL_MODES)}")
    if mode == "text":
        y = labels.text.copy()
    elif mode == "image":
        y = labels.image.copy()
    else:
        y = labels.merged()
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(y < 0):
        if labels.text[i] < 0 or labels.image[i] < 0:
            reasons[int(i)] = MISSING_LABEL
        else:
            reasons[int(i)] = "dropped by the merge rule (positive vs negative)"
    return y, reasons


def read_mvsa_rows(path: PathLike, labels: str = "merged") -> tuple[ItemRows, list[SkippedItem], MvsaLabels]:
    """Read the items of an MVSA folder: ids, image paths, texts, ``y`` and both human labels.

    Returns
    -------
    rows : ItemRows
        The tweets with a label (in ``labels`` mode), an image file and a text file.
    skipped : list of SkippedItem
        The rows left out and why (missing label, dropped by the merge rule, missing files).
    all_labels : MvsaLabels
        The whole label file.
    """
    folder = find_mvsa_dir(path)
    table = read_labels(folder / LABEL_FILE)
    y, reasons = choose_labels(table, labels)
    data = folder / "data"
    names = set(p.name for p in data.iterdir())
    keep: list[int] = []
    texts: list[str] = []
    skipped = [SkippedItem(f"line {n}", f"malformed line in {LABEL_FILE}") for n in table.bad_lines]
    for i, tweet in enumerate(table.ids):
        if i in reasons:
            skipped.append(SkippedItem(tweet, reasons[i]))
            continue
        if f"{tweet}.jpg" not in names:
            skipped.append(SkippedItem(tweet, MISSING_IMAGE))
            continue
        try:
            raw = (data / f"{tweet}.txt").read_bytes()
        except OSError:
            skipped.append(SkippedItem(tweet, "missing text"))
            continue
        keep.append(i)
        texts.append(decode_text(raw, legacy=TEXT_LEGACY_CODECS).strip())
    idx = np.asarray(keep, dtype=np.int64)
    rows = ItemRows(
        ids=tuple(table.ids[i] for i in keep),
        image_paths=tuple(str(data / f"{table.ids[i]}.jpg") for i in keep),
        texts=tuple(texts),
        y=y[idx],
        class_names=CLASS_NAMES,
        modality_labels={"image": table.image[idx], "text": table.text[idx]},
    )
    return rows, skipped, table


@item_loader_doc
def load_mvsa_items(
    path: PathLike,
    labels: str = "merged",
    encoder: EncoderOptions = EncoderOptions(),
    progress: ProgressFn | None = None,
    encoders: ItemEncoders | None = None,
    use_cache: bool = True,
) -> LoadedItems:
    """Encode the MVSA-Single tweets: modalities ``image`` and ``text``, ``y`` chosen by ``labels``.

    Parameters
    ----------
    path : path
        The MVSA-Single folder.
    labels : str
        ``merged`` (the paper's rule, 4,511 tweets), ``text`` or ``image`` (all 4,869).
    {encoder_parameters}
    """
    options = encoder.validated()
    rows, skipped, table = read_mvsa_rows(path, labels)
    mode = str(labels).strip().lower()
    rule = "the paper's merge rule" if mode == "merged" else f"the {mode} annotation"
    description = f"MVSA-Single ({find_mvsa_dir(path)}): {len(table.ids)} tweets, y = {rule}"
    return encode_with_options(rows, skipped, "mvsa", description, options, encoders, progress, use_cache)


def load_mvsa(path: PathLike, progress: ProgressFn | None = None, **options: object) -> FeatureSet:
    """:func:`load_mvsa_items` returning only the feature set."""
    return load_mvsa_items(path, progress=progress, **options).features  # type: ignore[arg-type]

