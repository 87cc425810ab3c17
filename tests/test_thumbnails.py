"""Item thumbnails.

Made by the one pipeline, cached by content, added to files made elsewhere, always re-encoded for the browser.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_items import FakeEncoders, _private_cache, fake_image_features, save_image  # noqa: F401 (fixture)
from PIL import Image

from cmcsl_core.datasets.features import load_features, make_feature_set, save_features
from cmcsl_core.datasets.sources.table import load_table_items
from cmcsl_core.datasets.thumbnails import resolve_image_paths, with_thumbnails
from cmcsl_core.encoders import thumbnails as thumbs_mod
from cmcsl_core.encoders.pipeline import encode_image_files
from cmcsl_core.encoders.thumbnails import (
    THUMBNAIL_SIZE,
    file_thumbnails,
    make_thumbnail,
    placeholder_thumbnail,
    reencode_thumbnail,
)
from cmcsl_studio_ui import thumbs as ui_thumbs


def _jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        return im.size


def _photos(folder: Path) -> list[Path]:
    """scikit-learn's two sample photos (JPEG, 640 x 427) and two drawn pictures (PNG, RGBA)."""
    from sklearn.datasets import load_sample_image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("china.jpg", "flower.jpg"):
        Image.fromarray(load_sample_image(name)).save(folder / name, quality=90)
        paths.append(folder / name)
    for k in range(2):
        im = Image.new("RGBA", (120, 200 + 40 * k), (30, 160, 90 + 60 * k, 200))
        im.save(folder / f"drawn {k}.png")
        paths.append(folder / f"drawn {k}.png")
    return paths


def test_the_pipeline_makes_each_thumbnail_once_from_the_decoded_pixels(tmp_path: Path, monkeypatch) -> None:
    paths = _photos(tmp_path / "img")
    copy = tmp_path / "img" / "same as china.jpg"
    copy.write_bytes(paths[0].read_bytes())
    missing = tmp_path / "img" / "missing.jpg"
    broken = save_image(tmp_path / "img" / "broken.jpg", "truncated")
    calls: list[tuple[int, int]] = []
    real = thumbs_mod.jpeg_thumbnail

    def counting(im, *args, **kwargs):
        calls.append(im.size)
        return real(im, *args, **kwargs)

    monkeypatch.setattr(thumbs_mod, "jpeg_thumbnail", counting)
    files = [*paths, copy, missing, broken]
    embed = lambda px: np.stack([fake_image_features(p) for p in px])  # noqa: E731
    rows = encode_image_files(files, "fake", embed, batch_size=2)
    assert len(calls) == 4  # one per distinct readable content (the copy shares china's)
    assert set(rows.errors) == {5, 6}
    for i, thumb in enumerate(rows.thumbnails):
        if i in rows.errors:
            assert thumb == b""
        else:
            w, h = _jpeg_size(thumb)
            assert max(w, h) == THUMBNAIL_SIZE
    assert rows.thumbnails[0] == rows.thumbnails[4]
    assert _jpeg_size(rows.thumbnails[0]) == (96, 64)  # china: 640 x 427, aspect kept
    # the same recipe as a thumbnail made from the file alone (a file made elsewhere gets the same bytes)
    monkeypatch.setattr(thumbs_mod, "jpeg_thumbnail", real)
    assert rows.thumbnails[1] == make_thumbnail(paths[1])
    # second call: features and thumbnails from the cache, nothing decoded
    monkeypatch.setattr(thumbs_mod, "jpeg_thumbnail", counting)
    again = encode_image_files(list(reversed(files)), "fake", embed, batch_size=2)
    assert len(calls) == 4 and again.n_encoded == 0
    assert again.thumbnails == tuple(reversed(rows.thumbnails))
    # another encoder identity: features computed again, thumbnails (encoder-independent) from the cache
    other = encode_image_files(files, "other", embed, batch_size=2)
    assert other.n_encoded == 5 and other.thumbnails == rows.thumbnails  # 5 contents: the copy is china


def test_table_export_carries_thumbnails_through_the_feature_file(tmp_path: Path) -> None:
    paths = _photos(tmp_path / "pics")
    lines = ["id,image,text,label"]
    for k, p in enumerate(paths):
        lines.append(f"i{k},pics/{p.name},text {k},{'ab'[k % 2]}")
    lines.append("gone,pics/nope.png,no picture,a")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    loaded = load_table_items(tmp_path / "t.csv", encoders=FakeEncoders().build())
    fs = loaded.features
    assert fs.ids == ("i0", "i1", "i2", "i3") and [s.id for s in loaded.skipped] == ["gone"]
    back = load_features(save_features(fs, tmp_path / "out.npz"))
    assert back.thumbnails == fs.thumbnails and all(max(_jpeg_size(t)) == 96 for t in back.thumbnails)
    assert back.thumbnails[0] == make_thumbnail(paths[0])


def test_a_file_made_elsewhere_gets_thumbnails_from_its_image_paths(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    paths = _photos(folder / "images")
    outside = _photos(tmp_path / "elsewhere")[0]
    garbage = folder / "images" / "garbage.jpg"
    garbage.write_bytes(b"not a picture")
    image_paths = ("images/china.jpg", str(paths[1]), "images/garbage.jpg", "images/missing.png", "", str(outside))
    n = len(image_paths)
    fs = make_feature_set([np.zeros((n, 2)), np.ones((n, 3))], np.arange(n) % 2, image_paths=image_paths)
    path = save_features(fs, folder / "made elsewhere.npz")
    loaded = load_features(path)
    assert loaded.thumbnails is None
    calls: list[tuple[int, int]] = []
    done = with_thumbnails(loaded, path.parent, progress=lambda d, t: calls.append((d, t)))
    t = done.thumbnails
    assert t is not None and len(t) == n
    assert t[0] == make_thumbnail(paths[0]) and t[1] == make_thumbnail(paths[1])  # relative and absolute
    assert t[2] == t[3] == t[4] == b""  # unreadable, missing, empty: no thumbnail (the app shows the placeholder)
    assert t[5] == make_thumbnail(outside)
    assert calls and calls[-1] == (3, 3)  # three readable contents were new
    # a data folder confines what is read
    confined = with_thumbnails(loaded, path.parent, root=folder)
    assert confined.thumbnails is not None and confined.thumbnails[5] == b"" and confined.thumbnails[0] == t[0]
    assert resolve_image_paths(loaded, path.parent, root=folder)[5] is None
    # cached by content: a second call reads no image (no progress: nothing left to make)
    calls.clear()
    assert with_thumbnails(loaded, path.parent, progress=lambda d, t: calls.append((d, t))).thumbnails == t
    assert calls == []
    # files with thumbnails, or without image paths, come back as they are
    assert with_thumbnails(done, path.parent) is done
    plain = make_feature_set([np.zeros((2, 2)), np.ones((2, 2))], [0, 1])
    assert with_thumbnails(plain, tmp_path) is plain


def test_thumbnails_for_the_browser_are_always_reencoded_jpegs(tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (250, 0, 0, 128)).save(png, format="PNG", pnginfo=None)
    out = reencode_thumbnail(png.getvalue(), 128)
    assert out is not None and out[:2] == b"\xff\xd8" and max(_jpeg_size(out)) == 128
    with Image.open(io.BytesIO(out)) as im:
        assert not im.info.get("exif") and "comment" not in im.info
    html = b"<script>alert(1)</script>"
    assert reencode_thumbnail(html) is None and reencode_thumbnail(b"") is None
    # a header declaring a huge picture is not decoded
    huge = io.BytesIO()
    Image.new("L", (5000, 4000)).save(huge, format="PNG")
    assert reencode_thumbnail(huge.getvalue()) is None
    placeholder = placeholder_thumbnail()
    assert _jpeg_size(placeholder) == (96, 96)

    fs = make_feature_set([np.zeros((3, 2)), np.ones((3, 2))], [0, 1, 0], thumbnails=(png.getvalue(), b"", html),
                          image_paths=("a.png", "b.png", "c.png"))
    shown = [ui_thumbs.item_thumbnail(fs, i) for i in range(3)]
    assert shown[0] is not None and shown[0][:2] == b"\xff\xd8" and shown[0] != png.getvalue()
    assert shown[1] == shown[2] == placeholder_thumbnail(THUMBNAIL_SIZE)
    assert all(
        u is not None and u.startswith("data:image/jpeg;base64,") for u in ui_thumbs.thumbnail_urls(fs, range(3))
    )
    assert ui_thumbs.square_thumbnail(html)[:8] == b"\x89PNG\r\n\x1a\n"  # the placeholder, squared
    no_pictures = make_feature_set([np.zeros((2, 2)), np.ones((2, 2))], [0, 1])
    assert ui_thumbs.item_thumbnail(no_pictures, 0) is None and not ui_thumbs.has_thumbnails(no_pictures)


def test_published_thumbnails_live_under_the_cache_folder_and_stale_ones_go(tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(png, format="PNG")
    fs = make_feature_set([np.zeros((2, 2)), np.ones((2, 2))], [0, 1], thumbnails=(png.getvalue(), b""),
                          image_paths=("a.png", "b.png"))
    digest = ui_thumbs.publish_thumbnails(fs, "data-key-1")
    folder = ui_thumbs.served_thumbnails_dir() / str(digest)
    assert folder.parent == Path(os.environ["CMCSL_CACHE_DIR"]) / "served-thumbnails"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["0.jpg", "1.jpg"]
    assert (folder / "0.jpg").read_bytes()[:2] == b"\xff\xd8" and (folder / "0.jpg").read_bytes() != png.getvalue()
    assert (folder / "1.jpg").read_bytes() == placeholder_thumbnail(THUMBNAIL_SIZE)
    # an old folder and an abandoned temporary one are removed on the next publication; the one in use stays
    old = ui_thumbs.served_thumbnails_dir() / "0123456789abcdef0123"
    old.mkdir()
    tmp = ui_thumbs.served_thumbnails_dir() / ".abandoned-x"
    tmp.mkdir()
    past = time.time() - 30 * 86400
    for p in (old, tmp, folder):
        os.utime(p, (past, past))
    assert ui_thumbs.publish_thumbnails(fs, "data-key-1") == digest
    assert folder.is_dir() and not old.exists() and not tmp.exists()
    # at most KEEP_FOLDERS are kept
    for k in range(ui_thumbs.KEEP_FOLDERS + 3):
        ui_thumbs.publish_thumbnails(fs, f"key-{k}")
    assert len(list(ui_thumbs.served_thumbnails_dir().iterdir())) == ui_thumbs.KEEP_FOLDERS
    no_pictures = make_feature_set([np.zeros((2, 2)), np.ones((2, 2))], [0, 1])
    assert ui_thumbs.publish_thumbnails(no_pictures, "k") is None


def test_file_thumbnails_of_nothing(tmp_path: Path) -> None:
    assert file_thumbnails([]) == ()
    assert file_thumbnails([tmp_path / "nope.png"]) == (b"",)


@pytest.mark.parametrize("content", [b"", b",,,\n,,,\n", b"\n\n,\n"])
def test_a_table_of_bare_commas_is_one_error_line(tmp_path: Path, capsys, content: bytes) -> None:
    from cmcsl_core.cli import main

    table = tmp_path / "bare.csv"
    table.write_bytes(content)
    assert main(["export", "--source", "table", "--path", str(table), "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: table") and "Traceback" not in err[0]


def test_export_onto_its_own_input_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    from cmcsl_core.cli import main

    builtin = tmp_path / "builtin copy.npz"
    fs = make_feature_set([np.zeros((4, 2)), np.ones((4, 2))], [0, 1, 0, 1])
    save_features(fs, builtin)
    monkeypatch.setenv("CMCSL_MVSA_BUILTIN", str(builtin))
    before = builtin.read_bytes()
    assert main(["export", "--source", "mvsa-builtin", "--out", str(builtin)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the input file" in err[0]
    assert builtin.read_bytes() == before


def test_the_app_shows_pictures_of_a_file_that_only_names_its_images(tmp_path: Path, monkeypatch) -> None:
    """Home on a feature file with relative image_paths and no thumbnails: pictures appear (made on load)."""
    from streamlit.testing.v1 import AppTest

    folder = tmp_path / "data"
    paths = _photos(folder / "images")
    rel = tuple(f"images/{p.name}" for p in paths) + ("images/missing.png",)
    n = len(rel)
    rng = np.random.default_rng(0)
    fs = make_feature_set([rng.normal(size=(n, 4)), rng.normal(size=(n, 3))], np.arange(n) % 2, image_paths=rel,
                          ids=tuple(f"item{k}" for k in range(n)), texts=tuple(f"text {k}" for k in range(n)))
    path = save_features(fs, folder / "named only.npz")
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params["source"] = "file"
    at.query_params["path"] = str(path)
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("image")) >= 1
