"""``annotate``, ``labels`` and ``labels-import``: one line per action, exports, errors.

An error is one line + exit 2 + nothing written.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cmcsl_core.annotations.store import AnnotationStore
from cmcsl_core.cli import main
from cmcsl_core.datasets.features import save_features
from tests.helpers_core import synthetic_features

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def files(tmp_path):
    fs = synthetic_features((30, 20, 25), with_ids=True, class_names=("Horror", "Romance", "Drama"))
    features = save_features(fs, tmp_path / "f.npz")
    return fs, str(features), str(tmp_path / "ann.sqlite")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_annotate_undo_and_labels_csv(files, capsys, tmp_path) -> None:
    fs, features, db = files
    code, out, err = run(
        capsys, "annotate", "--db", db, "--features", features, "--item", "4", "--label", "Drama", "--by", "ann"
    )
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and "ann labelled item tt1004: (none) -> Drama" in out
    code, out, _ = run(
        capsys, "annotate", "--db", db, "--features", features, "--item", "tt1009", "--label", "romance", "--by", "ann"
    )
    assert code == 0 and "item tt1009: (none) -> Romance" in out
    code, out, _ = run(capsys, "annotate", "--db", db, "--features", features, "--undo", "--by", "ann")
    assert code == 0 and out.count("\n") == 1 and "ann undid action 2 on item tt1009: Romance -> (none)" in out
    csv = tmp_path / "labels.csv"
    code, out, _ = run(capsys, "labels", "--db", db, "--features", features, "--b-class", "2", "--out", str(csv))
    assert code == 0 and "1 human labels" in out
    table = pd.read_csv(csv)
    label_cols = pd.read_csv(_label_csv(capsys, features, tmp_path)).columns
    assert list(table.columns) == list(label_cols) + ["provenance", "annotator"]
    assert table.loc[4, "final_label"] == "Drama" and table.loc[4, "provenance"] == "human"
    assert table.loc[4, "annotator"] == "ann" and table.loc[9, "provenance"] != "human"
    assert set(table["provenance"]) <= {"human", "seed", "agree", *fs.modality_names}
    assert table["is_seed"].sum() == 6


def _label_csv(capsys, features: str, tmp_path: Path) -> Path:
    out = tmp_path / "plain.csv"
    assert main(["label", "--features", features, "--b-class", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def test_labels_formats_and_import_round_trip(files, capsys, tmp_path) -> None:
    fs, features, db = files
    store = AnnotationStore(fs, db)
    store.label_many([1, 2, 3], ["Horror", "Romance", "Drama"], "ann")
    store.label(50, "Horror", "bob")
    for name, fmt in (("l.parquet", None), ("l.json", None), ("l.out", "csv")):
        extra = ["--format", fmt] if fmt else []
        code, out, err = run(
            capsys,
            "labels",
            "--db",
            db,
            "--features",
            features,
            "--seeds",
            "0,1,5,30",
            *extra,
            "--out",
            str(tmp_path / name),
        )
        assert code == 0, err
    parquet = pd.read_parquet(tmp_path / "l.parquet")
    assert list(parquet.loc[[1, 2, 3, 50], "provenance"]) == ["human"] * 4
    assert pd.read_csv(tmp_path / "l.out")["provenance"].tolist() == parquet["provenance"].tolist()
    tasks = json.loads((tmp_path / "l.json").read_text())
    assert len(tasks) == fs.n_items and tasks[50]["annotations"][0]["result"][0]["value"]["choices"] == ["Horror"]
    assert tasks[50]["data"]["annotator"] == "bob" and "predictions" in tasks[4]
    assert (tmp_path / "l.label_config.xml").is_file()
    for name in ("l.parquet", "l.out"):
        db2 = str(tmp_path / f"{name}.sqlite")
        code, out, err = run(
            capsys, "labels-import", "--db", db2, "--features", features, "--csv", str(tmp_path / name)
        )
        assert code == 0, err
        assert out.strip() == f"imported 4 labels (4 changed) into {db2}"
        again = AnnotationStore(fs, db2).current()
        assert again.as_dict(fs.class_names) == store.current().as_dict(fs.class_names)
        assert again.annotators == ("ann", "ann", "ann", "bob")
    mine = tmp_path / "mine.csv"
    mine.write_text("id,label\ntt1007,Drama\ntt1008,Horror\n")
    code, out, _ = run(capsys, "labels-import", "--db", db, "--features", features, "--csv", str(mine), "--by", "eve")
    assert code == 0
    cur = AnnotationStore(fs, db).current().as_dict(fs.class_names)
    assert cur[7] == "Drama" and cur[8] == "Horror"


def _snapshot(db: str) -> list[tuple]:
    if not Path(db).exists():
        return []
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT * FROM actions ORDER BY id").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["annotate", "--item", "4", "--label", "Comedy"],
            "unknown class 'Comedy'; this feature file has Horror, Romance, Drama",
        ),
        (["annotate", "--item", "75", "--label", "Drama"], "item 75 is out of range: items are numbered 0..74"),
        (["annotate", "--item", "tt99", "--label", "Drama"], "item 'tt99' is not an id of this feature file"),
        (["annotate", "--item", "4"], "give --item and --label (or --undo)"),
        (["annotate", "--undo", "--item", "4"], "do not give --item or --label with it"),
        (["annotate", "--undo", "--by", "nobody"], "'nobody' has nothing to undo"),
        (
            ["labels-import", "--csv", "{bad_class}"],
            "row 3: unknown class 'Comedy'; this feature file has Horror, Romance, Drama; nothing was imported",
        ),
        (["labels-import", "--csv", "{bad_item}"], "row 2: item 99 is out of range"),
        (["labels", "--b-class", "2", "--out", "{tmp}/x.txt"], "cannot tell the format of x.txt"),
        (["labels", "--b-class", "99", "--out", "{tmp}/x.csv"], "b_class=99 is larger than class"),
    ],
)
def test_bad_input_is_one_error_line_exit_2_nothing_written(files, capsys, tmp_path, argv, message) -> None:
    fs, features, db = files
    AnnotationStore(fs, db).label(0, "Horror", "ann")
    (tmp_path / "bad_class.csv").write_text("index,label\n1,Horror\n2,Comedy\n")
    (tmp_path / "bad_item.csv").write_text("index,label\n99,Horror\n")
    subs = {
        "bad_class": str(tmp_path / "bad_class.csv"),
        "bad_item": str(tmp_path / "bad_item.csv"),
        "tmp": str(tmp_path),
    }
    argv = [a.format(**subs) for a in argv]
    argv = [argv[0], "--db", db, "--features", features, *argv[1:]]
    if argv[0] == "annotate" and "--by" not in argv:
        argv += ["--by", "ann"]
    before = _snapshot(db)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert _snapshot(db) == before
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.txt").exists()


def test_database_problems_are_one_error_line(files, capsys, tmp_path) -> None:
    fs, features, db = files
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 500)
    code, _, err = run(
        capsys, "annotate", "--db", str(garbage), "--features", features, "--item", "1", "--label", "Drama"
    )
    assert code == 2 and err.startswith("error: ") and "is not a readable annotation database" in err
    assert err.count("\n") == 1
    other = synthetic_features((30, 20, 25), with_ids=True, class_names=("Horror", "Romance", "Drama"), seed=3)
    other_path = save_features(other, tmp_path / "other.npz")
    AnnotationStore(fs, db).label(0, "Horror", "ann")
    before = _snapshot(db)
    code, _, err = run(capsys, "annotate", "--db", db, "--features", str(other_path), "--item", "1", "--label", "Drama")
    assert code == 2 and "holds labels for another feature file" in err and err.count("\n") == 1
    code, _, err = run(
        capsys, "labels", "--db", db, "--features", str(other_path), "--b-class", "1", "--out", str(tmp_path / "o.csv")
    )
    assert code == 2 and "holds labels for another feature file" in err and not (tmp_path / "o.csv").exists()
    assert _snapshot(db) == before
    code, _, err = run(
        capsys,
        "labels",
        "--db",
        str(tmp_path / "none.sqlite"),
        "--features",
        features,
        "--b-class",
        "1",
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert code == 2 and "does not exist" in err and not (tmp_path / "none.sqlite").exists()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run(
            capsys,
            "annotate",
            "--db",
            db,
            "--features",
            features,
            "--item",
            "1",
            "--label",
            "Drama",
            "--timeout",
            "0.2",
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert code == 2 and "is locked by another program" in err and err.count("\n") == 1
    assert _snapshot(db) == before


def test_real_process_prints_one_line(files, tmp_path) -> None:
    fs, features, db = files
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cmcsl_core",
            "annotate",
            "--db",
            db,
            "--features",
            features,
            "--item",
            "3",
            "--label",
            "Comedy",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("error: unknown class")
    assert not Path(db).exists()
