"""The app's CSV downloads in headless Chromium, byte for byte the CLI's files.

Starts ``streamlit run app.py`` (tests/browser_helpers.py), clicks a page's download button and
takes the file with playwright's ``page.expect_download()``; then runs the command lines the page
shows through the CLI in a temporary folder and compares the bytes: the Clusters page's labels
CSV (made on click), the BAC curves page's long-format CSV and its Fusion CSV.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_app import run_shown

from tests.browser_helpers import browser_page, wait_for_views, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.fixture(scope="module")
def app_url(serve_app) -> str:
    return serve_app(env={"CMCSL_NO_BACKGROUND_UMAP": "1"})


@pytest.fixture()
def page(browser):
    with browser_page(browser, timeout_ms=90_000) as pg:
        yield pg


def assert_clean(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0
    assert pg.locator('[data-testid="stAlertContentError"]').count() == 0


def shown_lines(pg, verb: str) -> list[str]:
    """The ``python -m cmcsl_core VERB ...`` lines in the page's code blocks."""
    texts = pg.locator('[data-testid="stCode"] code').all_text_contents()
    return [
        ln.strip() for t in texts for ln in t.splitlines() if ln.strip().startswith(f"python -m cmcsl_core {verb} ")
    ]


def shown_command(pg, verb: str) -> str:
    lines = sorted(set(shown_lines(pg, verb)))
    assert len(lines) == 1, (verb, lines)
    return lines[0]


def download(pg, key: str, label: str, file_name: str) -> bytes:
    """Click the download button of widget ``key``; the file the browser saves."""
    button = pg.locator(f".st-key-{key}").get_by_role("button", name=label)
    assert button.count() == 1
    with pg.expect_download() as info:
        button.click()
    got = info.value
    assert got.failure() is None, got.failure()
    assert got.suggested_filename == file_name
    return Path(got.path()).read_bytes()


def set_number(pg, name: str, value: int) -> None:
    box = pg.get_by_role("spinbutton", name=name)
    box.fill(str(value))
    box.press("Enter")
    pg.wait_for_function(
        f"() => [...document.querySelectorAll('input[aria-label=\"{name}\"]')].every(e => e.value === '{value}')"
    )
    wait_idle(pg)


def small_curve(pg, url: str) -> None:
    """The BAC curves page on DS with 1 CV repeat, 1 random split and b_class 1..2."""
    pg.goto(f"{url}/BAC_curves?subset=DS")
    wait_idle(pg)
    set_number(pg, "CV repeats", 1)
    set_number(pg, "Random splits", 1)
    lower, upper = pg.locator('.st-key-curve_b input[type="range"]').all()
    assert lower.input_value() == "1"
    upper.focus()
    for _ in range(100):  # the upper end down to 2 with the keyboard
        if upper.input_value() == "2":
            break
        upper.press("ArrowLeft")
    assert upper.input_value() == "2"
    pg.wait_for_function(  # the slider's value reached the server and the page was redrawn with it
        "() => [...document.querySelectorAll('[data-testid=\"stCode\"] code')]"
        ".some(c => c.textContent.includes(' --b-min 1 --b-max 2 --repeats 1 '))",
        timeout=90_000,
    )
    wait_idle(pg, timeout_ms=90_000)
    assert_clean(pg)


def test_clusters_labels_csv_is_the_clis_file(
    app_url: str, page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page.goto(f"{app_url}/Clusters")
    wait_for_views(page)
    wait_idle(page)
    assert_clean(page)
    page.get_by_text("Download the labels and reproduce them on the command line").click()
    page.locator(".st-key-labels_csv").wait_for()  # the folded block is drawn by the rerun its opening starts
    wait_idle(page)
    got = download(page, "labels_csv", "Download labels.csv", "labels.csv")  # made by the server on click
    monkeypatch.chdir(tmp_path)
    run_shown(shown_command(page, "export"))
    run_shown(shown_command(page, "label"))
    assert got == (tmp_path / "labels.csv").read_bytes()


@pytest.mark.parametrize(
    ("key", "label", "filename", "verb", "settings"),
    [
        ("curve_csv", "Long-format CSV", "curve.csv", "curve", " --b-min 1 --b-max 2 --repeats 1 "),
        ("fusion_csv", "Fusion CSV", "fusion.csv", "fusion", " --split 8:1:1 --repeats 1 "),
    ],
)
def test_curves_page_csv_is_the_clis_file(
    app_url: str, page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    key: str, label: str, filename: str, verb: str, settings: str,
) -> None:
    small_curve(page, app_url)
    got = download(page, key, label, filename)
    line = shown_command(page, verb)
    assert settings in line, line
    monkeypatch.chdir(tmp_path)
    run_shown(shown_command(page, "export"))
    run_shown(line)
    assert got == (tmp_path / filename).read_bytes()
