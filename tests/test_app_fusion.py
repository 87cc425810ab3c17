"""The BAC curves page's late-fusion parts under AppTest: fused lines (LF-*, CMCSL-*) and the
"Fusion" section (the late-fusion paper's protocol), whose table must equal what the command line
it shows writes through the CLI (the CSV download itself: tests/test_browser_downloads.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_app import (  # noqa: F401  (no_background_umap: a fixture)
    CURVES,
    assert_clean,
    no_background_umap,
    parse_shown,
    plotly_charts,
    run_page,
    run_shown,
    shown_command,
)

from cmcsl_core.evaluation.fusion_study import PUBLISHED_FUSION, FusionStudyConfig

pytestmark = pytest.mark.usefixtures("no_background_umap")


def _set_fusion(at, repeats: int = 2, classifier: str = "gnb") -> None:
    at.number_input(key="fusion_repeats").set_value(repeats)
    at.selectbox(key="fusion_classifier").set_value(classifier)


def _frame_with(at, column: str) -> pd.DataFrame:
    frames = [df.value for df in at.dataframe if column in df.value.columns]
    assert len(frames) == 1, column
    return frames[0]


def _chart_names(at) -> set[str]:
    spec = json.loads(plotly_charts(at)[0].proto.spec)
    return {t.get("name") for t in spec["data"] if t.get("name")}


def test_fused_methods_are_drawn_as_lines_and_compared_in_a_fused_tab() -> None:
    at = run_page(CURVES, subset="DS")
    at.slider(key="curve_b").set_value((1, 3))
    at.number_input(key="curve_repeats").set_value(1)
    at.multiselect(key="curve_methods").set_value(["PRE", "CMCSL", "LF-MLA", "LF-DRA", "CMCSL-MLA", "CMCSL-DRA"])
    _set_fusion(at, repeats=1)
    at.run()
    assert_clean(at)
    names = _chart_names(at)
    assert {"PRE", "CMCSL", "LF-MLA", "LF-DRA", "CMCSL-MLA", "CMCSL-DRA"} <= names
    spec = json.loads(plotly_charts(at)[0].proto.spec)
    cmcsl_mla = [t for t in spec["data"] if t.get("name") == "CMCSL-MLA"]
    assert len(cmcsl_mla) == 2  # drawn in both modality panels
    assert all("(fused)" in t["hovertemplate"] and t["line"]["dash"] == "dashdot" for t in cmcsl_mla)
    assert [t.label for t in at.tabs][-1] == "fused"
    # the fused tab's F-test compares each CMCSL fusion with the late fusion by the same rule
    pairs = {
        (a, b)
        for df in at.dataframe
        if {"a", "b"} <= set(df.value.columns)
        for a, b in zip(df.value["a"], df.value["b"])
    }
    assert ("CMCSL-MLA", "LF-MLA") in pairs and ("CMCSL-DRA", "LF-DRA") in pairs


def test_fusion_section_csv_and_command_line_agree_with_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(CURVES, subset="DS")
    at.number_input(key="curve_repeats").set_value(1)
    at.slider(key="curve_b").set_value((1, 2))
    _set_fusion(at, repeats=2)
    at.selectbox(key="fusion_alpha").set_value("prior")
    at.run()
    assert_clean(at)
    line = shown_command(at, "fusion")
    args = parse_shown(line)
    assert (args.repeats, args.classifier, args.alpha, args.split) == (2, "gnb", "prior", "8:1:1")
    expected = FusionStudyConfig(repeats=2, classifier="gnb", alpha="prior").validated()
    assert line == expected.command(args.features, "fusion.csv")
    monkeypatch.chdir(tmp_path)
    run_shown(shown_command(at, "export"))
    run_shown(line)
    # the page offers the CSV (its bytes are compared with the CLI's in tests/test_browser_downloads.py)
    assert [b.proto.label for b in at.get("download_button")].count("Fusion CSV") == 1
    # the table is the CLI file's mean per model, with the paper's numbers beside image/text/DRA/MLA
    table = _frame_with(at, "paper_accuracy")
    cli = pd.read_csv(tmp_path / "fusion.csv").groupby("model", sort=False)[["accuracy", "f1"]].mean()
    assert list(table["model"]) == list(cli.index) == ["visual", "text", "LF-MEAN", "LF-MAX", "LF-DRA", "LF-MLA"]
    for model, row in table.set_index("model").iterrows():
        assert abs(row["accuracy_mean"] - cli.loc[model, "accuracy"]) < 1e-6
        assert abs(row["f1_mean"] - cli.loc[model, "f1"]) < 1e-6
        published = PUBLISHED_FUSION.get({"visual": "image"}.get(str(model), str(model)))
        assert row["paper_accuracy"] == ("–" if published is None else f"{published[0]:.3f}")  # a dash where none
    weights = _frame_with(at, "MLA")
    assert list(weights.index) == ["visual", "text"]
    assert abs(weights["MLA"].sum() - 1.0) < 1e-9  # MLA weights are shares over the modalities
    dra = weights[[c for c in weights.columns if c.startswith("DRA ")]].to_numpy()
    assert dra.shape[1] >= 2 and abs(dra.sum(axis=1) - 1.0).max() < 1e-9  # DRA rows sum to 1 per modality


def test_fusion_section_on_the_built_in_mvsa_tweets() -> None:
    at = run_page(CURVES, source="mvsa-builtin")
    at.number_input(key="curve_repeats").set_value(1)
    at.slider(key="curve_b").set_value((1, 2))
    _set_fusion(at, repeats=1)
    at.run()
    assert_clean(at)
    table = _frame_with(at, "paper_accuracy").set_index("model")
    assert table.loc["image", "paper_accuracy"] == "0.621" and table.loc["LF-MLA", "paper_f1"] == "0.722"
    assert table.loc["LF-MEAN", "paper_f1"] == "–"
    assert 0.33 < table.loc["text", "accuracy_mean"] <= 1.0  # 3 classes: better than chance
    assert any("EfficientNet-Lite0" in c.value for c in at.caption), "the note names our encoders"
    assert "--features" in shown_command(at, "fusion")
