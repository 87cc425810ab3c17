"""Use the light install as a user would: run in an environment made from requirements.txt only (no torch).

Called by ``scripts/check_light_install.sh`` (which builds that environment), and by CI. Checks:

1. torch, torchvision and sentence-transformers are absent;
2. ``export --source table`` on a small image + text table (scikit-learn's sample photos, pictures
   drawn here, a broken image, a missing one) writes a feature file with 1,280 + 384 features made
   by ONNX Runtime, thumbnails for every item, and the skipped rows listed;
3. every torch-only choice (``--finetune ce``, ``--image-encoder resnet18``, a ``.pth`` file,
   ``--text-model DIR``, ``--backend torch``) answers one ``error:`` line naming the extra, exit 2;
4. every page of the app runs without an exception or an error on the built-in data and on the
   exported file (Streamlit's AppTest).

Usage: python scripts/check_light_install.py [--keep DIR]. Exits 1 on the first failed check.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ("app.py", *(f"pages/{p.name}" for p in sorted((REPO / "pages").glob("*.py"))))  # every page


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def make_table(folder: Path) -> Path:
    """A table of 12 items with images (2 real photos, drawn pictures), one broken and one missing image."""
    import numpy as np
    from PIL import Image, ImageDraw
    from sklearn.datasets import load_sample_image

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, label, text in (("china.jpg", "place", "An old temple roof in China"),
                              ("flower.jpg", "nature", "A flower in bloom, close up")):
        Image.fromarray(load_sample_image(name)).save(images / name, quality=92)
        rows.append((name.split(".")[0], f"images/{name}", text, label))
    rng = np.random.default_rng(0)
    for k in range(8):
        label = "place" if k % 2 else "nature"
        im = Image.new("RGB", (160 + 10 * k, 120), tuple(int(v) for v in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(im)
        draw.ellipse((20, 20, 100 + 5 * k, 100), fill=(250, 220, 40) if label == "nature" else (40, 40, 200))
        path = images / f"drawn {k}.png"
        im.save(path)
        rows.append((f"d{k}", f"images/drawn {k}.png", f"drawn picture {k}, a {label} scene", label))
    (images / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    rows.append(("broken", "images/broken.jpg", "a broken picture", "place"))
    rows.append(("missing", "images/missing.jpg", "a picture that is not there", "nature"))
    table = folder / "items.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "image", "text", "label"])
        writer.writerows(rows)
    return table


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cmcsl_core", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600)


def check_export(work: Path) -> Path:
    table = make_table(work / "my table")
    out = work / "features.npz"
    t0 = time.perf_counter()
    run = cli("export", "--source", "table", "--path", str(table), "--out", str(out), "--no-progress")
    if run.returncode != 0:
        fail(f"export --source table exited {run.returncode}: {run.stderr.strip()[-500:]}")
    print(f"export --source table: {time.perf_counter() - t0:.1f} s; {run.stdout.strip().splitlines()[0]}")
    from cmcsl_core.datasets.features import load_features

    fs = load_features(out)
    if [x.shape[1] for x in fs.X] != [1280, 384] or fs.n_items != 10:
        fail(f"unexpected features: {[x.shape for x in fs.X]}")
    record = json.loads(fs.encoders)
    if {v["backend"] for v in record.values()} != {"onnx"}:
        fail(f"the feature file says {record}")
    if fs.thumbnails is None or not all(t[:2] == b"\xff\xd8" for t in fs.thumbnails):
        fail("the feature file lacks thumbnails")
    skipped = (out.parent / "features.skipped.csv").read_text()
    if "broken" not in skipped or "missing" not in skipped:
        fail(f"skipped rows not listed: {skipped}")
    print(f"  {fs.n_items} items, encoders {record['image']['runtime']}, {len(fs.thumbnails)} thumbnails")
    return out


def check_torch_errors(work: Path, table: Path) -> None:
    pth = work / "weights.pth"
    pth.write_bytes(b"not used")
    folder = work / "text model"
    folder.mkdir()
    for flags in (["--finetune", "ce"], ["--image-encoder", "resnet18"], ["--image-encoder", str(pth)],
                  ["--text-model", str(folder)], ["--backend", "torch"]):
        run = cli("export", "--source", "table", "--path", str(table), "--out", str(work / "x.npz"), "--no-progress",
                  *flags)
        lines = run.stderr.strip().splitlines()
        if run.returncode != 2 or len(lines) != 1 or not lines[0].startswith("error:") or "torch extra" not in lines[0]:
            fail(f"{' '.join(flags)}: exit {run.returncode}, stderr {run.stderr!r}")
        print(f"  {' '.join(flags[:1])} ...: {lines[0][:110]}...")


def check_pages(features: Path) -> None:
    from streamlit.testing.v1 import AppTest

    for params in ({}, {"source": "file", "path": str(features)}):
        for page in PAGES:
            t0 = time.perf_counter()
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
            for key, value in params.items():
                at.query_params[key] = value
            if page != "app.py":
                at.switch_page(page)
            at.run()
            problems = [e.value for e in at.exception] + [e.value for e in at.error]
            if problems:
                fail(f"{page} with {params or 'the defaults'}: {problems[0]}")
            if page == "app.py" and params and not at.get("image"):
                fail("the home page shows no picture of the exported table's items")
            print(f"  {page} ({params.get('source', 'default data')}): ok in {time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="work in this folder (kept) instead of a temporary one")
    args = parser.parse_args(argv)
    present = [m for m in ("torch", "torchvision", "sentence_transformers") if importlib.util.find_spec(m)]
    if present:
        fail(f"not a light environment: {', '.join(present)} installed")
    print(f"python {sys.version.split()[0]} at {sys.prefix}: no torch")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cmcsl-light-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CMCSL_CACHE_DIR", str(work / "cache"))
    os.environ["CMCSL_NO_BACKGROUND_UMAP"] = "1"
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    features = check_export(work)
    check_torch_errors(work, work / "my table" / "items.csv")
    check_pages(features)
    print("light install: all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
