"""A served class under Streamlit's AppTest: confined data, one store, an identity per visitor, no tracebacks.

The app is served when ``$CMCSL_DATA_ROOT`` names a folder. Every test builds such a folder (a
feature file with hostile class names and texts, a table) beside an *outside* folder holding
files a visitor must never reach, and runs the real pages.
"""

from __future__ import annotations

import gc
import html
import logging
import os
import re
import weakref
from pathlib import Path

import numpy as np
import pytest
from helpers_app import REVIEW, ROOT, TIMEOUT, press
from streamlit.testing.v1 import AppTest

from cmcsl_core.annotations import AnnotationStore, fingerprint
from cmcsl_core.dataroot import REFUSAL
from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from cmcsl_studio_ui.settings import source_label
from tests.helpers_core import synthetic_features

TEACHER = "pages/5_Teacher.py"
CLUSTERS = "pages/1_Clusters.py"
EVIL = ("Horror", "<b>Romance</b>", "![x](http://127.0.0.1:9/x.png)")


def _features() -> FeatureSet:
    fs = synthetic_features((30, 20, 25), with_ids=True, class_names=EVIL)
    texts = tuple(
        f"Item {i} **not bold** https://t.co/a_{i}. <img src=http://127.0.0.1:9/y.png>" for i in range(fs.n_items)
    )
    return FeatureSet(fs.modality_names, fs.X, fs.y, fs.class_names, ids=fs.ids, texts=texts)


@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    root, outside, xdg = tmp_path / "class-data", tmp_path / "outside", tmp_path / "xdg"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    save_features(_features(), root / "sub" / "class.npz")
    save_features(_features(), outside / "secret.npz")
    (outside / "secret.csv").write_text("id,image,text,label,password\n1,a.jpg,t,x,hunter2\n")
    (root / "items.csv").write_text("id,image,text,label\n1,a.jpg,hello,x\n2,b.jpg,bye,y\n")
    (outside / "weights.pth").write_bytes(b"not weights")
    os.symlink(outside / "secret.npz", root / "link.npz")
    monkeypatch.setenv("CMCSL_DATA_ROOT", str(root))
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "elsewhere" / "shared.sqlite"))  # never used when served
    monkeypatch.setenv("CMCSL_TEACHER_KEY", "open-sesame")
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    return {"root": root, "outside": outside, "xdg": xdg, "tmp": tmp_path}


def run(page: str, at: AppTest | None = None, **params: str) -> AppTest:
    if at is None:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
    at.switch_page(page)
    at.run()
    return at


def shown_text(at: AppTest) -> str:
    """Everything the page shows as text (markdown, captions, errors, infos, code, widget labels)."""
    parts = [
        e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "code") for e in at.get(kind)
    ]
    parts += [
        str(getattr(w, "label", "")) for kind in ("button", "text_input", "selectbox", "metric") for w in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def refusal_of(at: AppTest) -> str:
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    return errors[0]


# ---------------------------------------------------------------- confined data


@pytest.mark.parametrize(
    "params",
    [
        {"source": "file", "path": "OUTSIDE/secret.npz"},  # exists, outside
        {"source": "file", "path": "OUTSIDE/missing.npz"},  # does not exist, outside
        {"source": "file", "path": "/etc/passwd"},
        {"source": "file", "path": "../outside/secret.npz"},  # climbs out
        {"source": "file", "path": "sub/../../outside/secret.npz"},
        {"source": "file", "path": "link.npz"},  # a link inside that points out
        {"source": "file", "path": "sub"},  # a folder, not a feature file
        {"source": "file", "path": "missing.npz"},  # inside, missing
        {"source": "table", "path": "OUTSIDE/secret.csv"},  # a table outside: its columns are never read
        {"source": "table", "path": "items.csv", "enc": "OUTSIDE/weights.pth"},  # encoder weights outside
        {"source": "hdf5", "path": "/dev/zero"},
    ],
)
def test_a_path_outside_the_data_folder_gets_one_answer(served, params) -> None:
    params = {k: v.replace("OUTSIDE", str(served["outside"])) for k, v in params.items()}
    at = run(REVIEW, **params)
    assert not at.exception
    message = refusal_of(at)
    shown = params["enc"] if "enc" in params else params["path"]
    written = re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), message)
    assert written == f"{shown!r} {REFUSAL}"
    text = shown_text(at)
    assert "hunter2" not in text and "password" not in text  # nothing of the outside file
    assert str(served["root"]) not in text and str(served["tmp"]) not in text  # no server path


def test_the_sidebar_offers_the_built_in_data_and_the_folders_entries_only(served) -> None:
    at = run(REVIEW, source="file", path="sub/class.npz")
    assert not at.exception and not [e for e in at.error if "name" not in e.value]
    sources = at.sidebar.selectbox(key="w_source").options
    assert set(sources) == {source_label(s) for s in ("demo", "mvsa-builtin", "table", "file")}  # no hdf5, raw, mvsa
    assert at.sidebar.selectbox(key="w_path").options == ["sub/class.npz"]  # link.npz points out of the folder
    assert not [
        t for t in at.sidebar.text_input if t.key in ("w_path", "review_db", "review_by")
    ]  # no free path, no Database
    labels = [t.label for t in at.sidebar.text_input]
    assert labels == ["Your name"]


def test_a_link_out_of_the_folder_is_not_offered(served) -> None:
    from cmcsl_core.dataroot import offered

    assert offered(served["root"].resolve(), "file") == ["sub/class.npz"]
    assert offered(served["root"].resolve(), "table") == ["items.csv"]


# ---------------------------------------------------------------- one store, an identity per visitor


def _give_name(at: AppTest, name: str) -> AppTest:
    at.text_input(key="visitor_name_input").input(name)
    next(b for b in at.button if b.label == "Start labelling").click()
    at.run()
    return at


def _press(at: AppTest, key: str) -> AppTest:
    return press(at, key)


def _served_db(served) -> Path:
    fs = load_features(served["root"] / "sub" / "class.npz")
    return served["xdg"] / "cmcsl-studio" / f"annotations-{fingerprint(fs)[:16]}.sqlite"


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_visitors_label_under_their_own_identity_and_undo_only_their_own(served) -> None:
    before = _files(served["tmp"])
    alice = run(REVIEW, source="file", path="sub/class.npz")
    labelling = [
        b for b in alice.button if b.key and b.key.startswith("review_key_") and not b.key.startswith("review_key_p_")
    ]
    assert labelling and all(b.disabled for b in labelling)  # no name, no labels (only "previous item" moves)
    _give_name(alice, "alice")
    _press(alice, "1")
    impostor = run(REVIEW, source="file", path="sub/class.npz")
    _give_name(impostor, "alice")  # the same name: still another annotator
    assert impostor.metric[0].value == "0"  # sees none of alice's labels
    _press(impostor, "u")  # undo: nothing of its own to undo
    assert any("nothing to undo" in e.value for e in impostor.error)
    db = _served_db(served)
    store = AnnotationStore(load_features(served["root"] / "sub" / "class.npz"), db)
    (label,) = store.history()
    assert label.kind == "label" and label.annotator.startswith("alice #")
    _press(impostor, "2")
    _press(impostor, "u")  # takes back its own label only
    history = store.history()
    assert [a.kind for a in history] == ["label", "label", "undo"]
    assert {a.annotator for a in history[1:]} == {history[1].annotator} != {label.annotator}
    assert history[2].undoes == history[1].id
    assert len(store.current()) == 1 and store.current().annotators == (label.annotator,)
    # one database, in the server's data folder: nothing else was written, $CMCSL_DB untouched
    created = _files(served["tmp"]) - before
    assert {p for p in created if not p.name.endswith(("-wal", "-shm"))} == {db}
    assert not (served["tmp"] / "elsewhere").exists()
    # the page names no server path, and the name cannot be changed within the session
    assert str(served["tmp"]) not in shown_text(alice)
    assert not [t for t in alice.sidebar.text_input if t.key == "visitor_name_input"]


def test_more_like_this_on_clusters_labels_through_the_served_store_as_the_visitor(served) -> None:
    """The Clusters side panel's "More like this" writes where the Review page does, under the visitor's identity."""
    before = _files(served["tmp"])
    bob = run(CLUSTERS, source="file", path="sub/class.npz")
    bob.session_state["clusters_views"] = {
        "nonce": "apptest",
        "seq": 1,
        "events": [{"event": "click", "ids": [4], "view": "v", "seq": 1}],
    }
    bob.session_state["panel_more_open"] = True
    bob.run()
    assert not bob.exception and not bob.error
    assert bob.button(key="panel_more_label").disabled  # no name yet: nothing can be labelled
    assert not [t for t in bob.sidebar.text_input if t.key == "Database"]  # no database field when served
    _give_name(bob, "bob")
    assert not bob.exception and not bob.error
    caption = html.unescape(next(c.value for c in bob.caption if c.value.startswith("Labels go to")))
    assert str(served["tmp"]) not in caption and "annotations-" in caption  # the fixed database, by name only
    bob.button(key="panel_more_label").click().run()
    assert not bob.exception and not bob.error
    db = _served_db(served)
    store = AnnotationStore(load_features(served["root"] / "sub" / "class.npz"), db)
    history = store.history()
    assert len(history) >= 2 and 4 in {a.index for a in history}  # the item and its neighbours, one transaction
    assert {a.annotator for a in history} == {history[0].annotator} and history[0].annotator.startswith("bob #")
    created = _files(served["tmp"]) - before
    assert {p for p in created if not p.name.endswith(("-wal", "-shm"))} == {db}
    # another visitor sees none of them (each visitor labels on their own) and cannot undo them
    other = run(REVIEW, source="file", path="sub/class.npz")
    _give_name(other, "carol")
    assert other.metric[0].value == "0"
    _press(other, "u")
    assert any("nothing to undo" in e.value for e in other.error)
    assert len(store.history()) == len(history)


def test_the_teacher_view_needs_the_key_and_shows_everyones_agreement(served) -> None:
    fs = load_features(served["root"] / "sub" / "class.npz")
    _served_db(served).parent.mkdir(parents=True)
    store = AnnotationStore(fs, _served_db(served), independent=True)
    for i in range(12):
        store.label(i, EVIL[i % 3], "alice #1")
        store.label(i, EVIL[(i % 3) if i < 9 else 0], "bob #2")
    store.label(20, EVIL[1], "carol #3")
    at = run(TEACHER, source="file", path="sub/class.npz")
    assert not at.exception
    assert not at.get("metric") and not at.dataframe  # nothing shown before the key
    at.text_input(key="teacher_key_input").input("wrong")
    next(b for b in at.button if b.label == "Open the teacher's view").click()
    at.run()
    assert any("not this server's teacher key" in e.value for e in at.error) and not at.dataframe
    at.text_input(key="teacher_key_input").input("open-sesame")
    next(b for b in at.button if b.label == "Open the teacher's view").click()
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Annotators"] == "3" and metrics["Labelled by 2 or more"] == "12"
    from cmcsl_core.annotations.agreement import agreement

    report = agreement(store.history(), fs.class_names)
    assert metrics["Fleiss' kappa"] == f"{report.fleiss:.3f}"
    (pairs,) = [d.value for d in at.dataframe if "Cohen's kappa" in d.value.columns]
    assert list(pairs["annotator a"]) == ["alice #1"] and float(pairs["Cohen's kappa"][0]) == pytest.approx(
        report.pairs[0].kappa, abs=5e-4
    )


# ---------------------------------------------------------------- escaped text, no tracebacks


def test_class_names_and_texts_are_shown_as_text(served) -> None:
    at = run(CLUSTERS, source="file", path="sub/class.npz")
    assert not at.exception
    legend = next(c.value for c in at.caption if "large, outlined: seed" in c.value)
    for value in [
        legend,
        *[m.value for m in at.markdown],
        *[c.value for c in at.caption],
        *[b.label for b in at.button],
    ]:
        assert "<b>" not in value and "![" not in value and "<img" not in value, value
    assert "&#60;b&#62;Romance&#60;&#47;b&#62;" in legend
    review = run(REVIEW, source="file", path="sub/class.npz")
    quotes = [m.value for m in review.markdown if m.value.startswith("> ")]
    assert quotes and all("**" not in q and "<img" not in q for q in quotes)
    assert any("<https://t.co/a_" in q for q in quotes)  # links stay links, without backslashes
    assert not any("\\" in q.replace("\\\n", "") for q in quotes)


def test_an_unexpected_error_shows_an_id_and_no_traceback(served) -> None:
    from cmcsl_studio_ui import serving

    def page() -> None:
        import streamlit as st

        from cmcsl_studio_ui.serving import report_errors

        report_errors()
        st.write("before")
        raise RuntimeError(f"boom in {__file__} with a secret path /srv/secret")

    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger(serving.ERROR_LOGGER).addHandler(keep)
    try:
        at = AppTest.from_function(page, default_timeout=60)
        at.run()
    finally:
        logging.getLogger(serving.ERROR_LOGGER).removeHandler(keep)
    (error,) = [e.value for e in at.error]
    error_id = re.search(r"error \*\*([0-9a-f]{8})\*\*", error).group(1)
    assert seen and seen[-1].getMessage() == f"error {error_id} in a page run" and seen[-1].exc_info[0] is RuntimeError
    everything = "\n".join([error, *[str(e.proto) for e in at.exception]])
    assert "boom" not in everything and "/srv/secret" not in everything and "Traceback" not in everything
    assert "File \"" not in everything


# ---------------------------------------------------------------- bounded uploads


def test_an_upload_over_the_budget_is_refused_before_it_is_allocated(served, monkeypatch) -> None:
    import io
    import zipfile

    from cmcsl_core.errors import FeatureFileError
    from cmcsl_studio_ui.loading import upload_budget

    monkeypatch.setenv("CMCSL_MAX_UPLOAD_MB", "1")
    assert upload_budget() == 8 << 20
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:  # 64 MB of zeros: deflates to ~60 KB
        for key, value in {
            "modality_names": np.array(["a", "b"]),
            "y": np.zeros(4_000_000, dtype=np.int64),
            "class_names": np.array(["x", "y"]),
            "a": np.zeros((4_000_000, 1)),
            "b": np.zeros((4_000_000, 1)),
        }.items():
            one = io.BytesIO()
            np.save(one, value)
            zf.writestr(f"{key}.npy", one.getvalue())
    assert len(buf.getvalue()) < 1 << 20
    with pytest.raises(FeatureFileError, match="more than the 8.0 MB allowed here"):
        load_features(io.BytesIO(buf.getvalue()), max_bytes=upload_budget())


def test_an_upload_is_released_when_replaced_or_when_its_session_ends(served) -> None:
    """The session holds the uploaded arrays; the shared caches computed from them go with the last holder."""
    import io

    from cmcsl_studio_ui import loading, projections, session

    buf = io.BytesIO()
    save_features(_features(), served["tmp"] / "up.npz")
    data = (served["tmp"] / "up.npz").read_bytes()
    state: dict = {}

    class FakeState(dict):
        pass

    fake = FakeState()
    real = session.st.session_state
    try:
        session.st.session_state = fake  # type: ignore[misc]
        session.store_upload("up.npz", data)
        upload = session.uploaded_file()
        held_data = loading._load_upload(upload)
        assert session.uploaded_file().data is None  # the bytes are let go once loaded
        ref = weakref.ref(held_data.fs)
        pre = projections._preprocessed(held_data.key, "l2std", held_data)
        assert projections._preprocessed(held_data.key, "l2std", held_data) is pre
        state["key"] = held_data.key
        del held_data, upload
        session.store_upload(None, None)  # replaced by nothing: released
        gc.collect()
        assert ref() is None
        again = loading.Dataset(state["key"], _features(), "x")
        assert projections._preprocessed(state["key"], "l2std", again) is not pre  # the cache entry went too
        # a session that ends: its state goes, and with it the upload
        gone = FakeState()
        session.st.session_state = gone  # type: ignore[misc]
        session.store_upload("up.npz", data)
        held_data = loading._load_upload(session.uploaded_file())
        ref = weakref.ref(held_data.fs)
        pre = projections._preprocessed(held_data.key, "l2std", held_data)
        del held_data
        session.st.session_state = fake  # type: ignore[misc]
        del gone
        gc.collect()
        assert ref() is None
        assert projections._preprocessed(state["key"], "l2std", again) is not pre
    finally:
        session.st.session_state = real  # type: ignore[misc]
    del buf


def test_with_st_login_the_login_is_the_identity_and_listed_teachers_need_no_key(served) -> None:
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "id",
            "client_secret": "secret", "server_metadata_url": "https://accounts.example/.well-known/openid-configuration"}

    def app(user: dict | None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
        at.secrets["auth"] = auth
        at.secrets["cmcsl"] = {"teachers": ["teacher@school.example"]}
        if user is not None:
            at.user = user
        at.query_params["source"], at.query_params["path"] = "file", "sub/class.npz"
        return at

    anonymous = run(REVIEW, app({"is_logged_in": False}))
    assert not anonymous.exception
    assert [b.label for b in anonymous.sidebar.button if b.key == "visitor_login"] == ["Log in"]
    assert not [t for t in anonymous.sidebar.text_input if t.key == "visitor_name_input"]  # no name to type
    ada = run(REVIEW, app({"is_logged_in": True, "email": "ada@school.example", "name": "Ada"}))
    _press(ada, "1")
    store = AnnotationStore(load_features(served["root"] / "sub" / "class.npz"), _served_db(served))
    assert [a.annotator for a in store.history()] == ["ada@school.example"]
    student = run(TEACHER, app({"is_logged_in": True, "email": "ada@school.example"}))
    assert not student.get("metric") and student.text_input(key="teacher_key_input")  # a student needs the key
    teacher = run(TEACHER, app({"is_logged_in": True, "email": "Teacher@school.example"}))
    assert not teacher.exception and {m.label: m.value for m in teacher.metric}["Annotators"] == "1"


def test_command_lines_name_served_files_as_the_visitor_chose_them(served) -> None:
    from cmcsl_studio_ui.loading import _as_given, data_spec
    from cmcsl_studio_ui.settings import Settings

    (served["root"] / "sub" / "w.pth").write_bytes(b"weights")
    settings = Settings(source="table", path="items.csv", image_encoder="sub/w.pth")
    spec = data_spec(settings)
    assert spec.path == str((served["root"] / "items.csv").resolve())  # what is read: the real file
    assert dict(spec.options)["image_encoder"] == str((served["root"] / "sub" / "w.pth").resolve())
    line = _as_given(spec, settings).command("items.npz")
    assert "--path items.csv" in line and "--image-encoder sub/w.pth" in line and str(served["tmp"]) not in line


def test_locally_the_teacher_page_is_open_and_reads_the_review_pages_database(tmp_path, monkeypatch) -> None:
    from cmcsl_core.datasets.sources import SourceSpec

    monkeypatch.delenv("CMCSL_DATA_ROOT", raising=False)
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "local.sqlite"))
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    store = AnnotationStore(SourceSpec.create("demo").load(), tmp_path / "local.sqlite")
    store.label(0, store.class_names[0], "me")
    store.label(0, store.class_names[1], "you")
    at = run(TEACHER)
    assert not at.exception and not at.error and not at.get("text_input")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Annotators"] == "2" and metrics["Labelled by 2 or more"] == "1"


def test_a_served_tables_skipped_rows_name_no_server_folder(served, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    from cmcsl_core.datasets.sources import encoding as encoding_module
    from tests.helpers_items import FakeEncoders

    monkeypatch.setattr(encoding_module, "default_encoders", lambda options, progress=None: FakeEncoders().build())
    pics = served["root"] / "pics"
    pics.mkdir()
    rows = ["id,image,text,label"]
    for i in range(4):
        Image.new("RGB", (40, 30), (60 * i, 90, 200 - 40 * i)).save(pics / f"{i}.png")
        rows.append(f"p{i},pics/{i}.png,text {i},{'ab'[i % 2]}")
    (pics / "broken.jpg").write_bytes(b"not an image")
    rows.append("p-broken,pics/broken.jpg,broken,a")
    (served["root"] / "pics.csv").write_text("\n".join(rows) + "\n")
    at = run("app.py", source="table", path="pics.csv")
    assert not at.exception and not at.error
    (warning,) = [html.unescape(w.value) for w in at.warning if "skipped" in w.value.lower()]
    assert "1 row" in warning
    (frame,) = [d.value for d in at.dataframe if "reason" in d.value.columns]
    (reason,) = frame["reason"]
    assert reason.startswith("undecodable image") and "pics/broken.jpg" in reason
    assert str(served["root"]) not in reason and str(served["tmp"]) not in shown_text(at) + reason
