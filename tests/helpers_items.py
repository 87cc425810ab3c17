"""Helpers for the item-source tests (table, mvsa): fabricated images and cheap fake encoders.

The fake image encoder gets the pixels the real pipeline decoded
(:func:`cmcsl_core.encoders.decode.decode_image`: formats, CMYK, palette, alpha, truncation)
and returns the mean and spread of each RGB channel, so a test can predict the features of
an image exactly (``fake_image_features(load_image(path))``); the fake text encoder maps a
text to its length and code-point sums. Both record what they were asked to encode (cache
hits and deduplication are observable): ``image_calls`` holds, per call, the features it
returned (one row per image), ``text_calls`` the texts.

The fixtures shared by the encoder tests live here too: ``_private_cache`` (a fresh cache
folder per test; import it to make it autouse in a module) and ``effnet`` (ONNX Runtime) /
``effnet_torch`` / ``random_resnet`` (the real encoders, loaded once per module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from cmcsl_core.datasets.sources.items import ItemEncoders


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder of the test's own (autouse wherever it is imported)."""
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def effnet():
    """The default EfficientNet-Lite0 image encoder (ONNX Runtime) on the CPU."""
    from cmcsl_core.encoders.image import load_image_encoder

    return load_image_encoder("efficientnet-lite0", device="cpu")


@pytest.fixture(scope="module")
def effnet_torch():
    """EfficientNet-Lite0 on torch (the torch extra) on the CPU."""
    from cmcsl_core.encoders.image import load_image_encoder

    return load_image_encoder("efficientnet-lite0", device="cpu", backend="torch")


@pytest.fixture(scope="module")
def random_resnet():
    """The random-weights ResNet-18 (``none``) on the CPU: cheap and deterministic."""
    from cmcsl_core.encoders.image import load_image_encoder

    return load_image_encoder("none", device="cpu")


def fake_image_features(arr: np.ndarray) -> np.ndarray:
    """What the fake image encoder returns for decoded pixels (H, W, 3)."""
    a = arr.reshape(-1, 3).astype(np.float64)
    return np.concatenate([a.mean(axis=0), a.std(axis=0)]).astype(np.float32)


def fake_text_features(text: str) -> np.ndarray:
    """What the fake text encoder returns for ``text``."""
    codes = [ord(c) for c in text]
    return np.array([len(text), sum(codes) % 997, max(codes, default=0), 1.0], dtype=np.float32)


class FakeEncoders:
    """Builds :class:`ItemEncoders` that record their calls."""

    def __init__(self, tag: str = "fake") -> None:
        self.tag = tag
        self.image_calls: list[list[str]] = []
        self.text_calls: list[list[str]] = []
        self.finetune_calls: list[tuple[list[str], np.ndarray, str]] = []

    def embed_images(self, pixels: np.ndarray) -> np.ndarray:
        assert pixels.dtype == np.uint8 and pixels.shape[1:] == (224, 224, 3)
        out = np.stack([fake_image_features(p) for p in pixels])
        self.image_calls.append(list(out))
        return out

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.text_calls.append(list(texts))
        return np.stack([fake_text_features(t) for t in texts]) if texts else np.zeros((0, 4), np.float32)

    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every fifth item of each class is for fine-tuning (deterministic, stratified)."""
        tune = []
        for c in np.unique(y):
            members = np.flatnonzero(y == c)
            tune.extend(members[::5].tolist())
        tune_arr = np.sort(np.asarray(tune, dtype=np.int64))
        keep = np.setdiff1d(np.arange(y.size), tune_arr)
        return tune_arr, keep

    def finetune(self, paths, labels, classes, mode, progress=None) -> ItemEncoders:
        self.finetune_calls.append((list(paths), np.asarray(labels), mode))
        return self.build(tag=f"{self.tag}+{mode}")

    def build(self, tag: str | None = None) -> ItemEncoders:
        return ItemEncoders(
            image_identity=f"image:{tag or self.tag}",
            text_identity=f"text:{tag or self.tag}",
            embed_images=self.embed_images,
            embed_texts=self.embed_texts,
            finetune=self.finetune,
            split=self.split,
            image_name="fake image encoder",
            text_name="fake text encoder",
        )


def save_image(
    path: Path, kind: str, colour: tuple[int, int, int] = (200, 30, 60), size: tuple[int, int] = (40, 30)
) -> Path:
    """Write a small image of ``kind``: png, gif, cmyk (JPEG), rgba (PNG), palette, jpeg, webp, truncated."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, colour)
    if kind == "png":
        im.save(path, format="PNG")
    elif kind == "gif":
        im.convert("P").save(path, format="GIF")
    elif kind == "cmyk":
        im.convert("CMYK").save(path, format="JPEG", quality=95)
    elif kind == "rgba":
        rgba = Image.new("RGBA", size, colour + (255,))
        rgba.save(path, format="PNG")
    elif kind == "palette":
        im.quantize(colors=4).save(path, format="PNG")
    elif kind == "webp":
        im.save(path, format="WEBP", lossless=True)
    elif kind == "jpeg":
        im.save(path, format="JPEG", quality=95)
    elif kind == "truncated":
        import io

        buf = io.BytesIO()
        Image.effect_noise((64, 64), 60).convert("RGB").save(buf, format="JPEG", quality=95)
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    elif kind == "garbage":
        path.write_bytes(b"this is not an image at all")
    else:  # pragma: no cover - a typo in a test
        raise ValueError(kind)
    return path
