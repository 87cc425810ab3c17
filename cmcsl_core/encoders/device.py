"""Torch device selection shared by the image and text encoders."""

from __future__ import annotations

from cmcsl_core.errors import SourceError

__all__ = ["DEVICES", "resolve_device"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""Device names a user may pass (``cuda:N`` picks one GPU)."""


def resolve_device(device: str = "auto") -> str:
    """Turn a device name into a concrete, usable torch device string.

    Parameters
    ----------
    device : str
        ``"auto"`` (CUDA when ``torch.cuda.is_available()``, else CPU), ``"cpu"``,
        ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    SourceError
        For an unknown device name, or CUDA asked for without a usable GPU.
    """
    import torch

    name = str(device).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SourceError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SourceError(f"device {device!r} asked for, but no CUDA GPU is available; use device auto or cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SourceError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    elif dev.type != "cpu":
        raise SourceError(f"unsupported device {device!r}; use auto, cpu or cuda")
    return name
