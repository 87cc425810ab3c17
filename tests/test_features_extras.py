"""Feature files: per-modality human labels (``labels_<modality>``) and thumbnails (no pickle)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from cmcsl_core.errors import FeatureFileError


def _fs(n: int = 5, **extra: object) -> FeatureSet:
    rng = np.random.default_rng(0)
    return FeatureSet(
        modality_names=("image", "text"),
        X=(rng.normal(size=(n, 3)), rng.normal(size=(n, 2))),
        y=np.arange(n) % 3,
        class_names=("positive", "neutral", "negative"),
        **extra,  # type: ignore[arg-type]
    )


@given(
    st.lists(st.binary(max_size=40), min_size=3, max_size=12),
    st.data(),
)
@settings(max_examples=40, deadline=None)
def test_round_trip_and_subset(thumbs, data):
    n = len(thumbs)
    labels_image = np.array(data.draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)))
    labels_text = np.array(data.draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)))
    fs = _fs(n, modality_labels={"image": labels_image, "text": labels_text}, thumbnails=tuple(thumbs))
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n)))
    sub = fs.subset(rows)
    assert sub.modality_labels is not None and sub.thumbnails is not None
    np.testing.assert_array_equal(sub.modality_labels["image"], labels_image[rows])
    np.testing.assert_array_equal(sub.modality_labels["text"], labels_text[rows])
    assert sub.thumbnails == tuple(thumbs[i] for i in rows)
    assert [sub.thumbnail(i) for i in range(rows.size)] == [thumbs[i] or None for i in rows]


def test_save_load_round_trip(tmp_path):
    thumbs = (b"\xff\xd8jpeg-one", b"", b"\x00\x01\x02", b"x" * 1000, b"end")
    fs = _fs(5, modality_labels={"text": np.array([0, 1, -1, 2, 0])}, thumbnails=thumbs)
    path = save_features(fs, tmp_path / "f.npz")
    back = load_features(path)
    assert back.thumbnails == thumbs
    assert back.thumbnail(1) is None and back.thumbnail(3) == b"x" * 1000
    assert back.modality_labels is not None and set(back.modality_labels) == {"text"}
    np.testing.assert_array_equal(back.modality_labels["text"], [0, 1, -1, 2, 0])
    with zipfile.ZipFile(path) as z:  # stored as plain arrays (no pickle): a uint8 blob + offsets
        names = set(z.namelist())
    assert {"labels_text.npy", "thumb_bytes.npy", "thumb_offsets.npy"} <= names
    with np.load(path, allow_pickle=False) as z:
        assert z["thumb_bytes"].dtype == np.uint8 and z["thumb_offsets"].tolist() == [0, 10, 10, 13, 1013, 1016]
    # float16 storage, read back as float64 within float16 precision
    small = load_features(save_features(fs, tmp_path / "h.npz", feature_dtype=np.float16))
    assert small.X[0].dtype == np.float64
    np.testing.assert_allclose(small.X[0], fs.X[0], rtol=1e-3, atol=1e-3)
    with np.load(tmp_path / "h.npz", allow_pickle=False) as z:
        assert z["image"].dtype == np.float16
    plain = load_features(save_features(_fs(5), tmp_path / "p.npz"))
    assert plain.modality_labels is None and plain.thumbnails is None and plain.thumbnail(0) is None


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"modality_labels": {"audio": np.zeros(5, int)}}, "'labels_audio' names no modality"),
        ({"modality_labels": {"image": np.zeros(4, int)}}, "'labels_image' must hold 5 labels"),
        (
            {"modality_labels": {"image": np.array([0, 1, 2, 3, 0])}},
            r"must lie in -1\.\.2 \(-1 = unknown\); found 0\.\.3",
        ),
        ({"modality_labels": {"image": np.array([0, 1, -2, 0, 0])}}, r"found -2\.\.1"),
        ({"modality_labels": {"image": np.array([0.5] * 5)}}, "must hold integer labels"),
        ({"thumbnails": (b"",) * 4}, "'thumbnails' has 4 entries but there are 5 items"),
        ({"thumbnails": ("text",) * 5}, "'thumbnails' must hold bytes"),
    ],
)
def test_validation_errors(extra, message):
    with pytest.raises(FeatureFileError, match=message):
        _fs(5, **extra)


def _write(tmp_path, **arrays):
    base = {
        "modality_names": np.array(["image", "text"]),
        "image": np.ones((3, 2)),
        "text": np.ones((3, 2)),
        "y": np.array([0, 1, 0]),
        "class_names": np.array(["a", "b"]),
    }
    base.update(arrays)
    path = tmp_path / "x.npz"
    np.savez(path, **base)
    return path


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"thumb_bytes": np.zeros(3, np.uint8)}, "needs both 'thumb_bytes' and 'thumb_offsets'"),
        ({"thumb_bytes": np.zeros(3, np.uint8), "thumb_offsets": np.array([0, 1, 2])}, "must hold 4 integers"),
        ({"thumb_bytes": np.zeros(3, np.uint8), "thumb_offsets": np.array([0, 2, 1, 3])}, "must rise from 0"),
        ({"thumb_bytes": np.zeros(3, np.uint8), "thumb_offsets": np.array([0, 1, 2, 9])}, "must rise from 0"),
        ({"thumb_bytes": np.zeros(3, np.float32), "thumb_offsets": np.array([0, 1, 2, 3])}, "1-D uint8"),
        ({"labels_audio": np.array([0, 1, 0])}, "'labels_audio' names no modality"),
        ({"labels_text": np.array(["a", "b", "c"])}, "must hold integer labels"),
    ],
)
def test_bad_files(tmp_path, arrays, message):
    with pytest.raises(FeatureFileError, match=message):
        load_features(_write(tmp_path, **arrays))


def test_labels_prefix_is_not_a_modality_name():
    with pytest.raises(FeatureFileError, match="reserved"):
        FeatureSet(("labels_x", "text"), (np.ones((2, 1)), np.ones((2, 1))), np.array([0, 1]), ("a", "b"))
