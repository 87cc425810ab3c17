"""Tests of image-encoder fine-tuning (cmcsl_core.encoders.finetune)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_items import _private_cache, effnet  # noqa: F401 (fixtures)
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.constants import RANDOM_STATE
from cmcsl_core.encoders import finetune as ft_mod
from cmcsl_core.encoders.finetune import EpochReport, finetune_image_encoder, split_finetune
from cmcsl_core.encoders.image import describe_image_encoder, encode_images
from cmcsl_core.errors import SourceError


def make_items(folder: Path, n: int = 16) -> tuple[list[str], np.ndarray]:
    """``n`` small images of two classes (reddish / bluish noise)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(n):
        c = i % 2
        pixels = rng.integers(0, 120, size=(48, 64, 3)).astype(np.uint8)
        pixels[..., 0 if c == 0 else 2] += 120
        p = folder / f"item {i}.png"
        Image.fromarray(pixels).save(p)
        paths.append(str(p))
        labels.append(c)
    return paths, np.asarray(labels)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 30), min_size=1, max_size=5),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 10_000),
)
def test_split_is_stratified_disjoint_and_complete(counts: list[int], fraction: float, seed: int) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    y = np.concatenate([y, [-1, -1]])  # unknown labels are always exported
    rng = np.random.default_rng(seed)
    y = y[rng.permutation(y.size)]
    tune, keep = split_finetune(y, fraction, seed)
    assert np.intersect1d(tune, keep).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tune, keep])), np.arange(y.size))
    assert list(tune) == sorted(tune) and list(keep) == sorted(keep)
    assert np.all(y[tune] >= 0)
    for c, n_c in enumerate(counts):
        got = int(np.sum(y[tune] == c))
        want = 0 if n_c < 2 else min(max(round(fraction * n_c), 1), n_c - 1)
        assert got == want
    again = split_finetune(y, fraction, seed)
    np.testing.assert_array_equal(again[0], tune)


def test_split_default_is_the_papers_20_percent() -> None:
    y = np.repeat([0, 1, 2], [100, 50, 10])
    tune, keep = split_finetune(y)
    assert np.bincount(y[tune]).tolist() == [20, 10, 2] and keep.size == 128
    np.testing.assert_array_equal(split_finetune(y, seed=RANDOM_STATE)[0], tune)
    assert not np.array_equal(split_finetune(y, seed=RANDOM_STATE + 1)[0], tune)
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(SourceError, match="between 0 and 1"):
            split_finetune(y, bad)


@pytest.mark.parametrize("mode", ["ce", "supcon"])
def test_finetune_is_deterministic_and_changes_the_features(tmp_path: Path, effnet, mode: str) -> None:
    paths, y = make_items(tmp_path / "items")
    tune, keep = split_finetune(y, fraction=0.5)
    reports: list[EpochReport] = []
    progress: list[tuple[int, int]] = []
    kwargs = dict(epochs=2, device="cpu", use_cache=False)
    a = finetune_image_encoder(
        effnet, [paths[i] for i in tune], y[tune], mode,
        on_epoch=reports.append, progress=lambda d, t: progress.append((d, t)), **kwargs,
    )
    b = finetune_image_encoder(effnet, [paths[i] for i in tune], y[tune], mode, **kwargs)
    export = [paths[i] for i in keep]
    fa = encode_images(export, a, use_cache=False).features
    fb = encode_images(export, b, use_cache=False).features
    base = encode_images(export, effnet, use_cache=False).features
    np.testing.assert_array_equal(fa, fb)  # bit-identical: seeded and deterministic
    assert not np.allclose(fa, base)
    assert a.identity == b.identity != effnet.identity and a.dim == effnet.dim == 1280
    assert a.finetune is not None and a.finetune.mode == mode and a.finetune.n_items == 8
    assert len(a.finetune.losses) == 2 and all(np.isfinite(a.finetune.losses))
    assert [r.epoch for r in reports] == [1, 2] and reports[-1].eta_s == 0.0
    assert reports[0].loss == pytest.approx(a.finetune.losses[0])
    assert progress[-1][0] == progress[-1][1] and [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert "fine-tuned" in describe_image_encoder(a)
    # the base encoder is left unchanged
    np.testing.assert_array_equal(encode_images(export, effnet, use_cache=False).features, base)


def test_finetune_cache_and_seed(tmp_path: Path, effnet, monkeypatch: pytest.MonkeyPatch) -> None:
    paths, y = make_items(tmp_path / "items", n=8)
    first = finetune_image_encoder(effnet, paths, y, "ce", epochs=1, device="cpu")
    monkeypatch.setattr(ft_mod, "_train", lambda *a, **k: pytest.fail("trained again despite the cache"))
    second = finetune_image_encoder(effnet, paths, y, "ce", epochs=1, device="cpu")
    assert second.identity == first.identity and second.finetune == first.finetune
    fa = encode_images(paths[:2], first).features
    np.testing.assert_array_equal(encode_images(paths[:2], second, use_cache=False).features, fa)
    monkeypatch.undo()
    other = finetune_image_encoder(effnet, paths, y, "ce", epochs=1, seed=RANDOM_STATE + 1, device="cpu")
    assert other.identity != first.identity


def test_finetune_skips_bad_images_and_validates(tmp_path: Path, effnet) -> None:
    paths, y = make_items(tmp_path / "items", n=6)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    enc = finetune_image_encoder(
        effnet, paths + [str(broken), str(tmp_path / "gone.jpg")], np.r_[y, 0, 1], "supcon", epochs=1, device="cpu"
    )
    assert enc.finetune is not None and enc.finetune.n_items == 6
    with pytest.raises(SourceError, match="unknown fine-tuning mode"):
        finetune_image_encoder(effnet, paths, y, "triplet")
    with pytest.raises(SourceError, match="labels"):
        finetune_image_encoder(effnet, paths, y[:-1], "ce")
    with pytest.raises(SourceError, match="at least two classes"):
        finetune_image_encoder(effnet, paths, np.zeros(len(paths), int), "ce")
    with pytest.raises(SourceError, match="known"):
        finetune_image_encoder(effnet, paths, np.r_[y[:-1], -1], "ce")
    with pytest.raises(SourceError, match="epochs"):
        finetune_image_encoder(effnet, paths, y, "ce", epochs=0)
    with pytest.raises(SourceError, match="could be decoded"):
        finetune_image_encoder(effnet, [str(broken)] * 2, np.array([0, 1]), "ce", use_cache=False)
