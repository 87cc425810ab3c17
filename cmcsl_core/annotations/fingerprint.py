"""A stable content hash of a FeatureSet, naming the feature file an annotation database belongs to.

Human labels refer to items by id (or index), so a database is only meaningful for
the feature file it was written against. :func:`fingerprint` hashes what identifies
the items and their features:

* the class names and the modality names (in order),
* every modality's shape and float64 bytes,
* the item ids (when the file has them).

It deliberately leaves out the true labels ``y``, titles, texts, image paths, source
and description: re-exporting a file with a corrected description, or with ``y``
filled in later, keeps its annotations. Any change to the features, the classes or
the items (added, removed, reordered) gives another fingerprint.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from cmcsl_core.datasets.features import FeatureSet

__all__ = ["fingerprint", "FINGERPRINT_VERSION"]

FINGERPRINT_VERSION = 1
"""Bumped if the hashed content ever changes (it is part of the hash)."""


def fingerprint(fs: FeatureSet) -> str:
    """Return a 32-hex-digit SHA-256 fingerprint of ``fs`` (see the module docstring).

    Parameters
    ----------
    fs : FeatureSet
        The feature set (arrays are float64 after validation, so a file saved and
        loaded again has the same fingerprint).

    Returns
    -------
    str
        Hex digest; equal for equal content, whatever the file name or path.
    """
    h = hashlib.sha256()
    header = {
        "version": FINGERPRINT_VERSION,
        "class_names": list(fs.class_names),
        "modality_names": list(fs.modality_names),
        "shapes": [list(x.shape) for x in fs.X],
        "n_items": fs.n_items,
        "has_ids": fs.ids is not None,
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    for x in fs.X:
        h.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    if fs.ids is not None:
        h.update(json.dumps(list(fs.ids)).encode())
    return h.hexdigest()[:32]
