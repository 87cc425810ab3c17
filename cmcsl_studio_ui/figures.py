"""Figures: WebGL scatter views, the confusion matrix, BAC curves (plotly), curve export (matplotlib).

Scatter views carry every point's item index in ``customdata`` so that Plotly
selection events (reported per trace) map back to items.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cmcsl_core.constants import FUSED, LABELS
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.evaluation.config import CMCSL_FUSION_METHODS, LF_METHODS
from cmcsl_core.evaluation.metrics import human_label_pair
from cmcsl_core.method.labeling import LabelingResult

from .text import html

__all__ = [
    "COLOR_MODES",
    "HUMAN_COLOR_MODES",
    "color_modes",
    "Coloring",
    "class_colors",
    "coloring",
    "scatter_view",
    "confusion_figure",
    "curve_figure",
    "curve_image",
    "METHOD_COLORS",
]

_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
_MORE = (
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
    "#636363", "#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fd8d3c", "#74c476", "#9e9ac8",
)

COLOR_MODES: dict[str, str] = {
    "cmcsl": "CMCSL label",
    "uni": "UNI label",
    "true": "True label",
    "decided": "Decided by",
    "correct": "Correct?",
}
"""Ways to color the points of a view (every data set)."""

HUMAN_COLOR_MODES: dict[str, str] = {
    "human": "Annotator label",
    "human_disagree": "Annotators disagree",
}
"""More ways, for data with a human label per modality (MVSA-Single): the view's modality's own
human label, and whether the annotators of the two modalities disagree."""


def color_modes(fs: FeatureSet) -> dict[str, str]:
    """The color modes offered for ``fs``: :data:`COLOR_MODES`, plus :data:`HUMAN_COLOR_MODES` when
    the data carries human labels for two of its modalities."""
    return {**COLOR_MODES, **HUMAN_COLOR_MODES} if human_label_pair(fs) is not None else dict(COLOR_MODES)

METHOD_COLORS: dict[str, str] = {
    "FULL": "#555555",
    "PRE": "#1f77b4",
    "UNI": "#ff7f0e",
    "CMCSL": "#d62728",
    "EF": "#2ca02c",
    "LF": "#9467bd",
    "LF-MEAN": "#9467bd",
    "LF-MAX": "#c5b0d5",
    "LF-DRA": "#8c564b",
    "LF-MLA": "#17becf",
    "CMCSL-MEAN": "#e377c2",
    "CMCSL-MAX": "#ff9896",
    "CMCSL-DRA": "#bcbd22",
    "CMCSL-MLA": "#7f0000",
    "CMCSL-SCALED": "#ff7f7f",
    "LS": "#2ca02c",
    "CM-LS": "#006d2c",
    "LS-CMN": "#74c476",
    "CM-LS-CMN": "#00441b",
    "SELF-TRAINING": "#8c6d31",
    "CO-TRAINING": "#7b4173",
    "AUTO": "#000000",
}
"""Line colors of the curve methods.

The fused ones, modality ``fused``, are drawn dotted (LF-* and EF) or dash-dotted (CMCSL-*).
"""


def _is_fused(method: str) -> bool:
    """Whether ``method`` fuses the modalities (its rows have modality ``fused``): EF, LF, LF-*, CMCSL-<rule>."""
    return method in ("EF", "LF") or method in LF_METHODS or method in CMCSL_FUSION_METHODS


def _dash(method: str) -> str:
    """Plotly dash of a method's mean line."""
    return "dashdot" if method in CMCSL_FUSION_METHODS else "dot" if _is_fused(method) else "solid"


def class_colors(k: int) -> list[str]:
    """``k`` distinct colors, stable per class position."""
    colors = list(_PALETTE) + list(_MORE)
    return [colors[i % len(colors)] for i in range(k)]


@dataclass(frozen=True)
class Coloring:
    """Point categories of one view: a code per item, the categories' names and colors."""

    codes: np.ndarray
    names: tuple[str, ...]
    colors: tuple[str, ...]


def coloring(mode: str, fs: FeatureSet, result: LabelingResult, m: int) -> Coloring:
    """Categories for ``mode`` in the view of modality ``m``.

    ``mode`` is a key of :data:`COLOR_MODES`, or ``"none"`` (all grey) or ``"disagree"``
    (agree / disagree), which the teaching page uses.
    """
    classes = tuple(fs.class_names)
    palette = tuple(class_colors(len(classes)))
    if mode == "cmcsl":
        return Coloring(result.final_labels, classes, palette)
    if mode == "uni":
        return Coloring(result.labels[m], classes, palette)
    if mode == "true":
        return Coloring(np.asarray(fs.y), classes, palette)
    if mode == "decided":
        k = len(result.modality_names)
        codes = np.where(result.decided_by < 0, k, result.decided_by)
        names = tuple(f"{n} decided" for n in result.modality_names) + ("all agree",)
        colors = tuple(["#d62728", "#1f77b4", "#2ca02c", "#9467bd"][:k]) + ("#c7c7c7",)
        return Coloring(codes, names, colors)
    if mode == "none":
        return Coloring(np.zeros(fs.n_items, dtype=np.int64), ("items",), ("#b0b0b0",))
    if mode == "disagree":
        return Coloring(
            result.disagree.astype(np.int64), ("modalities agree", "modalities disagree"), ("#d0d0d0", "#d62728")
        )
    if mode == "correct":
        codes = (result.final_labels != fs.y).astype(np.int64)
        return Coloring(codes, ("correct", "incorrect"), ("#9ecae1", "#d62728"))
    if mode in HUMAN_COLOR_MODES:
        return _human_coloring(mode, fs, m, classes, palette)
    raise ValueError(f"unknown color mode {mode!r}")


def _human_coloring(mode: str, fs: FeatureSet, m: int, classes: tuple[str, ...], palette: tuple[str, ...]) -> Coloring:
    """The annotators' label of modality ``m`` (``"human"``) or their image-vs-text disagreement."""
    pair = human_label_pair(fs)
    human = fs.modality_labels or {}
    unknown = "#e0e0e0"
    if mode == "human":
        own = human.get(fs.modality_names[m])
        if own is None:
            raise ValueError(f"the data has no human labels for modality {fs.modality_names[m]!r}")
        codes = np.where(own < 0, len(classes), own)
        return Coloring(codes, tuple(f"annotator: {c}" for c in classes) + ("not annotated",), palette + (unknown,))
    if pair is None:
        raise ValueError("the data has no human labels for two modalities")
    a, b = human[pair[0]], human[pair[1]]
    codes = np.where((a < 0) | (b < 0), 2, (a != b).astype(np.int64))
    return Coloring(
        codes,
        (f"annotators agree ({pair[0]} = {pair[1]})", f"annotators disagree ({pair[0]} ≠ {pair[1]})", "not annotated"),
        ("#c6dbef", "#e6550d", unknown),
    )


def _hover(base: np.ndarray, fs: FeatureSet, result: LabelingResult) -> np.ndarray:
    """Per-item hover text: the static header plus each modality's UNI label and distance and the CMCSL label."""
    names = np.asarray([html(c) for c in fs.class_names], dtype=object)
    out = base + " · CMCSL: " + names[result.final_labels]
    for m, mod in enumerate(result.modality_names):
        d = np.char.mod("%.3f", result.distances[m]).astype(object)
        out = out + ("<br>" if m == 0 else " · ") + html(mod) + ": " + names[result.labels[m]] + " (d " + d + ")"
    return out + np.where(result.is_seed, " · SEED", "").astype(object)


def _overlay(
    x: np.ndarray, y: np.ndarray, rows: np.ndarray, name: str, marker: dict, text: np.ndarray | None = None
) -> go.Scattergl:
    """A marker layer over some items (seeds, disagreements, selection); hover only where ``text`` is given."""
    hover = (
        {"text": text, "hovertemplate": f"%{{text}}<extra>{name}</extra>"}
        if text is not None
        else {"hoverinfo": "skip"}
    )
    return go.Scattergl(x=x[rows], y=y[rows], mode="markers", name=name, marker=marker, customdata=rows, **hover)


def scatter_view(
    xy: np.ndarray,
    fs: FeatureSet,
    result: LabelingResult,
    m: int,
    mode: str,
    hover_base: np.ndarray,
    title: str,
    highlight_disagreements: bool = True,
    selected: Sequence[int] = (),
    dragmode: str = "lasso",
) -> go.Figure:
    """A WebGL scatter of one modality's 2-D view.

    One trace per category (legend), then the disagreeing items as open rings, then
    the seeds drawn large and outlined. ``customdata`` holds item indices.
    """
    col = coloring(mode, fs, result, m)
    text = _hover(hover_base, fs, result)
    idx = np.arange(fs.n_items)
    traces: list[go.Scattergl] = []
    x, y = xy[:, 0], xy[:, 1]
    for c, (name, color) in enumerate(zip(col.names, col.colors)):
        rows = idx[col.codes == c]
        if rows.size == 0:
            continue
        traces.append(
            go.Scattergl(
                x=x[rows],
                y=y[rows],
                mode="markers",
                name=html(name),
                legendgroup=name,
                marker={"size": 4, "color": color, "opacity": 0.75},
                customdata=rows,
                text=text[rows],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if highlight_disagreements and np.any(result.disagree):
        marker = {"size": 7, "symbol": "circle-open", "color": "rgba(0,0,0,0.45)", "line": {"width": 0.8}}
        traces.append(_overlay(x, y, idx[result.disagree], "modalities disagree", marker))
    seeds = np.asarray(result.seed_idx)
    if seeds.size:
        palette = np.asarray(class_colors(fs.n_classes), dtype=object)
        marker = {
            "size": 13,
            "color": palette[np.asarray(result.seed_labels)],
            "line": {"width": 2, "color": "#000000"},
            "symbol": "diamond",
        }
        traces.append(_overlay(x, y, seeds, "seeds", marker, text=text[seeds]))
    sel = np.asarray(selected, dtype=np.int64)
    if sel.size:
        marker = {"size": 11, "symbol": "circle-open", "color": "#ffbf00", "line": {"width": 2}}
        traces.append(_overlay(x, y, sel, "selected", marker))
    fig = go.Figure(traces)
    fig.update_layout(
        title={"text": html(title), "x": 0.01, "font": {"size": 15}},
        height=520,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "itemsizing": "constant"},
        dragmode=dragmode,
        hovermode="closest",
        uirevision=title,  # keep zoom when the seeds change
        xaxis={"showticklabels": False, "title": None, "zeroline": False},
        yaxis={"showticklabels": False, "title": None, "zeroline": False},
    )
    return fig


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str], normalize: bool = True) -> go.Figure:
    """Heatmap of CMCSL labels (columns) against the truth (rows); row-normalised if ``normalize``."""
    cm = np.asarray(confusion, dtype=np.float64)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    text = np.char.mod("%d", cm.astype(np.int64))
    if normalize:
        text = np.char.add(np.char.add(text, "<br>"), np.char.mod("%.0f%%", 100 * shown))
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=[html(c) for c in class_names],
            y=[html(c) for c in class_names],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}<br>CMCSL %{x}<br>%{text}<extra></extra>",
        )
    )
    size = 90 + 48 * len(class_names)
    fig.update_layout(
        height=min(max(size, 260), 640),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "CMCSL label", "side": "top"},
        yaxis={"title": "true label", "autorange": "reversed"},
    )
    return fig


def _band(summary: pd.DataFrame, method: str, modality: str) -> pd.DataFrame:
    sel = summary[(summary["method"] == method) & (summary["modality"] == modality)]
    return sel.sort_values("b_class")


def _series(
    summary: pd.DataFrame, modality: str, methods: Sequence[str]
) -> Iterator[tuple[str, str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per method drawn in ``modality``'s panel: (method, its modality, color, b, mean, std)."""
    for method in methods:
        if modality == LABELS and _is_fused(method):  # the labels' own quality: labelers only
            continue
        mod = FUSED if _is_fused(method) else modality
        band = _band(summary, method, mod)
        if band.empty:
            continue
        b = band["b_class"].to_numpy()
        std = np.nan_to_num(band["std"].to_numpy())
        yield method, mod, METHOD_COLORS.get(method, "#333333"), b, band["mean"].to_numpy(), std


def curve_figure(
    summary: pd.DataFrame,
    modalities: Sequence[str],
    methods: Sequence[str],
    published: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> go.Figure:
    """BAC vs b_class, one panel per modality: mean line and a ±1 std band over folds.

    Fused methods (EF, LF, LF-*, CMCSL-*: modality ``fused``) are drawn in every panel; ``published`` curves
    (keyed by ``(modality, method)``) are dashed.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(modalities), subplot_titles=[html(m) for m in modalities], shared_yaxes=True)
    published = published or {}
    for col, modality in enumerate(modalities, start=1):
        for method, mod, color, b, mean, std in _series(summary, modality, methods):
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([b, b[::-1]]),
                    y=np.concatenate([mean + std, (mean - std)[::-1]]),
                    fill="toself",
                    fillcolor=color,
                    opacity=0.12,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=method,
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=b,
                    y=mean,
                    mode="lines+markers",
                    name=method,
                    legendgroup=method,
                    showlegend=col == 1,
                    line={"color": color, "width": 2, "dash": _dash(method)},
                    marker={"size": 5},
                    hovertemplate=f"{method} ({mod})<br>b=%{{x}}<br>BAC %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            pub = published.get((mod, method))
            if pub is not None and not pub.empty:
                pub = pub[(pub["b_class"] >= b.min()) & (pub["b_class"] <= b.max())]
                fig.add_trace(
                    go.Scatter(
                        x=pub["b_class"],
                        y=pub["mean"],
                        mode="lines",
                        name=f"{method} (paper)",
                        legendgroup=f"{method}-paper",
                        showlegend=col == 1,
                        line={"color": color, "width": 1.5, "dash": "dash"},
                        hovertemplate=f"{method} paper<br>b=%{{x}}<br>BAC %{{y:.3f}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
        fig.update_xaxes(title_text="b_class (seeds per class)", row=1, col=col)
    fig.update_yaxes(title_text="balanced accuracy", row=1, col=1)
    fig.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.18},
        hovermode="x unified",
    )
    return fig


def curve_image(
    summary: pd.DataFrame,
    modalities: Sequence[str],
    methods: Sequence[str],
    fmt: str,
    title: str = "",
    published: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> bytes:
    """The curve figure rendered with matplotlib as ``fmt`` (``"png"`` or ``"svg"``) bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(modalities), 3.6), layout="constrained")
    axes = fig.subplots(1, len(modalities), sharey=True, squeeze=False)[0]
    published = published or {}
    for ax, modality in zip(axes, modalities):
        for method, mod, color, b, mean, std in _series(summary, modality, methods):
            ax.fill_between(b, mean - std, mean + std, color=color, alpha=0.15, linewidth=0)
            ax.plot(
                b,
                mean,
                color=color,
                marker="o",
                ms=3,
                lw=1.6,
                ls={"dashdot": "-.", "dot": ":"}.get(_dash(method), "-"),
                label=method,
            )
            pub = published.get((mod, method))
            if pub is not None and not pub.empty:
                pub = pub[(pub["b_class"] >= b.min()) & (pub["b_class"] <= b.max())]
                ax.plot(pub["b_class"], pub["mean"], color=color, lw=1.2, ls="--", label=f"{method} (paper)")
        ax.set_title(modality, parse_math=False)  # a name from the data is text, never mathtext
        ax.set_xlabel("b_class")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("balanced accuracy")
    axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10, parse_math=False)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()
