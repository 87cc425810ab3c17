"""The frame every page draws first: page config, navigation, the shared sidebar, the chosen data.

The app uses Streamlit's native multipage layout: ``app.py`` is the home page and every
``pages/N_Name.py`` is a page whose address Streamlit derives from its file name
(``/Clusters``, ``/BAC_curves``, ``/How_CMCSL_works``), so a copied link opens its page even as
the first request to a fresh server. Each page script calls :func:`start_page` once. The
sidebar's navigation is drawn here with ``st.page_link`` (Streamlit's own list is hidden in
``.streamlit/config.toml``) so that the pages carry titles and icons.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import streamlit as st
from threadpoolctl import threadpool_limits

from cmcsl_core.errors import CMCSLError

from .identity import teacher_key
from .loading import Dataset, load_data, waiting_for
from .serving import public_text, report_errors, served_root
from .session import adopt_manual_seeds, link_notice
from .settings import Settings
from .sidebar import sidebar
from .text import md

__all__ = [
    "PageInfo",
    "PAGES",
    "HOME",
    "CLUSTERS",
    "CURVES",
    "HOW",
    "REVIEW",
    "TEACHER",
    "start_page",
    "user_errors",
    "error_text",
    "cli_block",
]


@dataclass(frozen=True)
class PageInfo:
    """One page of the app: its script (relative to app.py), title and icon."""

    script: str
    title: str
    icon: str
    blurb: str


HOME = PageInfo("app.py", "Home", ":material/home:", "What CMCSL is and the chosen data")
CLUSTERS = PageInfo(
    "pages/1_Clusters.py", "Clusters", ":material/scatter_plot:", "Clusters: pick seeds, see the labels"
)
CURVES = PageInfo("pages/2_BAC_curves.py", "BAC curves", ":material/show_chart:", "BAC curves: PRE vs UNI vs CMCSL")
HOW = PageInfo("pages/3_How_CMCSL_works.py", "How CMCSL works", ":material/school:", "How CMCSL works, step by step")
REVIEW = PageInfo(
    "pages/4_Review.py", "Review", ":material/rate_review:", "Review: correct labels where the modalities disagree"
)
TEACHER = PageInfo(
    "pages/5_Teacher.py", "Teacher", ":material/groups:", "Teacher: everyone's labels and their agreement"
)
PAGES: tuple[PageInfo, ...] = (HOME, CLUSTERS, CURVES, HOW, REVIEW, TEACHER)
"""The navigation, in order (a new page: its script in pages/ and one entry here)."""


def error_text(exc: BaseException) -> str:
    """A user mistake's message as a visitor sees it: the server's folders taken out, shown as text."""
    return md(public_text(str(exc)))


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a CMCSLError as ``st.error`` (what is wrong, what to do) and stop the page: no traceback."""
    try:
        yield
    except CMCSLError as exc:
        st.error(error_text(exc), icon=":material/error:")
        st.stop()


@st.cache_resource(show_spinner=False)
def one_blas_thread() -> threadpool_limits:
    """Limit BLAS to one thread for this server process (once; the limiter is returned, not undone).

    The server's matrix products are small (one seed change: 6,865 items x 27 seeds), and
    OpenBLAS's worker threads spin for a while after each one: measured on the Clusters page,
    a "Randomize seeds" click cost the server 0.13 CPU-s with the default pool against 0.034 with
    one thread, and finished sooner. Parallel work (the BAC curves' folds) runs in threads of
    its own, one BLAS thread each (the curve computation in :mod:`cmcsl_core.evaluation.curve`
    limits BLAS the same way while its folds run). It applies to the BLAS libraries loaded when
    it first runs, hence :func:`start_page` calls it after loading the data.

    The limit is set from a short-lived thread of its own: threadpoolctl remembers the thread
    that set OpenBLAS's process-wide limit, and a page's thread carries its visitor's session
    (state, uploads) with it, which would then never be released.
    """
    done: list[threadpool_limits] = []
    setter = threading.Thread(
        target=lambda: done.append(threadpool_limits(limits=1, user_api="blas")), name="cmcsl-blas-limit", daemon=True
    )
    setter.start()
    setter.join()
    return done[0]


def page_link(page: PageInfo, label: str | None = None) -> None:
    """A link to ``page`` (its title unless ``label``)."""
    st.page_link(page.script, label=label or page.title, icon=page.icon)


def start_page(page: PageInfo, seeds_in_sidebar: bool = True) -> tuple[Settings, Dataset]:
    """Configure the page, draw the navigation and the sidebar, load the data (errors shown with st.error).

    ``seeds_in_sidebar=False``: the page draws the seed widgets itself (the Clusters page, in its panel).
    """
    st.set_page_config(page_title=f"{page.title} · CMCSL studio", page_icon=page.icon, layout="wide")
    report_errors()
    with user_errors():
        if served_root() is not None:  # a served folder that is not one is said at once, on every page
            teacher_key()  # drawn and written to the server's log on the first page served
    with st.sidebar:
        for p in PAGES:
            page_link(p)
        st.divider()
    settings = sidebar(seeds=seeds_in_sidebar)
    notice = link_notice()
    if notice:
        st.warning(md(notice), icon=":material/link_off:")  # the link's values as typed: escaped
    waiting = waiting_for(settings)
    if waiting:  # nothing is wrong yet: say what to give, no red error
        st.info(waiting, icon=":material/folder_open:")
        st.stop()
    with user_errors():
        with st.spinner("Loading data…"):
            data = load_data(settings)
    one_blas_thread()  # after loading: the BLAS libraries the pages use (NumPy's, SciPy's) are loaded by now
    adopt_manual_seeds(data.key)
    fs = data.fs
    st.sidebar.caption(
        f"{fs.n_items:,} items · {fs.n_classes} classes · "
        + " · ".join(f"{md(n)} {x.shape[1]}-d" for n, x in zip(fs.modality_names, fs.X))
    )
    return settings, data


def cli_block(data: Dataset, *commands: str) -> None:
    """Show the command lines that reproduce this page's numbers (the export line first, if needed)."""
    lines = [data.export_command] if data.export_command else []
    st.code("\n".join([*lines, *commands]), language="bash", wrap_lines=True)
