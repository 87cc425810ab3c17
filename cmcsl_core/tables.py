"""The per-item label table that ``python -m cmcsl_core label`` writes and the app offers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.labeling import LabelingResult

__all__ = ["label_table", "label_csv"]


def label_table(fs: FeatureSet, result: LabelingResult) -> pd.DataFrame:
    """The per-item table ``label`` writes (and the app offers as a download)."""
    names = np.asarray(fs.class_names, dtype=object)
    cols: dict[str, object] = {"index": np.arange(fs.n_items)}
    if fs.ids is not None:
        cols["id"] = list(fs.ids)
    cols["true_label"] = names[fs.y]
    cols["is_seed"] = result.is_seed
    for m, name in enumerate(fs.modality_names):
        cols[f"label_{name}"] = names[result.labels[m]]
        cols[f"distance_{name}"] = result.distances[m]
    cols["final_label"] = names[result.final_labels]
    decided = np.asarray([*fs.modality_names, "all"], dtype=object)
    cols["decided_by"] = decided[result.decided_by]
    cols["disagree"] = result.disagree
    return pd.DataFrame(cols)


def label_csv(fs: FeatureSet, result: LabelingResult) -> bytes:
    """:func:`label_table` as CSV bytes, exactly as ``label --out`` writes them."""
    return label_table(fs, result).to_csv(index=False, float_format="%.6f").encode()
