"""Every CLI mistake of the serving issue: one ``error:`` line and exit 2, never a traceback.

Damaged feature files (a bad CRC, a broken deflate stream, a header declaring a huge array), a
negative seed, a timeout that is not a finite number, a write that fails, an unreachable Dask
scheduler (and no half-made grid folder), classes without items, a Windows-1252 label file.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers_core import REPO_ROOT, synthetic_features

from cmcsl_core.cli import main
from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from cmcsl_core.errors import FeatureFileError


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cmcsl_core", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


def one_error_line(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "good.npz"
    save_features(synthetic_features((20, 20), with_ids=True), path, compress=True)
    return path


def _member_offset(data: bytes, name: str) -> tuple[int, int]:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    local = info.header_offset
    name_len = int.from_bytes(data[local + 26 : local + 28], "little")
    extra_len = int.from_bytes(data[local + 28 : local + 30], "little")
    return local + 30 + name_len + extra_len, info.compress_size


def test_a_member_with_a_bad_crc(good, tmp_path) -> None:
    data = bytearray(good.read_bytes())
    start, size = _member_offset(bytes(data), "visual.npy")
    data[start + size // 2] ^= 0x01  # one bit: the stream still inflates, the CRC does not match
    bad = tmp_path / "crc.npz"
    bad.write_bytes(bytes(data))
    line = one_error_line(cli("label", "--features", str(bad), "--b-class", "2", "--out", str(tmp_path / "o.csv")))
    assert "damaged" in line and ("CRC" in line or "decompress" in line)
    assert not (tmp_path / "o.csv").exists()


def test_a_broken_deflate_stream(good, tmp_path) -> None:
    data = bytearray(good.read_bytes())
    start, size = _member_offset(bytes(data), "visual.npy")
    data[start : start + 16] = b"\xff" * 16  # not a deflate stream any more
    bad = tmp_path / "deflate.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(FeatureFileError, match="damaged"):
        load_features(bad)
    one_error_line(cli("label", "--features", str(bad), "--b-class", "2", "--out", str(tmp_path / "o.csv")), "damaged")


def _with_header(tmp_path: Path, key: str, shape: str) -> Path:
    fs = synthetic_features((20, 20))
    src = tmp_path / "src.npz"
    save_features(fs, src)
    out = tmp_path / f"huge_{key}.npz"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == f"{key}.npy":
                head_len = 10 + int.from_bytes(data[8:10], "little")
                header = data[10:head_len].decode("latin1")
                start = header.index("'shape': (") + len("'shape': (")
                end = header.index(")", start)
                new = (header[:start] + shape + header[end:]).rstrip()
                pad = head_len - 10 - len(new) - 1
                data = data[:8] + data[8:10] + (new + " " * pad + "\n").encode("latin1") + data[head_len:]
            zout.writestr(info.filename, data)
    return out


def test_an_npz_header_declaring_a_huge_array_allocates_nothing(tmp_path) -> None:
    huge = _with_header(tmp_path, "visual", "1000000000000, 8")
    line = one_error_line(cli("label", "--features", str(huge), "--b-class", "2", "--out", str(tmp_path / "o.csv")))
    assert "declares shape (1000000000000, 8)" in line and "damaged" in line


def test_a_file_over_the_memory_budget_is_refused_before_loading(good, tmp_path) -> None:
    one_error_line(
        cli("label", "--features", str(good), "--b-class", "2", "--out", str(tmp_path / "o.csv"),
            env={"CMCSL_MEMORY_BUDGET_MB": "0.0001"}),
        "would take", "more than the", "CMCSL_MEMORY_BUDGET_MB",
    )


@pytest.mark.parametrize("command", ["label", "curve"])
@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range(good, tmp_path, command, seed) -> None:
    extra = ["--b-class", "2"] if command == "label" else ["--b-max", "2", "--repeats", "1"]
    one_error_line(cli(command, "--features", str(good), *extra, "--seed", seed, "--out", str(tmp_path / "o.csv")),
                   "--seed", "between 0 and")


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "soon"])
def test_annotate_timeout_must_be_finite_seconds(good, tmp_path, timeout) -> None:
    one_error_line(
        cli("annotate", "--db", str(tmp_path / "a.sqlite"), "--features", str(good), "--item", "1", "--label",
            "class 0", "--timeout", timeout),
        "--timeout",
    )
    assert not (tmp_path / "a.sqlite").exists()


def test_an_output_under_proc_is_one_line(good) -> None:
    one_error_line(cli("label", "--features", str(good), "--b-class", "2", "--out", "/proc/labels.csv"),
                   "cannot write /proc/labels.csv")


def test_a_full_disk_is_one_line(good, tmp_path, monkeypatch, capsys) -> None:
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    try:
        code = main(["label", "--features", str(good), "--b-class", "2", "--out", str(tmp_path / "o.csv")])
    finally:
        monkeypatch.setattr(os, "fsync", real_fsync)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"error: cannot write {tmp_path / 'o.csv'}: No space left on device"]
    assert not list(tmp_path.iterdir())  # the temporary file is gone too


@pytest.mark.slow
def test_grid_with_an_unreachable_scheduler_leaves_no_folder(tmp_path) -> None:
    out = tmp_path / "new" / "grid"
    proc = cli(
        "grid", "--source", "demo", "--subsets", "HR", "--b-max", "1", "--repeats", "1", "--backend", "dask",
        "--scheduler", "tcp://127.0.0.1:9", "--no-progress", "--out", str(out),
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )
    one_error_line(proc, "cannot reach the Dask scheduler tcp://127.0.0.1:9")
    assert not (tmp_path / "new").exists()


def test_a_failed_grid_keeps_an_existing_folder(tmp_path) -> None:
    out = tmp_path / "grid"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = cli("grid", "--source", "demo", "--subsets", "HR", "--classifiers", "nope", "--out", str(out))
    one_error_line(proc)
    assert (out / "notes.txt").read_text() == "mine"
    proc = cli("grid", "--source", "demo", "--subsets", "HR", "--classifiers", "nope", "--out", str(tmp_path / "fresh"))
    one_error_line(proc)
    assert not (tmp_path / "fresh").exists()


def test_classes_without_items_are_an_error_not_class_0_for_everything(tmp_path) -> None:
    fs = synthetic_features((20, 20))
    one_class = FeatureSet(fs.modality_names, fs.X, np.zeros(fs.n_items, dtype=np.int64), fs.class_names)
    path = tmp_path / "one.npz"
    save_features(one_class, path)
    for command in (["label", "--b-class", "2"], ["curve", "--b-max", "2", "--repeats", "1"]):
        line = one_error_line(cli(command[0], "--features", str(path), *command[1:], "--out", str(tmp_path / "o.csv")))
        assert "has no items" in line and fs.class_names[1] in line
    assert not (tmp_path / "o.csv").exists()


def test_labels_import_reads_windows_1252(tmp_path) -> None:
    fs = synthetic_features((20, 20), with_ids=True, class_names=("café", "naïve"))
    features = tmp_path / "f.npz"
    save_features(fs, features)
    csv = tmp_path / "labels.csv"
    csv.write_bytes(
        "id,label,annotator\n".encode() + f"{fs.ids[0]},café,José\n{fs.ids[1]},naïve,José\n".encode("cp1252")
    )
    proc = cli("labels-import", "--db", str(tmp_path / "a.sqlite"), "--features", str(features), "--csv", str(csv))
    assert proc.returncode == 0, proc.stderr
    from cmcsl_core.annotations import AnnotationStore

    history = AnnotationStore(fs, tmp_path / "a.sqlite").history()
    assert [(a.label, a.annotator) for a in history] == [("café", "José"), ("naïve", "José")]


def test_string_features_say_what_is_wrong(tmp_path) -> None:
    fs = synthetic_features((20, 20))
    buf = {"modality_names": np.array(fs.modality_names), "y": fs.y, "class_names": np.array(fs.class_names),
           fs.modality_names[0]: fs.X[0].astype(str), fs.modality_names[1]: fs.X[1]}
    path = tmp_path / "strings.npz"
    np.savez(path, **buf)
    line = one_error_line(cli("label", "--features", str(path), "--b-class", "2", "--out", str(tmp_path / "o.csv")))
    assert "must be a numeric array" in line and "object" not in line
    bad_header = tmp_path / "odd.npz"
    with zipfile.ZipFile(bad_header, "w") as zf:
        zf.writestr("y.npy", b"\x93NUMPY\x01\x00" + (16).to_bytes(2, "little") + b"{'descr': 3}   \n")
    line = one_error_line(
        cli("label", "--features", str(bad_header), "--b-class", "2", "--out", str(tmp_path / "o.csv"))
    )
    assert "object" not in line and "header" in line
