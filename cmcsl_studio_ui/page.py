"""What every page does first: page config, the shared sidebar, the chosen data."""

from __future__ import annotations

import shlex
from pathlib import Path

import streamlit as st

from .data import Dataset, load_data, user_errors
from .state import Settings, sidebar

__all__ = ["start_page", "cli_block"]


def _leave_pages_directory_mode() -> None:
    """Route a session's first run through app.py's ``st.navigation``.

    Streamlit starts in its old "pages/ directory" mode until some run of app.py calls
    ``st.navigation``; a deep link opened first on a fresh server would run the page file
    alone, with the old navigation. Switching the flag and rerunning once fixes that (the
    page URLs are the names that mode infers, so the link stays valid).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # pragma: no cover - a future Streamlit without them
        return
    ctx = get_script_run_ctx()
    if ctx is None or not getattr(PagesManager, "uses_pages_directory", False):
        return
    if Path(str(ctx.pages_manager.main_script_path)).name == "app.py":
        PagesManager.uses_pages_directory = False
        st.rerun()


def start_page(title: str, icon: str = ":material/hub:") -> tuple[Settings, Dataset]:
    """Configure the page, draw the sidebar, load the data (errors shown with st.error, no traceback)."""
    _leave_pages_directory_mode()
    st.set_page_config(page_title=f"{title} · CMCSL studio", page_icon=icon, layout="wide")
    settings = sidebar()
    with user_errors():
        with st.spinner("Loading data…"):
            data = load_data(settings)
    fs = data.fs
    st.sidebar.caption(
        f"{fs.n_items:,} items · {fs.n_classes} classes · "
        + " · ".join(f"{n} {x.shape[1]}-d" for n, x in zip(fs.modality_names, fs.X))
    )
    return settings, data


def cli_block(data: Dataset, command: str) -> None:
    """Show the command lines that reproduce this page's numbers."""
    lines = [data.export_cmd] if data.export_cmd else []
    lines.append(command)
    st.code("\n".join(lines), language="bash", wrap_lines=True)


def quote(text: str) -> str:
    """Shell-quote a path for display."""
    return shlex.quote(text)
