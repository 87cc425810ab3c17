"""Every surface uses the labeler registry: the CLI, curves and grids, fusion's model selection, the review queue."""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers_core import REPO_ROOT, synthetic_features

from cmcsl_core.annotations.queue import QUEUE_ORDERS, default_queue_order, least_confident, review_queue
from cmcsl_core.annotations.simulate import ORDERS, proposal_agreement, simulate_review
from cmcsl_core.annotations.suggest import suggest_next
from cmcsl_core.cli import build_parser
from cmcsl_core.cli.self_label import request_from_args
from cmcsl_core.constants import LABELS
from cmcsl_core.datasets.features import save_features
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.config import LABELER_METHODS, CurveConfig
from cmcsl_core.evaluation.curve import run_curve
from cmcsl_core.evaluation.fusion_study import FusionStudyConfig, fusion_splits, run_fusion_study
from cmcsl_core.evaluation.grid import GridSpec, read_results, run_grid
from cmcsl_core.evaluation.grid_tables import write_tables
from cmcsl_core.evaluation.metrics import balanced_accuracy
from cmcsl_core.evaluation.model_selection import best_c, check_c_grid, log_loss
from cmcsl_core.evaluation.splits import cv_splits
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers import LABELER_NAMES, make_labeler
from cmcsl_core.method.labeling import cross_modal_labels
from cmcsl_core.method.preprocessing import fit_preprocessor, preprocess_features
from cmcsl_core.method.request import LabelRequest
from cmcsl_core.method.seeds import draw_seeds, seed_order


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cmcsl_core", *args], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True,
        text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def fs():
    return synthetic_features((60, 45, 50), (6, 4), separation=1.0, seed=5, with_ids=True)


# ------------------------------------------------------------------------------------------ label --labeler


def test_label_cli_with_each_labeler_writes_the_same_columns(fs, tmp_path):
    path = save_features(fs, tmp_path / "f.npz")
    columns = None
    for name in ("cmcsl", "cm-ls", "auto"):
        out = tmp_path / f"{name}.csv"
        done = cli("label", "--features", str(path), "--b-class", "3", "--labeler", name, "--out", str(out))
        assert done.returncode == 0, done.stderr
        table = pd.read_csv(out)
        columns = columns or list(table.columns)
        assert list(table.columns) == columns
        request = LabelRequest(b_class=3, labeler=name)
        result = request.run(fs)
        names = np.array(fs.class_names, dtype=object)
        assert table["final_label"].tolist() == list(names[result.final_labels])
        assert table["disagree"].tolist() == result.disagree.tolist()
        assert f"labeler {name}" in done.stdout
    assert "auto chose" in done.stdout


def sklearn_spreading(X_list, seeds, labels, n_items):
    """scikit-learn's LabelSpreading per modality on our graph of each (its callable-kernel hook): distributions."""
    from sklearn.semi_supervised import LabelSpreading

    graphs = FeatureGraphs(X_list, cache=False)
    y = np.full(n_items, -1)
    y[seeds] = labels
    out = []
    for m, X in enumerate(X_list):
        W = graphs.graph(m).adjacency()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its 30 steps do not converge: that truncation is the reference
            model = LabelSpreading(kernel=lambda a, b, W=W: W, alpha=0.99).fit(X, y)
        assert (model.label_distributions_.sum(axis=1) > 0).all()
        out.append(model.label_distributions_)
    return out


@pytest.mark.parametrize("labeler", ["ls", "cm-ls"])
def test_label_cli_ls_and_cm_ls_are_sklearns_label_spreading(fs, tmp_path, labeler):
    """The default path (the CLI: l2std preprocessing, the cached graph): scikit-learn's labels per modality,
    and for cm-ls the argmax of their average, on every item but the seeds (which keep their own)."""
    path = save_features(fs, tmp_path / "f.npz")
    out = tmp_path / "labels.csv"
    done = cli("label", "--features", str(path), "--b-class", "3", "--labeler", labeler, "--out", str(out))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    seeds = LabelRequest(b_class=3).seed_indices(fs)
    dists = sklearn_spreading(preprocess_features(fs.X, "l2std"), seeds, fs.y[seeds], fs.n_items)
    names = np.array(fs.class_names, dtype=object)
    free = ~table["is_seed"].to_numpy()
    for m, name in enumerate(fs.modality_names):
        assert (table[f"label_{name}"][free] == names[np.argmax(dists[m], axis=1)][free]).all()
    if labeler == "cm-ls":
        assert (table["final_label"][free] == names[np.argmax(np.mean(dists, axis=0), axis=1)][free]).all()
    assert (table["final_label"][~free] == names[fs.y[table["index"][~free]]]).all()


def test_label_cli_refuses_an_unknown_labeler_in_one_line(fs, tmp_path):
    path = save_features(fs, tmp_path / "f.npz")
    done = cli("label", "--features", str(path), "--b-class", "3", "--labeler", "knn", "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown labeler 'knn'" in done.stderr


@pytest.mark.parametrize("labeler", ["cmcsl", "cm-ls", "co-training"])
def test_label_request_with_a_labeler_round_trips(labeler):
    request = LabelRequest(b_class=4, seed=2, labeler=labeler)
    line = request.command("my file.npz")
    assert ("--labeler" in line) == (labeler != "cmcsl")  # the paper's default is not spelled out
    args = build_parser().parse_args(shlex.split(line)[3:])
    assert request_from_args(args) == request.validated()


# ------------------------------------------------------------------------------------------ curves and grids


def test_labeler_methods_train_on_the_labelers_labels_and_score_them(fs):
    methods = ("PRE", "CMCSL", "CM-LS", "LS")
    result = run_curve(fs, methods=methods, b_values=(2, 4), repeats=1, label_quality=True, n_jobs=1)
    f = result.frame
    assert set(f["method"]) == set(methods)
    assert set(f.loc[f["modality"] == LABELS, "method"]) == {"CMCSL", "CM-LS", "LS"}
    # the label-quality rows: BAC of the labeler's labels on the training fold's non-seed items
    train, _ = cv_splits(fs.y, 1)[0]
    Xtr = []
    for A in fs.X:
        prep = fit_preprocessor(A[train], "l2std")
        Xtr.append(prep.transform(A[train]))
    y_tr = fs.y[train]
    order = seed_order(y_tr, 4, (result.config.random_state, 0), class_names=fs.class_names, n_classes=fs.n_classes)
    seeds = np.sort(order[:, :2].ravel())
    # cm-ls is scikit-learn's spreading per modality, averaged (seeds keep their labels)
    labels = np.argmax(np.mean(sklearn_spreading(Xtr, seeds, y_tr[seeds], y_tr.size), axis=0), axis=1)
    labels[seeds] = y_tr[seeds]
    scored = np.ones(y_tr.size, dtype=bool)
    scored[seeds] = False
    want = balanced_accuracy(y_tr[scored], labels[scored], fs.n_classes)
    got = f[(f["method"] == "CM-LS") & (f["modality"] == LABELS) & (f["b_class"] == 2) & (f["fold"] == 0)]["bac"]
    assert got.item() == pytest.approx(want, abs=1e-12)
    # adding labelers does not change the paper's methods' numbers
    plain = run_curve(fs, methods=("PRE", "CMCSL"), b_values=(2, 4), repeats=1, n_jobs=1).frame
    mine = f[f["method"].isin(["PRE", "CMCSL"]) & (f["modality"] != LABELS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, plain.reset_index(drop=True))


def test_every_labeler_is_a_curve_method(fs):
    result = run_curve(fs, methods=LABELER_METHODS, b_values=(2,), repeats=1, n_jobs=1)
    assert set(result.frame["method"]) == set(LABELER_METHODS)
    assert result.frame["bac"].between(0, 1).all()


def test_curve_command_round_trips_the_new_flags():
    config = CurveConfig(methods=("CMCSL", "CM-LS"), classifier="lr", label_quality=True, c_grid=(0.1, 1.0)).validated()
    line = config.command("f.npz")
    assert "--label-quality" in line and "--c-grid 0.1,1" in line
    from cmcsl_core.cli.curve import config_from_args

    assert config_from_args(build_parser().parse_args(shlex.split(line)[3:])) == config
    assert "--c-grid" not in CurveConfig().command("f.npz")


def test_grid_tables_rank_the_labelers_and_old_grids_resume(tmp_path, fs):
    spec = GridSpec(source="demo", subsets=("HR", "DS"), methods=("CMCSL", "CM-LS"), b_values=(1, 2), repeats=1,
                    label_quality=True)
    run_grid(spec, tmp_path / "g")
    frame = read_results(tmp_path / "g")
    assert {"CMCSL", "CM-LS"} == set(frame.loc[frame["modality"] == LABELS, "method"])
    written = {p.name for p in write_tables(frame, tmp_path / "t")}
    assert "ranks_gnb_l2std_labels.md" in written and "comparison_gnb_l2std_visual.md" in written
    ranks = pd.read_csv(tmp_path / "t" / "ranks_gnb_l2std_labels.csv")
    assert set(ranks["method"]) == {"CMCSL", "CM-LS"}
    # a grid written without the flag keeps its settings file (resumes as before)
    assert "label_quality" not in GridSpec(source="demo").validated().fixed_settings()


# ------------------------------------------------------------------------------------------ C on the validation split


def test_c_grid_parsing_and_selection():
    assert check_c_grid("1, 0.1,0.1") == (0.1, 1.0)
    with pytest.raises(CMCSLError):
        check_c_grid("0,1")
    y = np.array([0, 1, 1])
    sharp, soft = np.eye(2)[y] * 0.98 + 0.01, np.full((3, 2), 0.5)
    assert best_c([soft, sharp], y, (1.0, 2.0))[0] == 1
    assert log_loss(soft, y) == pytest.approx(np.log(2))


def test_fusion_chooses_lrs_c_on_the_validation_part(fs):
    config = FusionStudyConfig(repeats=2, c_grid=(1e-3, 1.0))
    result = run_fusion_study(fs, config)
    assert len(result.chosen_c) == 2 and set(result.chosen_c[0]) == set(fs.modality_names)
    assert all(c in (1e-3, 1.0) for r in result.chosen_c for c in r.values())
    assert "(x" in result.chosen_c_text()
    # a one-value grid is that C, no choice: the old C = 1 behaviour
    fixed = run_fusion_study(fs, FusionStudyConfig(repeats=1, c_grid=(1.0,)))
    assert all(c == 1.0 for c in fixed.chosen_c[0].values())
    # the chosen C is the one with the lowest validation log-loss, recomputed by hand
    from cmcsl_core.models.proba import FitTask, fit_predict_proba

    tr, va, te = fusion_splits(fs, config)[0]
    for name, X in zip(fs.modality_names, fs.X):
        prep = fit_preprocessor(X[tr], "l2std")
        P = fit_predict_proba("lr", prep.transform(X[tr]), prep.transform(X[va]),
                              [FitTask(fs.y[tr], np.ones(tr.size), C=c) for c in (1e-3, 1.0)], fs.n_classes)
        losses = [log_loss(p, fs.y[va]) for p in P]
        assert result.chosen_c[0][name] == (1e-3, 1.0)[int(np.argmin(losses))]


def test_fusion_command_round_trips_the_c_grid():
    config = FusionStudyConfig(c_grid=(0.01, 0.1))
    line = config.command("f.npz")
    assert "--c-grid 0.01,0.1" in line
    done = build_parser().parse_args(shlex.split(line)[3:])
    assert check_c_grid(done.c_grid) == (0.01, 0.1)


# ------------------------------------------------------------------------------------------ no import circle


def test_late_fusion_does_not_import_the_folds():
    source = (REPO_ROOT / "cmcsl_core" / "evaluation" / "late_fusion.py").read_text()
    imported = [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    assert "cmcsl_core.evaluation.folds" not in imported
    from cmcsl_core.evaluation.folds import Fold, Row

    assert hasattr(Fold, "late_fusion_rows") and Row._fields == ("method", "modality", "b_class", "fold", "bac")


# ------------------------------------------------------------------------------------------ review queue and simulation


def test_queue_orders_by_the_labelers_confidence(fs):
    X = preprocess_features(fs.X, "l2std")
    seeds = draw_seeds(fs.y, 3, 1)
    result = make_labeler("cm-ls").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    queue = review_queue(result, order="confidence")
    assert set(queue) == set(np.flatnonzero(result.disagree & ~result.is_seed))
    assert np.all(np.diff(result.confidence[queue]) >= 0)
    closest = review_queue(result)
    assert set(closest) == set(queue) and not np.array_equal(closest, queue)
    with pytest.raises(CMCSLError, match="unknown queue order"):
        review_queue(result, order="loudest")


def test_least_confident_of_all_items(fs):
    """The 'uncertain' batch: items neither seeds nor reviewed, least confident first (agreeing items too)."""
    X = preprocess_features(fs.X, "l2std")
    seeds = draw_seeds(fs.y, 3, 1)
    result = make_labeler("cm-ls").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    free = np.flatnonzero(~result.is_seed)
    brute = free[np.argsort(result.confidence[free], kind="stable")]
    np.testing.assert_array_equal(least_confident(result, 10), brute[:10])
    np.testing.assert_array_equal(least_confident(result, 10, reviewed=brute[:4]), brute[4:14])
    assert not result.disagree[least_confident(result, fs.n_items)].all()  # not only the disagreements
    assert all(default_queue_order(name) in QUEUE_ORDERS for name in LABELER_NAMES)
    assert default_queue_order("some-plugin") == "closest"


def test_suggestions_for_a_spreading_run_use_the_nearest_seed_rule(fs):
    X = preprocess_features(fs.X, "l2std")
    seeds = draw_seeds(fs.y, 3, 1)
    ls = make_labeler("cm-ls").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    direct = suggest_next(X, cross_modal_labels(X, seeds, fs.y[seeds]), 5)
    np.testing.assert_array_equal(suggest_next(X, ls, 5).index, direct.index)


@pytest.mark.parametrize("order", ORDERS)
def test_simulated_annotator(fs, order):
    X = preprocess_features(fs.X, "l2std")
    graphs = FeatureGraphs(X, cache=False)
    seeds = draw_seeds(fs.y, 2, 0)
    sim = simulate_review(fs, graphs, seeds, "cmcsl", order, budget=30, step=10, checkpoints=(0, 10, 30))
    assert sim.n_labels.tolist() == [0, 10, 30] and sim.items.size == 30
    assert np.unique(sim.items).size == 30 and not np.isin(sim.items, seeds).any()
    assert np.isnan(sim.agreement[0]) and 0 <= sim.agreement[-1] <= 1
    # the BAC at 30 labels, recomputed: seeds + the 30 answers, scored on everything else
    idx = np.sort(np.concatenate([seeds, sim.items]))
    final = make_labeler("cmcsl").label(graphs, idx, fs.y[idx], fs.n_classes).final_labels
    scored = np.ones(fs.n_items, dtype=bool)
    scored[idx] = False
    assert sim.bac[-1] == pytest.approx(balanced_accuracy(fs.y[scored], final[scored], fs.n_classes))
    if order == "closest":
        queue = review_queue(make_labeler("cmcsl").label(graphs, seeds, fs.y[seeds], fs.n_classes))
        np.testing.assert_array_equal(sim.items, queue[:30])


def test_proposal_agreement_is_a_running_share():
    np.testing.assert_allclose(proposal_agreement([0, 1, 1, 2], [0, 0, 1, 2]), [1, 0.5, 2 / 3, 0.75])
