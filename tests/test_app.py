"""The dashboard under Streamlit's AppTest: every page of the multipage app on the demo data.

Pages run as in the browser: ``app.py`` is the main script and the test switches to a page of
``pages/``. The numbers a page shows are compared with what the command lines it shows compute
when run through the CLI (in a temporary folder), and its downloads with the CLI's files
(in headless Chromium: tests/test_browser_downloads.py).
"""

from __future__ import annotations

import html
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_app import (  # noqa: F401  (no_background_umap: a fixture)
    CLUSTERS,
    CURVES,
    HOME,
    HOW,
    ROOT,
    assert_clean,
    code_lines,
    no_background_umap,
    parse_shown,
    plotly_charts,
    run_page,
    run_shown,
    shown_command,
)
from sklearn.metrics import balanced_accuracy_score
from streamlit.testing.v1 import AppTest

from cmcsl_core.cli import curve as curve_cli
from cmcsl_core.cli import main as cli_main
from cmcsl_core.cli import self_label as label_cli
from cmcsl_core.datasets.features import load_features
from cmcsl_core.evaluation.config import CurveConfig
from cmcsl_core.method.request import LabelRequest
from cmcsl_core.tables import label_csv
from cmcsl_studio_ui.scatter import ScatterEvent
from cmcsl_studio_ui.seeding import plan_view_events
from cmcsl_studio_ui.settings import Settings
from cmcsl_studio_ui.url import ignored_params, settings_from_params, settings_to_params

PAGES = {HOME: 1, CLUSTERS: 0, CURVES: 1, HOW: 2}  # plotly charts each page draws at least (Clusters: linked views)
TITLES = {HOME: "CMCSL studio", CLUSTERS: "Clusters", CURVES: "BAC curves", HOW: "How CMCSL works"}
pytestmark = pytest.mark.usefixtures("no_background_umap")


def linked_views(at: AppTest) -> dict:
    """The JSON arguments of the Clusters page's linked views (AppTest does not run the component's frontend)."""
    import json

    (view,) = [e for e in at.get("component_instance") if e.proto.component_name.endswith("cmcsl_linked_scatter")]
    return json.loads(view.proto.json_args)


def view_events(*events: tuple[str, list[int]], nonce: str = "apptest") -> dict:
    """What the linked views' frame (``nonce``) sends back: its not yet acknowledged events, ``seq`` increasing."""
    items = [{"event": kind, "ids": ids, "view": "visual · UMAP", "seq": k} for k, (kind, ids) in enumerate(events, 1)]
    return {"nonce": nonce, "seq": len(items), "events": items}



# ---------------------------------------------------------------- every page


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_on_the_demo_with_the_shared_frame(page: str) -> None:
    at = run_page(page)
    assert_clean(at)
    assert at.title[0].value == TITLES[page]
    assert len(plotly_charts(at)) >= PAGES[page]
    # the shared sidebar and the navigation are on every page
    assert at.sidebar.selectbox(key="w_source").value == "demo"
    # the seed widgets: in the sidebar, except on the Clusters page (in its panel, which a seed change reruns alone)
    randomize = at.button(key="randomize_seeds")
    assert randomize.label == "Randomize seeds"
    assert [b.label for b in at.sidebar.button] == ([] if page == CLUSTERS else ["Randomize seeds"])
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    assert links == ["Home", "Clusters", "BAC curves", "How CMCSL works", "Review", "Teacher"]


def test_the_navigation_lists_every_page_script_once() -> None:
    """A script in pages/ missing from page.PAGES would have no link in the sidebar's navigation."""
    from cmcsl_studio_ui.page import PAGES as NAV

    assert sorted(p.script for p in NAV) == sorted(
        ["app.py", *(f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py"))]
    )
    assert len({p.title for p in NAV}) == len(NAV)


def test_the_server_runs_blas_on_one_thread() -> None:
    """OpenBLAS's spinning worker threads tripled the server's CPU per seed change (see page.one_blas_thread).

    In a fresh process (as ``streamlit run`` starts) with a two-thread BLAS: after a page has
    run, BLAS uses one thread. A subprocess, because threadpoolctl lets only the first thread
    that limits OpenBLAS change it while that thread lives (here: pytest's main thread).
    """
    code = """
import json, sys
sys.path.insert(0, "tests")
from threadpoolctl import threadpool_info
from helpers_app import CLUSTERS, assert_clean, run_page
blas = lambda: sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
before = blas()
assert_clean(run_page(CLUSTERS))
print(json.dumps([before, blas()]))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "CMCSL_NO_BACKGROUND_UMAP": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[2], [1]]


@pytest.mark.parametrize("page", list(PAGES))
def test_url_parameters_set_the_sidebar_on_every_page_and_stay_in_the_url(page: str) -> None:
    # (a whole LR curve is slow on 2 cores: the curves page keeps GNB)
    params = {"subset": "DS", "b": "3", "seed": "7", "pre": "l2", "clf": "gnb" if page == CURVES else "lr"}
    at = run_page(page, **params)
    assert_clean(at)
    sb = at.sidebar
    assert sb.selectbox(key="w_subset_choice").value == "DS"
    assert at.number_input(key="w_b_class").value == 3
    assert at.number_input(key="w_seed").value == 7
    assert sb.selectbox(key="w_preprocessing").value == "l2"
    assert sb.selectbox(key="w_classifier").value == params["clf"]
    params.pop("clf") if page == CURVES else None  # the default stays out of the URL
    assert {k: at.query_params[k] for k in params} == params


def test_switching_pages_keeps_the_sidebar_settings_and_hand_picked_seeds() -> None:
    at = run_page(HOW, subset="DS", b="3", pre="l2")
    at.sidebar.number_input(key="w_seed").set_value(11).run()
    at.switch_page(CLUSTERS).run()
    assert_clean(at)
    assert at.title[0].value == "Clusters"
    sb = at.sidebar
    assert (sb.selectbox(key="w_subset_choice").value, at.number_input(key="w_b_class").value) == ("DS", 3)
    assert (sb.selectbox(key="w_preprocessing").value, at.number_input(key="w_seed").value) == ("l2", 11)
    at.text_input(key="seed_text").set_value("4,5,2000").run()
    at.switch_page(HOME).run()
    assert "--seeds 4,5,2000 --preprocessing l2" in shown_command(at, "label")
    assert at.query_params["seeds"] == "4,5,2000" and at.query_params["seed"] == "11"


# ---------------------------------------------------------------- numbers = the CLI's numbers


def _label_frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False)


def _expected_metrics(frame: pd.DataFrame, modalities: tuple[str, ...]) -> dict[str, str]:
    """What the Clusters page must show, computed from the CLI's labels.csv (non-seed items)."""
    scored = frame[~frame["is_seed"]]
    out = {
        f"UNI accuracy · {m}": f"{np.mean(scored[f'label_{m}'] == scored['true_label']):.1%}" for m in modalities
    }
    out["CMCSL accuracy"] = f"{np.mean(scored['final_label'] == scored['true_label']):.1%}"
    out["Disagreement rate"] = f"{np.mean(scored['disagree']):.1%}"
    return out


@pytest.mark.parametrize(
    "params",
    [{}, {"subset": "DS", "b": "3", "seed": "7", "pre": "l2"}, {"seeds": "1,2,3000,3001"}],
    ids=["defaults", "DS-b3-seed7-l2", "hand-picked"],
)
def test_clusters_numbers_and_download_are_what_the_shown_command_lines_compute(
    params: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(CLUSTERS, **params)
    assert_clean(at)
    monkeypatch.chdir(tmp_path)
    export, label = code_lines(at)
    assert export.startswith("python -m cmcsl_core export ") and label.startswith("python -m cmcsl_core label ")
    run_shown(export)
    run_shown(label)
    out = tmp_path / "labels.csv"
    frame = _label_frame(out)
    fs = load_features(tmp_path / shlex.split(label)[shlex.split(label).index("--features") + 1])

    shown = {m.label: m.value for m in at.metric}
    expected = _expected_metrics(frame, fs.modality_names)
    assert {k: shown[k] for k in expected} == expected
    scored = frame[~frame["is_seed"]]
    bac = balanced_accuracy_score(scored["true_label"], scored["final_label"])
    cmcsl = next(m for m in at.metric if m.label == "CMCSL accuracy")
    assert f"BAC {bac:.3f}" in cmcsl.proto.help
    assert at.text_input(key="seed_text").value == ",".join(map(str, np.flatnonzero(frame["is_seed"])))

    # the page offers the labels file (its bytes are compared with the CLI's in tests/test_browser_downloads.py);
    # the CLI's file is label_csv of the same request
    assert [b.proto.label for b in at.get("download_button")].count("Download labels.csv") == 1
    settings, seeds = settings_from_params(params)
    request = LabelRequest(
        preprocessing=settings.preprocessing,
        b_class=None if seeds else settings.b_class,
        seed=settings.seed,
        seeds=tuple(seeds) if seeds else None,
    )
    assert out.read_bytes() == label_csv(fs, request.run(fs))
    # the line shown parses back to the request of the page's settings
    assert label_cli.request_from_args(parse_shown(label)) == request.validated()


def test_home_and_how_pages_show_the_same_numbers_as_the_clusters_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"subset": "DS", "b": "2", "seed": "3"}
    clusters = run_page(CLUSTERS, **params)
    home = run_page(HOME, **params)
    assert_clean(home)
    # the home page's label line is the Clusters page's
    assert shown_command(home, "label") == shown_command(clusters, "label")
    # the How page's last step states the Clusters page's accuracies
    how = run_page(HOW, **params)
    for _ in range(3):
        next(b for b in how.button if b.label == "Next").click().run()
    assert_clean(how)
    shown = {m.label: m.value for m in clusters.metric}
    assert f"CMCSL {shown['CMCSL accuracy']}" in how.info[0].value
    assert f"visual {shown['UNI accuracy · visual']}" in how.info[0].value


def test_curve_page_download_and_command_line_agree_with_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(CURVES, subset="DS")
    at.slider(key="curve_b").set_value((1, 2))
    at.number_input(key="curve_repeats").set_value(1)
    at.multiselect(key="curve_methods").set_value(["PRE", "CMCSL", "LF"])
    at.run()
    assert_clean(at)
    monkeypatch.chdir(tmp_path)
    export = shown_command(at, "export")
    curve = shown_command(at, "curve")
    expected = CurveConfig(methods=("PRE", "CMCSL", "LF"), b_values=(1, 2), repeats=1, label_quality=True).validated()
    assert curve_cli.config_from_args(parse_shown(curve)) == expected
    run_shown(export)
    run_shown(curve)
    # the page offers the CSV (its bytes are compared with the CLI's in tests/test_browser_downloads.py)
    assert [b.proto.label for b in at.get("download_button")].count("Long-format CSV") == 1
    # the mean table is the CLI file's mean per method and modality
    frame = pd.read_csv(tmp_path / "curve.csv")
    means = frame.groupby(["method", "modality"])["bac"].mean()
    table = at.dataframe[0].value  # the mean table comes first
    for (method, modality), value in means.items():
        assert abs(float(table.loc[modality, method]) - value) < 1e-6  # the CSV keeps 6 decimals


def test_curves_page_offers_downloads_and_the_paper_overlay() -> None:
    at = run_page(CURVES)
    assert_clean(at)
    spec = plotly_charts(at)[0].proto.spec
    assert "CMCSL (paper)" in spec and "PRE" in spec
    assert len(at.get("download_button")) == 4  # curve CSV, PNG, SVG, and the Fusion section's CSV
    assert len(at.tabs) == 2  # statistics per modality


# ---------------------------------------------------------------- state and URL


def test_clusters_page_shows_umap_views() -> None:
    at = run_page(CLUSTERS)
    assert_clean(at)
    args = linked_views(at)
    assert args["view_names"] == ["visual · UMAP", "text · UMAP"], "the demo HR ships precomputed UMAP views"
    assert args["n"] == 5443 and "points_fingerprint" in args  # the coordinates ride along on the first render


def test_confusion_matrix_is_drawn_only_while_its_expander_is_open() -> None:
    at = run_page(CLUSTERS)
    assert plotly_charts(at) == [] and at.session_state["confusion_open"] is False
    at.session_state["confusion_open"] = True
    at.run()
    assert_clean(at)
    (chart,) = plotly_charts(at)
    spec = json.loads(chart.proto.spec)
    assert spec["data"][0]["type"] == "heatmap"
    assert spec["data"][0]["x"] == spec["data"][0]["y"]  # classes on both axes
    assert all("%" in t for row in spec["data"][0]["text"] for t in row)  # counts and row percentages
    at.toggle(key="cm_norm").set_value(False).run()
    text = json.loads(plotly_charts(at)[0].proto.spec)["data"][0]["text"]
    assert all(t.isdigit() for row in text for t in row)  # the counts alone


def test_randomize_seeds_changes_the_seeds_and_the_url() -> None:
    at = run_page(CLUSTERS)
    before = at.text_input(key="seed_text").value
    at.button(key="randomize_seeds").click().run()
    assert_clean(at)
    seed = at.number_input(key="w_seed").value
    assert at.query_params.get("seed") == str(seed)
    assert at.text_input(key="seed_text").value != before


def test_hand_picked_seeds_from_the_url_and_from_the_seed_list() -> None:
    at = run_page(CLUSTERS, seeds="1,2,3000")
    assert_clean(at)
    assert at.text_input(key="seed_text").value == "1,2,3000"
    assert any("3 hand-picked seeds" in c.value for c in at.caption)
    at.text_input(key="seed_text").set_value("5, 6,7,4000").run()
    assert_clean(at)
    assert at.query_params["seeds"] == "5,6,7,4000"
    (note,) = [i.value for i in at.info if i.value.startswith("Seeds changed")]
    assert (
        note.startswith("Seeds changed: added #5 (")
        and "#4000 (" in note
        and "removed #1 (" in note
        and "Now 4 seeds" in note
    )
    assert "--seeds 5,6,7,4000" in shown_command(at, "label")
    back = [b for b in at.button if b.label == "Back to random seeds"]
    back[0].click().run()
    assert "seeds" not in at.query_params
    assert "--b-class 5 --seed 0" in shown_command(at, "label")


def test_hand_picked_seeds_do_not_follow_to_another_data_set() -> None:
    at = run_page(CLUSTERS, seeds="1,2,3000")
    at.sidebar.selectbox(key="w_subset_choice").set_value("DS").run()
    assert_clean(at)
    assert "seeds" not in at.query_params
    assert "--b-class 5" in shown_command(at, "label")


def test_a_click_inspects_by_default_and_seeds_change_only_in_the_seed_modes() -> None:
    at = run_page(CLUSTERS)
    assert at.radio(key="click_action").value == "inspect"
    before = at.text_input(key="seed_text").value.split(",")
    at.session_state["clusters_views"] = view_events(("click", [12]))
    at.run()
    assert_clean(at)
    assert at.text_input(key="seed_text").value.split(",") == before  # inspected, not a seed
    assert [m.split()[0] for m in (html.unescape(m.value) for m in at.markdown) if m.startswith("**#")] == ["**#12"]
    assert "seeds" not in at.query_params and not [i for i in at.info if "Seeds changed" in i.value]
    at.radio(key="click_action").set_value("add").run()
    at.session_state["clusters_views"] = view_events(("click", [12]), ("select", [40, 41]), nonce="add-mode")
    at.run()
    assert_clean(at)
    after = at.text_input(key="seed_text").value.split(",")
    (note,) = [i.value for i in at.info if "Seeds changed" in i.value]
    assert note.startswith("Seeds changed: added #12 (") and "#40" in note and f"Now {len(after)} seeds" in note
    assert set(after) == set(before) | {"12", "40", "41"}
    assert at.query_params["seeds"] == ",".join(after)  # hand-picked seeds go into the URL
    details = [shown for shown in (html.unescape(m.value) for m in at.markdown) if shown.startswith("**#")]
    assert [d.split()[0] for d in details] == ["**#12"]  # the clicked item, in the side panel
    at.run()  # the frame still reports the same events: applied once
    assert at.text_input(key="seed_text").value.split(",") == after
    at.radio(key="click_action").set_value("remove").run()
    at.session_state["clusters_views"] = view_events(("click", [12]), ("select", [40, 41]), nonce="reloaded-frame")
    at.run()
    assert at.text_input(key="seed_text").value.split(",") == before
    assert any(i.value.startswith("Seeds changed: removed #12") for i in at.info)


def test_inspecting_points_shows_their_details() -> None:
    at = run_page(CLUSTERS)
    at.radio(key="click_action").set_value("inspect")
    at.session_state["clusters_views"] = view_events(("select", [12, 40]))
    at.run()
    assert_clean(at)
    assert any(e.proto.label.startswith("Inspected items (2)") for e in at.expander)
    details = [shown for shown in (html.unescape(m.value) for m in at.markdown) if shown.startswith("**#")]
    assert [d.split()[0] for d in details] == ["**#12", "**#40"]
    assert at.text_input(key="seed_text").value.count(",") == 2 * 5 - 1  # seeds unchanged


def test_sessions_do_not_share_seeds() -> None:
    a = run_page(CLUSTERS)
    b = run_page(CLUSTERS)
    a.text_input(key="seed_text").set_value("10,20,30").run()
    b.run()
    assert a.text_input(key="seed_text").value == "10,20,30"
    assert b.text_input(key="seed_text").value != "10,20,30"
    assert "seeds" not in b.query_params


def test_how_page_steps_through_the_algorithm() -> None:
    at = run_page(HOW)
    assert_clean(at)
    texts = []
    for _ in range(3):
        next(b for b in at.button if b.label == "Next").click().run()
        assert_clean(at)
        texts.append(at.info[0].value)
    assert "the Euclidean distance from the item to its nearest seed" in texts[-1] and "not rescaled" in texts[-1]
    assert len(at.dataframe) >= 1  # the resolved disagreements


# ---------------------------------------------------------------- errors


ALL_PAGES = tuple(PAGES)
SEED_PAGES = (CLUSTERS, HOW)


@pytest.mark.parametrize(
    "params, message, pages",
    [
        ({"subset": "Horror,Nonsense"}, "unknown genre", ALL_PAGES),
        ({"subset": "ACCDDHMRS", "b": "100"}, "larger than class", SEED_PAGES),
        ({"source": "file", "path": "/nonexistent/f.npz"}, "does not exist", (HOME,)),
    ],
)
def test_user_mistakes_are_shown_with_st_error(params: dict[str, str], message: str, pages: tuple[str, ...]) -> None:
    for page in pages:
        at = run_page(page, **params)
        assert not at.exception, [e.value for e in at.exception]
        assert any(message in e.value for e in at.error), (page, [e.value for e in at.error])


@pytest.mark.parametrize("source", ["file", "hdf5", "table", "mvsa", "raw", "w4k2"])
def test_no_red_error_before_a_path_was_typed(source: str) -> None:
    for page in ALL_PAGES:
        at = run_page(page, source=source)
        assert_clean(at)
        assert any(i.value.startswith("Type the path of the data") for i in at.info), (page, [i.value for i in at.info])


def test_a_link_with_unknown_or_invalid_values_says_once_what_it_ignored() -> None:
    at = run_page(CLUSTERS, b="abc", source="zzz", pre="l2", zoom="3", q="**x** <img src=y>")
    assert_clean(at)
    (raw,) = [w.value for w in at.warning if w.value.startswith("Ignored in the link")]
    assert "<img" not in raw and "**" not in raw  # what a link holds is shown as text, never rendered
    assert html.unescape(raw).replace("\\", "") == (
        "Ignored in the link: zoom=3 (unknown parameter); q=**x** <img src=y> (unknown parameter); "
        "source=zzz (unknown source; using demo); b=abc (not a whole number; using 5)."
    )
    assert "--b-class 5" in shown_command(at, "label") and "pre" in at.query_params  # the valid value is kept
    at.run()
    assert not [w for w in at.warning if w.value.startswith("Ignored in the link")]  # once
    clean = run_page(HOME, b="3", seed="7")
    assert not [w for w in clean.warning if w.value.startswith("Ignored")]
    assert ignored_params({"b": "0", "seed": "-1", "seeds": "a,b"}) == [
        "b=0 (outside 1..500; using 1)", "seed=-1 (outside 0..2,147,483,647; using 0)",
        "seeds=a,b (not a list of item numbers; using random seeds)",
    ]


def test_a_bad_seed_list_is_an_error_message_not_a_traceback() -> None:
    at = run_page(CLUSTERS)
    at.text_input(key="seed_text").set_value("1,2,999999").run()
    assert not at.exception
    assert any("out of range" in e.value for e in at.error)


def test_an_uploaded_or_local_feature_file_is_used(tmp_path: Path) -> None:
    out = tmp_path / "my hr.npz"
    assert cli_main(["export", "--source", "demo", "--subset", "HR", "--out", str(out)]) == 0
    at = run_page(CLUSTERS, source="file", path=str(out))
    assert_clean(at)
    assert linked_views(at)["n"] == 5443
    assert f"--features '{out}'" in shown_command(at, "label")  # shell-quoted
    assert not any(line.startswith("python -m cmcsl_core export") for line in code_lines(at))


def test_raw_archive_source_takes_the_image_encoder_from_the_sidebar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_sources_raw import make_archive

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no ImageNet ResNet-18 weights there
    folder = make_archive(tmp_path / "data")
    # ResNet-18 without its weights: the clear offline message, no traceback
    at = run_page(HOME, source="raw", path=str(folder), enc="resnet18")
    assert not at.exception
    assert at.error and "offline" in at.error[0].value, [e.value for e in at.error]
    # encoder "none" (random init) loads the archive; the export line carries the encoder
    at = run_page(HOME, source="raw", path=str(folder), enc="none")
    assert_clean(at)
    assert at.sidebar.text_input(key="w_image_encoder").value == "none"
    assert any(m.value == "7" for m in at.metric)
    assert "--image-encoder none" in shown_command(at, "export")
    assert at.query_params["enc"] == "none"


# ---------------------------------------------------------------- pure helpers


def test_view_events_become_seed_edits() -> None:
    def ev(kind: str, *ids: int) -> ScatterEvent:
        return ScatterEvent(kind, ids, "visual", 0)

    edit = plan_view_events([ev("click", 7), ev("select", 1, 2, 3)], "add", [1, 5])
    assert edit.seeds == (1, 2, 3, 5, 7) and edit.focus == 7 and edit.inspect is None
    edit = plan_view_events([ev("select", 1, 9)], "remove", [1, 5])
    assert edit.seeds == (5,) and edit.focus is None
    edit = plan_view_events([ev("select", 1, 5), ev("click", 1)], "remove", [1, 5])  # never no seed at all
    assert edit.refused and edit.seeds == (5,) and edit.focus == 1
    edit = plan_view_events([ev("click", 4), ev("select", 8, 6)], "inspect", [1])
    assert edit.seeds is None and edit.focus == 4 and edit.inspect == (6, 8)
    assert plan_view_events([ev("click", 5)], "add", [5]).seeds is None  # already a seed: unchanged


def test_settings_round_trip_through_query_parameters() -> None:
    s = Settings(source="hdf5", path="/d/x.hdf5", subset="Horror,Romance", preprocessing="std", b_class=4, seed=9)
    params = settings_to_params(s, [3, 1])
    assert params["seeds"] == "3,1" and "clf" not in params  # defaults stay out of the URL
    back, seeds = settings_from_params(params)
    assert back == s and seeds == [1, 3]
    junk, _ = settings_from_params({"pre": "bogus", "b": "x", "seed": "-4", "source": "ftp"})
    assert junk == Settings(seed=0)
