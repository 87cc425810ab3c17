"""Source ``mvsa``: the label file, the paper's merge rule, texts in legacy encodings, broken rows.

Fabricated MVSA folders run the whole reader with fake encoders (see ``helpers_items``);
the real ``../shared/mvsa-single`` checks the published counts and a handful of real tweets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_items import FakeEncoders, fake_text_features, save_image
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.datasets.sources.mvsa import (
    CLASS_NAMES,
    choose_labels,
    load_mvsa_items,
    merge_labels,
    read_labels,
    read_mvsa_rows,
)
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.errors import SourceError

REPO_ROOT = Path(__file__).resolve().parent.parent
MVSA_DIR = REPO_ROOT.parent / "shared" / "mvsa-single"
needs_mvsa = pytest.mark.needs_shared("mvsa-single/labelResultAll.txt")


def _reference_merge(text: str, image: str) -> str | None:
    """The rule as the paper states it, one tweet at a time."""
    if text == image:
        return text
    if text == "neutral":
        return image
    if image == "neutral":
        return text
    return None  # positive vs negative: dropped


@given(st.lists(st.tuples(st.sampled_from(CLASS_NAMES), st.sampled_from(CLASS_NAMES)), max_size=60))
@settings(max_examples=60, deadline=None)
def test_merge_rule_matches_reference(pairs):
    text = np.array([CLASS_NAMES.index(t) for t, _ in pairs], dtype=np.int64)
    image = np.array([CLASS_NAMES.index(i) for _, i in pairs], dtype=np.int64)
    got = merge_labels(text, image)
    expected = [_reference_merge(t, i) for t, i in pairs]
    assert [CLASS_NAMES[g] if g >= 0 else None for g in got] == expected


def test_merge_rule_unknown_side_gives_unknown():
    assert merge_labels(np.array([-1, 0, 1]), np.array([0, -1, 1])).tolist() == [-1, -1, 1]


def _make_mvsa(folder: Path, header: str = "ID\ttext,image") -> Path:
    """A small MVSA-like folder: ids 1..8 with every kind of row."""
    data = folder / "data"
    data.mkdir(parents=True)
    rows = {
        "1": ("positive", "positive"),
        "2": ("neutral", "negative"),
        "3": ("positive", "negative"),  # dropped by the merge rule
        "4": ("negative", "neutral"),
        "5": ("neutral", "neutral"),
        "6": ("positive", "neutral"),  # image missing
        "7": ("happy", "positive"),  # unknown text label
        "8": ("negative", "negative"),  # image truncated
    }
    swap = header.endswith("image,text")
    lines = [header] + [f"{k}\t{(i + ',' + t) if swap else (t + ',' + i)}" for k, (t, i) in rows.items()]
    lines.insert(3, "broken line without tab")
    (folder / "labelResultAll.txt").write_text("\n".join(lines) + "\n")
    texts = {
        "1": "  plain ascii #tag  \n".encode(),
        "2": "sch\u00f6n caf\u00e9 \u2026".encode("utf-8"),
        "3": b"x",
        "4": b"roasted/saut\xa8\xa6ed \xa1\xb0veggies\xa1\xb1 #de\xa1\xad",  # GBK, as in the real files
        "5": "na\u00efve \u2013 r\u00e9sum\u00e9".encode("cp1252"),  # not valid GBK: Windows-1252
        "6": b"y",
        "7": b"z",
        "8": b"w",
    }
    for k, t in texts.items():
        (data / f"{k}.txt").write_bytes(t)
    for k, kind in {
        "1": "jpeg",
        "2": "png",
        "3": "jpeg",
        "4": "jpeg",
        "5": "gif",
        "7": "jpeg",
        "8": "truncated",
    }.items():
        save_image(data / f"{k}.jpg", kind, (40 * int(k), 100, 200))
    return folder


def test_read_labels_uses_the_header_order(tmp_path):
    a = read_labels(_make_mvsa(tmp_path / "a") / "labelResultAll.txt")
    b = read_labels(_make_mvsa(tmp_path / "b", header="ID\timage,text") / "labelResultAll.txt")
    assert a.ids == b.ids == ("1", "2", "3", "4", "5", "6", "7", "8")
    np.testing.assert_array_equal(a.text, b.text)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.text.tolist() == [0, 1, 0, 2, 1, 0, -1, 2]
    assert a.image.tolist() == [0, 2, 2, 1, 1, 1, 0, 2]
    assert a.bad_lines == b.bad_lines == (4,)
    with pytest.raises(SourceError, match="does not name the columns text and image"):
        (tmp_path / "c").mkdir()
        (tmp_path / "c" / "labelResultAll.txt").write_text("ID\tfoo,bar\n1\tpositive,positive\n")
        read_labels(tmp_path / "c" / "labelResultAll.txt")


def test_fabricated_folder_end_to_end(tmp_path):
    folder = _make_mvsa(tmp_path / "mvsa")
    fake = FakeEncoders()
    loaded = load_mvsa_items(folder, encoders=fake.build(), use_cache=False)
    fs = loaded.features
    assert fs.modality_names == ("image", "text") and fs.class_names == CLASS_NAMES
    assert fs.ids == ("1", "2", "4", "5")
    assert [CLASS_NAMES[k] for k in fs.y] == ["positive", "negative", "negative", "neutral"]
    assert fs.modality_labels is not None
    assert fs.modality_labels["text"].tolist() == [0, 1, 2, 1]
    assert fs.modality_labels["image"].tolist() == [0, 2, 1, 1]
    assert fs.texts == (
        "plain ascii #tag",
        "sch\u00f6n caf\u00e9 \u2026",
        "roasted/saut\u00e9ed \u201cveggies\u201d #de\u2026",
        "na\u00efve \u2013 r\u00e9sum\u00e9",
    )
    for row, text in enumerate(fs.texts or ()):
        np.testing.assert_allclose(fs.modality("text")[row], fake_text_features(text))
    assert fs.image_paths == tuple(str(folder / "data" / f"{k}.jpg") for k in fs.ids)
    reasons = {s.id: s.reason for s in loaded.skipped}
    assert reasons == {
        "3": "dropped by the merge rule (positive vs negative)",
        "6": "missing image",
        "7": "missing label",
        "8": reasons["8"],
        "line 4": "malformed line in labelResultAll.txt",
    }
    assert reasons["8"].startswith("undecodable image (cannot decode")


def test_text_and_image_label_modes_keep_every_labelled_tweet(tmp_path):
    folder = _make_mvsa(tmp_path / "mvsa")
    by_text = load_mvsa_items(folder, labels="text", encoders=FakeEncoders().build(), use_cache=False).features
    by_image = load_mvsa_items(folder, labels="image", encoders=FakeEncoders().build(), use_cache=False).features
    assert by_text.ids == ("1", "2", "3", "4", "5")  # 7 has no text label, 6 no image, 8 a broken image
    assert by_image.ids == ("1", "2", "3", "4", "5", "7")
    assert by_text.modality_labels is not None and by_image.modality_labels is not None
    np.testing.assert_array_equal(by_text.y, by_text.modality_labels["text"])
    np.testing.assert_array_equal(by_image.y, by_image.modality_labels["image"])
    assert by_image.modality_labels["text"].tolist()[-1] == -1  # unknown text label kept as -1
    with pytest.raises(SourceError, match="unknown labels 'both'; choose one of merged, text, image"):
        load_mvsa_items(folder, labels="both", encoders=FakeEncoders().build())


def test_finetune_excludes_the_tuning_items(tmp_path):
    folder = _make_mvsa(tmp_path / "mvsa")
    fake = FakeEncoders()
    loaded = load_mvsa_items(
        folder, labels="image", encoder=EncoderOptions(finetune="supcon"), encoders=fake.build(), use_cache=False
    )
    (tuned_paths, tuned_y, mode), = fake.finetune_calls
    assert mode == "supcon"
    tuned_ids = {Path(p).stem for p in tuned_paths}
    assert tuned_ids and not tuned_ids & set(loaded.features.ids)  # no leak
    all_ids = set(read_mvsa_rows(folder, "image")[0].ids)
    assert tuned_ids | set(loaded.features.ids) | {s.id for s in loaded.skipped} >= all_ids
    assert "fine-tuned (supcon)" in loaded.features.description
    with pytest.raises(SourceError, match="unknown finetune 'bogus'"):
        load_mvsa_items(folder, encoder=EncoderOptions(finetune="bogus"), encoders=fake.build())


def test_bad_folders(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        read_mvsa_rows(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="is not an MVSA-Single folder"):
        read_mvsa_rows(tmp_path / "empty")


@needs_mvsa
def test_real_label_file_counts():
    labels = read_labels(MVSA_DIR / "labelResultAll.txt")
    assert len(labels.ids) == 4869 and np.all(labels.text >= 0) and np.all(labels.image >= 0)
    assert int(np.sum(labels.text != labels.image)) == 2277
    merged = labels.merged()
    assert int(np.sum(merged < 0)) == 358
    counts = dict(zip(CLASS_NAMES, np.bincount(merged[merged >= 0], minlength=3).tolist()))
    assert counts == {"positive": 2683, "neutral": 470, "negative": 1358}
    y, reasons = choose_labels(labels, "text")
    assert not reasons and y.size == 4869


@needs_mvsa
def test_real_folder_rows_and_texts():
    rows, skipped, _ = read_mvsa_rows(MVSA_DIR)
    assert len(rows.ids) == 4511 and len(skipped) == 358
    assert all(s.reason.startswith("dropped by the merge rule") for s in skipped)
    # the GBK texts decode to real punctuation, never to mojibake or replacement characters
    joined = "".join(rows.texts)
    assert "\ufffd" not in joined and "\u00a1\u00ad" not in joined
    assert joined.count("\u2026") > 500
    text_of = dict(zip(rows.ids, rows.texts))
    assert text_of["1110"].endswith("roasted/saut\u00e9ed #vibrant veggies.")


@needs_mvsa
def test_real_tweets_encoded_end_to_end(tmp_path):
    """A handful of real tweets through the whole reader (copied folder, fake encoders)."""
    import shutil

    labels = (MVSA_DIR / "labelResultAll.txt").read_text().splitlines()
    sample = labels[:1] + labels[1:13]
    folder = tmp_path / "mvsa"
    (folder / "data").mkdir(parents=True)
    (folder / "labelResultAll.txt").write_text("\n".join(sample) + "\n")
    for line in sample[1:]:
        tweet = line.split("\t")[0]
        for ext in (".jpg", ".txt"):
            shutil.copy(MVSA_DIR / "data" / f"{tweet}{ext}", folder / "data" / f"{tweet}{ext}")
    loaded = load_mvsa_items(folder, labels="text", encoders=FakeEncoders().build(), use_cache=False)
    assert loaded.features.n_items == 12 and not loaded.skipped
    assert loaded.features.ids == tuple(line.split("\t")[0] for line in sample[1:])
    assert np.all(loaded.features.modality("image")[:, 3:].sum(axis=1) > 0)  # real photos: pixels vary
