"""Tests of the built-in ``demo`` source (cmcsl_core/sources/demo.py).

The calibration test runs the paper's protocol (GNB, L2STD, 5 x 2 CV, oracle class
weights, b_class = 1..20) on all 20 simulated subsets and checks the published
levels stored in data/demo_calibration.json still hold.
"""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from cmcsl_core.cache import cache_dir
from cmcsl_core.errors import SourceError
from cmcsl_core.evaluation.curve import run_curve
from cmcsl_core.datasets.sources import load_source
from cmcsl_core.datasets.sources.demo import (
    DIMENSIONS,
    GENERATOR_VERSION,
    MODALITY_NAMES,
    ModalityConstants,
    demo_constants,
    load_calibration,
    make_demo,
    simulate,
)
from cmcsl_core.datasets.subsets import DATA_DIR, demo_counts, load_subsets

SUBSETS = list(load_subsets())
CALIBRATION = load_calibration()


def test_calibration_file_covers_every_subset_and_current_generator():
    assert CALIBRATION["generator_version"] == GENERATOR_VERSION
    assert list(CALIBRATION["subsets"]) == SUBSETS
    for name in SUBSETS:
        for m in MODALITY_NAMES:
            entry = CALIBRATION["subsets"][name][m]
            assert 0.0 <= entry["wrong"] <= 0.95
            assert entry["nuisance"] >= 0.0


def _published_means() -> dict[tuple[str, str, str], float]:
    """Mean BAC over b_class of the paper's main comparison (GNB, L2STD) from the shipped CSV."""
    sums: dict[tuple[str, str, str], list[float]] = {}
    with open(DATA_DIR / "published_results.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if (row["experiment"], row["classifier"], row["preprocessing"]) != ("comparison", "gnb", "l2std"):
                continue
            sums.setdefault((row["subset"], row["modality"], row["method"]), []).append(float(row["mean"]))
    return {k: float(np.mean(v)) for k, v in sums.items()}


def test_calibration_targets_are_the_papers_published_levels():
    published = _published_means()
    for name in SUBSETS:
        for m in MODALITY_NAMES:
            target = CALIBRATION["subsets"][name][m]["target"]
            for method in ("FULL", "UNI"):
                assert target[method] == pytest.approx(published[(name, m, method)], abs=6e-4), (name, m, method)
            paper = CALIBRATION["subsets"][name][m]["paper"]
            for method in ("FULL", "PRE", "UNI"):
                assert paper[method] == pytest.approx(published[(name, m, method)], abs=6e-4), (name, m, method)


# Visual subsets where the demo's PRE is not below its UNI although the paper's is (by 0.026-0.039):
# many classes, most items ambiguous; the simulation's nearest-seed labelling suffers more there.
PRE_ABOVE_UNI_KNOWN = {("FMNSSW", "visual"), ("CDFS", "visual"), ("ABHMW", "visual")}


@pytest.mark.parametrize("name", SUBSETS)
def test_demo_reproduces_published_full_pre_and_uni_levels(name):
    """FULL and UNI are calibrated; PRE (GNB on the seeds only) is not, but lands near the paper too."""
    fs = make_demo(name)
    result = run_curve(
        fs, methods=("FULL", "PRE", "UNI"), preprocessing="l2std", b_values=range(1, 21), class_weights="oracle"
    )
    table = result.overall()
    for m in MODALITY_NAMES:
        target = CALIBRATION["subsets"][name][m]["target"]
        paper = CALIBRATION["subsets"][name][m]["paper"]
        full, pre, uni = (float(table.loc[m, k]) for k in ("FULL", "PRE", "UNI"))
        assert abs(full - target["FULL"]) <= 0.03, f"{name} {m}: FULL {full:.3f} vs paper {target['FULL']:.3f}"
        assert abs(uni - target["UNI"]) <= 0.05, f"{name} {m}: UNI {uni:.3f} vs paper {target['UNI']:.3f}"
        assert abs(pre - paper["PRE"]) <= 0.05, f"{name} {m}: PRE {pre:.3f} vs paper {paper['PRE']:.3f}"
        if paper["UNI"] - paper["PRE"] > 0.02 and (name, m) not in PRE_ABOVE_UNI_KNOWN:
            assert pre < uni, f"{name} {m}: PRE {pre:.3f} not below UNI {uni:.3f} (paper {paper['PRE']:.3f} < {paper['UNI']:.3f})"
        # the stored levels were measured on exactly this data: a drift means the generator changed
        stored = CALIBRATION["subsets"][name][m]["demo"]
        assert full == pytest.approx(stored["FULL"], abs=2e-3)
        assert uni == pytest.approx(stored["UNI"], abs=2e-3)
        assert pre == pytest.approx(stored["PRE"], abs=2e-3)


def test_feature_set_shape_scales_and_metadata():
    fs = make_demo("hr")
    sub = load_subsets()["HR"]
    assert fs.modality_names == ("visual", "text")
    assert fs.class_names == sub.genres
    assert tuple(fs.class_counts()) == demo_counts(sub)
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
        prep: run_curve(fs, methods=("UNI", "CMCSL"), preprocessing=prep, b_values=(2, 5, 10), repeats=2).overall()
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


def test_generation_time():
    start = time.perf_counter()
    simulate("ACCDDHMRS")  # the largest subset
    assert time.perf_counter() - start < 6.0
