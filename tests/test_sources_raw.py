"""Tests of the raw MM-IMDb source (cmcsl_core.datasets.sources.raw) on a fabricated archive."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cmcsl_core.datasets.features import load_features, save_features
from cmcsl_core.datasets.sources import load_source
from cmcsl_core.datasets.sources.raw import find_dataset_dir, load_raw, scan_dataset
from cmcsl_core.encoders import image as image_mod
from cmcsl_core.encoders import text as text_mod
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.errors import CMCSLError, SourceError

# imdb id -> (genres, plot list, poster kind); poster kind: "ok", "broken" (not a JPEG), None (absent)
MOVIES: dict[str, tuple[list[str], list[str], str | None]] = {
    "0000001": (["Horror"], ["A ghost haunts a house.::Jane Doe"], "ok"),
    "0000002": (["Horror", "Thriller"], ["Zombies attack a small town."], "ok"),
    "0000003": (["Romance", "Drama"], ["Two lovers meet in Paris.", "A second plot."], "ok"),
    "0000004": (["Romance"], [], "ok"),  # no plot -> empty text
    "0000005": (["Horror", "Romance"], ["A vampire falls in love."], "ok"),  # both genres -> left out
    "0000006": (["Drama"], ["A family drama."], "ok"),  # neither genre -> left out
    "0000007": (["Horror"], ["A cursed video tape."], "broken"),  # unreadable poster -> skipped
    "0000008": (["Romance", "Comedy"], ["A wedding goes wrong."], None),  # no poster -> skipped
    "0000009": (["Horror", "Mystery"], ["A detective hunts a monster."], "ok"),
    "0000010": (["Romance"], ["Letters across the war."], "ok"),
    "0000011": (["Comedy"], ["Friends on a road trip."], "ok"),
    "0000012": (["Romance", "Music"], ["A singer and a pianist."], "ok"),
}
EXPECTED_IDS = ("0000001", "0000002", "0000003", "0000004", "0000009", "0000010", "0000012")
EXPECTED_Y = (0, 0, 1, 1, 0, 1, 1)  # HR: Horror = 0, Romance = 1


def make_archive(root: Path, bad_json: bool = True) -> Path:
    """Write a tiny fake ``mmimdb/`` folder (dataset/ + split.json) and return it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    dataset = root / "mmimdb" / "dataset"
    dataset.mkdir(parents=True)
    (root / "mmimdb" / "split.json").write_text(json.dumps({"train": list(MOVIES), "dev": [], "test": []}))
    for imdb_id, (genres, plots, poster) in MOVIES.items():
        meta = {"genres": genres, "plot": plots, "title": f"Movie {imdb_id}", "imdb_id": imdb_id, "year": 2000}
        (dataset / f"{imdb_id}.json").write_text(json.dumps(meta))
        if poster == "ok":
            size = (int(rng.integers(40, 90)), int(rng.integers(60, 120)))
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(dataset / f"{imdb_id}.jpeg", quality=80)
        elif poster == "broken":
            (dataset / f"{imdb_id}.jpeg").write_bytes(b"this is not a jpeg")
    if bad_json:
        (dataset / "0000013.json").write_text("{not json")
    return root / "mmimdb"


@pytest.fixture()
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    return make_archive(tmp_path)


def test_load_raw_shapes_labels_and_metadata(archive: Path) -> None:
    calls: list[tuple[int, int]] = []
    fs = load_raw(
        archive,
        "HR",
        progress=lambda d, t: calls.append((d, t)),
        encoder=EncoderOptions(image_encoder="none", batch_size=4),
    )
    assert fs.modality_names == ("visual", "text")
    assert fs.modality("visual").shape == (7, 512)
    assert fs.modality("text").shape == (7, 384)
    assert fs.ids == EXPECTED_IDS
    assert tuple(fs.y) == EXPECTED_Y
    assert fs.class_names == ("Horror", "Romance")
    np.testing.assert_allclose(np.linalg.norm(fs.modality("text"), axis=1), 1.0, atol=1e-5)
    # ResNet features after ReLU + average pooling: non-negative, not all zero, distinct per poster
    visual = fs.modality("visual")
    assert visual.min() >= 0 and np.all(visual.sum(axis=1) > 0)
    assert len({row.tobytes() for row in visual}) == 7
    # first plot, author signature removed; no plot -> empty text
    assert fs.texts[0] == "A ghost haunts a house."
    assert fs.texts[2] == "Two lovers meet in Paris."
    assert fs.texts[3] == ""
    assert fs.titles[0] == "Movie 0000001"
    assert all(Path(p).is_file() and p.endswith(".jpeg") for p in fs.image_paths)
    assert fs.source == "raw"
    for fragment in (
        "skipped 3 rows: 1 missing image, 1 undecodable image, 1 unreadable json",
        "1 movie(s) without plot",
    ):
        assert fragment in fs.description
    assert fs.thumbnails is not None and all(t[:2] == b"\xff\xd8" for t in fs.thumbnails)
    record = json.loads(fs.encoders)
    assert record["visual"]["backend"] == "torch" and record["text"]["backend"] == "onnx"
    # progress: per batch, monotone, ending at total = 2 x movies with a poster
    assert calls[-1] == (16, 16)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_path_variants_and_source_dispatch(archive: Path) -> None:
    a = load_raw(archive / "dataset", "Horror,Romance", encoder=EncoderOptions(image_encoder="none"))
    b = load_source("raw", "HR", path=archive, image_encoder="none")
    c = load_raw(
        archive.parent, "HR", encoder=EncoderOptions(image_encoder="none")
    )  # the folder the archive was extracted into
    assert a.ids == b.ids == c.ids == EXPECTED_IDS
    np.testing.assert_array_equal(a.modality("visual"), b.modality("visual"))
    np.testing.assert_array_equal(a.modality("text"), b.modality("text"))


def test_feature_file_roundtrip(archive: Path, tmp_path: Path) -> None:
    fs = load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none"))
    out = save_features(fs, tmp_path / "raw.npz")
    back = load_features(out)
    assert back.ids == fs.ids and back.texts == fs.texts
    np.testing.assert_array_equal(back.modality("visual"), fs.modality("visual"))


def test_second_call_uses_the_cache(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {"images": 0, "texts": 0}
    real_images, real_texts = image_mod.ImageEncoder.embed, text_mod.TextEncoder.embed

    def count_images(*args, **kwargs):
        counts["images"] += 1
        return real_images(*args, **kwargs)

    def count_texts(*args, **kwargs):
        counts["texts"] += 1
        return real_texts(*args, **kwargs)

    monkeypatch.setattr(image_mod.ImageEncoder, "embed", count_images)
    monkeypatch.setattr(text_mod.TextEncoder, "embed", count_texts)
    first = load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none"))
    assert counts == {"images": 1, "texts": 1}
    second = load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none"))
    assert counts == {"images": 1, "texts": 1}
    np.testing.assert_array_equal(first.modality("visual"), second.modality("visual"))
    np.testing.assert_array_equal(first.modality("text"), second.modality("text"))
    # changing a poster's bytes: only the visual features are recomputed
    poster = archive / "dataset" / "0000001.jpeg"
    poster.write_bytes(poster.read_bytes() + b"\0")
    load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none"))
    assert counts == {"images": 2, "texts": 1}
    # use_cache=False always recomputes
    load_raw(archive, "HR", use_cache=False, encoder=EncoderOptions(image_encoder="none"))
    assert counts == {"images": 3, "texts": 2}


def test_limit_keeps_every_class(archive: Path) -> None:
    fs = load_raw(archive, "HR", limit=2, encoder=EncoderOptions(image_encoder="none"))
    assert fs.n_items == 2 and sorted(fs.y) == [0, 1]
    with pytest.raises(SourceError, match="limit must be at least"):
        load_raw(archive, "HR", limit=1, encoder=EncoderOptions(image_encoder="none"))


def test_default_image_encoder_is_efficientnet(archive: Path) -> None:
    fs = load_raw(archive, "HR")
    assert fs.modality("visual").shape == (7, 1280) and fs.modality("text").shape == (7, 384)
    assert "EfficientNet-Lite0 (ImageNet, 1280-d, ONNX Runtime)" in fs.description
    assert "all-MiniLM-L6-v2" in fs.description


def test_resnet18_offline_is_one_clear_error(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def blocked(*args, **kwargs):
        raise OSError("blocked by the test")

    monkeypatch.setattr(socket, "create_connection", blocked)
    with pytest.raises(SourceError, match="efficientnet-lite0.*none.*pth") as info:
        load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="resnet18"))
    assert "\n" not in str(info.value)


def test_no_network_access(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    text_mod._load_cached.cache_clear()  # really load MiniLM from disk here
    fs = load_raw(archive, "HR", use_cache=False)
    assert fs.modality("text").shape == (7, 384)


def test_local_weights_file(archive: Path, tmp_path: Path) -> None:
    import torch
    from torchvision.models import resnet18

    from cmcsl_core.encoders.image import encode_images, load_image_encoder

    torch.manual_seed(3)
    state = {k: v for k, v in resnet18(weights=None).state_dict().items() if not k.startswith("fc.")}
    good = tmp_path / "finetuned.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, good)
    fs = load_raw(archive, "HR", encoder=EncoderOptions(image_encoder=str(good)))
    direct = encode_images(fs.image_paths, load_image_encoder(str(good)), use_cache=False).features
    np.testing.assert_array_equal(fs.modality("visual"), direct)
    assert "finetuned.pth" in fs.description
    with pytest.raises(SourceError, match="neither one of"):
        load_raw(archive, "HR", encoder=EncoderOptions(image_encoder=str(tmp_path / "missing.pth")))


def test_finetune_exports_only_the_other_items(archive: Path) -> None:
    from cmcsl_core.encoders.finetune import split_finetune

    full = load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none"))
    # the split is drawn over the movies with a poster file (0000007's is unreadable), in id order
    with_poster = ("0000001", "0000002", "0000003", "0000004", "0000007", "0000009", "0000010", "0000012")
    tune, keep = split_finetune(np.array([0, 0, 1, 1, 0, 0, 1, 1]))
    calls: list[tuple[int, int]] = []
    fs = load_raw(
        archive,
        "HR",
        progress=lambda d, t: calls.append((d, t)),
        encoder=EncoderOptions(image_encoder="none", finetune="ce"),
    )
    assert fs.ids == tuple(with_poster[i] for i in keep if with_poster[i] != "0000007")
    assert not set(fs.ids) & {with_poster[i] for i in tune}  # no fine-tuning item in the output: no leak
    assert len(tune) == 2 and f"fine-tuned (ce) on {len(tune)} items" in fs.description
    assert "fine-tuned (ce" in fs.description
    rows = [full.ids.index(i) for i in fs.ids]
    assert not np.allclose(fs.modality("visual"), full.modality("visual")[rows])
    np.testing.assert_array_equal(fs.modality("text"), full.modality("text")[rows])
    assert calls[-1] == (24, 24) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(SourceError, match="unknown finetune"):
        load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none", finetune="triplet"))


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_raw(tmp_path / "nowhere", "HR", encoder=EncoderOptions(image_encoder="none"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "poster.jpeg").write_bytes(b"x")
    with pytest.raises(SourceError, match="no MM-IMDb movies"):
        load_raw(empty, "HR", encoder=EncoderOptions(image_encoder="none"))
    tarball = tmp_path / "mmimdb.tar.gz"
    with tarfile.open(tarball, "w:gz"):
        pass
    with pytest.raises(SourceError, match="extract it first"):
        load_raw(tarball, "HR", encoder=EncoderOptions(image_encoder="none"))
    other = tmp_path / "notes.txt"
    other.write_text("hi")
    with pytest.raises(SourceError, match="is a file"):
        find_dataset_dir(other)


def test_subset_problems(archive: Path) -> None:
    with pytest.raises(SourceError, match="Western.*found in none"):
        load_raw(archive, "Horror,Western", encoder=EncoderOptions(image_encoder="none"))
    with pytest.raises(SourceError, match="Thriller of subset .* have no movie in .*exactly one"):
        load_raw(
            archive, "Horror,Thriller", encoder=EncoderOptions(image_encoder="none")
        )  # the only Thriller is also Horror
    with pytest.raises(CMCSLError, match="unknown"):
        load_raw(archive, "NOPE", encoder=EncoderOptions(image_encoder="none"))


def test_class_without_readable_poster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    root = make_archive(tmp_path)
    # the only Thriller-without-Horror movie gets a broken poster
    (root / "dataset" / "0000020.json").write_text(json.dumps({"genres": ["Thriller"], "plot": ["x"], "title": "T"}))
    (root / "dataset" / "0000020.jpeg").write_bytes(b"broken")
    with pytest.raises(SourceError, match="Thriller of subset .* have no movie with a readable poster"):
        load_raw(root, "Horror,Thriller", encoder=EncoderOptions(image_encoder="none"))
    # the only War movie has no poster file at all
    (root / "dataset" / "0000021.json").write_text(json.dumps({"genres": ["War"], "plot": ["y"], "title": "W"}))
    with pytest.raises(SourceError, match="War of subset .* have no movie with a poster"):
        load_raw(root, "Horror,War", encoder=EncoderOptions(image_encoder="none"))


def test_bad_device(archive: Path) -> None:
    with pytest.raises(SourceError, match="device"):
        load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none", device="tpu"))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SourceError, match="no CUDA GPU"):
            load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none", device="cuda"))


def test_scan_reads_genres_and_skips_bad_json(archive: Path) -> None:
    scan = scan_dataset(archive / "dataset")
    assert len(scan.movies) == 12 and scan.bad_json == 1
    by_id = {m.imdb_id: m for m in scan.movies}
    assert by_id["0000005"].genres == ("Horror", "Romance")
    assert by_id["0000008"].image is None
    assert by_id["0000004"].plot == ""


def test_missing_text_model(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a sentence-transformers model folder"):
        load_raw(archive, "HR", encoder=EncoderOptions(image_encoder="none", text_model=tmp_path))
