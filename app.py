"""CMCSL studio: the home page. Run with ``streamlit run app.py``.

Streamlit's native multipage app: this script is the home page (``/``) and every
``pages/N_Name.py`` is a page at ``/Name`` (``/Clusters``, ``/BAC_curves``,
``/How_CMCSL_works``). Every page draws the shared frame through
:func:`cmcsl_studio_ui.page.start_page`, so each opens directly from a copied link,
query parameters included.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cmcsl_core.evaluation.config import CurveConfig
from cmcsl_core.evaluation.metrics import human_label_pair
from cmcsl_studio_ui.curves import CURVE_CSV
from cmcsl_studio_ui.encoding import skipped_rows_block
from cmcsl_studio_ui.figures import class_colors
from cmcsl_studio_ui.item_panels import example_items, item_gallery
from cmcsl_studio_ui.labels import LABELS_CSV, label_request
from cmcsl_studio_ui.page import CLUSTERS, CURVES, HOME, HOW, REVIEW, cli_block, page_link, start_page
from cmcsl_studio_ui.text import html, md
from cmcsl_studio_ui.thumbs import has_thumbnails
from cmcsl_studio_ui.wording import wording

settings, data = start_page(HOME)
fs = data.fs
words = wording(fs)

st.title("CMCSL studio")
st.markdown(
    "**Cross-Modality Clustering-based Self-Labeling** labels a whole multimodal data set from a few "
    f"labeled *seed* items per class. In every modality (here: {words.modalities()}) "
    "each item takes the label of its nearest seed. Where the modalities disagree, the label of the modality "
    "in which the item lies **closer to its seed** wins. A classifier trained on these pseudo-labels is "
    "then compared with one trained on the seeds only."
)

links = st.columns(2)  # two by two, so that every blurb fits
for k, page in enumerate((CLUSTERS, CURVES, HOW, REVIEW)):
    with links[k % 2]:
        page_link(page, page.blurb)

st.subheader("The data")
st.caption(md(fs.description or fs.source))
skipped_rows_block(data.skipped, key="home_skipped")
left, right = st.columns([1, 2])
with left:
    st.metric(words.items.capitalize(), f"{fs.n_items:,}")
    st.metric("Classes", fs.n_classes)
    for name, X in zip(fs.modality_names, fs.X):
        st.metric(f"{md(name)} features", X.shape[1])
with right:
    counts = np.bincount(fs.y, minlength=fs.n_classes)
    fig = go.Figure(
        go.Bar(x=[html(c) for c in fs.class_names], y=counts, marker_color=class_colors(fs.n_classes), text=counts)
    )
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Items per class")
    st.plotly_chart(fig, key="class_counts")

pair = human_label_pair(fs)
if pair is not None:
    human = fs.modality_labels or {}
    a, b = human[pair[0]], human[pair[1]]
    known = (a >= 0) & (b >= 0)
    n_differ = int(np.sum(known & (a != b)))
    st.markdown(
        f"Each {words.item}'s **{md(pair[0])}** and **{md(pair[1])}** were labeled separately by human annotators: on "
        f"**{n_differ:,} of {int(known.sum()):,} {words.items} ({n_differ / max(int(known.sum()), 1):.1%})** they "
        f"disagree, real cross-modal disagreement. The Clusters page colors the {words.items} by it and measures how "
        "well CMCSL's own modality disagreements find them."
    )
rows, notes = example_items(data)
if rows and (has_thumbnails(fs) or fs.texts is not None):
    st.subheader(f"Some {words.items}")
    item_gallery(data, rows, notes, per_row=min(len(rows), 7), key="home_examples")

st.subheader("Reproduce on the command line")
st.markdown("Every number in the app comes from `cmcsl_core`; these commands compute the same ones:")
curve = CurveConfig(classifier=settings.classifier, preprocessing=settings.preprocessing)
cli_block(
    data,
    label_request(data, settings).command(data.features, LABELS_CSV),
    curve.command(data.features, CURVE_CSV),
)
st.caption("The sidebar's choices are kept in the page address: copy the link to share this exact view.")
