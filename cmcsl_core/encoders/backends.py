"""Which inference backend runs an encoder: ONNX Runtime (always installed) or torch (an extra).

The default install runs the built-in encoders (EfficientNet-Lite0 and all-MiniLM-L6-v2) with
``onnxruntime``; torch, torchvision and sentence-transformers come with the ``torch`` extra
(``pip install -e ".[torch]"``, or ``CMCSL_EXTRAS=torch ./run``), needed for fine-tuning
(``--finetune ce|supcon``), ResNet-18 (``--image-encoder resnet18``/``none``), a ``FILE.pth``,
a ``--text-model DIR`` and ``--backend torch``. Without the extra, those answer one
:class:`~cmcsl_core.errors.SourceError` naming it (:func:`require_torch`).

Nothing here imports torch or onnxruntime at import time.
"""

from __future__ import annotations

import importlib.util

from cmcsl_core.errors import SourceError

__all__ = [
    "BACKENDS",
    "ONNX",
    "TORCH",
    "TORCH_EXTRA",
    "TORCH_MODULES",
    "torch_available",
    "require_torch",
    "check_backend",
    "runtime_version",
]

ONNX = "onnx"
"""ONNX Runtime: the built-in encoders' default backend."""

TORCH = "torch"
"""PyTorch (the ``torch`` extra)."""

BACKENDS: tuple[str, ...] = ("auto", ONNX, TORCH)
"""Backend choices: ``auto`` = ONNX Runtime for the built-in encoders, torch for the others."""

TORCH_EXTRA = 'pip install -e ".[torch]"'
"""The one line that installs the torch extra (``CMCSL_EXTRAS=torch ./run`` does the same)."""

TORCH_MODULES: tuple[str, ...] = ("torch", "torchvision", "sentence_transformers")
"""Modules the torch extra provides."""


def torch_available(modules: tuple[str, ...] = TORCH_MODULES) -> bool:
    """Whether the torch extra's ``modules`` are installed (found, not imported)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def require_torch(what: str, modules: tuple[str, ...] = TORCH_MODULES) -> None:
    """Raise one SourceError naming the torch extra when ``modules`` are missing.

    Parameters
    ----------
    what : str
        What needs torch, as the user asked for it (``"--finetune ce"``).
    """
    if not torch_available(modules):
        raise SourceError(
            f"{what} needs the torch extra (torch, torchvision, sentence-transformers), which is not installed; "
            f"install it with {TORCH_EXTRA} (or start with CMCSL_EXTRAS=torch ./run)"
        )


def check_backend(backend: str) -> str:
    """``backend`` lower-cased when it is one of :data:`BACKENDS`, else SourceError."""
    name = str(backend).strip().lower()
    if name not in BACKENDS:
        raise SourceError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return name


def runtime_version(backend: str) -> str:
    """The library that runs ``backend`` and its version, e.g. ``onnxruntime 1.32.0`` (for provenance records)."""
    from importlib.metadata import PackageNotFoundError, version

    package = "onnxruntime" if backend == ONNX else "torch"
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return package
