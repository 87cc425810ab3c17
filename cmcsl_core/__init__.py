"""cmcsl_core: Cross-Modality Clustering-based Self-Labeling (CMCSL), as a library.

The pure, typed core of cmcsl-studio: feature files, preprocessing, seed drawing,
nearest-seed labeling per modality and across modalities, a scikit-learn style
estimator, the paper's 5 x 2 CV evaluation, and its statistics. No Streamlit here;
the app (``app.py``, ``pages/``) and the CLI (``python -m cmcsl_core``) both call
these functions.
"""

from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from cmcsl_core.errors import CMCSLError, FeatureFileError, SeedError, SourceError
from cmcsl_core.method.labeling import LabelingResult, cross_modal_labels, nearest_seed, propagate
from cmcsl_core.method.preprocessing import PREPROCESSINGS
from cmcsl_core.method.seeds import draw_seeds

__version__ = "0.1.0"

__all__ = [
    "CMCSLError",
    "FeatureFileError",
    "SeedError",
    "SourceError",
    "FeatureSet",
    "load_features",
    "save_features",
    "LabelingResult",
    "cross_modal_labels",
    "nearest_seed",
    "propagate",
    "PREPROCESSINGS",
    "draw_seeds",
]
