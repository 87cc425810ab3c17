"""The CLI contract (`python -m cmcsl_core label|curve`), run as a subprocess from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cmcsl_core.evaluation.curve import run_curve
from cmcsl_core.datasets.features import save_features
from cmcsl_core.method.labeling import propagate
from cmcsl_core.method.seeds import draw_seeds
from helpers_core import REPO_ROOT, synthetic_features


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m cmcsl_core ARGS`` from the repository root (the conftest set CMCSL_CACHE_DIR)."""
    return subprocess.run(
        [sys.executable, "-m", "cmcsl_core", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    fs = synthetic_features(
        class_sizes=(30, 20, 25), dims=(4, 3), seed=3, with_ids=True, class_names=("Horror", "Romance", "Drama")
    )
    plain = synthetic_features(class_sizes=(20, 20), dims=(3, 2), seed=4)
    paths = {"ids": save_features(fs, root / "ids.npz"), "plain": save_features(plain, root / "plain.npz")}
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    X[2, 1] = np.nan
    np.savez(root / "nan.npz", modality_names=np.array(["visual", "text"]), visual=X, text=np.ones((10, 2)),
             y=np.array([0, 1] * 5), class_names=np.array(["a", "b"]))
    paths["nan"] = root / "nan.npz"
    paths["text"] = root / "notes.npz"
    paths["text"].write_text("this is not a feature file\n")
    paths["root"] = root
    return fs, plain, paths


def _label_columns(modalities, ids):
    cols = ["index"] + (["id"] if ids else []) + ["true_label", "is_seed"]
    for m in modalities:
        cols += [f"label_{m}", f"distance_{m}"]
    return cols + ["final_label", "decided_by", "disagree"]


def _compare_label_csv(table: pd.DataFrame, fs, result):
    names = np.array(fs.class_names, dtype=object)
    assert table["index"].tolist() == list(range(fs.n_items))
    assert table["true_label"].tolist() == list(names[fs.y])
    assert table["is_seed"].tolist() == result.is_seed.tolist()
    for m, mod in enumerate(fs.modality_names):
        assert table[f"label_{mod}"].tolist() == list(names[result.labels[m]])
        np.testing.assert_allclose(table[f"distance_{mod}"], result.distances[m], atol=1e-6)
    assert table["final_label"].tolist() == list(names[result.final_labels])
    decided = np.array([*fs.modality_names, "all"], dtype=object)[result.decided_by]
    assert table["decided_by"].tolist() == list(decided)
    assert table["disagree"].tolist() == result.disagree.tolist()


def test_label_with_b_class_equals_propagate(files, tmp_path):
    fs, _, paths = files
    out = tmp_path / "labels.csv"
    proc = cli("label", "--features", str(paths["ids"]), "--b-class", "3", "--seed", "7", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"wrote {out}" in proc.stdout
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == _label_columns(fs.modality_names, ids=True)
    assert table["id"].tolist() == list(fs.ids)
    seeds = draw_seeds(fs.y, 3, 7, class_names=fs.class_names)
    result = propagate(fs, seeds, "l2std")
    _compare_label_csv(table, fs, result)
    assert table["is_seed"].sum() == 9
    assert set(table["final_label"]) <= set(fs.class_names)
    assert set(table["decided_by"]) <= {"visual", "text", "all"}


def test_label_with_explicit_seeds_and_preprocessing(files, tmp_path):
    _, plain, paths = files
    out = tmp_path / "labels.csv"
    proc = cli("label", "--features", str(paths["plain"]), "--seeds", "0, 5,17,30", "--preprocessing", "minmax",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == _label_columns(plain.modality_names, ids=False)
    _compare_label_csv(table, plain, propagate(plain, [0, 5, 17, 30], "minmax"))
    assert table.loc[table.is_seed, "index"].tolist() == [0, 5, 17, 30]


def test_curve_equals_run_curve(files, tmp_path):
    _, plain, paths = files
    out = tmp_path / "curve.csv"
    proc = cli("curve", "--features", str(paths["plain"]), "--methods", "FULL,PRE,CMCSL,EF", "--b-min", "1",
               "--b-max", "2", "--repeats", "2", "--seed", "5", "--class-weights", "oracle", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["method", "modality", "b_class", "fold", "bac"]
    expected = run_curve(plain, methods="FULL,PRE,CMCSL,EF", b_values=[1, 2], repeats=2, random_state=5,
                         class_weights="oracle").frame
    assert len(table) == len(expected) == (3 * 2 + 1) * 2 * 4
    assert table[["method", "modality", "b_class", "fold"]].equals(expected[["method", "modality", "b_class", "fold"]])
    np.testing.assert_allclose(table.bac, expected.bac, atol=1e-6)


def _bad_cases(paths, tmp):
    f = str(paths["plain"])
    out = str(tmp / "o.csv")
    # a feature file whose name ends in .csv, to reach the "--out is the input" check itself
    twin = tmp / "features.csv"
    twin.write_bytes(paths["plain"].read_bytes())
    return {
        "missing file": ["label", "--features", str(tmp / "nope.npz"), "--b-class", "1", "--out", out],
        "bad file": ["label", "--features", str(paths["text"]), "--b-class", "1", "--out", out],
        "nan file": ["label", "--features", str(paths["nan"]), "--b-class", "1", "--out", out],
        "folder as features": ["label", "--features", str(tmp), "--b-class", "1", "--out", out],
        "b_class too large": ["label", "--features", f, "--b-class", "21", "--out", out],
        "b_class zero": ["label", "--features", f, "--b-class", "0", "--out", out],
        "b_class not a number": ["label", "--features", f, "--b-class", "two", "--out", out],
        "curve b too large": ["curve", "--features", f, "--b-max", "11", "--repeats", "1", "--out", out],
        "b-min > b-max": ["curve", "--features", f, "--b-min", "3", "--b-max", "2", "--out", out],
        "unknown preprocessing (label)": ["label", "--features", f, "--b-class", "1", "--preprocessing", "pca",
                                          "--out", out],
        "unknown preprocessing (curve)": ["curve", "--features", f, "--preprocessing", "pca", "--b-max", "1",
                                          "--repeats", "1", "--out", out],
        "unknown method": ["curve", "--features", f, "--methods", "PRE,XYZ", "--b-max", "1", "--out", out],
        "unknown classifier": ["curve", "--features", f, "--classifier", "svm", "--b-max", "1", "--out", out],
        "unknown class weights": ["curve", "--features", f, "--class-weights", "balanced", "--b-max", "1",
                                  "--out", out],
        "duplicate seeds": ["label", "--features", f, "--seeds", "1,2,1", "--out", out],
        "out-of-range seeds": ["label", "--features", f, "--seeds", "1,40", "--out", out],
        "non-numeric seeds": ["label", "--features", f, "--seeds", "1,a", "--out", out],
        "seeds and b-class": ["label", "--features", f, "--seeds", "1", "--b-class", "1", "--out", out],
        "missing --out": ["label", "--features", f, "--b-class", "1"],
        "missing --features": ["curve", "--out", out],
        "missing seeds": ["label", "--features", f, "--out", out],
        "unknown command": ["frobnicate"],
        "out in a missing folder": ["label", "--features", f, "--b-class", "1", "--out",
                                    str(tmp / "no" / "such" / "o.csv")],
        "out equal to input (.npz)": ["label", "--features", f, "--b-class", "1", "--out", f],
        "out equal to input": ["label", "--features", str(twin), "--b-class", "1", "--out", str(twin)],
        "out equal to input (curve)": ["curve", "--features", str(twin), "--out", str(twin)],
        "out is a folder": ["label", "--features", f, "--b-class", "1", "--out", str(tmp)],
        "bad jobs": ["curve", "--features", f, "--b-max", "1", "--repeats", "1", "--jobs", "0", "--out", out],
    }


def test_bad_inputs_exit_2_with_one_error_line(files, tmp_path):
    _, _, paths = files
    cases = _bad_cases(paths, tmp_path)
    before = {p: p.read_bytes() for p in (paths["plain"], tmp_path / "features.csv")}
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = dict(zip(cases, pool.map(lambda a: cli(*a), cases.values())))
    problems = []
    for name, proc in procs.items():
        lines = proc.stderr.strip().splitlines()
        ok = (
            proc.returncode == 2
            and len(lines) == 1
            and lines[0].startswith("error:")
            and "Traceback" not in proc.stderr
        )
        if not ok:
            problems.append(f"{name}: rc={proc.returncode} stderr={proc.stderr!r}")
    assert not problems, "\n".join(problems)
    # nothing was written, inputs untouched
    assert not (tmp_path / "o.csv").exists()
    for p, data in before.items():
        assert p.read_bytes() == data
    # the messages say what is wrong
    expect = {
        "missing file": "does not exist",
        "nan file": "NaN or inf",
        "b_class too large": "b_class=21 is larger than class",
        "curve b too large": "b_class=11 is impossible",
        "unknown method": "unknown method 'XYZ'",
        "unknown classifier": "unknown classifier 'svm'",
        "unknown class weights": "unknown class weights 'balanced'",
        "duplicate seeds": "more than once",
        "out-of-range seeds": "out of range",
        "out in a missing folder": "does not exist",
        "out equal to input": "is the input file",
        "out equal to input (curve)": "is the input file",
        "missing --out": "--out",
        "unknown preprocessing (label)": "unknown preprocessing 'pca'",
        "unknown preprocessing (curve)": "unknown preprocessing 'pca'",
    }
    for name, text in expect.items():
        assert text in procs[name].stderr, (name, procs[name].stderr)


def test_help_and_no_command():
    proc = cli("label", "--help")
    assert proc.returncode == 0 and "--b-class" in proc.stdout
    proc = cli()  # no command: one error line naming the commands, exit 2, no traceback
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: no command given")
    assert "label, curve, export, subsets" in lines[0]
