"""Encoding items: the one path from :class:`ItemRows` to a feature set, for every source that encodes.

``raw``, ``mvsa``, ``table`` and the built-in MVSA build read their own layouts into
:class:`~cmcsl_core.datasets.sources.rows.ItemRows` and end in :func:`encode_items`, which

1. optionally fine-tunes the image encoder on a stratified 20% of the items and drops
   those items from the output (never a leak; ``finetune`` ``ce``/``supcon``, the torch extra),
2. encodes the images with :func:`cmcsl_core.encoders.pipeline.encode_image_files` (every
   file hashed once, each distinct content decoded once in threads while the network runs,
   its thumbnail made from the same pixels; rows cached per content and encoder identity),
   leaving out the items whose image is missing or cannot be decoded,
3. encodes the texts with :func:`cmcsl_core.encoders.pipeline.encode_text_rows` (cached per text),

and records in the feature set which encoders (and backend) made it, with the items'
thumbnails. A second export of the same things is instant; adding an item to a table
encodes that item only.

The encoders are passed in as an :class:`ItemEncoders` (an identity and an ``embed`` callable
per modality), so tests inject cheap fakes; :func:`default_encoders` builds the real ones of
an :class:`~cmcsl_core.encoders.options.EncoderOptions` (loaded on first use: a cache hit
never loads a model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence, TypeVar

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.sources.rows import MISSING_IMAGE, ItemRows, SkippedItem
from cmcsl_core.datasets.sources.skipped import skipped_summary
from cmcsl_core.encoders.backends import ONNX, runtime_version
from cmcsl_core.encoders.finetune import FINETUNE_MODES
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.encoders.pipeline import ImageEmbed, TextEmbed, encode_image_files, encode_text_rows
from cmcsl_core.errors import SourceError
from cmcsl_core.types import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from cmcsl_core.datasets.sources import SourceSpec
    from cmcsl_core.encoders.image import ImageEncoder
    from cmcsl_core.encoders.text import TextEncoder

__all__ = [
    "LoadedItems",
    "ItemEncoders",
    "default_encoders",
    "encode_items",
    "encode_with_options",
    "check_left",
    "ENCODER_PARAMETERS",
    "item_loader_doc",
    "load_spec_items",
]


@dataclass(frozen=True)
class LoadedItems:
    """What an item source produced: the feature set and the rows it skipped."""

    features: FeatureSet
    skipped: tuple[SkippedItem, ...] = ()


FinetuneFn = Callable[[Sequence[str], np.ndarray, tuple[str, ...], str, "ProgressFn | None"], "ItemEncoders"]


@dataclass(frozen=True)
class ItemEncoders:
    """The encoders an item source uses (real ones from :func:`default_encoders`, fakes in tests).

    Parameters
    ----------
    image_identity, text_identity : str
        Name each encoder exactly (network, weights, backend, options): the per-item cache keys.
    embed_images : callable
        uint8 RGB pixels (B, 224, 224, 3), as :mod:`cmcsl_core.encoders.decode` makes them -> float (B, d_image).
    embed_texts : callable
        A list of texts -> float (B, d_text).
    finetune : callable(paths, labels, class_names, mode, progress) -> ItemEncoders, optional
        Returns encoders whose image encoder was fine-tuned on these items (``ce`` or ``supcon``).
    split : callable(labels) -> (tune_rows, keep_rows), optional
        The stratified fine-tuning split (20% tune, 80% kept).
    image_name, text_name : str
        Human-readable names for the description.
    batch_size : int
        Images / texts per call of an ``embed``.
    text_lengths : callable, optional
        A list of texts -> each one's length for the text encoder (its token count), to batch
        texts of similar length; default their characters.
    record : dict
        What the feature file records about the encoders (``{"image": {...}, "text": {...}}``).
    """

    image_identity: str
    text_identity: str
    embed_images: ImageEmbed
    embed_texts: TextEmbed
    finetune: FinetuneFn | None = None
    split: "Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None" = None
    image_name: str = "image encoder"
    text_name: str = "text encoder"
    batch_size: int = 64
    record: Mapping[str, object] = field(default_factory=dict)
    text_lengths: "Callable[[list[str]], Sequence[int]] | None" = None


def _image_name(name: str, backend: str) -> str:
    """The description of an image encoder option, without loading it."""
    runtime = "ONNX Runtime" if backend == ONNX else "torch"
    base = {"efficientnet-lite0": f"EfficientNet-Lite0 (ImageNet, 1280-d, {runtime})",
            "resnet18": f"ResNet-18 (ImageNet, 512-d, {runtime})",
            "none": f"ResNet-18 (random weights, for trials only, 512-d, {runtime})"}
    return base.get(name.strip().lower(), f"weights {Path(name).name} ({runtime})")


def default_encoders(options: EncoderOptions, progress: ProgressFn | None = None) -> ItemEncoders:
    """The real encoders of :mod:`cmcsl_core.encoders` for ``options`` (validated here).

    Models are loaded lazily, on the first batch to encode, so a cache hit never loads a model.
    """
    from cmcsl_core.encoders.image import image_backend, image_encoder_identity
    from cmcsl_core.encoders.text import DEFAULT_TEXT_MODEL, text_backend, text_encoder_identity

    options = options.validated()
    image_runs_on = image_backend(options.image_encoder, options.backend)
    text_runs_on = text_backend(options.text_model, options.backend)
    image_id = image_encoder_identity(options.image_encoder, image_runs_on)
    text_id = text_encoder_identity(options.text_model, text_runs_on)
    state: dict[str, object] = {}

    def image_encoder() -> "ImageEncoder":
        if "image" not in state:
            from cmcsl_core.encoders.image import load_image_encoder

            state["image"] = load_image_encoder(options.image_encoder, options.device, image_runs_on)
        return state["image"]  # type: ignore[return-value]

    def text_encoder() -> "TextEncoder":
        if "text" not in state:
            from cmcsl_core.encoders.text import load_text_encoder

            state["text"] = load_text_encoder(options.text_model, options.device, text_runs_on)
        return state["text"]  # type: ignore[return-value]

    text_name = (f"{DEFAULT_TEXT_MODEL} (384-d, {'ONNX Runtime' if text_runs_on == ONNX else 'torch'})"
                 if options.text_model is None else f"{Path(options.text_model).name} (torch)")
    image_record = {
        "name": options.image_encoder
        if options.image_encoder.lower() in ("efficientnet-lite0", "resnet18", "none")
        else Path(options.image_encoder).name,
        "backend": image_runs_on,
        "runtime": runtime_version(image_runs_on),
        "identity": image_id,
    }
    text_record = {
        "name": DEFAULT_TEXT_MODEL if options.text_model is None else Path(options.text_model).name,
        "backend": text_runs_on,
        "runtime": runtime_version(ONNX)
        if text_runs_on == ONNX
        else f"sentence-transformers on {runtime_version(text_runs_on)}",
        "identity": text_id,
    }
    return _real_encoders(options, image_id, image_encoder, _image_name(options.image_encoder, image_runs_on),
                          image_record, text_id, text_encoder, text_name, text_record)


def _real_encoders(
    options: EncoderOptions,
    image_id: str,
    image_encoder: "Callable[[], ImageEncoder]",
    image_name: str,
    image_record: Mapping[str, object],
    text_id: str,
    text_encoder: "Callable[[], TextEncoder]",
    text_name: str,
    text_record: Mapping[str, object],
) -> ItemEncoders:
    """ItemEncoders around lazily loaded real encoders."""

    def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from cmcsl_core.encoders.finetune import split_finetune

        tune, keep = split_finetune(labels)
        return np.asarray(tune), np.asarray(keep)

    def finetune(
        paths: Sequence[str], labels: np.ndarray, classes: tuple[str, ...], mode: str, progress: ProgressFn | None
    ) -> ItemEncoders:
        from cmcsl_core.encoders.finetune import finetune_image_encoder
        from cmcsl_core.encoders.image import describe_image_encoder

        tuned = finetune_image_encoder(
            image_encoder(), list(paths), labels, mode, device=options.device, progress=progress
        )
        assert tuned.finetune is not None
        record = {**image_record, "backend": tuned.backend, "runtime": runtime_version(tuned.backend),
                  "identity": tuned.identity,
                  "finetune": {"mode": mode, "items": tuned.finetune.n_items, "epochs": tuned.finetune.epochs,
                               "seed": tuned.finetune.seed}}
        return _real_encoders(options, tuned.identity, lambda: tuned, describe_image_encoder(tuned), record,
                              text_id, text_encoder, text_name, text_record)

    return ItemEncoders(
        image_identity=image_id,
        text_identity=text_id,
        embed_images=lambda pixels: image_encoder().embed(pixels),
        embed_texts=lambda texts: text_encoder().embed(texts),
        finetune=finetune,
        split=split,
        image_name=image_name,
        text_name=text_name,
        batch_size=options.batch_size,
        record={"image": dict(image_record), "text": dict(text_record)},
        text_lengths=lambda texts: text_encoder().lengths(texts),
    )


def _stage(progress: ProgressFn | None, offset: int, width: int, total: int) -> ProgressFn | None:
    """Report a stage's ``done/n`` as a share of ``width`` steps after ``offset`` (of ``total``)."""
    if progress is None:
        return None
    return lambda done, n: progress(min(offset + (done * width) // max(n, 1), total), total)


def check_left(rows: ItemRows, skipped: Sequence[SkippedItem], where: str) -> None:
    """SourceError when no item, or fewer than two classes, are left."""
    note = f" ({skipped_summary(skipped)})" if skipped else ""
    if not rows.ids:
        raise SourceError(f"no usable item {where}{note}")
    present = np.unique(rows.y)
    if present.size < 2:
        only = rows.class_names[int(present[0])]
        raise SourceError(f"all usable items {where} have the same label {only!r}; need at least 2 classes{note}")


def encode_items(
    rows: ItemRows,
    encoders: ItemEncoders,
    source: str,
    description: str,
    skipped: Sequence[SkippedItem] = (),
    finetune: str = "none",
    progress: ProgressFn | None = None,
    use_cache: bool = True,
    modality_names: tuple[str, str] = ("image", "text"),
    thumbnails: bool = True,
    check_kept: "Callable[[ItemRows, Sequence[SkippedItem], str], None] | None" = None,
) -> LoadedItems:
    """Encode items into a feature set with an image and a text modality.

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
        Called as the image encoder is fine-tuned (if it is), images, then texts are encoded:
        ``total`` is the number of items times the number of these stages.
    use_cache : bool
        Read and write the on-disk caches.
    modality_names : (str, str)
        Names of the image and text modalities (``raw``: ``("visual", "text")``).
    thumbnails : bool
        Give every item its thumbnail (stored in the feature file).
    check_kept : callable(rows, skipped, where), optional
        Raises SourceError when the items with a readable image are not enough (default
        :func:`check_left`: at least one item and two classes).

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
    check_left(rows, skipped, "in the source")
    n = len(rows.ids)
    stages = 2 if finetune == "none" else 3
    total = stages * n
    tuned_note = ""
    if finetune != "none":
        if encoders.finetune is None or encoders.split is None:
            raise SourceError(f"these encoders cannot be fine-tuned (finetune {finetune!r})")
        tune, keep = encoders.split(rows.y)
        tune_rows = rows.take(np.asarray(tune))
        encoders = encoders.finetune(tune_rows.image_paths, tune_rows.y, rows.class_names, finetune,
                                     _stage(progress, 0, n, total))
        rows = rows.take(np.sort(np.asarray(keep)))
        tuned_note = (
            f"; image encoder fine-tuned ({finetune}) on {len(tune_rows.ids)} items (a stratified 20%), "
            "which are left out"
        )
    start = (stages - 2) * n
    images = encode_image_files(rows.image_paths, encoders.image_identity, encoders.embed_images,
                                encoders.batch_size, _stage(progress, start, n, total), use_cache, thumbnails)
    ok = images.ok
    for i, reason in images.errors.items():
        skipped.append(
            SkippedItem(rows.ids[i], MISSING_IMAGE if reason == "missing file" else f"undecodable image ({reason})")
        )
    kept = rows.take(np.flatnonzero(ok))
    (check_kept or check_left)(kept, skipped, "with a readable image")
    if progress is not None:
        progress(start + n, total)
    text_feats = encode_text_rows(kept.texts, encoders.text_identity, encoders.embed_texts, encoders.batch_size,
                                  _stage(progress, start + n, n, total), use_cache, encoders.text_lengths)
    if progress is not None:
        progress(total, total)
    summary = skipped_summary(skipped)
    full_description = (
        f"{description}; {modality_names[0]} = {encoders.image_name}; {modality_names[1]} = {encoders.text_name}"
        f"{tuned_note}" + (f"; {summary}" if summary else "")
    )
    record = {modality_names[0]: encoders.record.get("image", {}), modality_names[1]: encoders.record.get("text", {})}
    fs = FeatureSet(
        modality_names=modality_names,
        X=(images.features[ok], text_feats),
        y=kept.y,
        class_names=kept.class_names,
        ids=kept.ids,
        titles=kept.titles,
        texts=kept.texts,
        image_paths=kept.image_paths,
        source=source,
        description=full_description,
        modality_labels=kept.modality_labels,
        thumbnails=tuple(t for t, good in zip(images.thumbnails, ok) if good) if thumbnails else None,
        encoders=json.dumps(record, sort_keys=True) if encoders.record else "",
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
    modality_names: tuple[str, str] = ("image", "text"),
) -> LoadedItems:
    """:func:`encode_items` with the user's :class:`EncoderOptions`: what every item source's loader ends with.

    The encoders are ``encoders`` when given (tests inject fakes), else the real ones of
    ``options`` (:func:`default_encoders`); ``options.finetune`` picks the fine-tuning.
    """
    options = options.validated()
    return encode_items(
        rows,
        default_encoders(options) if encoders is None else encoders,
        source=source,
        description=description,
        skipped=skipped,
        finetune=options.finetune,
        progress=progress,
        use_cache=use_cache,
        modality_names=modality_names,
    )


ENCODER_PARAMETERS = """encoder : EncoderOptions, optional
        The encoders and how to run them (:class:`~cmcsl_core.encoders.options.EncoderOptions`:
        image encoder, text model, fine-tuning, device, batch size, backend).
    progress : callable(done, total), optional
        Encoding progress.
    encoders : ItemEncoders, optional
        Use these instead of the real encoders (tests inject fakes).
    use_cache : bool
        Read and write the on-disk feature cache (per item: only items not cached yet are encoded).

    Returns
    -------
    LoadedItems
        The feature set (with thumbnails and the encoders' record) and the skipped rows (with reasons)."""
"""The parameters every item source's loader shares, for its docstring (see :func:`item_loader_doc`)."""

_F = TypeVar("_F", bound=Callable[..., object])


def item_loader_doc(function: _F) -> _F:
    """Decorator: put :data:`ENCODER_PARAMETERS` where a loader's docstring says ``{encoder_parameters}``."""
    if function.__doc__:
        function.__doc__ = function.__doc__.replace("{encoder_parameters}", ENCODER_PARAMETERS)
    return function


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
    args: list[object] = [spec.path]
    if spec.info.has_subset:
        args.append(spec.subset)
    loaded: LoadedItems = items_loader(*args, progress=progress, **spec.loader_options())
    return loaded
