"""Device selection shared by the image and text encoders, for both backends.

:func:`resolve_device` names a torch device (the torch extra); :func:`onnx_providers` turns the
same device names into ONNX Runtime execution providers (``CUDAExecutionProvider`` when the
installed onnxruntime has it, as ``onnxruntime-gpu`` does; else the CPU).
"""

from __future__ import annotations

from cmcsl_core.errors import SourceError

__all__ = ["DEVICES", "check_device", "resolve_device", "resolve_onnx_device", "onnx_providers"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""Device names a user may pass (``cuda:N`` picks one GPU)."""

_CUDA_PROVIDER = "CUDAExecutionProvider"


def check_device(device: str) -> str:
    """``device`` lower-cased when it is a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``), else SourceError."""
    name = str(device).strip().lower()
    base, _, index = name.partition(":")
    if base not in DEVICES or (index and (base != "cuda" or not index.isdigit())):
        raise SourceError(f"unknown device {device!r}; use auto, cpu or cuda")
    return name


def resolve_device(device: str = "auto") -> str:
    """Turn a device name into a concrete, usable torch device string (imports torch).

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
    name = check_device(device)
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SourceError(f"device {device!r} asked for, but no CUDA GPU is available; use device auto or cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SourceError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    return name


def resolve_onnx_device(device: str = "auto") -> str:
    """The device ONNX Runtime runs on: ``"cpu"``, or ``"cuda"``/``"cuda:N"`` when its CUDA provider is installed.

    Raises
    ------
    SourceError
        For an unknown device name, or CUDA asked for while onnxruntime has no CUDA provider.
    """
    name = check_device(device)
    import onnxruntime

    has_cuda = _CUDA_PROVIDER in onnxruntime.get_available_providers()
    if name == "auto":
        return "cuda" if has_cuda else "cpu"
    if name.startswith("cuda") and not has_cuda:
        raise SourceError(
            f"device {device!r} asked for, but the installed onnxruntime has no CUDA provider "
            "(install onnxruntime-gpu); use device auto or cpu"
        )
    return name


def onnx_providers(device: str) -> list[object]:
    """ONNX Runtime providers for a device from :func:`resolve_onnx_device` (CPU always last)."""
    if device.startswith("cuda"):
        _, _, index = device.partition(":")
        return [(_CUDA_PROVIDER, {"device_id": int(index or 0)}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
