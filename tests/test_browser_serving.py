"""A served class in real browsers: several visitors at once on one server, none reaching what is not theirs.

One ``streamlit run app.py`` with ``$CMCSL_DATA_ROOT`` set, as ``./run`` serves it (the upload cap
passed as ``server.maxUploadSize``), and separate browser contexts (separate cookies: separate
Streamlit sessions) as separate visitors: each labels under its own identity, sees and undoes its
own labels only, cannot open a file outside the data folder by deep link, and no page fetches a
remote image named in a class name or a text. The teacher's context sees everyone.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import pytest

from cmcsl_core.annotations import AnnotationStore, fingerprint
from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from tests.browser_helpers import browser_page, wait_idle
from tests.helpers_core import synthetic_features

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REMOTE = "127.0.0.1:9"  # nothing listens there: any request to it is a fetched remote image
CLASSES = ("Horror", "<b>Romance</b>", f"![x](http://{REMOTE}/x.png)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, serve_app):
    tmp = tmp_path_factory.mktemp("served")
    root, outside = tmp / "class-data", tmp / "outside"
    root.mkdir()
    outside.mkdir()
    fs = synthetic_features((30, 20, 25), with_ids=True, class_names=CLASSES)
    texts = tuple(f"Item {i} **not bold** https://t.co/a_{i}. ![y](http://{REMOTE}/y.png)" for i in range(fs.n_items))
    save_features(
        FeatureSet(fs.modality_names, fs.X, fs.y, fs.class_names, ids=fs.ids, texts=texts), root / "class.npz"
    )
    save_features(fs, outside / "secret.npz")
    env = {
        "CMCSL_DATA_ROOT": str(root),
        "XDG_DATA_HOME": str(tmp / "xdg"),
        "CMCSL_TEACHER_KEY": "open-sesame",
        "CMCSL_MAX_UPLOAD_MB": "1",
        "STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "1",  # what ./run passes as --server.maxUploadSize when serving
        "CMCSL_NO_BACKGROUND_UMAP": "1",
    }
    url = serve_app(env=env)
    db = tmp / "xdg" / "cmcsl-studio" / f"annotations-{fingerprint(load_features(root / 'class.npz'))[:16]}.sqlite"
    return {"url": url, "root": root, "outside": outside, "tmp": tmp, "db": db}


def _give_name(pg, name: str) -> None:
    pg.get_by_role("textbox", name="Your name").fill(name)
    pg.get_by_role("button", name="Start labelling").click()
    pg.get_by_text("Labelling as").wait_for(timeout=30_000)
    wait_idle(pg)


def _press(pg, key: str) -> None:
    pg.locator("body").press(key)
    time.sleep(0.3)
    wait_idle(pg)


def _rows(db: Path, n: int, timeout: float = 30.0) -> list:
    fs = None
    deadline = time.monotonic() + timeout
    while True:
        if fs is None and db.exists():
            fs = True
        history = AnnotationStore(_fs(db), db).history() if db.exists() else []
        if len(history) >= n or time.monotonic() > deadline:
            return history
        time.sleep(0.2)


_FS: dict[Path, FeatureSet] = {}


def _fs(db: Path) -> FeatureSet:
    root = db.parent.parent.parent / "class-data"
    if root not in _FS:
        _FS[root] = load_features(root / "class.npz")
    return _FS[root]


def test_the_server_listens_on_this_machine_only(served) -> None:
    port = int(served["url"].rsplit(":", 1)[1])
    listening = [c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and all(c.laddr.ip in ("127.0.0.1", "::1") for c in listening), listening


def test_visitors_at_once_reach_nothing_that_is_not_theirs(served, browser) -> None:
    url, db = served["url"], served["db"]
    remote: list[str] = []
    with browser_page(browser) as alice, browser_page(browser) as bob:
        for pg in (alice, bob):
            pg.on("request", lambda r: remote.append(r.url) if REMOTE in r.url else None)
            pg.goto(f"{url}/Review?source=file&path=class.npz")
            wait_idle(pg, 120_000)
        _give_name(alice, "alice")
        _give_name(bob, "alice")  # the same name: another visitor all the same
        _press(alice, "1")
        (first,) = _rows(db, 1)
        assert first.annotator.startswith("alice #") and first.kind == "label"
        # bob sees none of alice's labels, and cannot undo them
        bob.reload()
        wait_idle(bob, 120_000)
        assert bob.get_by_text("Labelling as").count() == 0  # a reload is a new session: the name is asked again
        _give_name(bob, "alice")
        assert bob.locator('[data-testid="stMetricValue"]').first.inner_text() == "0"
        _press(bob, "u")
        bob.get_by_text("has nothing to undo").wait_for(timeout=30_000)
        _press(bob, "2")
        _press(bob, "u")
        history = _rows(db, 3)
        assert [a.kind for a in history] == ["label", "label", "undo"]
        assert history[1].annotator != first.annotator and history[2].annotator == history[1].annotator
        assert AnnotationStore(_fs(db), db).current().annotators == (first.annotator,)
        # no identity, database or server path in the address or on the page
        for pg in (alice, bob):
            assert "alice" not in pg.url and "sqlite" not in pg.url
            body = pg.locator("body").inner_text()
            assert str(served["tmp"]) not in body and "/root" not in body and "Traceback" not in body
        # a deep link outside the data folder: one answer, exists or not
        answers = []
        for path in (served["outside"] / "secret.npz", served["outside"] / "missing.npz", "/etc/passwd"):
            bob.goto(f"{url}/Clusters?source=file&path={path}")
            wait_idle(bob, 60_000)
            answer = bob.locator('[data-testid="stAlertContentError"]').first.inner_text()
            answers.append(answer.replace(repr(str(path)), "PATH"))
        assert len(set(answers)) == 1 and "is not one of the data sets this server offers" in answers[0]
        # an upload over the cap is refused
        big = served["tmp"] / "big.npz"
        big.write_bytes(os.urandom(2 << 20))
        bob.goto(f"{url}/Home?source=file")
        wait_idle(bob, 60_000)
        bob.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(big))
        bob.get_by_text("1MB", exact=False).first.wait_for(timeout=30_000)
        # the other pages, with the hostile class names and texts
        for page in ("Clusters", "How_CMCSL_works", ""):
            alice.goto(f"{url}/{page}?source=file&path=class.npz")
            wait_idle(alice, 120_000)
            assert alice.locator('[data-testid="stException"]').count() == 0
            assert "<b>Romance</b>" not in alice.content().replace("&lt;b&gt;", "")  # shown as text, not markup
    assert remote == []  # no remote image was fetched by any page


def test_the_teacher_sees_everyone_and_downloads_their_labels(served, browser) -> None:
    url = served["url"]
    with browser_page(browser) as teacher:
        teacher.goto(f"{url}/Teacher?source=file&path=class.npz")
        wait_idle(teacher, 120_000)
        assert teacher.locator('[data-testid="stMetric"]').count() == 0
        teacher.get_by_label("Teacher's key").fill("open-sesame")
        teacher.get_by_role("button", name="Open the teacher's view").click()
        teacher.get_by_text("Labels per annotator").wait_for(timeout=30_000)
        wait_idle(teacher)
        metrics = teacher.locator('[data-testid="stMetric"]').all_inner_texts()
        assert any(m.startswith("Annotators") and m.endswith("1") for m in metrics), metrics  # one label in force
        with teacher.expect_download() as info:
            teacher.get_by_role("button", name="Download everyone's labels").click()
        text = Path(info.value.path()).read_text()
        assert text.splitlines()[0].startswith("index,item,name,annotator,label")
        assert "alice #" in text


def test_static_files_stay_inside_the_static_folder(served) -> None:
    for path in ("/app/static/../../app.py", "/app/static/%2e%2e/%2e%2e/app.py", "/app/static/..%2f..%2fapp.py"):
        try:
            with urllib.request.urlopen(served["url"] + path, timeout=10) as r:
                body = r.read()
        except urllib.error.HTTPError as exc:
            assert exc.code in (400, 403, 404)
            continue
        assert b"start_page" not in body, path


def _rss(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    (pid,) = {c.pid for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    return psutil.Process(pid).memory_info().rss


def test_an_uploaded_file_is_released_when_its_tab_closes(tmp_path_factory, serve_app, browser) -> None:
    tmp = tmp_path_factory.mktemp("upload")
    (tmp / "class-data").mkdir()
    env = {"CMCSL_DATA_ROOT": str(tmp / "class-data"), "XDG_DATA_HOME": str(tmp / "xdg"), "CMCSL_MAX_UPLOAD_MB": "20",
           "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2", "CMCSL_NO_BACKGROUND_UMAP": "1"}
    url = serve_app(env=env)
    n = 400_000  # 2 x 400,000 x 12 float64: 77 MB once loaded, from an upload of well under 1 MB
    rng = np.random.default_rng(0)
    fs = FeatureSet(("a", "b"), (np.zeros((n, 12)), np.zeros((n, 12))), rng.integers(0, 2, n), ("x", "y"))
    upload = tmp / "big.npz"
    save_features(fs, upload, feature_dtype=np.float16, compress=True)
    assert upload.stat().st_size < 1 << 20
    with browser_page(browser) as warm:  # the app's modules and the demo loaded once, before measuring
        warm.goto(f"{url}/?source=file")
        wait_idle(warm, 120_000)
    time.sleep(4)
    before = _rss(url)
    with browser_page(browser) as pg:
        pg.goto(f"{url}/?source=file")
        wait_idle(pg, 120_000)
        pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
        pg.get_by_text("400,000").first.wait_for(timeout=120_000)  # the items metric of the uploaded file
        wait_idle(pg)
        loaded = _rss(url)
    # Streamlit keeps a closed tab's session for server.disconnectedSessionTTL (2 s here) and lets it go when
    # sessions next come and go: another visitor's page
    time.sleep(3)
    with browser_page(browser) as other:
        other.goto(f"{url}/?source=file")
        wait_idle(other, 120_000)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _rss(url) > before + (loaded - before) / 3:
        time.sleep(1)
    after = _rss(url)
    assert loaded - before > 60 << 20, (before, loaded)
    assert after - before < (loaded - before) / 3, (before >> 20, loaded >> 20, after >> 20)
