"""The shared sidebar: data source, subset, preprocessing, classifier and seed widgets.

The session's :class:`~.settings.Settings` are the truth; every widget is a view of one
field. When the app is served (:mod:`.serving`), the data selector offers the built-in data
and the entries under the served folder only (a list, no path field), and uploads are capped.
Its value is loaded from the settings at every run and stored back by its
``on_change`` callback (Streamlit's documented pattern for widgets shared by pages: a
page switch drops widget state, the settings survive).
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from cmcsl_core.datasets.sources import source_info
from cmcsl_core.datasets.subsets import load_subsets
from cmcsl_core.method.labelers.registry import LABELER_INFO, LABELER_NAMES
from cmcsl_core.method.preprocessing import PREPROCESSING_LABELS, PREPROCESSINGS
from cmcsl_core.models.classifiers import CLASSIFIERS

from .serving import offered_paths, serving, upload_limit_mb
from .session import (
    current_settings,
    forget_manual_seeds,
    init_session,
    manual_seed_count,
    randomize_seeds,
    store_upload,
    sync_url,
    update_settings,
)
from .settings import (
    APP_SOURCES,
    CLASSIFIER_LABELS,
    FILE,
    MAX_B_CLASS,
    MAX_SEED,
    MVSA_BUILTIN,
    TABLE_ROLES,
    Settings,
    format_columns,
    option_help,
    parse_columns,
    path_help,
    source_label,
    takes_option,
    takes_path,
    takes_subset,
)

__all__ = ["sidebar", "seed_widgets", "CUSTOM", "CUSTOM_DEFAULT"]

CUSTOM = "Custom genres…"
"""The subset choice that opens a text box for a list of genres."""

CUSTOM_DEFAULT = "Horror,Romance"
"""The genres first offered when "Custom genres…" is chosen."""


def _store(field: str, then: Callable[[], None] | None = None) -> None:
    value = st.session_state[f"w_{field}"]
    if value is None:  # a cleared choice (the served data list)
        value = ""
    update_settings(**{field: value.strip() if isinstance(value, str) else int(value)})
    if then is not None:
        then()


def _bound(field: str, value: Any, then: Callable[[], None] | None = None) -> dict[str, Any]:
    """Widget arguments for the settings field ``field``: its key, loaded with ``value``, stored back on change."""
    key = f"w_{field}"
    st.session_state[key] = value
    return {"key": key, "on_change": _store, "args": (field, then)}


def _store_subset_choice() -> None:
    choice = st.session_state["w_subset_choice"]
    update_settings(subset=CUSTOM_DEFAULT if choice == CUSTOM else choice)


def _store_upload() -> None:
    upload = st.session_state.get("upload")
    st.session_state.pop("upload_refused", None)
    cap = upload_limit_mb()
    if upload is not None and cap is not None and upload.size > cap * (1 << 20):
        st.session_state["upload_refused"] = (
            f"{upload.size / (1 << 20):.1f} MB is more than the {cap} MB this server takes"
        )
        upload = None
    store_upload(None, None) if upload is None else store_upload(upload.name, upload.getvalue())


def _served_sources() -> list[str]:
    """Sources a served app offers: those that need no path, and those with entries in the served folder."""
    return [s for s in APP_SOURCES if not takes_path(s) or offered_paths(s)]


def _served_path_widgets(cfg: Settings, source: str) -> None:
    """The served folder's entries for ``source``: a list to choose from (no free path)."""
    entries = offered_paths(source)
    value = cfg.path if cfg.path in entries else None
    st.selectbox(
        "Data on this server" if source != FILE else "Feature file on this server",
        entries,
        placeholder="choose…" if entries else "none here",
        help="The data the person running this server put in its data folder.",
        **_bound("path", value),
    )


def _upload_widget() -> None:
    cap = upload_limit_mb()
    if cap == 0:
        st.caption("Uploads are off on this server.")
        return
    st.file_uploader(
        "…or upload a feature file", type=["npz"], key="upload", on_change=_store_upload, max_upload_size=cap,
        help=None if cap is None else f"At most {cap} MB. Your file stays in your session only, and goes with it.",
    )
    refused = st.session_state.get("upload_refused")
    if refused:
        st.error(f"Upload refused: {refused}.", icon=":material/error:")


def _subset_widgets(cfg: Settings) -> None:
    paper = list(load_subsets())
    known = next((p for p in paper if p.upper() == cfg.subset.upper()), None)
    st.session_state["w_subset_choice"] = known or CUSTOM
    choice = st.selectbox(
        "Subset",
        [*paper, CUSTOM],
        key="w_subset_choice",
        on_change=_store_subset_choice,
        help=f"The {len(paper)} MM-IMDb subsets of the paper (Table I), or your own list of genres.",
    )
    if choice == CUSTOM:
        st.text_input(
            "Genres (comma separated)",
            **_bound("subset", cfg.subset if known is None else CUSTOM_DEFAULT),
            help="A movie belongs when exactly one of these genres is among its genres.",
        )


def _data_widgets(cfg: Settings) -> None:
    st.subheader("Data")
    sources = _served_sources() if serving() else list(APP_SOURCES)
    if cfg.source not in sources and cfg.source in APP_SOURCES:  # a deep link's choice: shown, and answered
        sources.append(cfg.source)
    source = st.selectbox("Data source", sources, format_func=source_label, **_bound("source", cfg.source))
    if source == MVSA_BUILTIN:
        st.caption(
            "4,869 real tweets (image + text), each modality labeled by its own annotators: EfficientNet-Lite0 "
            "image and MiniLM text features, shipped with the app."
        )
    if takes_path(source) and serving():
        _served_path_widgets(cfg, source)
    elif takes_path(source):
        st.text_input(
            "File or folder path" if source != FILE else "Feature file path",
            **_bound("path", cfg.path),
            help=path_help(source),
            placeholder="/data/mmimdb/multimodal_imdb.hdf5" if source == "hdf5" else "",
        )
    if takes_option(source, "image_encoder"):
        st.text_input(
            "Image encoder",
            **_bound("image_encoder", cfg.image_encoder),
            help=option_help(source, "image_encoder") + ". Weights are read offline, never downloaded.",
            placeholder=str(source_info(source).option("image_encoder").default),
        )
    if takes_option(source, "image_column") and cfg.path.strip():
        _table_column_widgets(cfg)
    if source == FILE:
        _upload_widget()
    if takes_subset(source):
        _subset_widgets(cfg)


ROW_NUMBERS = "(row numbers)"
"""The id column choice of a table without ids."""


def _store_column(role: str) -> None:
    columns = parse_columns(current_settings().columns)
    value = st.session_state.get(f"w_column_{role}")
    if value is None or value == ROW_NUMBERS:
        columns.pop(role, None)
    else:
        columns[role] = str(value)
    update_settings(columns=format_columns(columns))


def _table_column_widgets(cfg: Settings) -> None:
    """Which of the table's columns hold the id, image, text and label (as the CLI's --image-column etc.)."""
    from .loading import table_columns

    names = table_columns(cfg.path)
    if not names:
        return
    chosen = parse_columns(cfg.columns)
    lower = {n.lower(): n for n in names}
    st.caption("Columns of the table")
    for role in TABLE_ROLES:
        options = [ROW_NUMBERS, *names] if role == "id" else list(names)
        current = lower.get(chosen.get(role, role).lower())
        key = f"w_column_{role}"
        st.session_state[key] = current if current is not None else (ROW_NUMBERS if role == "id" else None)
        st.selectbox(
            f"{role.capitalize()} column",
            options,
            key=key,
            on_change=_store_column,
            args=(role,),
            placeholder=f"choose the {role} column",
            help=f"The table's column holding each item's {role} (the CLI's --{role}-column)"
            + (": none means row numbers" if role == "id" else ""),
        )


def _choice(label: str, labels: dict[str, str], field: str, value: str, help_: str) -> None:
    st.selectbox(label, list(labels), format_func=labels.__getitem__, help=help_, **_bound(field, value))


def _seed_number(label: str, field: str, value: int, lo: int, hi: int, help_: str | None = None) -> None:
    """A number that picks the random seeds: changing it forgets hand-picked seeds."""
    st.number_input(label, lo, hi, step=1, help=help_, **_bound(field, value, then=forget_manual_seeds))


def _method_widgets(cfg: Settings, seeds: bool) -> None:
    st.subheader("Method")
    _choice(
        "Preprocessing",
        {p: PREPROCESSING_LABELS[p] for p in PREPROCESSINGS},
        "preprocessing",
        cfg.preprocessing,
        "Applied to each modality before nearest-seed labeling (L2+STD is the paper's best).",
    )
    _choice(
        "Labeler",
        {n: LABELER_INFO[n].title for n in LABELER_NAMES},
        "labeler",
        cfg.labeler,
        "How the items are labelled from the seeds: CMCSL is the paper's rule; label spreading (LS, CM-LS) "
        "often labels real data better; Auto picks one from the labelled items. "
        + " ".join(f"**{LABELER_INFO[n].title}**: {LABELER_INFO[n].summary}" for n in LABELER_NAMES),
    )
    _choice(
        "Base classifier",
        {c: CLASSIFIER_LABELS.get(c, c) for c in CLASSIFIERS},
        "classifier",
        cfg.classifier,
        "Trained on the pseudo-labels for the BAC curves.",
    )
    if seeds:
        seed_widgets(cfg)
    else:
        st.caption("Seeds per class, random seed and **Randomize seeds** are above the views on this page.")


def seed_widgets(cfg: Settings, in_row: bool = False) -> None:
    """Seeds per class, random seed, "Randomize seeds" and the hand-picked note.

    Drawn in the sidebar, or (``in_row``) as one row inside the Clusters page's panel,
    where a change reruns only that panel.
    """
    cols = st.columns([1, 1, 1], vertical_alignment="bottom") if in_row else [st.container()] * 3
    with cols[0]:
        _seed_number("Seeds per class (b_class)", "b_class", cfg.b_class, 1, MAX_B_CLASS)
    with cols[1]:
        _seed_number(
            "Random seed", "seed", cfg.seed, 0, MAX_SEED,
            "Draws the seed items (b_class per class). The same value gives the same seeds.",
        )
    with cols[2]:
        st.button(
            "Randomize seeds",
            key="randomize_seeds",
            on_click=randomize_seeds,
            icon=":material/casino:",
            width="stretch",
            help="Draw new random seeds (and forget hand-picked ones).",
        )
    picked = manual_seed_count()
    if picked:
        st.caption(f"Using {picked} hand-picked seeds (see the Clusters page).")


def sidebar(seeds: bool = True) -> Settings:
    """Draw the shared sidebar (its widgets edit the session's settings); write the URL; return the settings.

    ``seeds=False`` leaves the seed widgets out (the page draws :func:`seed_widgets` itself).
    """
    init_session()
    cfg = current_settings()
    with st.sidebar:
        _data_widgets(cfg)
        _method_widgets(cfg, seeds)
    sync_url()
    return cfg
