"""Built-in real data: the MVSA-Single tweets shipped in ``data/mvsa_single.npz``.

The file holds all 4,869 tweets of MVSA-Single with the default encoders' features
(EfficientNet-Lite0, 1,280-d, and all-MiniLM-L6-v2, 384-d, stored as float16), the texts,
the ids, both human labels (``labels_image``, ``labels_text``) and 96 px JPEG thumbnails
(without pickle). ``scripts/make_mvsa_builtin.py`` rebuilds it from ``../shared/mvsa-single``
with :func:`build_mvsa_builtin`.

``y`` of the shipped file (label mode ``"all"``) is the late-fusion paper's merged label
where the merge rule defines one (4,511 tweets) and the **text** label for the 358 tweets
whose image and text labels are positive vs negative, which the rule drops; so every tweet
has a class and the strongest human disagreements stay in. :func:`load_builtin_mvsa` also
gives the paper's 4,511 (``"merged"``), or ``y`` = one modality's label (``"text"``, ``"image"``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet, load_features
from cmcsl_core.datasets.sources.encoding import ItemEncoders, LoadedItems, encode_with_options
from cmcsl_core.datasets.sources.mvsa import merge_labels, read_mvsa_rows
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.encoders.thumbnails import THUMBNAIL_QUALITY, THUMBNAIL_SIZE  # the shipped thumbnails' format
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = [
    "BUILTIN_MVSA_NAME",
    "BUILTIN_MVSA_LABEL",
    "BUILTIN_LABEL_MODES",
    "builtin_mvsa_path",
    "load_builtin_mvsa",
    "build_mvsa_builtin",
    "THUMBNAIL_SIZE",
    "THUMBNAIL_QUALITY",
]

BUILTIN_MVSA_NAME = "mvsa_single.npz"
"""File name of the built-in MVSA-Single feature file in ``data/``."""

BUILTIN_MVSA_LABEL = "MVSA-Single (real tweets, built in)"
"""How the app's data selector names it."""

BUILTIN_LABEL_MODES: tuple[str, ...] = ("all", "merged", "text", "image")
"""``labels`` choices of :func:`load_builtin_mvsa`."""

def builtin_mvsa_path() -> Path:
    """``data/mvsa_single.npz`` of the repository (``$CMCSL_MVSA_BUILTIN`` overrides it)."""
    override = os.environ.get("CMCSL_MVSA_BUILTIN")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "data" / BUILTIN_MVSA_NAME


@lru_cache(maxsize=2)
def _load_file(path: str, mtime_ns: int) -> FeatureSet:
    return load_features(path)


def load_builtin_mvsa(labels: str = "all") -> FeatureSet:
    """The built-in MVSA-Single feature set (fast: the file is read once per process).

    Parameters
    ----------
    labels : str
        ``"all"`` (default): the 4,869 tweets, ``y`` = merged label, the text label where the
        merge rule drops the tweet; ``"merged"``: the paper's 4,511 tweets and labels;
        ``"text"`` / ``"image"``: all tweets, ``y`` = that modality's human label.

    Returns
    -------
    FeatureSet
        Modalities ``image`` (1,280) and ``text`` (384), with ids, texts, thumbnails and
        ``modality_labels`` for ``image`` and ``text``.

    Raises
    ------
    SourceError
        Unknown ``labels``, or the file is not there (the message says how to rebuild it).
    """
    mode = str(labels).strip().lower()
    if mode not in BUILTIN_LABEL_MODES:
        raise SourceError(f"unknown labels {labels!r}; choose one of {', '.join(BUILTIN_LABEL_MODES)}")
    path = builtin_mvsa_path()
    if not path.is_file():
        raise SourceError(
            f"the built-in MVSA-Single file {path} is missing; rebuild it with "
            "`python scripts/make_mvsa_builtin.py` (needs ../shared/mvsa-single)"
        )
    fs = _load_file(str(path), path.stat().st_mtime_ns)
    if mode == "all":
        return fs
    human = fs.modality_labels or {}
    if "image" not in human or "text" not in human:
        raise SourceError(f"{path} lacks labels_image / labels_text; rebuild it")
    if mode == "merged":
        y = merge_labels(human["text"], human["image"])
    else:
        y = human[mode]
    keep = np.flatnonzero(y >= 0)
    sub = fs.subset(keep)
    how = "the paper's merge rule" if mode == "merged" else f"the {mode} annotation"
    return replace(sub, y=y[keep], description=f"{sub.description}; y = {how} ({keep.size} tweets)")


def build_mvsa_builtin(
    mvsa_dir: PathLike,
    progress: ProgressFn | None = None,
    encoders: ItemEncoders | None = None,
    ids: "list[str] | None" = None,
    use_cache: bool = True,
    encoder: EncoderOptions = EncoderOptions(device="cpu", backend="torch"),
) -> LoadedItems:
    """Encode MVSA-Single the way the built-in file is made (default encoders, label mode ``all``).

    Parameters
    ----------
    mvsa_dir : path
        The MVSA-Single folder.
    progress : callable(done, total), optional
        Encoding progress.
    encoders : ItemEncoders, optional
        Default: the encoders of ``encoder``.
    ids : list of str, optional
        Only these tweets (for tests comparing a sample with the shipped file).
    use_cache : bool
        Read and write the on-disk feature cache.
    encoder : EncoderOptions
        Default: EfficientNet-Lite0 + all-MiniLM-L6-v2 on the CPU with torch (the torch extra),
        as the shipped file was made; ``backend="onnx"`` gives the same features within
        float16 precision.

    Returns
    -------
    LoadedItems
        Features (float32 until saved), ``y`` as described in the module docs, both human
        labels, texts, ids and thumbnails (image paths are left out: they only exist here).
    """
    rows, skipped, table = read_mvsa_rows(mvsa_dir, labels="text")
    assert rows.modality_labels is not None
    merged = merge_labels(rows.modality_labels["text"], rows.modality_labels["image"])
    rows = replace(rows, y=np.where(merged >= 0, merged, rows.modality_labels["text"]))
    if ids is not None:
        pos = {t: i for i, t in enumerate(rows.ids)}
        rows = rows.take(np.asarray([pos[t] for t in ids], dtype=np.int64))
    description = (
        f"MVSA-Single, built in: {len(table.ids)} real tweets (Niu et al., MMM 2016), y = the late-fusion paper's "
        f"merged label, the text label for the {int(np.sum(merged < 0))} positive-vs-negative tweets the rule drops"
    )
    loaded = encode_with_options(rows, skipped, "mvsa-builtin", description, encoder, encoders, progress, use_cache)
    return LoadedItems(features=replace(loaded.features, image_paths=None), skipped=loaded.skipped)
