"""A table of one's own, built in the tests: real photos, drawings, messy texts, labels fake/real, broken rows.

:func:`make_own_table` writes a CSV whose columns are *not* the default names
(``tweet_id, photo, body, verdict``), 16 good rows (crops of scikit-learn's sample photos
``china.jpg`` and ``flower.jpg``, and PIL drawings; texts with links, line breaks, markdown
and hashtags) and 4 broken ones (a missing image file, an undecodable image, an empty
label, a duplicate id). The app and the tests load it as it is (``source=table`` with
:data:`COLS_PARAM`): the encoding pipeline makes every item's thumbnail.

:func:`paths_only_feature_file` is the other way pictures reach the app: a feature file made
elsewhere, which names its images (``image_paths``) but carries no thumbnails; the app makes
them when it loads the file, and shows the placeholder for the item whose image was moved
away after encoding.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet, save_features
from cmcsl_core.datasets.sources.table import load_table_items

COLUMNS = {"id": "tweet_id", "image": "photo", "text": "body", "label": "verdict"}
"""The table's column names (the app's ``cols=`` and the CLI's ``--image-column`` etc.)."""

COLS_PARAM = ",".join(f"{role}={name}" for role, name in COLUMNS.items())
"""The same as the app's ``cols`` query parameter."""

GOOD_ROWS = 16
BROKEN = {"t-missing": "missing image", "t-garbage": "undecodable image", "t-nolabel": "missing label"}
"""Ids of the broken rows and the reason the source gives (plus a duplicate id of the first row)."""

MOVED = 0
"""In :func:`paths_only_feature_file`, the item whose image file is moved away (the placeholder)."""

TABLE_OPTIONS = {f"{role}_column": name for role, name in COLUMNS.items()}
"""The table's columns as the source's options (``--image-column`` etc.)."""

TEXTS = [
    "Breaking: the dam collapsed!! see https://example.org/news_item_(1) #flood",
    "Lovely flowers in the park today\nso calm",
    "*This* is **totally** real, trust me #fake #news",
    "Old temple at sunset [photo] <b>wow</b>",
]


def _photos(folder: Path) -> list[Path]:
    """12 real photos: 6 crops each of scikit-learn's china.jpg and flower.jpg."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    out = []
    for name in ("china.jpg", "flower.jpg"):
        arr = load_sample_image(name)
        h, w = arr.shape[:2]
        for k in range(6):
            y0, x0 = (k // 3) * h // 2, (k % 3) * w // 3
            crop = arr[y0 : y0 + h // 2, x0 : x0 + w // 3]
            p = folder / "images" / f"{name[:-4]}_{k}.jpg"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(crop).save(p, quality=90)
            out.append(p)
    return out


def _drawings(folder: Path) -> list[Path]:
    """4 PIL drawings (a gradient, shapes), as PNG."""
    from PIL import Image, ImageDraw

    out = []
    for k in range(4):
        img = Image.linear_gradient("L").resize((160, 120)).convert("RGB")
        draw = ImageDraw.Draw(img)
        draw.ellipse((20 + 10 * k, 20, 90 + 10 * k, 90), fill=(40 * k, 120, 200 - 40 * k))
        draw.rectangle((100, 30 + 5 * k, 150, 100), outline=(250, 30, 30), width=4)
        p = folder / "images" / "drawn" / f"drawing {k}.png"  # a space in the path
        p.parent.mkdir(parents=True, exist_ok=True)
        img.save(p)
        out.append(p)
    return out


def make_own_table(folder: Path) -> Path:
    """Write the table (``folder/tweets.csv``) and its images; return the table's path."""
    folder.mkdir(parents=True, exist_ok=True)
    images = _photos(folder) + _drawings(folder)
    rows = []
    for i, p in enumerate(images[:GOOD_ROWS]):
        label = "fake" if i % 2 else "real"
        rows.append([f"t{i:03d}", str(p.relative_to(folder)), f"{TEXTS[i % len(TEXTS)]} ({i})", label])
    (folder / "images" / "garbage.jpg").write_bytes(b"not an image, whatever the name says")
    rows += [
        ["t-missing", "images/nowhere.jpg", "its picture was never there", "fake"],
        ["t-garbage", "images/garbage.jpg", "its picture is broken", "real"],
        ["t-nolabel", str(images[0].relative_to(folder)), "nobody labelled this one", ""],
        ["t000", str(images[1].relative_to(folder)), "the same id again", "fake"],
    ]
    table = folder / "tweets.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([COLUMNS[r] for r in ("id", "image", "text", "label")])
        writer.writerows(rows)
    return table


def load_own_table(table: Path) -> FeatureSet:
    """The table loaded as the app loads it (the cheap fake encoders; thumbnails from the pipeline)."""
    from tests.helpers_items import FakeEncoders

    return load_table_items(table, **TABLE_OPTIONS, encoders=FakeEncoders().build(), use_cache=False).features


def paths_only_feature_file(table: Path, out: Path) -> tuple[Path, FeatureSet]:
    """A feature file of the table as another tool would write it: ``image_paths`` (absolute) but no
    thumbnails; item :data:`MOVED`'s image is moved away afterwards. Returns the file and its features."""
    fs = load_own_table(table)
    moved = Path(fs.image_paths[MOVED])
    moved.rename(moved.with_name("moved away " + moved.name))
    fs = replace(fs, thumbnails=None, X=tuple(np.asarray(x, dtype=np.float64) for x in fs.X))
    return save_features(fs, out), fs
