"""Tests of the text encoder (cmcsl_core.encoders.text)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from cmcsl_core.encoders import text as text_mod
from cmcsl_core.encoders.text import TEXT_DIM, encode_texts, load_text_encoder, minilm_path
from cmcsl_core.errors import SourceError
from helpers_items import _private_cache  # noqa: F401 (fixture)

TEXTS = [
    "A ghost haunts a house.",
    "",  # an empty text is encoded as it is
    "Café crème, naïve façade — ünïcödé 😀",
    "A ghost haunts a house.",  # duplicate
    "Two lovers meet in Paris. " * 20,  # long
]


@pytest.fixture(scope="module")
def minilm():
    return load_text_encoder(device="cpu")


def test_equals_a_direct_sentence_transformers_call(minilm) -> None:
    from sentence_transformers import SentenceTransformer

    ours = encode_texts(TEXTS, minilm, batch_size=2, use_cache=False)
    direct = SentenceTransformer(str(minilm_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True
    )
    assert ours.shape == (len(TEXTS), TEXT_DIM) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, direct, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ours[0], ours[3])
    assert minilm.name == "all-MiniLM-L6-v2" and minilm.dim == TEXT_DIM
    assert minilm.model.get_embedding_dimension() == minilm.dim


def test_cache_hit_and_dedup(minilm, monkeypatch: pytest.MonkeyPatch) -> None:
    from sentence_transformers import SentenceTransformer

    batches: list[int] = []
    real = SentenceTransformer.encode

    def counting(self, sentences, *args, **kwargs):
        batches.append(len(sentences))
        return real(self, sentences, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", counting)
    calls: list[tuple[int, int]] = []
    first = encode_texts(TEXTS, minilm, batch_size=64, progress=lambda d, t: calls.append((d, t)))
    assert batches == [4]  # the duplicate is encoded once
    assert calls[-1] == (4, 4)
    t0 = time.perf_counter()
    second = encode_texts(list(reversed(TEXTS)), minilm)
    assert time.perf_counter() - t0 < 0.5 and batches == [4]  # served from the disk cache
    np.testing.assert_array_equal(second[::-1], first)
    more = encode_texts(TEXTS + ["one more"], minilm)
    assert batches == [4, 1]  # per-text entries: only the new text is encoded
    np.testing.assert_array_equal(more[: len(TEXTS)], first)
    assert encode_texts([], minilm).shape == (0, TEXT_DIM)


def test_no_network_access(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    text_mod._load_cached.cache_clear()  # really load the model from disk here
    enc = load_text_encoder(device="auto")
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
