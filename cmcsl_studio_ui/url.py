"""The page address: :class:`~.settings.Settings` (and hand-picked seeds) <-> URL query parameters.

Pure functions, no Streamlit: a copied link reopens the same view, and a bad value in a
hand-edited link falls back to its default instead of failing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Mapping, Sequence

from cmcsl_core.method.labelers.registry import LABELER_NAMES
from cmcsl_core.method.preprocessing import PREPROCESSINGS
from cmcsl_core.models.classifiers import CLASSIFIERS

from .settings import APP_SOURCES, DEFAULTS, MAX_B_CLASS, MAX_SEED, Settings

__all__ = ["PARAM_NAMES", "settings_from_params", "settings_to_params", "ignored_params"]

PARAM_NAMES: dict[str, str] = {
    "source": "source",
    "path": "path",
    "subset": "subset",
    "preprocessing": "pre",
    "classifier": "clf",
    "b_class": "b",
    "seed": "seed",
    "image_encoder": "enc",
    "columns": "cols",
    "labeler": "labeler",
}
"""Query parameter of each :class:`Settings` field (short names keep links short)."""


def _as_int(text: object, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(str(text)), lo), hi)
    except ValueError:
        return default


def _choice(text: object, choices: object, default: str) -> str:
    value = str(text).strip().lower()
    return value if value in choices else default  # type: ignore[operator]


def settings_from_params(params: Mapping[str, str]) -> tuple[Settings, list[int] | None]:
    """Settings (and hand-picked seeds, if any) from URL query parameters; bad values fall back to defaults."""
    get = params.get
    settings = Settings(
        source=_choice(get("source", DEFAULTS.source), APP_SOURCES, DEFAULTS.source),
        path=str(get("path", "")),
        subset=str(get("subset", DEFAULTS.subset)).strip() or DEFAULTS.subset,
        preprocessing=_choice(get("pre", DEFAULTS.preprocessing), PREPROCESSINGS, DEFAULTS.preprocessing),
        classifier=_choice(get("clf", DEFAULTS.classifier), CLASSIFIERS, DEFAULTS.classifier),
        b_class=_as_int(get("b", DEFAULTS.b_class), DEFAULTS.b_class, 1, MAX_B_CLASS),
        seed=_as_int(get("seed", DEFAULTS.seed), DEFAULTS.seed, 0, MAX_SEED),
        image_encoder=str(get("enc", DEFAULTS.image_encoder)).strip(),
        columns=str(get("cols", DEFAULTS.columns)).strip(),
        labeler=_choice(get("labeler", DEFAULTS.labeler), LABELER_NAMES, DEFAULTS.labeler),
    )
    seeds = None
    text = str(get("seeds", "")).strip()
    if text:
        try:
            seeds = sorted({int(t) for t in text.replace(" ", ",").split(",") if t})
        except ValueError:
            seeds = None
    return settings, seeds or None


def settings_to_params(settings: Settings, seeds: Sequence[int] | None) -> dict[str, str]:
    """Compact query parameters: only values that differ from the defaults (plus hand-picked seeds)."""
    out: dict[str, str] = {}
    for field, value in asdict(settings).items():
        if value != getattr(DEFAULTS, field) and not (field == "path" and not value):
            out[PARAM_NAMES[field]] = str(value)
    if seeds:
        out["seeds"] = ",".join(str(int(i)) for i in seeds)
    return out


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def ignored_params(params: Mapping[str, str]) -> list[str]:
    """What of a link's query parameters :func:`settings_from_params` ignored or changed, one phrase each.

    E.g. ``?b=abc&source=zzz`` gives ``["b=abc (not a whole number; using 5)",
    "source=zzz (unknown source; using demo)"]``. Empty for a clean link.
    """
    settings, seeds = settings_from_params(params)
    out: list[str] = []
    known = {*PARAM_NAMES.values(), "seeds", "embed", "embed_options"}  # the last two are Streamlit's own
    for name, value in params.items():
        if name not in known:
            out.append(f"{_shown(name)}={_shown(value)} (unknown parameter)")
    choices = {
        "source": (APP_SOURCES, settings.source, "source"),
        "pre": (PREPROCESSINGS, settings.preprocessing, "preprocessing"),
        "clf": (CLASSIFIERS, settings.classifier, "classifier"),
        "labeler": (LABELER_NAMES, settings.labeler, "labeler"),
    }
    for name, (allowed, used, what) in choices.items():
        if name in params and str(params[name]).strip().lower() not in allowed:
            out.append(f"{name}={_shown(params[name])} (unknown {what}; using {used})")
    for name, lo, hi, used in (("b", 1, MAX_B_CLASS, settings.b_class), ("seed", 0, MAX_SEED, settings.seed)):
        if name not in params:
            continue
        try:
            number = int(str(params[name]))
        except ValueError:
            out.append(f"{name}={_shown(params[name])} (not a whole number; using {used})")
            continue
        if not lo <= number <= hi:
            out.append(f"{name}={_shown(params[name])} (outside {lo}..{hi:,}; using {used})")
    if str(params.get("seeds", "")).strip() and seeds is None:
        out.append(f"seeds={_shown(params['seeds'])} (not a list of item numbers; using random seeds)")
    return out
