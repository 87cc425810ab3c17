"""The built-in MVSA-Single file (``data/mvsa_single.npz``): budget, speed, contents, and a
sample checked against a fresh export from ``../shared/mvsa-single`` with the real encoders."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cmcsl_core.datasets import builtin
from cmcsl_core.datasets.builtin import build_mvsa_builtin, builtin_mvsa_path, load_builtin_mvsa
from cmcsl_core.datasets.features import load_features
from cmcsl_core.datasets.sources.mvsa import CLASS_NAMES, merge_labels
from cmcsl_core.errors import SourceError

REPO_ROOT = Path(__file__).resolve().parent.parent
MVSA_DIR = REPO_ROOT.parent / "shared" / "mvsa-single"
SHIPPED = REPO_ROOT / "data" / "mvsa_single.npz"
needs_mvsa = pytest.mark.needs_shared("mvsa-single/labelResultAll.txt")


@pytest.mark.perf
def test_shipped_file_budget_and_load_time():
    assert SHIPPED.stat().st_size <= 30 * 1024 * 1024
    start = time.perf_counter()
    load_features(SHIPPED)
    assert time.perf_counter() - start < 1.0


def test_shipped_file_holds_the_tweets_as_float16():
    assert builtin_mvsa_path() == SHIPPED
    assert SHIPPED.is_file(), "data/mvsa_single.npz is shipped; rebuild with scripts/make_mvsa_builtin.py"
    fs = load_features(SHIPPED)
    with np.load(SHIPPED, allow_pickle=False) as z:
        assert z["image"].dtype == np.float16 and z["text"].dtype == np.float16
        assert "image_paths" not in z.files  # paths of the build machine mean nothing elsewhere
    assert fs.n_items == 4869 and fs.modality_names == ("image", "text")
    assert [x.shape[1] for x in fs.X] == [1280, 384]
    assert fs.class_names == CLASS_NAMES
    assert fs.ids is not None and len(set(fs.ids)) == 4869 and fs.texts is not None


def test_shipped_labels_follow_the_stated_rule():
    fs = load_builtin_mvsa()
    assert fs.modality_labels is not None
    text, image = fs.modality_labels["text"], fs.modality_labels["image"]
    assert np.all(text >= 0) and np.all(image >= 0)
    assert int(np.sum(text != image)) == 2277
    merged = merge_labels(text, image)
    np.testing.assert_array_equal(fs.y, np.where(merged >= 0, merged, text))
    paper = load_builtin_mvsa("merged")
    assert paper.n_items == 4511
    assert dict(zip(paper.class_names, paper.class_counts().tolist())) == {
        "positive": 2683,
        "neutral": 470,
        "negative": 1358,
    }
    by_image = load_builtin_mvsa("image")
    assert by_image.n_items == 4869 and by_image.modality_labels is not None
    np.testing.assert_array_equal(by_image.y, by_image.modality_labels["image"])
    assert by_image.thumbnails is not None and len(by_image.thumbnails) == 4869
    with pytest.raises(SourceError, match="unknown labels 'x'; choose one of all, merged, text, image"):
        load_builtin_mvsa("x")


def test_shipped_thumbnails_are_small_jpegs():
    from PIL import Image

    fs = load_builtin_mvsa()
    assert fs.thumbnails is not None and all(fs.thumbnails)
    for i in range(0, fs.n_items, 487):
        thumb = fs.thumbnail(i)
        assert thumb is not None and thumb[:2] == b"\xff\xd8"
        with Image.open(io.BytesIO(thumb)) as im:
            assert im.format == "JPEG" and max(im.size) == builtin.THUMBNAIL_SIZE


def test_missing_file_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CMCSL_MVSA_BUILTIN", str(tmp_path / "absent.npz"))
    with pytest.raises(SourceError, match="missing; rebuild it with `python scripts/make_mvsa_builtin.py`"):
        load_builtin_mvsa()


@needs_mvsa
def test_sample_matches_a_fresh_export(monkeypatch, tmp_path):
    """A handful of tweets re-encoded now equal the shipped ones (float16 tolerance)."""
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "empty-cache"))  # really encode, no cached features
    shipped = load_builtin_mvsa()
    assert shipped.ids is not None
    sample = [shipped.ids[i] for i in (0, 1, 36, 49, 1000, 2500, 4868)]  # 37 and 50: positive vs negative
    fresh = build_mvsa_builtin(MVSA_DIR, ids=sample, use_cache=False).features
    rows = np.array([shipped.ids.index(t) for t in sample])
    part = shipped.subset(rows)
    assert fresh.ids == part.ids == tuple(sample)
    assert fresh.texts == part.texts
    np.testing.assert_array_equal(fresh.y, part.y)
    assert fresh.modality_labels is not None and part.modality_labels is not None
    for key in ("image", "text"):
        np.testing.assert_array_equal(fresh.modality_labels[key], part.modality_labels[key])
        x_new, x_old = fresh.modality(key), part.modality(key)
        np.testing.assert_allclose(x_old, x_new.astype(np.float16).astype(np.float64), rtol=2e-3, atol=2e-3)
    # thumbnails: the shipped ones were made from a separate 96 px decode, the pipeline makes them from the
    # pixels it decodes for the encoder (one read per image): same format, the same picture
    assert fresh.thumbnails is not None and part.thumbnails is not None
    for new, old in zip(fresh.thumbnails, part.thumbnails):
        with Image.open(io.BytesIO(new)) as a, Image.open(io.BytesIO(old)) as b:
            assert a.format == b.format == "JPEG" and a.size == b.size
            diff = np.abs(np.asarray(a.convert("RGB"), dtype=float) - np.asarray(b.convert("RGB"), dtype=float))
        assert diff.mean() < 12, diff.mean()  # two different tweets' pictures: >= 45 in 99% of pairs
