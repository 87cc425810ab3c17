"""The grid runner: resume after SIGKILL without duplicates, torn tails, Dask = joblib, tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.grid import GRID_COLUMNS, GridSpec, completed_tasks, read_results, run_grid
from cmcsl_core.evaluation.grid_tables import comparison_table, rank_table, to_latex, to_markdown, write_tables

REPO = Path(__file__).resolve().parent.parent
KEYS = ["subset", "classifier", "preprocessing", "fold", "method", "modality", "b_class"]
SPEC = GridSpec(source="demo", subsets=("HR", "FS"), b_values=(1, 2, 3), repeats=1, preprocessings=("l2std", "std"))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    d = tmp_path_factory.mktemp("grid-ref")
    run_grid(SPEC, d)
    return _sorted(read_results(d))


def test_rows_complete_and_unique(reference: pd.DataFrame):
    assert list(reference.columns) == list(GRID_COLUMNS)
    assert not reference.duplicated(KEYS).any()
    # 2 subsets x 2 preprocessings x 2 folds x 3 methods x 2 modalities x 3 b
    assert len(reference) == 2 * 2 * 2 * 3 * 2 * 3


def test_resume_after_sigkill(tmp_path: Path, reference: pd.DataFrame):
    d = tmp_path / "grid"
    cmd = [sys.executable, "-m", "cmcsl_core", "grid", "--source", "demo", "--subsets", "HR,FS", "--b-max", "3",
           "--repeats", "1", "--preprocessing", "l2std,std", "--no-progress", "--no-tables", "--out", str(d)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = d / "tasks.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if log.is_file() and log.read_bytes().count(b"\n") >= 2:
            break
        if proc.poll() is not None:
            pytest.fail(f"the grid ended before it could be killed: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = log.read_bytes().count(b"\n")
    assert 2 <= n_before < 8, "kill the grid in the middle"
    # simulate a kill in the middle of a write as well: a torn row and a torn log line
    with open(d / "results.csv", "ab") as fh:
        fh.write(b"CMCSL,visual,2,1,0.12")
    with open(log, "ab") as fh:
        fh.write(b"FS,gnb,std,1,99")
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{n_before} already complete" in rerun.stdout
    got = _sorted(read_results(d))
    assert not got.duplicated(KEYS).any()
    pd.testing.assert_frame_equal(got, reference)
    # a third run has nothing left to do
    again = run_grid(SPEC, d)
    assert again.n_run == 0 and again.n_skipped == 8
    assert len(read_results(d)) == len(reference)


def test_changed_settings_are_refused(tmp_path: Path):
    small = GridSpec(source="demo", subsets=("FS",), b_values=(1,), repeats=1)
    run_grid(small, tmp_path)
    with pytest.raises(CMCSLError, match="other settings"):
        run_grid(GridSpec(source="demo", subsets=("FS",), b_values=(1, 2), repeats=1), tmp_path)
    done, _ = completed_tasks(tmp_path)
    assert done == {"FS,gnb,l2std,0", "FS,gnb,l2std,1"}


def test_dask_local_cluster_equals_joblib(tmp_path: Path, reference: pd.DataFrame):
    import dask.distributed  # noqa: F401  (a requirement: missing, the test fails)
    run_grid(SPEC, tmp_path, backend="dask", scheduler="local", jobs=2)
    pd.testing.assert_frame_equal(_sorted(read_results(tmp_path)), reference)


def test_loky_two_jobs_equals_serial(tmp_path: Path, reference: pd.DataFrame):
    run_grid(SPEC, tmp_path, backend="loky", jobs=2)
    pd.testing.assert_frame_equal(_sorted(read_results(tmp_path)), reference)


def test_tables(tmp_path: Path, reference: pd.DataFrame):
    table = comparison_table(reference, "gnb", "l2std", "visual")
    assert sorted(table["subset"]) == ["FS", "HR"]
    means = reference[(reference.preprocessing == "l2std") & (reference.modality == "visual")]
    expected = means[means.subset == "HR"].groupby("method")["bac"].mean()
    assert table.set_index("subset").loc["HR", "CMCSL"] == pytest.approx(expected["CMCSL"])
    assert "paper CMCSL" in table.columns  # HR and FS are paper subsets
    ranks = rank_table(reference, "gnb", "l2std", "text")
    assert set(ranks["group"]) == {"binary"}
    assert ranks.groupby("group")["average_rank"].sum().iloc[0] == pytest.approx(6.0)  # 1 + 2 + 3
    assert to_markdown(table).count("\n") == 2 + len(table)
    assert "\\toprule" in to_latex(table)
    files = write_tables(reference, tmp_path)
    assert {p.suffix for p in files} == {".csv", ".md", ".tex"}


@pytest.mark.parametrize("seed", [0, 1410, 7])
def test_own_repeated_stratified_kfold_equals_sklearn(seed):
    import numpy as np
    from sklearn.model_selection import RepeatedStratifiedKFold

    from cmcsl_core.evaluation.kfold import repeated_stratified_kfold

    rng = np.random.default_rng(seed)
    for y in (rng.integers(0, 4, 101), np.repeat([3, 1, 2], [10, 31, 7])[rng.permutation(48)], rng.integers(5, 7, 20)):
        for n_splits, n_repeats in ((2, 5), (3, 2)):
            ours = list(repeated_stratified_kfold(y, n_splits, n_repeats, seed))
            theirs = list(
                RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(y, y)
            )
            assert len(ours) == len(theirs)
            for (a, b), (c, d) in zip(ours, theirs):
                assert np.array_equal(a, c) and np.array_equal(b, d)


def test_all_subsets_of_a_source_without_subsets_is_the_whole_file(tmp_path: Path):
    """``grid --source mvsa-builtin --subsets all`` runs one "subset" (the whole file, named by the source)."""
    from cmcsl_core.cli import main as cli_main
    from cmcsl_core.datasets.sources import load_source
    from cmcsl_core.evaluation.curve import run_curve
    from cmcsl_core.evaluation.grid import resolve_subsets

    assert resolve_subsets("mvsa-builtin", ["all"]) == ("mvsa-builtin",)
    assert resolve_subsets("table", ["ALL"]) == ("table",)
    from cmcsl_core.datasets.subsets import load_subsets

    assert resolve_subsets("demo", ["all"]) == tuple(load_subsets()) and len(load_subsets()) == 20
    assert resolve_subsets("demo", ["HR", "FS", "HR"]) == ("HR", "FS")
    with pytest.raises(CMCSLError, match="has no subsets"):
        resolve_subsets("mvsa-builtin", ["HR"])
    out = tmp_path / "g"
    argv = ["grid", "--source", "mvsa-builtin", "--subsets", "all", "--methods", "PRE,CMCSL", "--classifiers", "gnb",
            "--preprocessing", "l2std", "--b-max", "2", "--repeats", "1", "--no-progress", "--out", str(out)]
    assert cli_main(argv) == 0
    rows = read_results(out)
    assert set(rows["subset"]) == {"mvsa-builtin"}
    assert len(rows) == 2 * 2 * 2 * 2  # folds x b x methods x modalities
    # the rows are the curve of the whole file
    curve = run_curve(load_source("mvsa-builtin"), methods=("PRE", "CMCSL"), b_values=(1, 2), repeats=1).frame
    merged = rows.merge(curve, on=["method", "modality", "b_class", "fold"], suffixes=("", "_curve"))
    assert len(merged) == len(rows) and (merged["bac"] - merged["bac_curve"]).abs().max() < 1e-6
    assert (out / "tables").is_dir()
    assert cli_main(argv) == 0  # a rerun skips the finished tasks
    assert len(read_results(out)) == len(rows)


def test_an_unknown_subset_is_refused_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from cmcsl_core.cli import main as cli_main

    out = tmp_path / "grid"
    assert cli_main(["grid", "--source", "demo", "--subsets", "HR,XX", "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown subset 'XX'")
    assert not out.exists()
