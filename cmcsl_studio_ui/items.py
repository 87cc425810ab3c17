"""One item, in detail: what it is and how each modality labeled it (the Clusters page's inspector).

:func:`item_details` is the one place that draws an item; later views (a review queue,
thumbnails) call it too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.method.labeling import LabelingResult

from .loading import Dataset

__all__ = ["item_details", "item_label_table"]


def item_label_table(data: Dataset, result: LabelingResult, i: int) -> pd.DataFrame:
    """Per modality: the nearest-seed label, the distance to that seed, and whether CMCSL kept it."""
    fs = data.fs
    names = np.asarray(fs.class_names, dtype=object)
    return pd.DataFrame(
        {
            "modality": list(result.modality_names),
            "label": names[result.labels[:, i]],
            "distance": np.round(result.distances[:, i], 3),
            "kept": [bool(result.disagree[i]) and int(result.decided_by[i]) == m for m in range(len(result.modality_names))],
        }
    )


def item_details(data: Dataset, result: LabelingResult, i: int) -> None:
    """Draw item ``i``: name, id, text, true label, CMCSL label and the per-modality labels."""
    fs = data.fs
    i = int(i)
    true, final = fs.class_names[fs.y[i]], fs.class_names[result.final_labels[i]]
    head = f"**#{i} {fs.item_name(i)}**"
    if fs.ids is not None and fs.ids[i] and fs.titles is not None:
        head += f" ({fs.ids[i]})"
    st.markdown(head)
    badges = [f"true **{true}**", f"CMCSL **{final}** ({'right' if true == final else 'wrong'})"]
    if result.is_seed[i]:
        badges.append("seed")
    if result.disagree[i]:
        badges.append("modalities disagree")
    st.caption(" · ".join(badges))
    if fs.texts is not None and fs.texts[i]:
        st.markdown(f"> {fs.texts[i][:400]}{'…' if len(fs.texts[i]) > 400 else ''}")
    st.dataframe(item_label_table(data, result, i), hide_index=True, key=f"item_{i}_labels")
