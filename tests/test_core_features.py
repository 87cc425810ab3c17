"""cmcsl_core.datasets.features (feature files) and cmcsl_core.cache."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from helpers_core import synthetic_features

from cmcsl_core import cache
from cmcsl_core.datasets.features import FeatureSet, load_features, make_feature_set, save_features
from cmcsl_core.errors import CMCSLError, FeatureFileError
from cmcsl_core.fileio import write_atomically


def _assert_same(a: FeatureSet, b: FeatureSet) -> None:
    assert a.modality_names == b.modality_names
    assert a.class_names == b.class_names
    for xa, xb in zip(a.X, b.X):
        np.testing.assert_array_equal(xa, xb)
        assert xb.dtype == np.float64
    np.testing.assert_array_equal(a.y, b.y)
    for key in ("ids", "titles", "texts", "image_paths", "source", "description"):
        assert getattr(a, key) == getattr(b, key), key


def _arrays(n=6, **override):
    rng = np.random.default_rng(0)
    arrays = {
        "modality_names": np.array(["visual", "text"]),
        "visual": rng.normal(size=(n, 3)),
        "text": rng.normal(size=(n, 2)),
        "y": np.array([0, 1] * (n // 2)),
        "class_names": np.array(["Horror", "Romance"]),
    }
    arrays.update(override)
    return {k: v for k, v in arrays.items() if v is not None}


def _write(tmp_path, name="f.npz", **override) -> Path:
    path = tmp_path / name
    np.savez(path, **_arrays(**override))
    return path


# ---------------------------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------------------------


def test_round_trip_minimal(tmp_path):
    fs = synthetic_features(seed=1)
    path = save_features(fs, tmp_path / "a.npz")
    assert path == tmp_path / "a.npz"
    back = load_features(path)
    _assert_same(fs, back)
    assert back.ids is None and back.texts is None and back.source == "synthetic"
    assert back.n_items == 150 and back.n_classes == 3 and back.n_modalities == 2
    np.testing.assert_array_equal(back.class_counts(), [60, 40, 50])
    assert back.item_name(3) == "item 3"


def test_round_trip_with_all_strings_and_three_modalities(tmp_path):
    n = 5
    fs = make_feature_set(
        [np.arange(n * 2, dtype=float).reshape(n, 2), np.ones((n, 1)), np.eye(n)],
        [0, 1, 2, 1, 0],
        modality_names=("visual", "text", "audio"),
        class_names=("Horror", "Romance", "Comédie"),
        ids=tuple(f"tt{i}" for i in range(n)),
        titles=("A", "", "Ç'est la vie", "日本", "E"),
        texts=("plot one", "plot, with comma", "", "multi\nline", "x"),
        image_paths=tuple(f"posters/{i}.jpg" for i in range(n)),
        source="demo",
        description="a tiny test set",
    )
    path = save_features(fs, tmp_path / "b.npz")
    back = load_features(path)
    _assert_same(fs, back)
    assert back.item_name(1) == "tt1" and back.item_name(2) == "Ç'est la vie"
    assert back.modality("audio").shape == (5, 5)
    with pytest.raises(FeatureFileError, match="unknown modality 'depth'"):
        back.modality("depth")
    sub = back.subset(np.array([4, 0]))
    assert sub.y.tolist() == [0, 0] and sub.titles == ("E", "A")
    sub2 = back.subset(back.y == 1)
    assert sub2.n_items == 2 and sub2.ids == ("tt1", "tt3")
    # from a file object (the app's upload)
    with open(path, "rb") as fh:
        _assert_same(fs, load_features(io.BytesIO(fh.read())))


def test_save_refuses_other_suffix(tmp_path):
    with pytest.raises(FeatureFileError, match=r"end in \.npz"):
        save_features(synthetic_features(), tmp_path / "a.npy")


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    old = synthetic_features(seed=1)
    path = save_features(old, tmp_path / "f.npz")
    before = path.read_bytes()
    real = np.savez

    def failing(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")  # some bytes are written ...
        raise OSError("disk full")  # ... then the write fails

    monkeypatch.setattr(np, "savez", failing)
    with pytest.raises(OSError, match="disk full"):
        save_features(synthetic_features(seed=2), path)
    monkeypatch.setattr(np, "savez", real)
    assert path.read_bytes() == before
    _assert_same(old, load_features(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npz"]  # no temporary file left


@pytest.mark.parametrize("compress", [False, True])
def test_saved_files_are_compressed_only_when_asked(tmp_path, compress):
    """Uncompressed by default (float features barely shrink and inflating dominated the load time);
    ``compress=True`` deflates; both load back the same."""
    import zipfile

    fs = synthetic_features(seed=3)
    path = save_features(fs, tmp_path / "f.npz", compress=compress)
    with zipfile.ZipFile(path) as archive:
        kinds = {info.compress_type for info in archive.infolist()}
    assert kinds == ({zipfile.ZIP_DEFLATED} if compress else {zipfile.ZIP_STORED})
    _assert_same(fs, load_features(path))


def test_write_atomically_interrupted(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def boom(fh):
        fh.write(b"new partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    write_atomically(tmp_path / "sub" / "x.bin", lambda fh: fh.write(b"ok"))
    assert (tmp_path / "sub" / "x.bin").read_bytes() == b"ok"


# ---------------------------------------------------------------------------------------------
# load errors: one clear message each
# ---------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FeatureFileError, match=r"feature file .*nope\.npz does not exist"):
        load_features(tmp_path / "nope.npz")


def test_folder(tmp_path):
    with pytest.raises(FeatureFileError, match="is a folder, not a feature file"):
        load_features(tmp_path)


def test_npy_instead_of_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    with pytest.raises(FeatureFileError, match=r"single \.npy array, not an \.npz feature file"):
        load_features(tmp_path / "x.npy")


@pytest.mark.parametrize("content", [b"a,b,c\n1,2,3\n", b"", b"hello world"])
def test_csv_or_text_file(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(FeatureFileError, match=r"not an \.npz feature file"):
        load_features(path)


def test_broken_zip(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(FeatureFileError, match="not a readable .npz feature file"):
        load_features(path)


def test_missing_keys(tmp_path):
    path = _write(tmp_path, y=None, class_names=None)
    with pytest.raises(FeatureFileError, match="lacks the key.s. y, class_names"):
        load_features(path)


def test_modality_array_missing(tmp_path):
    path = _write(tmp_path, text=None)
    with pytest.raises(FeatureFileError, match="names modality 'text' but has no array for it"):
        load_features(path)


def test_differing_row_counts(tmp_path):
    path = _write(tmp_path, text=np.zeros((5, 2)))
    with pytest.raises(FeatureFileError, match="modality 'text' has 5 rows but 'y' has 6"):
        load_features(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf(tmp_path, bad):
    X = np.ones((6, 3))
    X[4, 2] = bad
    path = _write(tmp_path, visual=X)
    with pytest.raises(FeatureFileError, match="modality 'visual' contains NaN or inf in 1 row.s., first at row 4"):
        load_features(path)


def test_labels_outside_class_names(tmp_path):
    path = _write(tmp_path, y=np.array([0, 1, 2, 0, 1, 0]))
    with pytest.raises(FeatureFileError, match=r"labels in 'y' must lie in 0..1.*found 0..2"):
        load_features(path)
    path = _write(tmp_path, y=np.array([0, 1, -1, 0, 1, 0]))
    with pytest.raises(FeatureFileError, match=r"must lie in 0..1"):
        load_features(path)


def test_fewer_than_two_modalities(tmp_path):
    path = _write(tmp_path, modality_names=np.array(["visual"]), text=None)
    with pytest.raises(FeatureFileError, match="at least 2 modalities, found 1"):
        load_features(path)


def test_object_arrays_are_refused_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for key in ("visual", "y", "modality_names"):
        arrays = _arrays()
        arrays[key] = np.array([Evil()] * 6, dtype=object)
        path = tmp_path / f"obj_{key}.npz"
        np.savez(path, **arrays)
        with pytest.raises(FeatureFileError, match="holds object arrays, which are never loaded"):
            load_features(path)
    assert not marker.exists()
    # the premise: unpickling these files really would run code
    with np.load(tmp_path / "obj_y.npz", allow_pickle=True) as z:
        z["y"]
    assert marker.exists()


def test_one_dimensional_modality(tmp_path):
    path = _write(tmp_path, visual=np.zeros(6))
    with pytest.raises(FeatureFileError, match=r"modality 'visual' must be a 2-D array \(N x d\), got shape \(6,\)"):
        load_features(path)


@pytest.mark.parametrize("y", [np.array([0, 1, 0.5, 0, 1, 0]), np.array(["a", "b", "a", "b", "a", "b"])])
def test_y_not_integer(tmp_path, y):
    path = _write(tmp_path, y=y)
    with pytest.raises(FeatureFileError, match="'y' must hold integer class labels"):
        load_features(path)


def test_integer_valued_float_y_is_accepted(tmp_path):
    fs = load_features(_write(tmp_path, y=np.array([0.0, 1.0] * 3)))
    assert fs.y.dtype == np.int64


def test_more_validation_messages(tmp_path):
    cases = [
        (dict(modality_names=np.array(["visual", "visual"])), "must be distinct"),
        (dict(modality_names=np.array(["visual", "y"]), y=np.array([0, 1] * 3)), "reserved"),
        (dict(class_names=np.array(["only"]), y=np.zeros(6, int)), "at least 2 classes"),
        (dict(visual=np.array(["a"] * 6).reshape(6, 1)), "must be a numeric array"),
        (dict(visual=np.zeros((6, 0))), "no feature columns"),
        (dict(ids=np.array(["a", "b"])), "'ids' has 2 entries but there are 6 items"),
        (dict(titles=np.arange(6)), "'titles' must hold strings"),
        (dict(y=np.zeros((6, 1), int)), "'y' must be 1-D"),
        (dict(y=np.zeros(0, int), visual=np.zeros((0, 3)), text=np.zeros((0, 2))), "holds no items"),
    ]
    for override, message in cases:
        path = _write(tmp_path, **override)
        with pytest.raises(FeatureFileError, match=message):
            load_features(path)
    assert issubclass(FeatureFileError, CMCSLError)


# ---------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------


def test_cache_round_trip_and_recompute(tmp_path, monkeypatch):
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    assert cache.cache_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    key = cache.cache_key("umap", subset="HR", n=3)
    assert key == cache.cache_key("umap", n=3, subset="HR")  # order of parts does not matter
    assert key != cache.cache_key("umap", subset="HR", n=4) and key.startswith("umap-")
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3), "b": np.ones((2, 2))}

    first = cache.cached_arrays(key, compute)
    second = cache.cached_arrays(key, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(second["a"], first["a"])
    np.testing.assert_array_equal(second["b"], np.ones((2, 2)))
    (tmp_path / "cache" / f"{key}.npz").write_bytes(b"garbage")  # a corrupt entry is recomputed
    cache.cached_arrays(key, compute)
    assert len(calls) == 2
    cache.cached_arrays(key, compute, enabled=False)
    assert len(calls) == 3
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_array_digest():
    a = np.arange(6)
    assert cache.array_digest(a) == cache.array_digest(np.arange(6))
    assert cache.array_digest(a) != cache.array_digest(a.reshape(2, 3))
    assert cache.array_digest(a) != cache.array_digest(a.astype(np.int32))
    assert cache.array_digest(a) != cache.array_digest(a + 1)


def test_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CMCSL_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "cmcsl-studio"
    assert os.path.isdir(tmp_path / ".cache" / "cmcsl-studio")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_write_atomically_gives_the_umask_mode_or_keeps_the_old_one(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = tmp_path / "new.bin"
        write_atomically(path, lambda fh: fh.write(b"one"))
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600
        os.chmod(path, 0o604)
        write_atomically(path, lambda fh: fh.write(b"two"))
        assert path.read_bytes() == b"two" and path.stat().st_mode & 0o777 == 0o604
    finally:
        os.umask(old)


# ------------------------------------------------------------------ reading members from several threads
MEMBERS = {
    "f8": np.arange(12, dtype=np.float64).reshape(3, 4),
    "f2": np.linspace(-1, 1, 7, dtype=np.float16),
    "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
    "fortran": np.asfortranarray(np.arange(20, dtype=np.float32).reshape(4, 5)),
    "strings": np.array(["a", "héllo", ""], dtype=str),
    "bytes": np.array([b"x", b"yz"]),
    "flags": np.array([True, False, True]),
    "empty": np.zeros((0, 3)),
    "scalar": np.array("one string"),
}


@pytest.mark.parametrize("compressed", [False, True])
def test_read_member_gives_what_numpy_gives(tmp_path, compressed) -> None:
    import zipfile

    from cmcsl_core.fileio import read_member

    path = tmp_path / "m.npz"
    (np.savez_compressed if compressed else np.savez)(path, **MEMBERS)
    with np.load(path) as archive, zipfile.ZipFile(path) as zf:
        for key, value in MEMBERS.items():
            got = read_member(zf, key, "m.npz")
            want = archive[key]
            assert (
                got.dtype == want.dtype
                and got.shape == want.shape
                and got.flags.f_contiguous == want.flags.f_contiguous
            )
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, value)


def test_a_member_shorter_than_its_header_is_damaged(tmp_path) -> None:
    import zipfile

    from cmcsl_core.datasets.npzcheck import DAMAGED
    from cmcsl_core.fileio import read_member

    buf = io.BytesIO()
    np.save(buf, np.arange(100, dtype=np.float64))
    path = tmp_path / "cut.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", buf.getvalue()[:-80])  # ten values short
    with zipfile.ZipFile(path) as zf, pytest.raises(DAMAGED, match="fewer bytes than its header declares"):
        read_member(zf, "x", "cut.npz")


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_npy_header_version_numpy_writes_is_read(version) -> None:
    from cmcsl_core.fileio import read_npy_header

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros((3, 2), dtype=np.float32, order="F"), version=version)
    buf.seek(0)
    assert read_npy_header(buf, "x", "f.npz") == ((3, 2), True, np.dtype(np.float32))


def test_an_unknown_npy_header_version_is_unreadable() -> None:
    from cmcsl_core.fileio import read_npy_header

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros(3), version=(2, 0))
    raw = bytearray(buf.getvalue())
    raw[6] = 9  # the major version byte after the magic string
    with pytest.raises(FeatureFileError, match="unreadable header"):
        read_npy_header(io.BytesIO(bytes(raw)), "x", "f.npz")


def test_headers_are_parsed_one_thread_at_a_time(tmp_path, monkeypatch) -> None:
    """NumPy parses a header with ast.literal_eval, which CPython 3.11.7 cannot run in two threads at once
    (gh-106905: SystemError "AST constructor recursion depth mismatch"): load_features reads the modality
    matrices in parallel threads, so every header it parses must be parsed under the package's lock."""
    import threading

    from cmcsl_core.fileio import HEADER_LOCK

    fmt_globals = np.lib.format.read_array_header_1_0.__globals__  # NumPy's format module (read_array's too)
    original = fmt_globals["_read_array_header"]
    parsed: list[str] = []

    def guarded(*args, **kwargs):
        assert HEADER_LOCK.locked(), "an .npy header parsed outside HEADER_LOCK"
        parsed.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setitem(fmt_globals, "_read_array_header", guarded)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # the threaded path, whatever the machine
    fs = synthetic_features((10, 10, 10), dims=(6, 5, 4))
    path = save_features(fs, tmp_path / "f.npz", compress=True)
    back = load_features(path)
    for a, b in zip(back.X, fs.X):
        np.testing.assert_array_equal(a, b)
    assert len(set(parsed)) >= 2  # the modality matrices' headers were parsed in pool threads


def test_loading_from_many_threads_at_once(tmp_path) -> None:
    """Sessions of a served app load feature files at the same time: every load succeeds and agrees."""
    from concurrent.futures import ThreadPoolExecutor

    fs = synthetic_features((15, 10, 12), with_ids=True)
    path = save_features(fs, tmp_path / "f.npz")
    with ThreadPoolExecutor(max_workers=8) as pool:
        loads = list(pool.map(lambda _: load_features(path), range(200)))
    for back in loads:
        np.testing.assert_array_equal(back.y, fs.y)
        assert all(np.array_equal(a, b) for a, b in zip(back.X, fs.X))
