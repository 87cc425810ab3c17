"""Tests of cmcsl_core.datasets.published and data/published_results.csv (the paper's published BAC)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from helpers_core import PAPER_DIR, REPO_ROOT, require_shared

from cmcsl_core.datasets.published import (
    PUBLISHED_CSV,
    load_published,
    published_curve,
    published_setting_exists,
    published_table,
)
from cmcsl_core.datasets.subsets import load_subsets
from cmcsl_core.errors import CMCSLError

PAPER = PAPER_DIR
METHODS = ("FULL", "PRE", "UNI", "CMCSL")
PAPER_FILES = (
    "experiment_1_52.npy",
    "experiment_2_m1_52.npy",
    "experiment_2_m1_52_more.npy",
    "experiment_2_m2_52.npy",
    "experiment_2_m2_52_more.npy",
    "experiment_3_52_early_fusion_all_clfs.npy",
    "experiment_3_52_late_fusion_all_clfs.npy",
    "experiment_3_m1_52.npy",
    "experiment_3_m1_52_mc.npy",
    "experiment_3_m2_52.npy",
    "experiment_3_m2_52_mc.npy",
)


@pytest.fixture(scope="module")
def paper() -> Path:
    for name in PAPER_FILES:
        require_shared(f"paper/{name}")  # the authors' published .npy arrays
    return PAPER


def test_table_v_hr_visual_from_shipped_csv():
    """Paper, Table V (GNB, L2STD), HR visual: FULL 0.791, PRE 0.720, UNI 0.776, CMCSL 0.774."""
    expected = {"FULL": 0.791, "PRE": 0.720, "UNI": 0.776, "CMCSL": 0.774}
    for method, value in expected.items():
        assert published_curve("HR", "visual", method)["mean"].mean() == pytest.approx(value, abs=5e-4)
    table = published_table()
    for method, value in expected.items():
        assert table.loc["HR", ("visual", method)] == pytest.approx(value, abs=5e-4)


@pytest.mark.perf
def test_csv_is_small():
    assert PUBLISHED_CSV.stat().st_size < 2_000_000


def test_csv_is_tidy():
    frame = load_published()
    key = ["experiment", "subset", "modality", "method", "classifier", "preprocessing", "b_class"]
    assert list(frame.columns) == [*key, "mean", "std", "n_folds"]
    assert set(frame["experiment"]) == {"comparison", "preprocessing", "base_classifiers"}
    assert set(frame["subset"]) == set(load_subsets())
    assert set(frame["modality"]) == {"visual", "text", "fused"}
    assert set(frame["method"]) == {"FULL", "PRE", "UNI", "CMCSL", "EF", "LF"}
    assert set(frame["classifier"]) == {"gnb", "lr", "cart"}
    assert set(frame["preprocessing"]) == {"raw", "l2", "std", "l2std", "minmax"}
    assert (frame["n_folds"] == 10).all()
    assert frame["mean"].between(0, 1).all() and (frame["std"] >= 0).all()
    # b_class is missing exactly for the b-independent methods
    no_b = frame["b_class"].isna()
    assert set(frame.loc[no_b, "method"]) == {"FULL", "EF", "LF"}
    assert set(frame.loc[~no_b, "method"]) == {"PRE", "UNI", "CMCSL"}
    assert frame.loc[~no_b, "b_class"].between(1, 20).all()
    assert not frame.duplicated(key).any()


def test_load_published_is_cached_but_returns_copies():
    a = load_published()
    a.loc[:, "mean"] = -1.0
    b = load_published()
    assert (b["mean"] >= 0).all()


def test_curve_shapes():
    full = published_curve("hr", "Visual", "full")
    assert full["b_class"].tolist() == list(range(1, 21))
    assert full["mean"].nunique() == 1 and full["std"].nunique() == 1
    cm = published_curve("HR", "visual", "CMCSL")
    assert cm["b_class"].tolist() == list(range(1, 21)) and cm["mean"].nunique() > 5
    assert list(cm.columns) == ["b_class", "mean", "std"]
    ef = published_curve("HR", "fused", "EF", classifier="lr")
    lf = published_curve("HR", "fused", "LF", classifier="cart")
    assert len(ef) == len(lf) == 20 and ef["mean"].nunique() == 1
    mm = published_curve("HR", "text", "UNI", preprocessing="minmax")
    assert len(mm) == 20 and not np.allclose(mm["mean"], published_curve("HR", "text", "UNI")["mean"])
    raw_lr = published_curve("HR", "visual", "FULL", classifier="lr", preprocessing="raw")
    assert len(raw_lr) == 20  # from the base-classifier experiment


def test_curve_unknown_setting_is_a_clear_error():
    with pytest.raises(CMCSLError, match="no published result for subset custom:Horror\\+Romance"):
        published_curve("custom:Horror+Romance", "visual", "CMCSL")
    with pytest.raises(CMCSLError, match="methods: FULL, PRE, UNI, CMCSL"):
        published_curve("HR", "visual", "CMCSL", classifier="lr", preprocessing="minmax")
    assert published_setting_exists("HR", "visual", "CMCSL")
    assert not published_setting_exists("Horror,Romance", "visual", "CMCSL")


def test_table_wide_shape():
    modalities, methods = ("visual", "text", "fused"), ("FULL", "CMCSL", "EF")
    table = published_table(classifier="cart", modalities=modalities, methods=methods)
    assert list(table.index) == list(load_subsets())
    assert table[("fused", "EF")].notna().all() and table[("visual", "EF")].isna().all()
    assert table[("text", "CMCSL")].notna().all()


# ------------------------------------------------------ against the authors' raw .npy (CI has them)


def test_all_subsets_match_raw_npy(paper):
    table = published_table()
    for tag, modality in (("m1", "visual"), ("m2", "text")):
        arr = np.load(paper / f"experiment_3_{tag}_52.npy")  # SUBSET x METHOD x B x FOLD
        means = arr.mean(axis=(2, 3))
        for i, subset in enumerate(load_subsets()):
            for j, method in enumerate(METHODS):
                assert table.loc[subset, (modality, method)] == pytest.approx(means[i, j], abs=1e-6)
                curve = published_curve(subset, modality, method)
                np.testing.assert_allclose(curve["mean"], arr[i, j].mean(axis=1), atol=6e-7)
                np.testing.assert_allclose(curve["std"], arr[i, j].std(axis=1), atol=6e-7)


def test_fusion_mc_and_preprocessing_match_raw_npy(paper):
    subsets = list(load_subsets())
    ef = np.load(paper / "experiment_3_52_early_fusion_all_clfs.npy")
    lf = np.load(paper / "experiment_3_52_late_fusion_all_clfs.npy")
    mc = np.load(paper / "experiment_3_m2_52_mc.npy")
    more = np.load(paper / "experiment_2_m1_52_more.npy")
    study = np.load(paper / "experiment_2_m2_52.npy")
    base = np.load(paper / "experiment_1_52.npy")
    for i, subset in enumerate(subsets):
        for c, clf in enumerate(("gnb", "lr", "cart")):
            assert published_curve(subset, "fused", "EF", classifier=clf)["mean"].iloc[0] == pytest.approx(
                ef[i, 0, 0, :, c].mean(), abs=6e-7
            )
            assert published_curve(subset, "fused", "LF", classifier=clf)["mean"].mean() == pytest.approx(
                lf[i, 0, :, :, c].mean(), abs=6e-7
            )
            assert published_curve(
                subset, "text", "FULL", classifier=clf, preprocessing="raw", experiment="base_classifiers"
            )["mean"].iloc[0] == pytest.approx(base[i, 1, :, c].mean(), abs=6e-7)
        cart = published_curve(subset, "text", "CMCSL", classifier="cart")
        np.testing.assert_allclose(cart["mean"], mc[i, 3, :, :, 1].mean(axis=1), atol=6e-7)
        minmax = published_curve(subset, "visual", "UNI", preprocessing="minmax")
        np.testing.assert_allclose(minmax["mean"], more[0, i, 2].mean(axis=1), atol=6e-7)
        np.testing.assert_allclose(
            published_curve(subset, "text", "PRE", preprocessing="l2")["mean"], study[1, i, 1].mean(axis=1), atol=6e-7
        )


def test_shipped_csv_is_what_the_script_writes(paper, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_published_results", REPO_ROOT / "data" / "make_published_results.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    out = tmp_path / "published.csv"
    assert module.main(["--paper", str(paper), "--out", str(out)]) == 0
    assert out.read_text() == PUBLISHED_CSV.read_text()
