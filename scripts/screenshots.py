"""Save a screenshot of every page of the running app to docs/screenshots/ (for the README).

    python scripts/screenshots.py [--out docs/screenshots]

Starts ``streamlit run app.py`` on a free port and drives Debian's chromium (playwright).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_helpers import browser_page, headless_chromium, running_app, wait_for_charts, wait_idle  # noqa: E402

PAGES = [("", 1, "home"), ("Clusters", 3, "clusters"), ("BAC_curves", 1, "curves"), ("How_CMCSL_works", 2, "how")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with running_app(out / "streamlit.log") as url, headless_chromium() as browser, browser_page(
        browser, 1440, 1250, 120_000
    ) as page:
        for path, charts, name in PAGES:
            page.goto(f"{url}/{path}")
            wait_for_charts(page, charts, 120_000)
            wait_idle(page, 120_000)
            if name == "how":  # show the last step, the resolution
                for _ in range(3):
                    page.get_by_role("button", name="Next").click()
                    wait_idle(page)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / f"{name}.png"))
            print(f"wrote {out / f'{name}.png'}")
    (out / "streamlit.log").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
