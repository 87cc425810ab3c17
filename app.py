"""CMCSL studio: the home page and the navigation. Run with ``streamlit run app.py``.

Every page (this one included) draws the shared sidebar through
:func:`cmcsl_studio_ui.page.start_page`, so each also works when opened directly by
its URL (``/Clusters``, ``/BAC_curves``, ``/How_CMCSL_works``: the names Streamlit also infers
from ``pages/``) with the query parameters of a copied link.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cmcsl_studio_ui.figures import class_colors
from cmcsl_studio_ui.page import start_page


def home() -> None:
    """The home page: what CMCSL is, the chosen data, and how to reproduce the numbers."""
    settings, data = start_page("Home")
    fs = data.fs

    st.title("CMCSL studio")
    st.markdown(
        "**Cross-Modality Clustering-based Self-Labeling** labels a whole multimodal data set from a few "
        "labeled *seed* items per class. In every modality (here: movie **posters** = *visual*, **plots** = *text*) "
        "each item takes the label of its nearest seed. Where the modalities disagree, the label of the modality "
        "in which the item lies **closer to its seed** wins. A classifier trained on these pseudo-labels is "
        "then compared with one trained on the seeds only."
    )

    cols = st.columns(3)
    cols[0].page_link(CLUSTERS, label="Clusters: pick seeds, see the labels", icon=":material/scatter_plot:")
    cols[1].page_link(CURVES, label="BAC curves: PRE vs UNI vs CMCSL", icon=":material/show_chart:")
    cols[2].page_link(HOW, label="How CMCSL works, step by step", icon=":material/school:")

    st.subheader("The data")
    st.caption(fs.description or fs.source)
    left, right = st.columns([1, 2])
    with left:
        st.metric("Items", f"{fs.n_items:,}")
        st.metric("Classes", fs.n_classes)
        for name, X in zip(fs.modality_names, fs.X):
            st.metric(f"{name} features", X.shape[1])
    with right:
        counts = np.bincount(fs.y, minlength=fs.n_classes)
        fig = go.Figure(
            go.Bar(x=list(fs.class_names), y=counts, marker_color=class_colors(fs.n_classes), text=counts)
        )
        fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="Items per class")
        st.plotly_chart(fig, key="class_counts")

    st.subheader("Reproduce on the command line")
    st.markdown("Every number in the app comes from `cmcsl_core`; these commands compute the same ones:")
    lines = [data.export_cmd] if data.export_cmd else []
    lines.append(
        f"python -m cmcsl_core label --features {data.features_arg} --b-class {settings.b_class} "
        f"--seed {settings.seed} --preprocessing {settings.preprocessing} --out labels.csv"
    )
    lines.append(
        f"python -m cmcsl_core curve --features {data.features_arg} --methods PRE,UNI,CMCSL "
        f"--classifier {settings.classifier} --preprocessing {settings.preprocessing} --b-max 20 --repeats 5 "
        "--seed 1410 --class-weights pseudo --out curve.csv"
    )
    st.code("\n".join(lines), language="bash", wrap_lines=True)
    st.caption("The sidebar's choices are kept in the page address: copy the link to share this exact view.")


CLUSTERS = st.Page("pages/1_Clusters.py", title="Clusters", icon=":material/scatter_plot:", url_path="Clusters")
CURVES = st.Page("pages/2_BAC_curves.py", title="BAC curves", icon=":material/show_chart:", url_path="BAC_curves")
HOW = st.Page("pages/3_How_CMCSL_works.py", title="How CMCSL works", icon=":material/school:", url_path="How_CMCSL_works")

st.navigation([st.Page(home, title="Home", icon=":material/home:", default=True), CLUSTERS, CURVES, HOW]).run()
