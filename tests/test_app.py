"""The dashboard under Streamlit's AppTest: every page runs on the demo data, state, URL, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cmcsl_core.cli import main as cli_main
from cmcsl_core.evaluation.curve import run_curve
from cmcsl_core.datasets.features import load_features
from cmcsl_studio_ui.curves import CurveArgs, cli_command, curve_csv
from cmcsl_studio_ui.seeding import selected_items
from cmcsl_studio_ui.state import Settings, settings_from_params, settings_to_params

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "app.py": 1,  # class counts
    "pages/1_Clusters.py": 3,  # two views + confusion matrix
    "pages/2_BAC_curves.py": 1,
    "pages/3_How_CMCSL_works.py": 2,
}
TIMEOUT = 180


@pytest.fixture(autouse=True)
def _no_background_umap(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest runs pages in this process; keep UMAP workers out of it (the demo HR views are shipped)."""
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")


def run_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at


def plotly_charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_on_the_demo_and_draws_its_charts(page: str) -> None:
    at = run_page(page)
    assert_clean(at)
    assert len(plotly_charts(at)) >= PAGES[page]
    # the shared sidebar is on every page
    assert at.sidebar.selectbox(key="w_source").value == "demo"
    assert [b.label for b in at.sidebar.button] == ["Randomize seeds"]


def test_clusters_page_shows_umap_views_metrics_and_the_cli_line() -> None:
    at = run_page("pages/1_Clusters.py")
    assert_clean(at)
    titles = [c.proto.spec for c in plotly_charts(at)[:2]]
    assert all("UMAP" in spec for spec in titles), "the demo HR ships precomputed UMAP views"
    labels = [m.label for m in at.metric]
    assert {"UNI accuracy · visual", "UNI accuracy · text", "CMCSL accuracy", "Disagreement rate"} <= set(labels)
    code = "\n".join(c.value for c in at.code)
    assert "python -m cmcsl_core label --features demo_HR.npz --b-class 5 --seed 0 --preprocessing l2std" in code


def test_url_parameters_restore_the_view_and_are_written_back() -> None:
    at = run_page("pages/1_Clusters.py", seed="7", b="3", pre="l2", clf="lr", subset="DS")
    assert_clean(at)
    sb = at.sidebar
    assert sb.number_input(key="w_seed").value == 7
    assert sb.number_input(key="w_b_class").value == 3
    assert sb.selectbox(key="w_preprocessing").value == "l2"
    assert sb.selectbox(key="w_subset_choice").value == "DS"
    assert at.query_params["seed"] == "7" and at.query_params["subset"] == "DS"
    # 3 seeds per class in the DS subset's 2 classes
    assert len(at.text_input(key="seed_text").value.split(",")) == 6


def test_randomize_seeds_changes_the_seeds_and_the_url() -> None:
    at = run_page("pages/1_Clusters.py")
    before = at.text_input(key="seed_text").value
    at.sidebar.button[0].click().run()
    assert_clean(at)
    seed = at.sidebar.number_input(key="w_seed").value
    assert seed != 0 or at.text_input(key="seed_text").value != before
    assert at.query_params.get("seed") == str(seed)
    assert at.text_input(key="seed_text").value != before


def test_hand_picked_seeds_from_the_url_and_from_the_seed_list() -> None:
    at = run_page("pages/1_Clusters.py", seeds="1,2,3000")
    assert_clean(at)
    assert at.text_input(key="seed_text").value == "1,2,3000"
    assert any("3 hand-picked seeds" in c.value for c in at.caption)
    at.text_input(key="seed_text").set_value("5, 6,7,4000").run()
    assert_clean(at)
    assert at.query_params["seeds"] == "5,6,7,4000"
    assert "--seeds 5,6,7,4000" in "\n".join(c.value for c in at.code)
    back = [b for b in at.button if b.label == "Back to random seeds"]
    back[0].click().run()
    assert "seeds" not in at.query_params


def test_a_bad_seed_list_is_an_error_message_not_a_traceback() -> None:
    at = run_page("pages/1_Clusters.py")
    at.text_input(key="seed_text").set_value("1,2,999999").run()
    assert not at.exception
    assert any("out of range" in e.value for e in at.error)


ALL_PAGES = tuple(PAGES)
SEED_PAGES = ("pages/1_Clusters.py", "pages/3_How_CMCSL_works.py")


@pytest.mark.parametrize(
    "params, message, pages",
    [
        ({"subset": "Horror,Nonsense"}, "unknown genre", ALL_PAGES),
        ({"subset": "ACCDDHMRS", "b": "100"}, "larger than class", SEED_PAGES),
        ({"source": "file"}, "feature file", ALL_PAGES),
        ({"source": "file", "path": "/nonexistent/f.npz"}, "does not exist", ("app.py",)),
        ({"source": "hdf5"}, "needs a path", ("pages/2_BAC_curves.py",)),
    ],
)
def test_user_mistakes_are_shown_with_st_error(params: dict[str, str], message: str, pages: tuple[str, ...]) -> None:
    for page in pages:
        at = run_page(page, **params)
        assert not at.exception, [e.value for e in at.exception]
        assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_an_uploaded_or_local_feature_file_is_used(tmp_path: Path) -> None:
    out = tmp_path / "hr.npz"
    assert cli_main(["export", "--source", "demo", "--subset", "HR", "--out", str(out)]) == 0
    at = run_page("pages/1_Clusters.py", source="file", path=str(out))
    assert_clean(at)
    assert len(plotly_charts(at)) >= 3
    assert f"--features {out}" in "\n".join(c.value for c in at.code)


def test_how_page_steps_through_the_algorithm() -> None:
    at = run_page("pages/3_How_CMCSL_works.py")
    assert_clean(at)
    texts = []
    for _ in range(3):
        next_button = [b for b in at.button if b.label == "Next"][0]
        next_button.click().run()
        assert_clean(at)
        texts.append(at.info[0].value)
    assert "closer to its nearest seed" in texts[-1]
    assert len(at.dataframe) >= 1  # the resolved disagreements


def test_sessions_do_not_share_seeds() -> None:
    a = run_page("pages/1_Clusters.py")
    b = run_page("pages/1_Clusters.py")
    a.text_input(key="seed_text").set_value("10,20,30").run()
    b.run()
    assert a.text_input(key="seed_text").value == "10,20,30"
    assert b.text_input(key="seed_text").value != "10,20,30"
    assert "seeds" not in b.query_params


def test_curve_csv_is_what_the_cli_writes(tmp_path: Path) -> None:
    features = tmp_path / "F.npz"
    assert cli_main(["export", "--source", "demo", "--subset", "HR", "--out", str(features)]) == 0
    args = CurveArgs(("PRE", "UNI", "CMCSL"), "gnb", "l2std", 1, 2, 1, 1410, "pseudo")
    frame = run_curve(
        load_features(features), args.methods, args.classifier, args.preprocessing, range(1, 3), 1, 1410, "pseudo"
    ).frame
    out = tmp_path / "curve.csv"
    data = type("D", (), {"features_arg": str(features)})()
    argv = cli_command(data, args).split()[3:]  # drop "python -m cmcsl_core"
    argv[argv.index("--out") + 1] = str(out)
    assert cli_main([*argv, "--no-progress"]) == 0
    assert curve_csv(frame) == out.read_bytes()


def test_curves_page_offers_downloads_and_the_paper_overlay() -> None:
    at = run_page("pages/2_BAC_curves.py")
    assert_clean(at)
    spec = plotly_charts(at)[0].proto.spec
    assert "CMCSL (paper)" in spec and "PRE" in spec
    assert len(at.get("download_button")) == 3
    assert len(at.tabs) == 2  # statistics per modality


def test_selected_items_reads_customdata_of_every_trace() -> None:
    state = {
        "selection": {
            "points": [
                {"curve_number": 0, "customdata": 5},
                {"curve_number": 1, "customdata": [9]},
                {"curve_number": 2, "customdata": 5},
                {"curve_number": 3},
            ]
        }
    }
    assert selected_items(state) == [5, 9]
    assert selected_items(None) == []


def test_settings_round_trip_through_query_parameters() -> None:
    s = Settings(source="hdf5", path="/d/x.hdf5", subset="Horror,Romance", preprocessing="std", b_class=4, seed=9)
    params = settings_to_params(s, [3, 1])
    assert params["seeds"] == "3,1" and "clf" not in params  # defaults stay out of the URL
    back, seeds = settings_from_params(params)
    assert back == s and seeds == [1, 3]
    junk, _ = settings_from_params({"pre": "bogus", "b": "x", "seed": "-4", "source": "ftp"})
    assert junk == Settings(seed=0)


def test_label_csv_download_matches_labeling() -> None:
    # the Clusters page labels from the cached preprocessed arrays; that must equal `label` (propagate)
    from cmcsl_core.method.labeling import cross_modal_labels, propagate
    from cmcsl_core.method.preprocessing import preprocess_features
    from cmcsl_core.method.seeds import draw_seeds
    from cmcsl_core.datasets.sources import load_source

    fs = load_source("demo", "HR")
    seeds = draw_seeds(fs.y, 5, 0, class_names=fs.class_names)
    a = propagate(fs, seeds, "l2std")
    b = cross_modal_labels(preprocess_features(fs.X, "l2std"), seeds, fs.y[seeds], fs.modality_names)
    assert np.array_equal(a.final_labels, b.final_labels)
    assert np.array_equal(a.distances, b.distances)


def test_raw_archive_source_takes_the_resnet_weights_from_the_sidebar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_extract import make_archive

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no ImageNet weights there
    folder = make_archive(tmp_path / "data")
    # default weights: the clear offline message, no traceback
    at = run_page("app.py", source="raw", path=str(folder))
    assert not at.exception
    assert at.error and "not available offline" in at.error[0].value
    # weights "none" (random init) load the archive; the export line carries the weights
    at = run_page("app.py", source="raw", path=str(folder), weights="none")
    assert_clean(at)
    assert at.sidebar.text_input(key="w_weights").value == "none"
    assert any(m.value == "7" for m in at.metric)
    assert "--weights none" in at.code[0].value
    assert at.query_params["weights"] == "none"
