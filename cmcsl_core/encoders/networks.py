"""The image networks, split for fine-tuning: ``trunk`` -> ``tail`` -> global average pooling.

This module imports torch at import time; :mod:`cmcsl_core.encoders.image` imports it only
when a model is built, so importing the encoders package stays cheap.

``trunk`` is everything the fine-tuning keeps frozen, ``tail`` the last block and the head
convolution it trains. :class:`PooledNet` maps a normalised (B, 3, 224, 224) batch to the
pooled (B, dim) features: 512 for ResNet-18 (output of ``layer4``), 1,280 for
EfficientNet-Lite0 (output of the 1x1 head convolution, before the classifier).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from cmcsl_core.encoders.decode import MEAN, STD

__all__ = [
    "PooledNet",
    "resnet18_net",
    "efficientnet_lite0_net",
    "ARCHITECTURES",
    "to_input",
    "place_frozen",
    "torch_embed",
    "NormalizedNet",
]

ARCHITECTURES: tuple[str, ...] = ("efficientnet-lite0", "resnet18")


class PooledNet(nn.Module):
    """``tail(trunk(x))`` averaged over space: the penultimate features of a classifier.

    Parameters
    ----------
    trunk, tail : nn.Module
        The frozen part and the fine-tunable last block (+ head convolution).
    dim : int
        Channels of ``tail``'s output (the feature width).
    full : nn.Module
        The original network (with its classifier), kept unregistered so that
        :meth:`source_state_dict` can save weights in the original key names.
    """

    def __init__(self, trunk: nn.Module, tail: nn.Module, dim: int, full: nn.Module) -> None:
        super().__init__()
        self.trunk = trunk
        self.tail = tail
        self.dim = dim
        self._full = (full,)  # a tuple: not registered as a submodule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.tail(self.trunk(x)))

    @staticmethod
    def pool(x: torch.Tensor) -> torch.Tensor:
        """Global average pooling of a (B, C, H, W) map to (B, C)."""
        return x.mean(dim=(2, 3))

    def source_state_dict(self) -> dict[str, Any]:
        """The weights in the original network's key names (classifier head included)."""
        return dict(self._full[0].state_dict())


def resnet18_net(state: dict[str, torch.Tensor] | None, seed: int = 0) -> PooledNet:
    """torchvision's ResNet-18 with ``state`` loaded (``fc`` optional), or random (``seed``) when None."""
    from torchvision.models import resnet18

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = resnet18(weights=None)
    if state is not None:
        net.load_state_dict(state, strict=False)
    trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3)
    return PooledNet(trunk, net.layer4, 512, net)


class _EffTrunk(nn.Module):
    def __init__(self, net: Any) -> None:
        super().__init__()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(list(net._blocks)[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)  # drop-connect only acts in training mode; the trunk is never trained
        return x


class _EffTail(nn.Module):
    def __init__(self, net: Any) -> None:
        super().__init__()
        self.block = net._blocks[-1]
        self.head = nn.Sequential(net._conv_head, net._bn1, net._swish)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(x))


def efficientnet_lite0_net(state: dict[str, torch.Tensor] | None, seed: int = 0) -> PooledNet:
    """EfficientNet-Lite0 (``efficientnet-lite-pytorch``) with ``state`` loaded (``_fc`` optional)."""
    from efficientnet_lite_pytorch import EfficientNet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EfficientNet.from_name("efficientnet-lite0")
    if state is not None:
        net.load_state_dict(state, strict=False)
    return PooledNet(_EffTrunk(net), _EffTail(net), 1280, net)


def expected_keys(architecture: str) -> set[str]:
    """Parameter and buffer names of ``architecture`` (classifier head included)."""
    net = resnet18_net(None) if architecture == "resnet18" else efficientnet_lite0_net(None)
    return set(net.source_state_dict())


def to_input(arrays: "Sequence[np.ndarray] | np.ndarray", device: str, channels_last: bool = False) -> torch.Tensor:
    """Stack uint8 (224, 224, 3) images into a normalised float (B, 3, 224, 224) batch on ``device``."""
    batch = torch.from_numpy(
        np.ascontiguousarray(np.stack(list(arrays)) if not isinstance(arrays, np.ndarray) else arrays)
    )
    x = batch.to(device).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def place_frozen(net: PooledNet, device: str) -> PooledNet:
    """Put ``net`` on ``device`` in eval mode with gradients off (channels-last on CPU)."""
    net = net.eval().to(device)
    if device == "cpu":  # ~25% faster convolutions on CPU; set once so features never depend on call order
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def torch_embed(network: Callable[[torch.Tensor], torch.Tensor], device: str) -> Callable[[np.ndarray], np.ndarray]:
    """The pipeline's ``embed`` for a torch network: uint8 (B, 224, 224, 3) -> float32 (B, dim)."""
    channels_last = device == "cpu"

    def embed(pixels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return network(to_input(pixels, device, channels_last)).float().cpu().numpy()

    return embed


class NormalizedNet(nn.Module):
    """``net`` on uint8 RGB pixels (B, 224, 224, 3): the ImageNet normalisation inside the graph (ONNX export)."""

    def __init__(self, net: PooledNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float().div(255.0)
        return self.net((x - self.get_buffer("mean")) / self.get_buffer("std"))
