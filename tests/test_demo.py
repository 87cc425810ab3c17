"""Tests of the built-in ``demo`` source (cmcsl_core/datasets/sources/demo.py).

The calibration tests run the paper's protocol (GNB, L2STD, 5 x 2 CV, oracle class
weights, b_class = 1..20) on a handful of simulated subsets and compare the demo's mean
BACs with the paper's published ones (data/published_results.csv). Generation timings
live in benchmarks/bench_demo.py, not here.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from helpers_core import REPO_ROOT

from cmcsl_core.cache import cache_dir
from cmcsl_core.datasets.sources import load_source
from cmcsl_core.datasets.sources.demo import (
    DIMENSIONS,
    MODALITY_NAMES,
    ModalityConstants,
    demo_constants,
    make_demo,
    simulate,
)
from cmcsl_core.errors import SourceError
from cmcsl_core.evaluation.config import CurveConfig
from cmcsl_core.evaluation.curve import run_curve

# The paper's protocol for the main comparison: GNB, L2+STD, 5 x 2 CV, b_class = 1..20, the authors'
# (oracle) class weights. A handful of subsets keeps this affordable in CI: binary ones of different
# sizes and balance, a 3-class and two 6-class subsets (the 9-class one alone takes ~9 s).
CHECKED_SUBSETS = ("HR", "DS", "BW", "FFW", "FMNSSW", "ABFHSS")

# Visual subsets where the demo's PRE is not below its UNI although the paper's is (by 0.026-0.039):
# many classes, most items ambiguous; the simulation's nearest-seed labelling suffers more there.
PRE_ABOVE_UNI_KNOWN = {("FMNSSW", "visual"), ("CDFS", "visual"), ("ABHMW", "visual")}


def _published_means() -> dict[tuple[str, str, str], float]:
    """Mean BAC over b_class of the paper's main comparison (GNB, L2STD), read straight from the CSV.

    Read with the csv module, not with cmcsl_core, so the expected values do not depend on the
    code under test (the CSV itself is checked against the authors' arrays in test_published.py).
    """
    values: dict[tuple[str, str, str], list[float]] = {}
    with open(REPO_ROOT / "data" / "published_results.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if (row["experiment"], row["classifier"], row["preprocessing"]) == ("comparison", "gnb", "l2std"):
                values.setdefault((row["subset"], row["modality"], row["method"]), []).append(float(row["mean"]))
    return {k: float(np.mean(v)) for k, v in values.items()}


PUBLISHED = _published_means()


def test_published_means_are_the_papers_table_v():
    """Paper, Table V (GNB, L2STD), HR visual: FULL 0.791, PRE 0.720, UNI 0.776."""
    for method, value in {"FULL": 0.791, "PRE": 0.720, "UNI": 0.776}.items():
        assert PUBLISHED[("HR", "visual", method)] == pytest.approx(value, abs=5e-4)


PAPER_PROTOCOL = CurveConfig.paper(methods=("FULL", "PRE", "UNI"))


@pytest.fixture(scope="module")
def paper_protocol_levels() -> dict[str, object]:
    """Mean BAC per modality and method of the demo under the paper's protocol, per checked subset."""
    return {
        name: run_curve(make_demo(name), PAPER_PROTOCOL).overall()
        for name in CHECKED_SUBSETS
    }


# How near the paper the demo lands (the README's promise): FULL and UNI are calibrated per subset;
# PRE (GNB on the seeds only) is not, but lands near the paper too.
TOLERANCE = {"FULL": 0.03, "UNI": 0.05, "PRE": 0.05}


@pytest.mark.parametrize("name", CHECKED_SUBSETS)
def test_demo_lands_near_the_published_levels(name, paper_protocol_levels):
    table = paper_protocol_levels[name]
    for m in MODALITY_NAMES:
        demo = {method: float(table.loc[m, method]) for method in TOLERANCE}
        paper = {method: PUBLISHED[(name, m, method)] for method in TOLERANCE}
        for method, tol in TOLERANCE.items():
            assert abs(demo[method] - paper[method]) <= tol, (
                f"{name} {m}: {method} {demo[method]:.3f} vs paper {paper[method]:.3f}"
            )
        if paper["UNI"] - paper["PRE"] > 0.02 and (name, m) not in PRE_ABOVE_UNI_KNOWN:
            assert demo["PRE"] < demo["UNI"], f"{name} {m}: PRE not below UNI: demo {demo}, paper {paper}"


def test_feature_set_shape_scales_and_metadata():
    fs = make_demo("hr")
    assert fs.modality_names == ("visual", "text")
    assert fs.class_names == ("Horror", "Romance")
    assert tuple(fs.class_counts()) == (1721, 3722)  # 80% of Table I's 2151 Horror, 4653 Romance
    visual, text = fs.X
    assert visual.shape == (fs.n_items, DIMENSIONS["visual"]) == (fs.n_items, 512)
    assert text.shape == (fs.n_items, DIMENSIONS["text"]) == (fs.n_items, 384)
    assert visual.dtype == text.dtype == np.float64
    assert visual.min() >= 0.0 and (visual == 0).mean() > 0.01  # ReLU-like activations
    col_scale = visual.std(axis=0)
    assert col_scale.max() / col_scale.min() > 5  # heterogeneous per-feature scales
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-12)
    assert fs.source == "demo"
    assert "Simulated" in fs.description and "not real" in fs.description and "HR" in fs.description
    assert fs.ids[12] == "demo-HR-00012"
    first_horror = fs.titles[int(np.flatnonzero(fs.y == 0)[0])]
    assert first_horror == "Simulated Horror #1"
    assert all(t.startswith("Simulated plot (") for t in fs.texts[:50])
    assert len(set(fs.ids)) == fs.n_items


def test_items_are_shuffled_not_sorted_by_class():
    y = make_demo("DS").y
    assert np.count_nonzero(np.diff(y)) > y.size // 4


def test_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    a = make_demo("FS", use_cache=False)
    assert not list(tmp_path.glob("demo-*.npz"))
    b = make_demo("FS")
    files = list(cache_dir().glob("demo-*.npz"))
    assert len(files) == 1
    c = make_demo("FS")  # from the cache
    for other in (b, c):
        assert np.array_equal(a.y, other.y)
        for xa, xo in zip(a.X, other.X):
            assert np.array_equal(xa, xo)
        assert a.titles == other.titles and a.texts == other.texts


def test_modalities_are_independent_streams():
    """Changing one modality's constants leaves the other modality's features unchanged."""
    base = demo_constants("AM")
    a = simulate("AM", base)
    b = simulate("AM", {**base, "text": ModalityConstants(base["text"].wrong + 0.1, base["text"].nuisance)})
    assert np.array_equal(a["visual"], b["visual"])
    assert not np.array_equal(a["text"], b["text"])


def test_modalities_err_on_partly_different_items():
    arrays = simulate("HMSWW")
    wrong_v = arrays["lean_visual"] > 0.5
    wrong_t = arrays["lean_text"] > 0.5
    both = np.mean(wrong_v & wrong_t)
    assert both > np.mean(wrong_v) * np.mean(wrong_t)  # some items are hard in both ...
    assert both < 0.85 * min(np.mean(wrong_v), np.mean(wrong_t))  # ... but many errors are not shared


def test_preprocessing_changes_cmcsl_as_in_the_paper():
    """The paper's preprocessing study: the modalities' scales decide who wins the nearer-modality rule.

    RAW: text rows are unit vectors, visual ones are large, so text always looks nearer
    and CMCSL = text's UNI labels. L2 alone: now visual always looks nearer (its
    distances shrink more) and CMCSL = visual's UNI labels, which hurts text. L2STD
    puts both on a comparable scale and is the best for visual.
    """
    fs = make_demo("HM")
    tables = {
        prep: run_curve(
            fs, CurveConfig(methods=("UNI", "CMCSL"), preprocessing=prep, b_values=(2, 5, 10), repeats=2)
        ).overall()
        for prep in ("raw", "l2", "l2std")
    }
    raw, l2, l2std = tables["raw"], tables["l2"], tables["l2std"]
    assert raw.loc["text", "CMCSL"] == pytest.approx(raw.loc["text", "UNI"], abs=3e-3)
    assert l2.loc["visual", "CMCSL"] == pytest.approx(l2.loc["visual", "UNI"], abs=3e-3)
    assert l2std.loc["visual", "CMCSL"] - l2.loc["visual", "CMCSL"] > 0.03
    assert l2std.loc["text", "CMCSL"] - l2.loc["text", "CMCSL"] > 0.05
    assert l2std.loc["visual", "CMCSL"] - l2std.loc["visual", "UNI"] > 0.02


def test_custom_subset_is_refused():
    with pytest.raises(SourceError, match="only the paper's subsets"):
        make_demo("Horror,Comedy")


def test_load_source_demo():
    fs = load_source("demo", "BW")
    assert fs.source == "demo" and fs.class_names == ("Biography", "Western")
