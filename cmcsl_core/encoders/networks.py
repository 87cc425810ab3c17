"""The image networks, split for fine-tuning: ``trunk`` -> ``tail`` -> global average pooling.

This module imports torch at import time; :mod:`cmcsl_core.encoders.image` imports it only
when a model is built, so importing the encoders package stays cheap.

``trunk`` is everything the fine-tuning keeps frozen, ``tail`` the last block and the head
convolution it trains. :class:`PooledNet` maps a normalised (B, 3, 224, 224) batch to the
pooled (B, dim) features: 512 for ResNet-18 (output of ``layer4``), 1,280 for
EfficientNet-Lite0 (output of the 1x1 head convolution, before the classifier).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["PooledNet", "resnet18_net", "efficientnet_lite0_net", "ARCHITECTURES"]

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
