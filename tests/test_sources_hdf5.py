"""Tests of the hdf5 source (Arevalo's multimodal_imdb.hdf5 layout) on small fake files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers_core import exactly_one_reference

from cmcsl_core.cli import main as cli_main
from cmcsl_core.datasets.features import load_features
from cmcsl_core.datasets.sources import SOURCES, export_features, load_source
from cmcsl_core.datasets.sources import hdf5 as hdf5_mod
from cmcsl_core.datasets.sources.hdf5 import load_hdf5
from cmcsl_core.errors import CMCSLError, SourceError

# the 23 genres of Arevalo's file, in its column order (no News, Adult, Reality-TV, Talk-Show)
GENRES23 = [
    "Drama", "Comedy", "Romance", "Thriller", "Crime", "Action", "Adventure", "Horror", "Documentary",
    "Mystery", "Sci-Fi", "Fantasy", "Family", "Biography", "War", "History", "Music", "Animation",
    "Musical", "Western", "Sport", "Short", "Film-Noir",
]


def movie_genres(n: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    common = ["Drama", "Comedy", "Horror", "Romance", "Sci-Fi", "War", "Family", "Musical"]
    return [list(rng.choice(common, size=rng.integers(0, 4), replace=False)) for _ in range(n)]


def make_fake_hdf5(
    path: Path,
    n: int = 120,
    seed: int = 0,
    names_as: str = "json",
    with_genres: bool = True,
    with_target_names: bool = True,
    skip: tuple[str, ...] = (),
    text_rows: int | None = None,
) -> tuple[Path, list[list[str]]]:
    """A miniature multimodal_imdb.hdf5: row i's features encode i, so row selection is checkable."""
    lists = movie_genres(n, seed)
    ind = np.array([[g in lst for g in GENRES23] for lst in lists], dtype=np.int8)
    rows = np.arange(n, dtype=np.float32)[:, None]
    with h5py.File(path, "w") as f:
        if with_genres:
            ds = f.create_dataset("genres", data=ind)
            if with_target_names:
                if names_as == "json":
                    ds.attrs["target_names"] = json.dumps(GENRES23)
                else:
                    ds.attrs["target_names"] = np.array([g.encode() for g in GENRES23])
        if "vgg_features" not in skip:
            f.create_dataset("vgg_features", data=rows + np.arange(16, dtype=np.float32) / 100.0)
        if "features" not in skip:
            t = np.arange(text_rows if text_rows is not None else n, dtype=np.float32)[:, None]
            f.create_dataset("features", data=-t - np.arange(5, dtype=np.float32) / 100.0)
        f.create_dataset("imdb_ids", data=np.array([f"tt{i:05d}".encode() for i in range(n)], dtype="S7"))
        # a posters dataset of the real per-movie size, never written: ~1 GB virtual, a few KB on disk
        f.create_dataset("images", shape=(n, 3, 256, 160), dtype=np.uint8, chunks=(1, 3, 256, 160))
    return path, lists


@pytest.fixture()
def fake(tmp_path):
    return make_fake_hdf5(tmp_path / "multimodal_imdb.hdf5")


def test_sources_list():
    assert SOURCES[0] == "demo"  # the default
    assert {"demo", "hdf5", "w4k2", "raw"} <= set(SOURCES)  # the MM-IMDb sources


@pytest.mark.parametrize("names_as", ["json", "bytes"])
def test_loads_subset_by_exactly_one_rule(tmp_path, names_as):
    path, lists = make_fake_hdf5(tmp_path / "f.hdf5", names_as=names_as)
    fs = load_hdf5(path, "HR")
    rows, labels = exactly_one_reference(lists, ("Horror", "Romance"))
    assert fs.modality_names == ("visual", "text")
    assert fs.class_names == ("Horror", "Romance")
    assert np.array_equal(fs.y, labels)
    assert fs.X[0].shape == (rows.size, 16) and fs.X[1].shape == (rows.size, 5)
    assert fs.X[0].dtype == np.float64
    # row identity: visual col 0 == row index, text col 0 == -row index
    assert np.array_equal(fs.X[0][:, 0], rows.astype(float))
    assert np.array_equal(fs.X[1][:, 0], -rows.astype(float))
    assert fs.ids == tuple(f"tt{i:05d}" for i in rows)
    assert fs.titles is None
    assert fs.source == "hdf5:f.hdf5"
    assert "VGG-16" in fs.description and "word2vec" in fs.description and "HR" in fs.description


def test_custom_multiclass_subset_and_block_reading(fake, monkeypatch):
    path, lists = fake
    monkeypatch.setattr(hdf5_mod, "BLOCK_ROWS", 3)  # many blocks, some contiguous
    calls = []
    fs = load_hdf5(path, "war;sci-fi;family", progress=lambda d, t: calls.append((d, t)))
    rows, labels = exactly_one_reference(lists, ("War", "Sci-Fi", "Family"))
    assert fs.class_names == ("War", "Sci-Fi", "Family")
    assert np.array_equal(fs.y, labels)
    assert np.array_equal(fs.X[0][:, 0], rows.astype(float))
    assert calls[-1] == (2 * rows.size, 2 * rows.size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_reads_only_needed_rows_and_never_images(fake, monkeypatch):
    path, lists = fake
    rows, _ = exactly_one_reference(lists, ("Horror", "Romance"))
    assert 0 < rows.size < len(lists)
    reads: list[tuple[str, int]] = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, *rest, **kw):
        out = original(self, args, *rest, **kw)
        reads.append((self.name, int(np.asarray(out).shape[0]) if np.ndim(out) else 1))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(h5py.Dataset, "read_direct", lambda *a, **k: pytest.fail("read_direct used"))
    load_hdf5(path, "HR")
    names = {name for name, _ in reads}
    assert "/images" not in names
    assert {"/genres", "/vgg_features", "/features"} <= names
    for key in ("/vgg_features", "/features"):
        assert sum(n for name, n in reads if name == key) == rows.size  # only the subset's rows


def test_file_stays_small_because_images_are_virtual(fake):
    path, _ = fake
    assert path.stat().st_size < 200_000


def test_export_roundtrip_via_load_source(fake, tmp_path):
    path, lists = fake
    out = export_features("hdf5", "hr", tmp_path / "hr.npz", path=path)
    fs = load_features(out)
    direct = load_source("hdf5", "HR", path=str(path))
    assert np.array_equal(fs.X[0], direct.X[0]) and np.array_equal(fs.y, direct.y)
    assert fs.ids == direct.ids and fs.class_names == ("Horror", "Romance")


def test_cli_export_hdf5(fake, tmp_path, capsys):
    path, lists = fake
    rows, labels = exactly_one_reference(lists, ("Horror", "Romance"))
    out = tmp_path / "cli.npz"
    assert cli_main(["export", "--source", "hdf5", "--path", str(path), "--subset", "HR", "--out", str(out)]) == 0
    assert load_features(out).n_items == rows.size
    assert f"{rows.size} items" in capsys.readouterr().out


def test_cli_export_bad_path_exit_2(tmp_path, capsys):
    code = cli_main(
        ["export", "--source", "hdf5", "--path", str(tmp_path / "nope.hdf5"), "--out", str(tmp_path / "o.npz")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_hdf5(tmp_path / "missing.hdf5", "HR")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(SourceError, match="is a folder"):
        load_hdf5(tmp_path, "HR")


@pytest.mark.parametrize("content", [b"imdb_id,genres\ntt1,Horror\n", b"\x93NUMPY fake", b""])
def test_not_an_hdf5_file(tmp_path, content):
    p = tmp_path / "multimodal_imdb.hdf5"
    p.write_bytes(content)
    with pytest.raises(SourceError, match="is not an HDF5 file"):
        load_hdf5(p, "HR")


def test_no_genres_dataset(tmp_path):
    path, _ = make_fake_hdf5(tmp_path / "f.hdf5", with_genres=False)
    with pytest.raises(SourceError, match="no 'genres' dataset"):
        load_hdf5(path, "HR")


def test_genres_without_target_names(tmp_path):
    path, _ = make_fake_hdf5(tmp_path / "f.hdf5", with_target_names=False)
    with pytest.raises(SourceError, match="no 'target_names' attribute"):
        load_hdf5(path, "HR")


def test_subset_genre_missing_from_file_is_named(fake):
    path, _ = fake
    with pytest.raises(SourceError) as info:
        load_hdf5(path, "FMNSSW")  # News is not among the file's 23 genres
    msg = str(info.value)
    assert "no genre News" in msg and "FMNSSW" in msg and "Film-Noir" in msg


def test_no_movie_in_subset(fake):
    path, _ = fake
    with pytest.raises(SourceError, match="no movie has exactly one of the genres Western, Sport"):
        load_hdf5(path, "Western,Sport")


def test_empty_class_in_subset(fake):
    path, _ = fake
    with pytest.raises(SourceError, match="has the genre Western"):
        load_hdf5(path, "Horror,Western")


@pytest.mark.parametrize("missing", ["vgg_features", "features"])
def test_missing_feature_dataset(tmp_path, missing):
    path, _ = make_fake_hdf5(tmp_path / "f.hdf5", skip=(missing,))
    with pytest.raises(SourceError, match=f"no '{missing}' dataset"):
        load_hdf5(path, "HR")


def test_feature_rows_mismatch(tmp_path):
    path, _ = make_fake_hdf5(tmp_path / "f.hdf5", text_rows=50)
    with pytest.raises(SourceError, match=r"'features' has shape \(50, 5\)"):
        load_hdf5(path, "HR")


def test_target_names_length_mismatch(tmp_path):
    path, _ = make_fake_hdf5(tmp_path / "f.hdf5")
    with h5py.File(path, "a") as f:
        f["genres"].attrs["target_names"] = json.dumps(GENRES23[:5])
    with pytest.raises(SourceError, match="names 5 genres"):
        load_hdf5(path, "HR")


def test_nan_rows_are_left_out_and_reported(tmp_path):
    path, lists = make_fake_hdf5(tmp_path / "f.hdf5")
    rows, _ = exactly_one_reference(lists, ("Horror", "Romance"))
    with h5py.File(path, "a") as f:
        f["features"][int(rows[1])] = np.nan
    fs = load_hdf5(path, "HR")
    assert fs.n_items == rows.size - 1
    assert f"tt{rows[1]:05d}" not in fs.ids
    assert "1 movie(s) with missing (NaN) features left out" in fs.description


def test_load_source_dispatch_errors(tmp_path):
    with pytest.raises(CMCSLError, match="unknown source 'csv'; choose one of demo, hdf5, w4k2, raw"):
        load_source("csv", "HR", path=tmp_path)
    for source in ("hdf5", "w4k2", "raw"):
        with pytest.raises(SourceError, match=f"source {source} needs a path"):
            load_source(source, "HR")
    with pytest.raises(CMCSLError, match="unknown subset"):
        load_source("hdf5", "nonsense", path=tmp_path)
