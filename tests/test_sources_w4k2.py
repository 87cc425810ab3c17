"""Tests of the w4k2 source (the CMCSL authors' mmIMDb_<SUBSET>_*.npy folder) on small fake folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmcsl_core.cli import main as cli_main
from cmcsl_core.datasets.features import load_features
from cmcsl_core.datasets.sources import export_features, load_source
from cmcsl_core.datasets.sources.w4k2 import load_w4k2, w4k2_file_names
from cmcsl_core.errors import SourceError


def make_folder(folder: Path, name: str = "HR", n: int = 40, k: int = 2, y=None, seed: int = 0) -> Path:
    """Write the three arrays of subset ``name`` to ``folder``; returns the folder."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = w4k2_file_names(name)
    if y is None:
        y = np.arange(n) % k
    np.save(folder / files["visual"], rng.normal(size=(n, 512)).astype(np.float32))
    np.save(folder / files["text"], rng.normal(size=(n, 384)).astype(np.float32))
    np.save(folder / files["y"], np.asarray(y))
    return folder


def test_file_names():
    assert w4k2_file_names("HR") == {
        "visual": "mmIMDb_HR_img_weighted_30.npy",
        "text": "mmIMDb_HR_txt.npy",
        "y": "mmIMDb_HR_y.npy",
    }


def test_loads_paper_subset(tmp_path):
    folder = make_folder(tmp_path / "w4k2")
    fs = load_w4k2(folder, "hr")
    vis = np.load(folder / "mmIMDb_HR_img_weighted_30.npy")
    txt = np.load(folder / "mmIMDb_HR_txt.npy")
    assert fs.modality_names == ("visual", "text")
    assert fs.class_names == ("Horror", "Romance")
    assert np.array_equal(fs.X[0], vis.astype(np.float64)) and np.array_equal(fs.X[1], txt.astype(np.float64))
    assert fs.y.tolist() == (np.arange(40) % 2).tolist()
    assert fs.source == "w4k2:HR" and "ResNet-18" in fs.description and "MiniLM" in fs.description


@pytest.mark.parametrize(
    "y",
    [
        (np.arange(30) % 3).astype(np.float64),  # integral floats
        np.eye(3)[np.arange(30) % 3],  # one-hot
        (np.arange(30) % 3).astype(np.int32)[:, None],  # N x 1 column
    ],
)
def test_label_formats(tmp_path, y):
    folder = make_folder(tmp_path, "FFW", n=30, y=y)
    fs = load_w4k2(folder, "FFW")
    assert fs.y.tolist() == (np.arange(30) % 3).tolist()
    assert fs.class_names == ("Fantasy", "Film-Noir", "Western")


def test_table_spelling_alias_for_accddhmrs(tmp_path):
    folder = make_folder(tmp_path, "ACCCDDHMRS", n=36, k=9)
    assert load_w4k2(folder, "ACCDDHMRS").n_classes == 9


def test_via_load_source_export_and_cli(tmp_path, capsys):
    folder = make_folder(tmp_path / "feat")
    fs = load_source("w4k2", "HR", path=folder)
    out = export_features("w4k2", "HR", tmp_path / "a.npz", path=folder)
    again = load_features(out)
    assert np.array_equal(again.X[0], fs.X[0]) and np.array_equal(again.y, fs.y)
    args = ["export", "--source", "w4k2", "--path", str(folder), "--subset", "DS", "--out", str(tmp_path / "b.npz")]
    code = cli_main(args)
    assert code == 2
    err = capsys.readouterr().err
    assert "mmIMDb_DS_img_weighted_30.npy" in err and err.startswith("error: ")


# ----------------------------------------------------------------------------- bad input


def test_custom_subset_refused(tmp_path):
    folder = make_folder(tmp_path)
    with pytest.raises(SourceError, match="exist only for the paper's subsets"):
        load_w4k2(folder, "Horror,Romance")


def test_missing_folder(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_w4k2(tmp_path / "nowhere", "HR")


def test_file_instead_of_folder(tmp_path):
    folder = make_folder(tmp_path)
    with pytest.raises(SourceError, match="is a file; the w4k2 source needs the folder"):
        load_w4k2(folder / "mmIMDb_HR_txt.npy", "HR")


@pytest.mark.parametrize("key", ["visual", "text", "y"])
def test_missing_file_is_named(tmp_path, key):
    folder = make_folder(tmp_path)
    name = w4k2_file_names("HR")[key]
    (folder / name).unlink()
    with pytest.raises(SourceError) as info:
        load_w4k2(folder, "HR")
    assert f"lacks {name}" in str(info.value)


def test_rows_mismatch(tmp_path):
    folder = make_folder(tmp_path)
    np.save(folder / "mmIMDb_HR_txt.npy", np.zeros((39, 384)))
    with pytest.raises(SourceError, match="different numbers of rows.*mmIMDb_HR_txt.npy 39"):
        load_w4k2(folder, "HR")


def test_label_count_vs_classes(tmp_path):
    folder = make_folder(tmp_path, y=np.arange(40) % 3)
    with pytest.raises(SourceError, match="labels run 0..2 but subset HR has 2 classes"):
        load_w4k2(folder, "HR")
    folder = make_folder(tmp_path / "b", "FFW", n=30, y=np.arange(30) % 2)
    with pytest.raises(SourceError, match="cover 2 of the 3 classes"):
        load_w4k2(folder, "FFW")
    folder = make_folder(tmp_path / "c", "HR", y=np.eye(3)[np.arange(40) % 3])
    with pytest.raises(SourceError, match="3 columns but subset HR has 2 classes"):
        load_w4k2(folder, "HR")


@pytest.mark.parametrize(
    "y, words",
    [
        (np.arange(40) % 2 + 0.5, "whole numbers"),
        (np.full((40, 2), 0.5), "one-hot"),
        (np.zeros((40, 2, 2)), "must be 1-D"),
        (np.array([f"{i % 2}" for i in range(40)]), "must be numbers"),
        (-(np.arange(40) % 2), "labels run -1..0"),
    ],
)
def test_bad_labels(tmp_path, y, words):
    folder = make_folder(tmp_path, y=y)
    with pytest.raises(SourceError, match=words):
        load_w4k2(folder, "HR")


def test_pickled_array_refused(tmp_path):
    folder = make_folder(tmp_path)
    np.save(folder / "mmIMDb_HR_y.npy", np.array([{"a": 1}] * 40, dtype=object), allow_pickle=True)
    with pytest.raises(SourceError, match="holds Python objects"):
        load_w4k2(folder, "HR")


def test_not_a_npy_file(tmp_path):
    folder = make_folder(tmp_path)
    np.save(folder / "mmIMDb_HR_y.npy", np.arange(40) % 2)
    (folder / "mmIMDb_HR_img_weighted_30.npy").write_text("poster,feature\n")
    with pytest.raises(SourceError, match="is not a .npy array"):
        load_w4k2(folder, "HR")


def test_npz_instead_of_npy(tmp_path):
    folder = make_folder(tmp_path)
    with open(folder / "mmIMDb_HR_txt.npy", "wb") as fh:
        np.savez(fh, a=np.zeros((40, 384)))
    with pytest.raises(SourceError, match="is an .npz archive"):
        load_w4k2(folder, "HR")


def test_features_not_a_matrix_or_nan(tmp_path):
    folder = make_folder(tmp_path)
    np.save(folder / "mmIMDb_HR_txt.npy", np.zeros(40))
    with pytest.raises(SourceError, match="must be a numeric N x d matrix"):
        load_w4k2(folder, "HR")
    bad = np.zeros((40, 384))
    bad[3, 3] = np.nan
    np.save(folder / "mmIMDb_HR_txt.npy", bad)
    with pytest.raises(SourceError, match="contains NaN"):
        load_w4k2(folder, "HR")


def test_truncated_npy(tmp_path):
    folder = make_folder(tmp_path)
    data = (folder / "mmIMDb_HR_txt.npy").read_bytes()
    (folder / "mmIMDb_HR_txt.npy").write_bytes(data[:1000])
    with pytest.raises(SourceError, match="mmIMDb_HR_txt.npy is a damaged .npy array"):
        load_w4k2(folder, "HR")
