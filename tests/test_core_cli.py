"""The CLI contract (`python -m cmcsl_core label|curve`), run as a subprocess from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from helpers_core import REPO_ROOT, synthetic_features

from cmcsl_core.datasets.features import save_features
from cmcsl_core.evaluation.curve import run_curve
from cmcsl_core.method.labeling import propagate
from cmcsl_core.method.seeds import draw_seeds


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
    assert "label, curve, export, subsets, cache" in lines[0]


# ---------------------------------------------------------------------------------------------
# requests <-> command lines, help, cache, file modes
# ---------------------------------------------------------------------------------------------

import shlex  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cmcsl_core.cli import COMMAND_NAMES, build_parser, commands, console_main, main  # noqa: E402
from cmcsl_core.cli.curve import config_from_args  # noqa: E402
from cmcsl_core.cli.export import spec_from_args  # noqa: E402
from cmcsl_core.cli.self_label import request_from_args  # noqa: E402
from cmcsl_core.datasets.sources import SOURCE_TABLE, SourceSpec  # noqa: E402
from cmcsl_core.evaluation.config import METHODS, CurveConfig  # noqa: E402
from cmcsl_core.method.request import LabelRequest  # noqa: E402


def parse_line(line: str):
    """Parse a rendered ``python -m cmcsl_core ...`` line as a shell and the CLI would."""
    words = shlex.split(line)
    assert words[:3] == ["python", "-m", "cmcsl_core"]
    return build_parser().parse_args(words[3:])


WEIRD_PATH = "/tmp/my data/it's a \"feature\" file $HOME.npz"


@settings(max_examples=40, deadline=None)
@given(
    methods=st.lists(st.sampled_from(("FULL", "PRE", "UNI", "CMCSL", "EF", "LF")), min_size=1, unique=True),
    classifier=st.sampled_from(("gnb", "lr", "cart")),
    preprocessing=st.sampled_from(("raw", "l2", "std", "minmax", "l2std")),
    b_values=st.one_of(
        st.tuples(st.integers(1, 30), st.integers(0, 10)).map(lambda t: tuple(range(t[0], t[0] + t[1] + 1))),
        st.lists(st.integers(1, 40), min_size=1, max_size=6).map(tuple),
    ),
    repeats=st.integers(1, 9),
    random_state=st.integers(0, 10**6),  # the CLI takes seeds 0 .. 2**31 - 1
    class_weights=st.sampled_from(("pseudo", "oracle", "none")),
    n_jobs=st.sampled_from((1, 2, -1)),
)
def test_curve_config_command_round_trip(methods, classifier, preprocessing, b_values, repeats, random_state,
                                         class_weights, n_jobs):
    config = CurveConfig(tuple(methods), classifier, preprocessing, b_values, repeats, random_state, class_weights,
                         n_jobs).validated()
    args = parse_line(config.command(WEIRD_PATH, out="out dir/curve.csv"))
    assert args.command == "curve" and args.features == WEIRD_PATH and args.out == "out dir/curve.csv"
    assert config_from_args(args) == config


def test_curve_default_config_is_the_cli_default():
    args = parse_line("python -m cmcsl_core curve --features f.npz --out c.csv")
    assert config_from_args(args) == CurveConfig().validated()


@pytest.mark.parametrize(
    "request_",
    [LabelRequest(b_class=3, seed=7), LabelRequest(preprocessing="minmax", seeds=(17, 3, 42)),
     LabelRequest(preprocessing="raw", b_class=1)],
)
def test_label_request_command_round_trip(request_):
    args = parse_line(request_.command(WEIRD_PATH, out="labels 1.csv"))
    assert args.features == WEIRD_PATH and args.out == "labels 1.csv"
    assert request_from_args(args) == request_.validated()


@pytest.mark.parametrize(
    "spec",
    [
        SourceSpec.create("demo", "HR"),
        SourceSpec.create("demo", "romance;horror"),
        SourceSpec.create("hdf5", "DS", path=WEIRD_PATH),
        SourceSpec.create("raw", "ACCDDHMRS", path="/data/mm imdb", batch_size=8, limit=30),
    ],
)
def test_source_spec_command_round_trip(spec):
    args = parse_line(spec.command("out folder/features.npz"))
    assert args.out == "out folder/features.npz"
    assert spec_from_args(args) == spec


def test_source_spec_validates_once():
    spec = SourceSpec.create("DEMO", "hr")
    assert spec.source == "demo" and spec.subset is not None and spec.subset.name == "HR"
    assert SourceSpec.create("demo") == spec  # the default subset
    assert hash(spec) == hash(SourceSpec.create("demo", "HR"))  # usable as a cache key
    with pytest.raises(Exception, match="needs a path"):
        SourceSpec.create("hdf5", "HR")
    with pytest.raises(Exception, match="takes no option --weights"):
        SourceSpec.create("demo", "HR", weights="none")
    with pytest.raises(Exception, match="expected a number >= 1"):
        SourceSpec.create("raw", "HR", path="x", batch_size=0)


def test_cli_maps_aliases_the_library_refuses(files, tmp_path):
    from cmcsl_core.models.base import check_classifier

    with pytest.raises(Exception, match="unknown classifier 'logreg'"):
        check_classifier("logreg")
    args = parse_line("python -m cmcsl_core curve --features f.npz --classifier LogReg --preprocessing mm --out c.csv")
    config = config_from_args(args)
    assert (config.classifier, config.preprocessing) == ("lr", "minmax")
    args = parse_line("python -m cmcsl_core curve --features f.npz --classifier dt --out c.csv")
    assert config_from_args(args).classifier == "cart"


def test_every_command_has_a_description_and_shows_its_defaults(capsys):
    seen = []
    for command in commands():
        with pytest.raises(SystemExit) as exit_:
            main([command.NAME, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert command.HELP in " ".join(text.split()), command.NAME
        assert "\n" not in command.HELP
        seen.append(command.NAME)
        flat = " ".join(text.split())
        expected = {
            "curve": ["--methods METHODS comma-separated, any of", "(default: PRE,UNI,CMCSL)", "--jobs JOBS",
                      "one at a time (default: -1)", "(default: 1410)", "(default: gnb)"],
            "export": ["(default: demo)", "(default: HR;"] + [
                f"{opt.help} (default: {opt.default})"  # sources sharing an option are named together before it
                for info in SOURCE_TABLE.values() for opt in info.options if opt.default is not None
            ],
            "label": ["(default: l2std)", "(default: 0)"],
            "cache": ["CMCSL_CACHE_DIR", "--clear"],
        }.get(command.NAME, [])
        for fragment in expected:
            assert fragment in flat, (command.NAME, fragment)
    assert seen[:4] == ["label", "curve", "export", "subsets"]
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for name in COMMAND_NAMES:
        assert name in top


def test_running_one_command_imports_only_its_module():
    """``curve`` does not pay for importing the other commands (e.g. the encoders behind ``export``)."""
    code = (
        "import sys; from cmcsl_core.cli import main\n"
        "try:\n    main(['curve', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules"
        " if m.startswith('cmcsl_core.cli.') or m.startswith('cmcsl_core.encoders')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "cmcsl_core.cli.curve" in loaded
    for other in ("cmcsl_core.cli.export", "cmcsl_core.cli.annotate", "cmcsl_core.encoders"):
        assert other not in loaded, loaded


def test_export_defaults_to_demo(tmp_path, capsys):
    from cmcsl_core.datasets.features import load_features
    from cmcsl_core.datasets.sources import load_source

    out = tmp_path / "default.npz"
    assert main(["export", "--no-progress", "--out", str(out)]) == 0
    got, expected = load_features(out), load_source("demo", "HR")
    assert got.class_names == expected.class_names and got.n_items == expected.n_items
    np.testing.assert_array_equal(got.X[0], expected.X[0])
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_umask_mode(files, tmp_path, umask):
    _, _, paths = files
    old = os.umask(umask)
    try:
        out = tmp_path / "labels.csv"
        assert main(["label", "--features", str(paths["plain"]), "--b-class", "2", "--out", str(out)]) == 0
        assert out.stat().st_mode & 0o777 == 0o666 & ~umask
        # rewriting keeps an existing file's mode
        os.chmod(out, 0o640)
        assert main(["label", "--features", str(paths["plain"]), "--b-class", "3", "--out", str(out)]) == 0
        assert out.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_cache_command_shows_and_clears(tmp_path, monkeypatch, capsys):
    root = tmp_path / "the cache"
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(root))
    (root / "numba").mkdir(parents=True)
    (root / "a.npz").write_bytes(b"x" * 1500)
    (root / "numba" / "b.bin").write_bytes(b"y" * 500)
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert str(root) in out and "2 files" in out and "2.0 KB" in out
    assert main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "cleared" in out and "2 files" in out and "2.0 KB" in out
    assert root.is_dir() and list(root.iterdir()) == []
    assert main(["cache"]) == 0
    assert "0 files, 0 B" in capsys.readouterr().out


def test_cache_clear_refuses_the_home_folder(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["cache", "--clear"]) == 2
    assert "refusing" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").exists()


def test_subsets_fit_100_columns_and_list_every_genre(capsys):
    from cmcsl_core.datasets.subsets import load_subsets

    assert main(["subsets"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 100
    flat = " ".join(text.split())
    for sub in load_subsets().values():
        assert sub.name in flat
        for genre, count in zip(sub.genres, sub.class_counts or ()):
            assert f"{genre} {count}" in flat  # a genre and its count are never split


def test_curve_progress_bar_stays(files, tmp_path):
    _, _, paths = files
    out = tmp_path / "c.csv"
    proc = cli("curve", "--features", str(paths["plain"]), "--b-max", "2", "--repeats", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    # folds x b_class = 2 x 2 steps; the finished bar is left on screen (not erased by a final "\r   \r")
    last = proc.stderr.rstrip("\n").split("\n")[-1].split("\r")[-1]
    assert "100%" in last and "4/4" in last
    proc = cli("curve", "--features", str(paths["plain"]), "--b-max", "2", "--repeats", "1", "--no-progress",
               "--out", str(out))
    assert proc.returncode == 0 and proc.stderr == ""


def test_console_main_exits_with_mains_code(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["cmcsl", "subsets"])
    with pytest.raises(SystemExit) as ok:
        console_main()
    assert ok.value.code == 0
    monkeypatch.setattr(sys, "argv", ["cmcsl", "frobnicate"])
    with pytest.raises(SystemExit) as bad:
        console_main()
    assert bad.value.code == 2 and capsys.readouterr().err.startswith("error:")
    assert METHODS[0] == "FULL"  # (METHODS imported for the round-trip strategies)
