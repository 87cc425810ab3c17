"""A tiny Streamlit app that drives the linked scatter component in isolation.

Run: ``streamlit run scripts/scatter_demo_app.py`` and open ``/?n=6864`` (``n`` items,
``k`` classes, ``views`` views). "Randomize" recolours the items and draws new seeds;
clicking an item toggles it as a seed and shows it in the side panel; a lasso (Shift+drag,
or the "Lasso" mode) adds the selected items as seeds. Used by
tests/test_scatter_component.py, benchmarks/bench_scatter.py and benchmarks/load_classroom.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmcsl_studio_ui.scatter import linked_scatter, pending_events  # noqa: E402

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _int_param(name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(st.query_params.get(name, default))))
    except ValueError:
        return default


@st.cache_data(show_spinner=False)
def demo_views(n: int, k: int, m: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``m`` 2-D views of ``n`` items in ``k`` Gaussian blobs (different layouts per view)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, k, n)
    views = {}
    for v in range(m):
        centres = rng.normal(0, 6, (k, 2))
        views[f"view {v + 1} ({['image', 'text', 'audio', 'table'][v % 4]})"] = centres[y] + rng.normal(
            0, 1 + v * 0.3, (n, 2)
        )
    return views, y


st.set_page_config(page_title="linked scatter demo", layout="wide")
N = _int_param("n", 6864, 10, 1_000_000)
K = _int_param("k", 6, 1, 60)
M = _int_param("views", 2, 1, 4)
views, truth = demo_views(N, K, M)

if "demo_round" not in st.session_state:
    st.session_state.demo_round = 0
    st.session_state.demo_seeds = set()
    st.session_state.demo_events = []
    st.session_state.demo_item = None


@st.fragment
def panel() -> None:
    t0 = time.perf_counter()
    for event in pending_events("demo_scatter"):  # before drawing: the views show the effect in this rerun
        st.session_state.demo_events.append(f"{event.kind}:{len(event.ids)}:{event.seq}")
        if event.kind == "click":
            i = event.ids[0]
            st.session_state.demo_item = i
            st.session_state.demo_seeds ^= {i}
        else:
            st.session_state.demo_seeds |= set(event.ids)
    if st.button("Randomize", key="randomize"):
        st.session_state.demo_round += 1
        rng = np.random.default_rng(st.session_state.demo_round)
        st.session_state.demo_seeds = set(rng.choice(N, size=min(N, 2 * K), replace=False).tolist())
    rnd = st.session_state.demo_round
    rng = np.random.default_rng(1000 + rnd)
    labels = truth if rnd == 0 else rng.integers(0, K, N)
    ring = rng.random(N) < 0.03
    seeds = np.zeros(N, dtype=bool)
    seeds[list(st.session_state.demo_seeds)] = True
    col_plot, col_side = st.columns([4, 1])
    with col_plot:
        linked_scatter(
            views,
            key="demo_scatter",
            color=labels,
            palette=PALETTE,
            seeds=seeds,
            ring=ring,
            names=[f"item {i}" for i in range(N)] if N <= 200_000 else None,
            label_names=[f"class {c}" for c in range(K)],
            height=420,
        )
    with col_side:
        st.markdown(f"**round** {rnd} · **seeds** {len(st.session_state.demo_seeds)}")
        item = st.session_state.demo_item
        if item is not None:
            st.markdown(
                f"**Item {item}** · class {int(labels[item])} · "
                f"{'seed' if item in st.session_state.demo_seeds else 'not a seed'}"
            )
        st.caption("events: " + " ".join(st.session_state.demo_events[-5:]))
        st.caption(f"server time {1000 * (time.perf_counter() - t0):.0f} ms")


st.caption(f"{N:,} items · {K} classes · {M} views")
panel()
