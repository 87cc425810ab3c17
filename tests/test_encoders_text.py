"""Tests of the text encoder (cmcsl_core.encoders.text)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_items import _private_cache  # noqa: F401 (fixture)

from cmcsl_core.encoders import text as text_mod
from cmcsl_core.encoders.text import TEXT_DIM, encode_texts, load_text_encoder, minilm_path
from cmcsl_core.errors import SourceError

TEXTS = [
    "A ghost haunts a house.",
    "",  # an empty text is encoded as it is
    "Café crème, naïve façade — ünïcödé 😀",
    "A ghost haunts a house.",  # duplicate
    "Two lovers meet in Paris. " * 20,  # long
]


@pytest.fixture(scope="module")
def minilm():
    """The default text encoder: the shipped MiniLM on ONNX Runtime."""
    return load_text_encoder(device="cpu")


@pytest.fixture(scope="module")
def minilm_torch():
    """MiniLM on sentence-transformers (the torch extra)."""
    return load_text_encoder(device="cpu", backend="torch")


def test_equals_a_direct_sentence_transformers_call(minilm, minilm_torch) -> None:
    """torch: equal to sentence-transformers; ONNX (float16/int8-stored weights): within 1e-4 in cosine."""
    from sentence_transformers import SentenceTransformer

    direct = SentenceTransformer(str(minilm_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True
    )
    exact = encode_texts(TEXTS, minilm_torch, batch_size=2, use_cache=False)
    np.testing.assert_allclose(exact, direct, rtol=1e-4, atol=2e-6)
    assert minilm_torch.model.get_embedding_dimension() == minilm_torch.dim
    ours = encode_texts(TEXTS, minilm, batch_size=2, use_cache=False)
    assert ours.shape == (len(TEXTS), TEXT_DIM) and ours.dtype == np.float32
    assert (ours * direct).sum(axis=1).min() > 0.9999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ours[0], ours[3])
    assert minilm.name == "all-MiniLM-L6-v2" and minilm.dim == TEXT_DIM and minilm.backend == "onnx"
    assert minilm.identity != minilm_torch.identity  # the backends' cache entries never mix


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_cache_hit_and_dedup(backend: str, minilm, minilm_torch, monkeypatch: pytest.MonkeyPatch) -> None:
    minilm = minilm if backend == "onnx" else minilm_torch
    batches: list[int] = []
    real = text_mod.TextEncoder.embed

    def counting(self, sentences):
        batches.append(len(sentences))
        return real(self, sentences)

    monkeypatch.setattr(text_mod.TextEncoder, "embed", counting)
    calls: list[tuple[int, int]] = []
    first = encode_texts(TEXTS, minilm, batch_size=64, progress=lambda d, t: calls.append((d, t)))
    assert batches == [4]  # the duplicate is encoded once
    assert calls[-1] == (4, 4)
    second = encode_texts(list(reversed(TEXTS)), minilm)
    assert batches == [4]  # served from the disk cache
    np.testing.assert_array_equal(second[::-1], first)
    more = encode_texts(TEXTS + ["one more"], minilm)
    assert batches == [4, 1]  # per-text entries: only the new text is encoded
    np.testing.assert_array_equal(more[: len(TEXTS)], first)
    assert encode_texts([], minilm).shape == (0, TEXT_DIM)


@pytest.mark.perf
def test_a_cache_hit_takes_under_half_a_second(minilm) -> None:
    encode_texts(TEXTS, minilm)
    t0 = time.perf_counter()
    encode_texts(list(reversed(TEXTS)), minilm)
    assert time.perf_counter() - t0 < 0.5


def test_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    text_mod._load_cached.cache_clear()  # really load the models from disk here
    text_mod._onnx_model.cache_clear()
    for backend in ("onnx", "torch"):
        enc = load_text_encoder(device="auto", backend=backend)
        assert encode_texts(["offline"], enc, use_cache=False).shape == (1, TEXT_DIM)


def test_bad_text_model(tmp_path: Path, minilm) -> None:
    with pytest.raises(SourceError, match="not a sentence-transformers model folder"):
        load_text_encoder(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("[]")
    (broken / "config.json").write_text("{}")
    lazy = load_text_encoder(broken)  # checked here, loaded on first use
    with pytest.raises(SourceError, match="cannot load the text model"):
        encode_texts(["x"], lazy)
    with pytest.raises(SourceError, match="batch_size"):
        encode_texts(["x"], minilm, batch_size=0)
    with pytest.raises(SourceError, match="device"):
        load_text_encoder(device="tpu")
