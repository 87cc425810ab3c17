"""The Label Studio export, checked against Label Studio's documented import format.

The rules :func:`check_label_studio_import` checks are those of Label Studio's documentation
("Basic Label Studio JSON format", https://labelstud.io/guide/tasks.html; "Import pre-annotated
data", https://labelstud.io/guide/predictions.html) and of its import code
(``tasks/validation.py``: ``TaskValidator``; ``tasks/serializers.py``: ``BaseTaskSerializerBulk``):

* the file is a JSON list of tasks; a task is a dict with ``data`` (a dict) and optionally
  ``annotations`` and ``predictions`` (lists) and ``meta`` (a dict);
* ``data`` holds every key that the labeling config's object tags name (``value="$text"``),
  of the type the tag expects (``Text``: str/int/float, ``Image``: str);
* every annotation and prediction is a dict with a ``result`` list; a prediction's ``score``
  is a number and its ``model_version`` a string; an annotation's ``completed_by`` is absent,
  a user id or ``{"email": ...}`` (any other value fails the import);
* every result names a control tag of the config (``from_name``) and the object tag that
  control points to (``to_name``), its ``type`` is the control tag's name in lower case, its
  ``value.choices`` are choices the config offers; the ids of results are unique.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from cmcsl_core.annotations.formats import (
    LS_LOCAL_FILES,
    export_bytes,
    export_labels,
    label_scores,
    label_studio_config,
    label_studio_config_path,
    label_studio_image_url,
    label_studio_tasks,
)
from cmcsl_core.annotations.provenance import labels_from_seeds
from cmcsl_core.annotations.store import HumanLabels
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.seeds import draw_seeds
from tests.helpers_core import synthetic_features

_OBJECT_TYPES = {"Text": (str, int, float), "Image": (str, list), "HyperText": (str,)}
_CONTROLS = {"Choices": "Choice"}


def check_label_studio_import(tasks: object, config_xml: str) -> None:
    """Fail (AssertionError) where ``tasks`` would not import into a project labelled by ``config_xml``."""
    root = ET.fromstring(config_xml)
    assert root.tag == "View"
    objects = {el.get("name"): el for el in root.iter() if el.tag in _OBJECT_TYPES}
    controls = {el.get("name"): el for el in root.iter() if el.tag in _CONTROLS}
    assert objects and controls, "the config needs an object tag and a control tag"
    data_keys = {}
    for name, el in objects.items():
        value = el.get("value", "")
        assert value.startswith("$"), f"object {name} must read a data key ($key)"
        data_keys[value[1:]] = _OBJECT_TYPES[el.tag]
    choices = {}
    for name, el in controls.items():
        assert el.get("toName") in objects, f"control {name} points to an unknown object {el.get('toName')}"
        choices[name] = {c.get("value") for c in el.iter(_CONTROLS[el.tag])}
    assert isinstance(tasks, list) and tasks
    ids: set[str] = set()
    for t, task in enumerate(tasks):
        assert isinstance(task, dict) and isinstance(task.get("data"), dict), f"task {t} has no data dict"
        assert set(task) <= {"data", "annotations", "predictions", "meta", "id"}, f"task {t}: {set(task)}"
        for key, types in data_keys.items():
            assert key in task["data"], f'task {t}: "{key}" key is expected in task data'
            assert isinstance(task["data"][key], types), f"task {t}: data[{key!r}] has the wrong type"
        assert isinstance(task.get("meta", {}), dict)
        for kind in ("annotations", "predictions"):
            entries = task.get(kind, [])
            assert isinstance(entries, list), f"task {t}: {kind} must be a list"
            for entry in entries:
                assert isinstance(entry, dict) and isinstance(entry.get("result"), list), f"task {t}: {kind} result"
                if kind == "predictions":
                    assert isinstance(entry.get("model_version", ""), str)
                    float(entry.get("score", 0.0))
                else:
                    who = entry.get("completed_by")
                    assert who is None or isinstance(who, int) or (isinstance(who, dict) and "email" in who)
                for res in entry["result"]:
                    assert res["from_name"] in controls, f"task {t}: unknown from_name {res['from_name']}"
                    control = controls[res["from_name"]]
                    assert res["to_name"] == control.get("toName"), f"task {t}: to_name {res['to_name']}"
                    assert res["type"] == control.tag.lower()
                    assert set(res["value"]["choices"]) <= choices[res["from_name"]], f"task {t}: unknown choice"
                    assert res["id"] not in ids, f"task {t}: duplicate result id {res['id']}"
                    ids.add(res["id"])


def _with_images(fs: FeatureSet, folder: Path) -> FeatureSet:
    """``fs`` whose items have image files under ``folder/img`` (one missing path, one with a space)."""
    from dataclasses import replace

    (folder / "img" / "sub dir").mkdir(parents=True)
    paths = []
    for i in range(fs.n_items):
        p = folder / "img" / ("sub dir" if i % 2 else "") / f"{i}.jpg"
        p.write_bytes(b"\xff\xd8\xff")  # the export only references files: their bytes do not matter
        paths.append(str(p))
    paths[3] = ""
    return replace(
        fs, image_paths=tuple(paths), texts=tuple(f"text of {i} with *stars* & <tags>" for i in range(fs.n_items))
    )


@pytest.fixture(scope="module")
def fs() -> FeatureSet:
    return synthetic_features((30, 20, 25), with_ids=True, class_names=("fake", "real", "satire"))


def _human(index: list[int], labels: list[int], who: str) -> HumanLabels:
    order = np.argsort(index)
    idx = np.asarray(index, dtype=np.int64)[order]
    return HumanLabels(
        idx, np.asarray(labels, dtype=np.int64)[order], tuple(who for _ in index), np.arange(1, len(index) + 1)
    )


def test_export_imports_into_its_own_config(fs: FeatureSet, tmp_path: Path) -> None:
    data = _with_images(fs, tmp_path)
    got = labels_from_seeds(data, draw_seeds(data.y, 2, 0), _human([7, 11], [2, 0], "eve"))
    out = export_labels(data, got, tmp_path / "labels.json")
    config = label_studio_config_path(out).read_text()
    assert label_studio_config_path(out).name == "labels.label_config.xml"
    tasks = json.loads(out.read_text())
    check_label_studio_import(tasks, config)
    assert len(tasks) == data.n_items
    # human labels: annotations (the annotator kept in data and meta); everything else: scored predictions
    for i, task in enumerate(tasks):
        label = data.class_names[got.final_labels[i]]
        if i in (7, 11):
            assert "predictions" not in task and task["meta"] == {"annotator": "eve"}
            (ann,) = task["annotations"]
            assert ann["result"][0]["value"]["choices"] == [label] and task["data"]["annotator"] == "eve"
            assert "completed_by" not in ann  # Label Studio refuses names that are not its users
        else:
            assert "annotations" not in task
            (pred,) = task["predictions"]
            assert pred["result"][0]["value"]["choices"] == [label]
            assert pred["model_version"] == ("seed" if got.provenance[i] == "seed" else f"cmcsl-{got.preprocessing}")
            expect = 1.0 if got.provenance[i] in ("seed", "agree") else 0.5
            assert pred["score"] == expect
        assert task["data"]["index"] == i and task["data"]["id"] == data.ids[i]
        assert task["data"]["text"] == data.texts[i]  # as written: Label Studio's Text tag escapes it
    # images: local-files URLs relative to the images' common folder, which resolve to the files
    root = tmp_path / "img"
    for i, task in enumerate(tasks):
        url = task["data"]["image"]
        if i == 3:
            assert url == ""
            continue
        assert url.startswith(LS_LOCAL_FILES) and " " not in url
        assert (root / unquote(url[len(LS_LOCAL_FILES) :])).resolve() == Path(data.image_paths[i]).resolve()
    assert '<Image name="image" value="$image"' in config
    assert export_bytes(data, got, "label-studio") == out.read_bytes()


def test_check_refuses_what_label_studio_refuses(fs: FeatureSet) -> None:
    got = labels_from_seeds(fs, draw_seeds(fs.y, 2, 0), HumanLabels.empty())
    config = label_studio_config(fs.class_names)
    tasks = label_studio_tasks(fs, got)
    check_label_studio_import(tasks, config)
    bad_choice = json.loads(json.dumps(tasks))
    bad_choice[0]["predictions"][0]["result"][0]["value"]["choices"] = ["Horror"]
    bad_name = json.loads(json.dumps(tasks))
    bad_name[1]["predictions"][0]["result"][0]["to_name"] = "image"
    no_text = json.loads(json.dumps(tasks))
    del no_text[2]["data"]["text"]
    with_image = label_studio_config(fs.class_names, with_image=True)  # no image in the data
    for broken, cfg in ((bad_choice, config), (bad_name, config), (no_text, config), (tasks, with_image)):
        with pytest.raises(AssertionError):
            check_label_studio_import(broken, cfg)


def test_scores_and_image_urls(fs: FeatureSet) -> None:
    got = labels_from_seeds(fs, draw_seeds(fs.y, 3, 1), HumanLabels.empty())
    score = label_scores(got)
    agree = np.all(got.result.labels == got.result.labels[0], axis=0)
    assert np.all(score[agree] == 1.0) and np.all(score[~agree] == 0.5)
    assert label_studio_image_url("https://x.org/a b.jpg", "/data") == "https://x.org/a b.jpg"
    assert label_studio_image_url("/data/a/b c#1.jpg", "/data") == LS_LOCAL_FILES + "a/b%20c%231.jpg"
    assert label_studio_image_url("/elsewhere/x.jpg", "/data") == "/elsewhere/x.jpg"
    assert label_studio_image_url("rel/x.jpg", "/data") == "rel/x.jpg"
    custom = label_studio_tasks(fs, got, model_version="v7", scores=np.linspace(0, 1, fs.n_items))
    preds = [t["predictions"][0] for t in custom if "predictions" in t]
    assert {p["model_version"] for p in preds} == {"v7", "seed"}
