"""The shared sidebar and the view state: session_state <-> widgets <-> URL query parameters.

One :class:`Settings` value describes what every page shows. It lives in
``st.session_state["cfg"]`` (so it survives page switches), is edited by the sidebar
widgets, and is mirrored into the URL's query parameters after every run, so a
copied link reopens the same view. Manually picked seeds live in
``st.session_state["manual_seeds"]`` (per browser session, never shared) and go
into the URL as ``seeds=3,17,42``.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Sequence

import streamlit as st

from cmcsl_core.models.classifiers import CLASSIFIERS
from cmcsl_core.method.preprocessing import PREPROCESSING_LABELS, PREPROCESSINGS
from cmcsl_core.datasets.subsets import load_subsets

__all__ = [
    "Settings",
    "SOURCE_LABELS",
    "CLASSIFIER_LABELS",
    "sidebar",
    "get_settings",
    "manual_seeds",
    "set_manual_seeds",
    "clear_manual_seeds",
    "randomize_seeds",
    "settings_from_params",
    "settings_to_params",
]

SOURCE_LABELS: dict[str, str] = {
    "demo": "Built-in demo (no download)",
    "hdf5": "MM-IMDb hdf5 (Arevalo's multimodal_imdb.hdf5)",
    "w4k2": "Authors' features (mmIMDb_<SUBSET>_*.npy)",
    "raw": "Raw MM-IMDb archive (posters + plots)",
    "file": "Feature file (.npz): path or upload",
}
"""Data sources offered in the sidebar, in order."""

SOURCE_PATH_HELP: dict[str, str] = {
    "hdf5": "Path of multimodal_imdb.hdf5 on the server.",
    "w4k2": "Folder holding the authors' mmIMDb_<SUBSET>_*.npy files.",
    "raw": "The extracted MM-IMDb folder (mmimdb/, holding dataset/<id>.jpeg and <id>.json; extract "
    "mmimdb.tar.gz first). Encoding all posters and plots takes a long time on a CPU; it is done once and cached.",
    "file": "A feature file written by `python -m cmcsl_core export` (or upload one below).",
}

CLASSIFIER_LABELS: dict[str, str] = {
    "gnb": "Gaussian naive Bayes (GNB)",
    "lr": "Logistic regression (LR)",
    "cart": "Decision tree (CART)",
}

CUSTOM = "Custom genres…"
MAX_B_CLASS = 500


@dataclass(frozen=True)
class Settings:
    """Everything the sidebar chooses (the random ``seed`` picks the seeds unless chosen by hand)."""

    source: str = "demo"
    path: str = ""
    subset: str = "HR"
    preprocessing: str = "l2std"
    classifier: str = "gnb"
    b_class: int = 5
    seed: int = 0
    weights: str = "imagenet"
    """ResNet-18 weights for the raw archive: imagenet (torch's cache only), none, or a .pth path."""


DEFAULTS = Settings()
_PARAM_NAMES = {
    "source": "source",
    "path": "path",
    "subset": "subset",
    "preprocessing": "pre",
    "classifier": "clf",
    "b_class": "b",
    "seed": "seed",
    "weights": "weights",
}


def _as_int(text: object, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(str(text)), lo), hi)
    except ValueError:
        return default


def settings_from_params(params: Mapping[str, str]) -> tuple[Settings, list[int] | None]:
    """Settings (and manual seeds, if any) from URL query parameters; bad values fall back to defaults."""
    source = str(params.get("source", DEFAULTS.source)).lower()
    pre = str(params.get("pre", DEFAULTS.preprocessing)).lower()
    clf = str(params.get("clf", DEFAULTS.classifier)).lower()
    settings = Settings(
        source=source if source in SOURCE_LABELS else DEFAULTS.source,
        path=str(params.get("path", "")),
        subset=str(params.get("subset", DEFAULTS.subset)) or DEFAULTS.subset,
        preprocessing=pre if pre in PREPROCESSINGS else DEFAULTS.preprocessing,
        classifier=clf if clf in CLASSIFIERS else DEFAULTS.classifier,
        b_class=_as_int(params.get("b", DEFAULTS.b_class), DEFAULTS.b_class, 1, MAX_B_CLASS),
        seed=_as_int(params.get("seed", DEFAULTS.seed), DEFAULTS.seed, 0, 2**31 - 1),
        weights=str(params.get("weights", DEFAULTS.weights)).strip() or DEFAULTS.weights,
    )
    seeds = None
    text = str(params.get("seeds", "")).strip()
    if text:
        try:
            seeds = sorted({int(t) for t in text.replace(" ", ",").split(",") if t})
        except ValueError:
            seeds = None
    return settings, seeds


def settings_to_params(settings: Settings, seeds: Sequence[int] | None) -> dict[str, str]:
    """Compact query parameters: only values that differ from the defaults (plus manual seeds)."""
    out: dict[str, str] = {}
    for field, value in asdict(settings).items():
        if value != getattr(DEFAULTS, field) and not (field == "path" and not value):
            out[_PARAM_NAMES[field]] = str(value)
    if seeds:
        out["seeds"] = ",".join(str(int(i)) for i in seeds)
    return out


# ---------------------------------------------------------------- session state


def _init_state() -> None:
    """On a session's first run, read the URL; afterwards session_state is the truth."""
    ss = st.session_state
    if "cfg" in ss:
        return
    settings, seeds = settings_from_params(st.query_params.to_dict())
    ss["cfg"] = asdict(settings)
    ss["manual_seeds"] = seeds
    ss["manual_for"] = None  # adopted by the first data set loaded


def get_settings() -> Settings:
    """The current settings (without drawing the sidebar)."""
    _init_state()
    return Settings(**st.session_state["cfg"])


def manual_seeds(data_key: str) -> list[int] | None:
    """Seeds picked by hand for the data set ``data_key``, or None (random seeds)."""
    ss = st.session_state
    seeds = ss.get("manual_seeds")
    if seeds is None:
        return None
    if ss.get("manual_for") is None:
        ss["manual_for"] = data_key
    if ss["manual_for"] != data_key:  # another data set: hand-picked seeds do not carry over
        ss["manual_seeds"] = None
        return None
    return list(seeds)


def set_manual_seeds(data_key: str, seeds: Sequence[int]) -> None:
    """Use these seed items (indices) from now on, and put them into the URL."""
    st.session_state["manual_seeds"] = sorted({int(i) for i in seeds})
    st.session_state["manual_for"] = data_key
    _write_url()


def clear_manual_seeds() -> None:
    """Go back to random seeds (b_class per class, from the random seed)."""
    st.session_state["manual_seeds"] = None
    _write_url()


def randomize_seeds() -> None:
    """Button callback: a fresh random seed, and no hand-picked seeds."""
    new = secrets.randbelow(100_000)
    st.session_state["cfg"]["seed"] = new
    st.session_state["w_seed"] = new
    st.session_state["manual_seeds"] = None


def _write_url() -> None:
    params = settings_to_params(Settings(**st.session_state["cfg"]), st.session_state.get("manual_seeds"))
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


# ---------------------------------------------------------------- sidebar


def _widget(name: str, value: Any) -> str:
    """Key of the widget for ``name``, seeded from the settings when Streamlit dropped it (page switch)."""
    key = f"w_{name}"
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def _on_seed_change() -> None:
    st.session_state["manual_seeds"] = None


def sidebar() -> Settings:
    """Draw the shared sidebar and return the current settings (also written to the URL)."""
    _init_state()
    cfg: dict[str, Any] = st.session_state["cfg"]
    paper = list(load_subsets())
    with st.sidebar:
        st.subheader("Data")
        source = st.selectbox(
            "Data source",
            list(SOURCE_LABELS),
            format_func=SOURCE_LABELS.__getitem__,
            key=_widget("source", cfg["source"]),
        )
        path = cfg["path"]
        if source != "demo":
            path = st.text_input(
                "File or folder path" if source != "file" else "Feature file path",
                key=_widget("path", cfg["path"]),
                help=SOURCE_PATH_HELP[source],
                placeholder="/data/mmimdb/multimodal_imdb.hdf5" if source == "hdf5" else "",
            ).strip()
        weights = cfg.get("weights", DEFAULTS.weights)
        if source == "raw":
            weights = st.text_input(
                "ResNet-18 weights",
                key=_widget("weights", weights),
                help="imagenet (read from torch's cache, never downloaded), none (random weights, to try the "
                "pipeline), or the path of a local .pth state dict.",
            ).strip() or DEFAULTS.weights
        if source == "file":
            st.file_uploader("…or upload a feature file", type=["npz"], key="upload")
        subset = cfg["subset"]
        if source != "file":
            is_paper = subset.upper() in {p.upper() for p in paper}
            choice = st.selectbox(
                "Subset",
                [*paper, CUSTOM],
                key=_widget("subset_choice", next((p for p in paper if p.upper() == subset.upper()), CUSTOM)),
                help="The 20 MM-IMDb subsets of the paper (Table I), or your own list of genres.",
            )
            if choice == CUSTOM:
                subset = st.text_input(
                    "Genres (comma separated)",
                    key=_widget("genres", subset if not is_paper else "Horror,Romance"),
                    help="A movie belongs when exactly one of these genres is among its genres.",
                ).strip()
            else:
                subset = choice
        st.subheader("Method")
        preprocessing = st.selectbox(
            "Preprocessing",
            list(PREPROCESSINGS),
            format_func=PREPROCESSING_LABELS.__getitem__,
            key=_widget("preprocessing", cfg["preprocessing"]),
            help="Applied to each modality before nearest-seed labeling (L2+STD is the paper's best).",
        )
        classifier = st.selectbox(
            "Base classifier",
            list(CLASSIFIERS),
            format_func=CLASSIFIER_LABELS.__getitem__,
            key=_widget("classifier", cfg["classifier"]),
            help="Trained on the pseudo-labels for the BAC curves.",
        )
        b_class = st.number_input(
            "Seeds per class (b_class)",
            min_value=1,
            max_value=MAX_B_CLASS,
            step=1,
            key=_widget("b_class", cfg["b_class"]),
            on_change=_on_seed_change,
        )
        seed = st.number_input(
            "Random seed",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key=_widget("seed", cfg["seed"]),
            on_change=_on_seed_change,
            help="Draws the seed items (b_class per class). The same value gives the same seeds.",
        )
        st.button(
            "Randomize seeds",
            on_click=randomize_seeds,
            icon=":material/casino:",
            width="stretch",
            help="Draw new random seeds (and forget hand-picked ones).",
        )
        if st.session_state.get("manual_seeds"):
            st.caption(f"Using {len(st.session_state['manual_seeds'])} hand-picked seeds (see the Clusters page).")
    settings = replace(
        Settings(**cfg),
        source=source,
        path=path,
        subset=subset,
        preprocessing=preprocessing,
        classifier=classifier,
        b_class=int(b_class),
        seed=int(seed),
        weights=weights,
    )
    st.session_state["cfg"] = asdict(settings)
    _write_url()
    return settings
