"""Save a screenshot of every page of the running app to docs/screenshots/ (for the README).

    python scripts/screenshots.py [--out docs/screenshots] [--only NAME ...]

Starts ``streamlit run app.py`` on a free port and drives Debian's chromium (playwright).
``home_table``, ``clusters_table`` and ``review_table`` show a table of one's own (the test
suite's: crops of scikit-learn's sample photos and drawings, :mod:`tests.helpers_own_table`),
loaded by the ``table`` source as it is, with the real encoders and the thumbnails the
encoding pipeline makes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_helpers import browser_page, headless_chromium, running_app, wait_for_charts, wait_idle  # noqa: E402

PAGES = [
    ("", 1, "home"),
    ("Clusters", 0, "clusters"),  # the linked views (waited for below; the confusion matrix is folded)
    ("BAC_curves", 1, "curves"),
    ("BAC_curves?source=mvsa-builtin", 1, "fusion"),  # the Fusion section on the real MVSA-Single tweets
    ("How_CMCSL_works", 2, "how"),
    ("Review?source=mvsa-builtin", 0, "review"),  # the review card with the tweets' images and texts
    ("?source=mvsa-builtin", 1, "home_mvsa"),  # the built-in real tweets: pictures, texts, human labels
    ("Clusters?source=mvsa-builtin&b=3", 0, "clusters_mvsa"),
    ("How_CMCSL_works?source=mvsa-builtin", 2, "how_mvsa"),
]


def precompute_umap(source: str) -> None:
    """Compute (or find cached) the UMAP views of ``source`` with the default preprocessing, so the
    Clusters screenshots show UMAP, not the PCA views shown while UMAP runs in the background."""
    from cmcsl_core.constants import DEFAULT_PREPROCESSING, UMAP_SEED
    from cmcsl_core.datasets.sources import SourceSpec
    from cmcsl_core.method.preprocessing import preprocess_features
    from cmcsl_core.views.embedding import cached_umap, umap_2d, umap_key

    fs = SourceSpec.create(source).load()
    for X in preprocess_features(fs.X, DEFAULT_PREPROCESSING):
        if cached_umap(umap_key(X, UMAP_SEED)) is None:
            umap_2d(X, UMAP_SEED)


TABLE_PAGES = [("", 1, "home_table"), ("Clusters", 0, "clusters_table"), ("Review", 0, "review_table")]


def own_table_query(folder: Path) -> str:
    """The query that loads the test suite's own table as it is (``source=table``, its column names, the
    real encoders: the encoding pipeline makes the thumbnails; its broken rows are listed as skipped)."""
    from urllib.parse import urlencode

    from tests.helpers_own_table import COLS_PARAM, make_own_table

    table = make_own_table(folder / "my tweets")
    return "?" + urlencode({"source": "table", "path": str(table), "cols": COLS_PARAM, "b": "2"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", nargs="*", help="only these screenshots (e.g. fusion)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.only or "clusters_mvsa" in args.only:
        precompute_umap("mvsa-builtin")
    with running_app(out / "streamlit.log") as url, headless_chromium() as browser, browser_page(
        browser, 1440, 1250, 120_000
    ) as page:
        for path, charts, name in PAGES:
            if args.only and name not in args.only:
                continue
            page.goto(f"{url}/{path}")
            wait_for_charts(page, charts, 120_000)
            wait_idle(page, 120_000)
            if name.startswith("clusters"):  # the linked views are a component, not a Plotly chart
                from tests.browser_helpers import wait_for_views

                frame = wait_for_views(page, 120_000)
                if name == "clusters":  # open an item in the side panel (a click on a point standing apart)
                    from cmcsl_studio_ui.scatter.browser import click_item, isolated_item

                    click_item(page, frame, 0, isolated_item(frame, 0))
                    page.locator(".st-key-item_panel").wait_for(timeout=60_000)
                    wait_idle(page)
            if name.startswith("how"):  # show the last step, the resolution
                for _ in range(3):
                    page.get_by_role("button", name="Next").click()
                    wait_idle(page)
            if name == "review":  # no chart to wait for: wait for the review card
                page.get_by_text("in the queue").first.wait_for(timeout=120_000)
                wait_idle(page, 120_000)
            if name == "fusion":  # scroll to the late-fusion study
                page.get_by_text("Fusion weights").scroll_into_view_if_needed()
                wait_idle(page, 120_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / f"{name}.png"))
            print(f"wrote {out / f'{name}.png'}")
        table_names = [n for _, _, n in TABLE_PAGES if not args.only or n in args.only]
        if table_names:
            import tempfile

            from tests.browser_helpers import wait_for_views

            with tempfile.TemporaryDirectory() as tmp:
                query = own_table_query(Path(tmp))
                for path, charts, name in TABLE_PAGES:
                    if name not in table_names:
                        continue
                    page.goto(f"{url}/{path}{query}")
                    wait_for_charts(page, charts, 120_000)
                    wait_idle(page, 120_000)
                    if name == "clusters_table":  # a clicked point in the side panel, with more like it
                        from cmcsl_studio_ui.scatter.browser import click_item, isolated_item

                        frame = wait_for_views(page, 120_000)
                        click_item(page, frame, 0, isolated_item(frame, 0))
                        panel = page.locator(".st-key-item_panel")
                        panel.wait_for(timeout=60_000)
                        wait_idle(page)
                        panel.get_by_text("More like this").click()
                        wait_idle(page)
                        page.locator(".st-key-item_panel").scroll_into_view_if_needed()
                    if name == "review_table":
                        page.locator(".st-key-review_card").wait_for(timeout=120_000)
                        wait_idle(page, 120_000)
                    page.wait_for_timeout(1500)
                    page.screenshot(path=str(out / f"{name}.png"))
                    print(f"wrote {out / f'{name}.png'}")
    (out / "streamlit.log").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
