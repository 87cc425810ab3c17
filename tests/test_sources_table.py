"""Source ``table``: csv / tsv / jsonl tables of items (image + text + label), end to end.

Most tests inject fake encoders that decode every image with the real decoder (so formats,
CMYK, palette, alpha, truncated and missing files go through the real code path) and whose
outputs are predictable; one test runs the real EfficientNet-Lite0 + MiniLM encoders.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from helpers_items import FakeEncoders, fake_image_features, fake_text_features, save_image

from cmcsl_core.datasets.features import load_features, save_features
from cmcsl_core.datasets.sources.items import (
    SkippedItem,
    decode_text,
    skipped_csv_path,
    skipped_summary,
    write_skipped_csv,
)
from cmcsl_core.datasets.sources.table import load_table_items
from cmcsl_core.encoders.decode import load_image
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.errors import SourceError

# id, image file (relative), image kind, text, label
ROWS = [
    ("a1", "img/red one.png", "png", "a plain text", "cat"),
    ("a2", "img/anim.gif", "gif", "caf\u00e9 cr\u00e8me \u2013 \u201cquoted\u201d", "dog"),
    ("a3", "img/cmyk photo.jpg", "cmyk", "", "cat"),
    ("a4", "img/alpha.png", "rgba", "alpha", "dog"),
    ("a5", "img/pal.png", "palette", "palette", "cat"),
    ("a6", "img/broken.jpg", "truncated", "truncated image", "dog"),
    ("a7", "img/missing.jpg", None, "missing image", "cat"),
    ("a8", "img/web.webp", "webp", "webp", "dog"),
    ("a9", "img/red one.png", "png", "no label", ""),
    ("a10", "img/garbage.jpg", "garbage", "not an image", "cat"),
]
GOOD = ["a1", "a2", "a3", "a4", "a5", "a8"]


def _make_items(folder: Path) -> None:
    colours = [(200, 30, 60), (10, 200, 40), (30, 60, 220), (250, 250, 0), (90, 90, 90), (0, 0, 0), (0, 0, 0),
               (120, 10, 200), (0, 0, 0), (0, 0, 0)]
    for (_item, rel, kind, _text, _label), colour in zip(ROWS, colours):
        if kind is not None and not (folder / rel).exists():
            save_image(folder / rel, kind, colour)


def _write_table(
    folder: Path, fmt: str, encoding: str = "utf-8", rows=ROWS, header=("id", "image", "text", "label")
) -> Path:
    _make_items(folder)
    path = folder / f"items.{fmt}"
    if fmt == "jsonl":
        lines = [json.dumps(dict(zip(header, (r[0], r[1], r[3], r[4]))), ensure_ascii=False) for r in rows]
        path.write_bytes("\n".join(lines).encode(encoding))
        return path
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r[0], r[1], r[3], r[4]])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture()
def items_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize(
    "fmt,encoding", [("csv", "utf-8"), ("tsv", "cp1252"), ("jsonl", "utf-8"), ("csv", "utf-8-sig")]
)
def test_table_end_to_end_with_broken_rows(items_dir, fmt, encoding):
    table = _write_table(items_dir, fmt, encoding)
    fake = FakeEncoders()
    loaded = load_table_items(table, encoders=fake.build(), use_cache=False)
    fs = loaded.features
    assert fs.ids == tuple(GOOD)
    assert fs.modality_names == ("image", "text")
    assert fs.class_names == ("cat", "dog")
    by_id = {r[0]: r for r in ROWS}
    assert fs.y.tolist() == [("cat", "dog").index(by_id[i][4]) for i in GOOD]
    # texts decoded from any encoding, an empty text kept (and encoded) as it is
    assert fs.texts == tuple(by_id[i][3] for i in GOOD)
    assert fs.texts[2] == ""
    # features: exactly what the decoder gives for each file (CMYK, palette, alpha, GIF, WebP converted to RGB)
    for row, item in enumerate(GOOD):
        expected = fake_image_features(load_image(items_dir / by_id[item][1]))  # type: ignore[arg-type]
        np.testing.assert_allclose(fs.modality("image")[row], expected, rtol=1e-6)
        np.testing.assert_allclose(fs.modality("text")[row], fake_text_features(by_id[item][3]), rtol=1e-6)
    # green pixels of the GIF, red of the PNG: the colours made it through the conversions
    img = fs.modality("image")
    assert img[0, 0] > 150 and img[1, 1] > 150 and img[2, 2] > img[2, 0]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in fs.image_paths or ())
    reasons = {s.id: s.reason for s in loaded.skipped}
    assert set(reasons) == {"a6", "a7", "a9", "a10"}
    assert reasons["a7"] == "missing image"
    assert reasons["a9"] == "missing label"
    assert reasons["a6"].startswith("undecodable image (cannot decode")
    assert reasons["a10"].startswith("undecodable image (cannot decode")
    summary = skipped_summary(loaded.skipped)
    assert summary.startswith("skipped 4 rows: 2 undecodable image, 1 missing image, 1 missing label (first: ")
    assert "skipped 4 rows" in fs.description


def test_formats_agree(items_dir):
    results = []
    for fmt, enc in (("csv", "utf-8"), ("tsv", "cp1252"), ("jsonl", "utf-8")):
        fs = load_table_items(
            _write_table(items_dir, fmt, enc), encoders=FakeEncoders().build(), use_cache=False
        ).features
        results.append(fs)
    for other in results[1:]:
        assert other.ids == results[0].ids and other.texts == results[0].texts
        np.testing.assert_array_equal(other.y, results[0].y)
        for a, b in zip(other.X, results[0].X):
            np.testing.assert_array_equal(a, b)


def test_identical_images_encoded_once_and_cache_hit(items_dir, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    rows = [
        (f"c{i}", "img/red one.png" if i % 2 else "img/copy.png", "png", f"text {i}", "ab"[i % 2]) for i in range(6)
    ]
    _make_items(items_dir)
    (items_dir / "img/copy.png").write_bytes((items_dir / "img/red one.png").read_bytes())
    table = _write_table(items_dir, "csv", rows=rows)
    fake = FakeEncoders()
    first = load_table_items(table, encoders=fake.build()).features
    assert len(fake.image_calls) == 1 and len(fake.image_calls[0]) == 1  # same bytes -> one encoding
    assert len(fake.text_calls) == 1
    second = load_table_items(table, encoders=fake.build()).features
    assert len(fake.image_calls) == 1 and len(fake.text_calls) == 1  # cache hit: nothing encoded again
    for a, b in zip(first.X, second.X):
        np.testing.assert_array_equal(a, b)
    # another encoder identity is another cache entry
    load_table_items(table, encoders=FakeEncoders("other").build())
    # a changed file (same name) is encoded again
    save_image(items_dir / "img/copy.png", "png", (1, 2, 3))
    load_table_items(table, encoders=fake.build())
    assert len(fake.image_calls) == 2


def test_adding_one_item_encodes_only_that_item(items_dir, monkeypatch, tmp_path_factory):
    """The feature caches are per item: one more row of a table encodes that row's image and text only."""
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    fake = FakeEncoders()
    first = load_table_items(_write_table(items_dir, "csv"), encoders=fake.build())
    new_image = save_image(items_dir / "img/new one.jpg", "jpeg", (5, 150, 250))
    bigger = _write_table(items_dir, "csv", rows=ROWS + [("a11", "img/new one.jpg", "jpeg", "a new text", "dog")])
    second = load_table_items(bigger, encoders=fake.build())
    assert len(fake.image_calls) == 2 and len(fake.image_calls[-1]) == 1  # exactly one image encoded: the new one
    np.testing.assert_allclose(fake.image_calls[-1][0], fake_image_features(load_image(new_image)))  # type: ignore[arg-type]
    assert len(fake.text_calls) == 2 and fake.text_calls[-1] == ["a new text"]
    assert second.features.ids == first.features.ids + ("a11",)
    fresh = load_table_items(bigger, encoders=FakeEncoders().build(), use_cache=False)
    assert second.skipped == fresh.skipped  # undecodable images are remembered with their reasons
    for a, b in zip(second.features.X, fresh.features.X):
        np.testing.assert_array_equal(a, b)


def test_configurable_columns_and_no_id_column(items_dir):
    rows = [(f"r{i}", "img/red one.png", "png", f"t{i}", ["x", "y"][i % 2]) for i in range(4)]
    table = _write_table(items_dir, "csv", rows=rows, header=("key", "Picture", "caption", "Class"))
    fs = load_table_items(
        table, id_column="key", image_column="picture", text_column="caption", label_column="class",
        encoders=FakeEncoders().build(), use_cache=False,
    ).features
    assert fs.ids == ("r0", "r1", "r2", "r3") and fs.class_names == ("x", "y")
    with pytest.raises(
        SourceError,
        match=(
            r"no column 'image' \(its columns: key, Picture, caption, Class\); "
            r"name the image column with --image-column"
        ),
    ):
        load_table_items(table, id_column="key", encoders=FakeEncoders().build())
    # without an id column (and the default --id-column) the row numbers are the ids
    table2 = _write_table(items_dir / "noid", "csv", rows=rows, header=("nothing", "image", "text", "label"))
    (items_dir / "noid" / "img").mkdir(exist_ok=True)
    save_image(items_dir / "noid" / "img" / "red one.png", "png")
    fs2 = load_table_items(table2, encoders=FakeEncoders().build(), use_cache=False).features
    assert fs2.ids == ("1", "2", "3", "4")


def test_numeric_labels_sorted_numerically_and_absolute_paths(items_dir):
    _make_items(items_dir)
    absolute = str(items_dir / "img" / "red one.png")
    rows = [(f"n{i}", absolute, "png", "t", str(lab)) for i, lab in enumerate([10, 2, 2, 10, 1])]
    fs = load_table_items(
        _write_table(items_dir, "jsonl", rows=rows), encoders=FakeEncoders().build(), use_cache=False
    ).features
    assert fs.class_names == ("1", "2", "10")
    assert fs.y.tolist() == [2, 1, 1, 2, 0]


def test_duplicate_ids_and_bad_jsonl_lines(items_dir):
    _make_items(items_dir)
    lines = [
        json.dumps({"id": "d1", "image": "img/red one.png", "text": "x", "label": "a"}),
        "{not json",
        json.dumps({"id": "d1", "image": "img/anim.gif", "text": "y", "label": "b"}),
        json.dumps({"id": 7, "image": "img/anim.gif", "text": None, "label": "b"}),
        json.dumps([1, 2]),
    ]
    table = items_dir / "t.jsonl"
    table.write_text("\n".join(lines))
    loaded = load_table_items(table, encoders=FakeEncoders().build(), use_cache=False)
    assert loaded.features.ids == ("d1", "7")
    assert loaded.features.texts == ("x", "")
    assert [(s.id, s.reason) for s in loaded.skipped] == [
        ("line 2", "not a JSON object"), ("line 5", "not a JSON object"), ("d1", "duplicate id")
    ]


@pytest.mark.parametrize(
    "content,name,message",
    [
        (None, "absent.csv", "does not exist"),
        (b"", "empty.csv", "is empty"),
        (b"id,image,text,label\n", "header.csv", "has a header but no rows"),
        (b"id,image,text,label\n1,a.png,t,x\n", "items.xlsx", "a table must be .csv, .tsv, .jsonl"),
        (b"\n\n", "blank.jsonl", "is empty"),
        (b"[1]\n", "arrays.jsonl", "holds no JSON object"),
        (b"id,image,text,label\n1,nothing.png,t,x\n2,nothing.png,t,y\n", "all_bad.csv", "no usable item"),
    ],
)
def test_bad_tables_raise_one_line(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        load_table_items(path, encoders=FakeEncoders().build(), use_cache=False)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_single_class_left_is_an_error(items_dir):
    rows = [("s1", "img/red one.png", "png", "t", "only"), ("s2", "img/missing.jpg", None, "t", "other")]
    with pytest.raises(
        SourceError, match="same label 'only'; need at least 2 classes \\(skipped 1 row: 1 missing image"
    ):
        load_table_items(_write_table(items_dir, "csv", rows=rows), encoders=FakeEncoders().build(), use_cache=False)


def test_decode_text_never_fails():
    assert decode_text("caf\u00e9".encode("utf-8")) == "caf\u00e9"
    assert decode_text(b"\xef\xbb\xbfid") == "id"
    assert decode_text("caf\u00e9 \u2013 \u201cx\u201d".encode("cp1252")) == "caf\u00e9 \u2013 \u201cx\u201d"
    # bytes that Windows-1252 leaves undefined still decode (as Latin-1 control characters)
    assert decode_text(b"a\x81b\x8d") == "a\x81b\x8d"
    assert decode_text(bytes(range(256)))  # anything at all


def test_skipped_csv_written_atomically(tmp_path):
    skipped = [SkippedItem("a,1", "missing image"), SkippedItem("b\u00e9", "undecodable image (cannot decode: x)")]
    out = tmp_path / "feats.npz"
    path = write_skipped_csv(skipped, skipped_csv_path(out))
    assert path == tmp_path / "feats.skipped.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [
            ["id", "reason"],
            ["a,1", "missing image"],
            ["b\u00e9", "undecodable image (cannot decode: x)"],
        ]
    assert [p.name for p in tmp_path.iterdir()] == ["feats.skipped.csv"]  # no temporary left behind
    assert skipped_summary([]) == ""
    many = [SkippedItem(str(i), "missing label") for i in range(5)]
    assert skipped_summary(many) == "skipped 5 rows: 5 missing label (first: 0, 1, 2, ...)"


def test_real_encoders_end_to_end(items_dir):
    """The real EfficientNet-Lite0 + MiniLM on the fabricated table; features saved and read back."""
    table = _write_table(items_dir, "csv", "cp1252")
    loaded = load_table_items(table, encoder=EncoderOptions(device="cpu"), use_cache=False)
    fs = loaded.features
    assert fs.ids == tuple(GOOD)
    assert [x.shape[1] for x in fs.X] == [1280, 384]
    assert np.all(np.isfinite(fs.X[0])) and np.all(fs.X[0].std(axis=1) > 0)
    np.testing.assert_allclose(np.linalg.norm(fs.modality("text"), axis=1), 1.0, atol=1e-4)
    assert {s.id for s in loaded.skipped} == {"a6", "a7", "a9", "a10"}
    back = load_features(save_features(fs, items_dir / "out.npz"))
    np.testing.assert_allclose(back.modality("image"), fs.modality("image"))
    assert back.texts == fs.texts and back.ids == fs.ids


def test_export_cli_reports_skipped_rows_and_hits_the_cache(items_dir, capsys, monkeypatch, tmp_path_factory):
    """``export --source table`` end to end: one summary line, <out>.skipped.csv, instant second run."""
    from cmcsl_core.cli import main
    from cmcsl_core.encoders import image as image_mod
    from cmcsl_core.encoders import text as text_mod

    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path_factory.mktemp("cli-cache")))
    table = _write_table(items_dir / "my items", "tsv", "cp1252")
    out_dir = items_dir / "out dir"
    out_dir.mkdir()
    argv = ["export", "--source", "table", "--path", str(table), "--out", str(out_dir / "feats.npz"),
            "--device", "cpu", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    skipped_lines = [ln for ln in printed if ln.startswith("skipped ")]
    assert skipped_lines == [
        "skipped 4 rows: 2 undecodable image, 1 missing image, 1 missing label (first: a7, a9, a6, ...); "
        f"all listed in {out_dir / 'feats.skipped.csv'}"
    ]
    with open(out_dir / "feats.skipped.csv", newline="", encoding="utf-8") as fh:
        listed = list(csv.reader(fh))
    assert listed[0] == ["id", "reason"] and {r[0] for r in listed[1:]} == {"a6", "a7", "a9", "a10"}
    assert sorted(p.name for p in out_dir.iterdir()) == ["feats.npz", "feats.skipped.csv"]
    first = load_features(out_dir / "feats.npz")
    assert first.ids == tuple(GOOD) and first.texts is not None and first.texts[1].startswith("caf\u00e9")

    def no_model(*_a, **_k):  # a cache hit loads no model at all
        raise AssertionError("an encoder was loaded on a cache hit")

    monkeypatch.setattr(image_mod, "load_image_encoder", no_model)
    monkeypatch.setattr(text_mod, "load_text_encoder", no_model)
    assert main(argv) == 0
    second = load_features(out_dir / "feats.npz")
    for a, b in zip(first.X, second.X):
        np.testing.assert_array_equal(a, b)
    # a bad column: one error line, exit 2, nothing written
    capsys.readouterr()
    bad = [
        "export",
        "--source",
        "table",
        "--path",
        str(table),
        "--label-column",
        "cls",
        "--out",
        str(out_dir / "x.npz"),
    ]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: table items.tsv has no column 'cls' (its columns: id, image, text, label); "
                   "name the label column with --label-column"]
    assert not (out_dir / "x.npz").exists()
