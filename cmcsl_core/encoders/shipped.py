"""The ONNX model files shipped with the library (``cmcsl_core/encoders/models/``) and their sessions.

``models/MANIFEST.json`` lists every file with its SHA-256, size, licence and origin; it is
written by ``scripts/export_onnx_encoders.py`` (which needs the torch extra), the one way
these files are made. A file is checked against its SHA-256 once per process (and again
when it changes on disk), so a damaged or half-checked-out model is one clear error, never
wrong features.

The weights are stored in reduced precision to keep the repository small (float16, and
int8 with a per-row scale for MiniLM's word-embedding table); ONNX Runtime turns them back
into float32 once, when the session is created (the stored weights feed ``Cast``/``Mul``
nodes that its constant folding evaluates), so inference runs in float32.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cmcsl_core.encoders.device import onnx_providers
from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import stat_digest

__all__ = [
    "MODELS_DIR",
    "MANIFEST",
    "EFFICIENTNET_LITE0",
    "MINILM",
    "MINILM_TOKENIZER",
    "ShippedFile",
    "shipped_files",
    "shipped_file",
    "shipped_path",
    "onnx_session",
    "onnxruntime_version",
]

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Where the shipped model files live."""

MANIFEST = "MANIFEST.json"
"""The manifest's file name in :data:`MODELS_DIR`."""

EFFICIENTNET_LITE0 = "efficientnet-lite0.onnx"
"""EfficientNet-Lite0 (ImageNet): uint8 (B, 224, 224, 3) RGB pixels -> (B, 1280) pooled features."""

MINILM = "all-MiniLM-L6-v2.onnx"
"""all-MiniLM-L6-v2: token ids, attention mask, token types -> (B, 384) unit-norm mean-pooled embeddings."""

MINILM_TOKENIZER = "all-MiniLM-L6-v2.tokenizer.json"
"""The MiniLM tokenizer (Hugging Face ``tokenizers`` format; truncation 256, padding to the batch's longest)."""


@dataclass(frozen=True)
class ShippedFile:
    """One entry of the manifest.

    Attributes
    ----------
    name : str
        File name in :data:`MODELS_DIR`.
    sha256 : str
        Hex digest of the file.
    size : int
        Bytes.
    licence : str
        SPDX identifier (``Apache-2.0``).
    info : dict
        Everything else the export recorded (origin, storage precision, dimensions, ...).
    """

    name: str
    sha256: str
    size: int
    licence: str
    info: dict[str, Any]

    @property
    def identity(self) -> str:
        """A short name of these exact bytes, for cache keys."""
        return f"{self.name}:{self.sha256[:16]}"


@lru_cache(maxsize=4)
def _read_manifest(path: str, mtime_ns: int) -> dict[str, ShippedFile]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        files = raw["files"]
        return {
            str(name): ShippedFile(
                name=str(name),
                sha256=str(entry["sha256"]),
                size=int(entry["size"]),
                licence=str(entry.get("licence", "")),
                info={k: v for k, v in entry.items() if k not in ("sha256", "size", "licence")},
            )
            for name, entry in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(
            f"the model manifest {path} is unreadable ({type(exc).__name__}); restore it from git"
        ) from None


def shipped_files(folder: Path | None = None) -> dict[str, ShippedFile]:
    """Every file of the manifest, by name."""
    path = (folder or MODELS_DIR) / MANIFEST
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise SourceError(
            f"the built-in encoders' model files are missing ({path} not found); restore {path.parent} from git "
            "or rebuild it with scripts/export_onnx_encoders.py"
        ) from None
    return _read_manifest(str(path), mtime)


def shipped_file(name: str) -> ShippedFile:
    """The manifest entry of ``name``; SourceError when it has none."""
    files = shipped_files()
    if name not in files:
        raise SourceError(f"{name} is not in the model manifest ({MODELS_DIR / MANIFEST}); rebuild it with "
                          "scripts/export_onnx_encoders.py")
    return files[name]


def shipped_path(name: str) -> Path:
    """The path of a shipped file after checking its SHA-256 against the manifest.

    Raises
    ------
    SourceError
        The file is missing or its content is not the one the manifest names.
    """
    entry = shipped_file(name)
    path = MODELS_DIR / name
    digest = stat_digest(path)
    if digest is None:
        raise SourceError(
            f"the model file {path} is missing; restore it from git (or run scripts/export_onnx_encoders.py)"
        )
    if digest != entry.sha256:
        raise SourceError(
            f"the model file {path} is damaged or not the shipped one (sha256 {digest[:12]}..., expected "
            f"{entry.sha256[:12]}...); restore it from git (a Git LFS pointer or a partial checkout looks like this)"
        )
    return path


def onnxruntime_version() -> str:
    """The installed onnxruntime's version."""
    import onnxruntime

    return str(onnxruntime.__version__)


_SESSION_LOCK = threading.Lock()


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; ``os.cpu_count()`` where that is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


@lru_cache(maxsize=4)
def _session(path: str, sha256: str, device: str, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initializers etc. are not the user's business
    # idle threads sleep instead of spinning: on a shared server (or a busy laptop) spinning burns the CPU
    # other sessions need; measured here, about 10% less CPU per text at the same speed
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(path, options, providers=onnx_providers(device))
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, ...)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SourceError(f"ONNX Runtime cannot load {path}: {first}") from None


def onnx_session(name: str, device: str = "cpu") -> Any:
    """An ``onnxruntime.InferenceSession`` of a shipped model (checked, created once per process and device).

    ``CMCSL_ONNX_THREADS`` sets the intra-op threads (default: the CPUs this process may use;
    onnxruntime's own default took one thread of this 2-core VM, half the speed). Sessions are safe
    to share between threads.
    """
    path = shipped_path(name)
    try:
        threads = int(os.environ.get("CMCSL_ONNX_THREADS", "0") or 0)
    except ValueError:
        threads = 0
    if threads <= 0:
        threads = _usable_cpus()
    with _SESSION_LOCK:  # two first calls at once build one session
        return _session(str(path), shipped_file(name).sha256, device, threads)

