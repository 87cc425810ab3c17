"""Speed of the offline encoders on the real MVSA-Single files, both backends (images/s, texts/s).

Encodes a sample (or, with ``--full``, all 4,869) of ``../shared/mvsa-single/data`` end to end,
as an export does (:mod:`cmcsl_core.encoders.pipeline`: hash, decode in a thread pool while the
network runs, thumbnail, cache), first with ONNX Runtime (the default install), then with torch
(the torch extra, when installed), each in a fresh temporary cache (``CMCSL_CACHE_DIR``) so
nothing is served from an earlier run; then repeats the calls to time a cache hit. Prints
images/s and texts/s per backend, their ratio (ONNX / torch), the CPU time per item (robust to
a busy machine) and what it projects for otherwise idle cores, and the machine load.

Usage: python benchmarks/bench_encoders.py [--sample 512] [--full] [--data DIR] [--device auto]
       [--threads N] [--batch-size 64] [--backend onnx|torch|both] [--finetune]
Exits 1 if the ONNX backend misses a target on this machine's cores, projected from its CPU time
(>= 80 images/s, >= 127 texts/s on 2 idle cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N_MVSA = 4869
IMAGE_TARGET = 80.0
TEXT_TARGET = 127.0
TARGET_CORES = 2


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run_backend(backend: str, images: list[str], texts: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Time one backend end to end (fresh cache); returns rates and CPU seconds per item."""
    import numpy as np

    from cmcsl_core.encoders.image import encode_images, load_image_encoder
    from cmcsl_core.encoders.text import encode_texts, load_text_encoder

    os.environ["CMCSL_CACHE_DIR"] = tempfile.mkdtemp(prefix=f"cmcsl-bench-enc-{backend}-")
    n = len(images)
    t0 = time.perf_counter()
    enc = load_image_encoder("efficientnet-lite0", args.device, backend=backend)
    print(f"[{backend}] image encoder on {enc.device}, loaded in {time.perf_counter() - t0:.2f} s; load {_load()}")
    t0, c0 = time.perf_counter(), time.process_time()
    feats = encode_images(images, enc, batch_size=args.batch_size, thumbnails=True)
    img_s, img_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    again = encode_images(images, enc, batch_size=args.batch_size, thumbnails=True)
    img_hit = time.perf_counter() - t0
    assert again.n_encoded == 0 and np.array_equal(again.features, feats.features)
    print(
        f"[{backend}] images: {n} in {img_s:.1f} s = {n / img_s:.1f} images/s end to end ({feats.n_encoded} distinct, "
        f"{len(feats.errors)} unreadable, thumbnails made); all {N_MVSA}: {N_MVSA * img_s / n:.0f} s; "
        f"cache hit {img_hit:.2f} s"
    )
    print(f"[{backend}]   CPU {img_cpu / n * 1000:.1f} ms/image -> ~{TARGET_CORES * n / img_cpu:.0f} images/s on "
          f"{TARGET_CORES} idle cores; load {_load()}")

    t0 = time.perf_counter()
    tenc = load_text_encoder(device=args.device, backend=backend)
    _ = tenc.model  # loaded now (lazy otherwise), timed apart
    print(f"[{backend}] text encoder {tenc.name}, loaded in {time.perf_counter() - t0:.2f} s")
    t0, c0 = time.perf_counter(), time.process_time()
    emb = encode_texts(texts, tenc, batch_size=args.batch_size)
    txt_s, txt_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    again_t = encode_texts(texts, tenc)
    txt_hit = time.perf_counter() - t0
    assert np.array_equal(again_t, emb)
    print(
        f"[{backend}] texts: {n} in {txt_s:.1f} s = {n / txt_s:.1f} texts/s; all {N_MVSA}: {N_MVSA * txt_s / n:.0f} s; "
        f"cache hit {txt_hit:.2f} s"
    )
    print(f"[{backend}]   CPU {txt_cpu / n * 1000:.1f} ms/text -> ~{TARGET_CORES * n / txt_cpu:.0f} texts/s on "
          f"{TARGET_CORES} idle cores; load {_load()}")
    if args.finetune and backend == "torch":
        from cmcsl_core.encoders.finetune import finetune_image_encoder, split_finetune

        labels = {}
        for line in (Path(args.data).parent / "labelResultAll.txt").read_text().splitlines()[1:]:
            key, value = line.split("\t")
            labels[key] = ["positive", "neutral", "negative"].index(value.split(",")[1].strip())
        y = np.array([labels[Path(p).stem] for p in images])
        tune, _ = split_finetune(y)
        t0 = time.perf_counter()
        tuned = finetune_image_encoder(
            enc, [images[i] for i in tune], y[tune], "ce", device=args.device, use_cache=False
        )
        assert tuned.finetune is not None
        ft_s = time.perf_counter() - t0
        print(f"[{backend}] finetune ce: {len(tune)} images, 3 epochs in {ft_s:.1f} s; all 20% of {N_MVSA}: "
              f"{ft_s * (0.2 * N_MVSA) / len(tune):.0f} s projected")
    return {"images": n / img_s, "texts": n / txt_s, "image_cpu": img_cpu / n, "text_cpu": txt_cpu / n,
            "features": feats.features, "embeddings": emb}  # type: ignore[dict-item]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "mvsa-single" / "data"))
    p.add_argument("--sample", type=int, default=512, help="items to time (spread over the ids)")
    p.add_argument("--full", action="store_true", help="time all items")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="threads of either backend (0: its default)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--backend", default="both", choices=("onnx", "torch", "both"))
    p.add_argument("--finetune", action="store_true", help="also time a ce fine-tuning on 20%% of the sample (torch)")
    args = p.parse_args(argv)

    data = Path(args.data)
    if not data.is_dir():
        print(f"error: {data} is missing (the MVSA-Single folder, see its README)", file=sys.stderr)
        return 2
    import numpy as np

    from cmcsl_core.datasets.sources.rows import decode_text
    from cmcsl_core.encoders.backends import torch_available

    if args.threads:
        os.environ["CMCSL_ONNX_THREADS"] = str(args.threads)
    backends = ["onnx", "torch"] if args.backend == "both" else [args.backend]
    if "torch" in backends and not torch_available():
        print("torch extra not installed: timing ONNX Runtime only")
        backends.remove("torch")
    if "torch" in backends and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    ids = sorted((f.stem for f in data.glob("*.jpg")), key=int)
    if not args.full and args.sample < len(ids):
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, args.sample).round().astype(int)]
    images = [str(data / f"{i}.jpg") for i in ids]
    texts = [decode_text((data / f"{i}.txt").read_bytes(), ("gb18030",)) for i in ids]
    print(f"machine: {os.cpu_count()} CPUs, {len(ids)} MVSA-Single items, batch {args.batch_size}, load {_load()}")
    results = {b: run_backend(b, images, texts, args) for b in backends}
    if len(results) == 2:
        onnx, torch_ = results["onnx"], results["torch"]
        a, b = onnx["features"], torch_["features"]  # type: ignore[index]
        ok = (np.abs(a).sum(1) > 0) & (np.abs(b).sum(1) > 0)
        cos = (a[ok] * b[ok]).sum(1) / np.linalg.norm(a[ok], axis=1) / np.linalg.norm(b[ok], axis=1)
        tcos = (onnx["embeddings"] * torch_["embeddings"]).sum(1)  # type: ignore[operator]
        print(
            f"ONNX / torch: images {onnx['images'] / torch_['images']:.2f}x wall, "
            f"{torch_['image_cpu'] / onnx['image_cpu']:.2f}x less CPU; "
            f"texts {onnx['texts'] / torch_['texts']:.2f}x wall, "
            f"{torch_['text_cpu'] / onnx['text_cpu']:.2f}x less CPU"
        )
        print(f"same features: image cosine median {np.median(cos):.6f} min {cos.min():.6f}; "
              f"text cosine median {np.median(tcos):.6f} min {tcos.min():.6f}")
    print(f"load at the end: {_load()}")
    if "onnx" not in results:
        return 0
    projected_images = TARGET_CORES / results["onnx"]["image_cpu"]
    projected_texts = TARGET_CORES / results["onnx"]["text_cpu"]
    ok = projected_images >= IMAGE_TARGET and projected_texts >= TEXT_TARGET
    print(
        f"targets on {TARGET_CORES} idle cores (from CPU time): "
        f"images {projected_images:.0f}/s (>= {IMAGE_TARGET:.0f}), "
        f"texts {projected_texts:.0f}/s (>= {TEXT_TARGET:.0f}): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
