"""Speed of the offline encoders on the real MVSA-Single files (images/s, texts/s).

Encodes a sample (or, with ``--full``, all 4,869) of ``../shared/mvsa-single/data`` with
EfficientNet-Lite0 (images: decode in a thread pool while the network runs) and
all-MiniLM-L6-v2 (texts), in a fresh temporary cache (``CMCSL_CACHE_DIR``), so nothing is
served from an earlier run; then repeats the calls to time a cache hit. Prints images/s,
texts/s, the projected time for all 4,869 items, the machine load and the device.

Usage: python benchmarks/bench_encoders.py [--sample 512] [--full] [--data DIR] [--device auto]
       [--threads N] [--batch-size 32] [--finetune]
Exits 1 if a target is missed (all images <= 240 s, all texts <= 60 s, projected from the sample).
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
IMAGE_TARGET_S = 240.0
TEXT_TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO.parent / "shared" / "mvsa-single" / "data"))
    p.add_argument("--sample", type=int, default=512, help="items to time (spread over the ids)")
    p.add_argument("--full", action="store_true", help="time all items")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--finetune", action="store_true", help="also time a ce fine-tuning on 20%% of the sample")
    args = p.parse_args(argv)

    data = Path(args.data)
    if not data.is_dir():
        print(f"error: {data} is missing (the MVSA-Single folder, see its README)", file=sys.stderr)
        return 2
    os.environ["CMCSL_CACHE_DIR"] = tempfile.mkdtemp(prefix="cmcsl-bench-enc-")
    import numpy as np
    import torch

    from cmcsl_core.encoders.image import encode_images, load_image_encoder
    from cmcsl_core.encoders.text import encode_texts, load_text_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    ids = sorted((f.stem for f in data.glob("*.jpg")), key=int)
    if not args.full and args.sample < len(ids):
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, args.sample).round().astype(int)]
    images = [str(data / f"{i}.jpg") for i in ids]
    texts = [(data / f"{i}.txt").read_bytes().decode("cp1252", errors="replace") for i in ids]
    n = len(ids)
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}")

    t0 = time.perf_counter()
    enc = load_image_encoder("efficientnet-lite0", args.device)
    print(f"image encoder: {enc.name} on {enc.device} ({torch.cuda.get_device_name() if enc.device.startswith('cuda') else 'cpu'}), "
          f"loaded in {time.perf_counter() - t0:.2f} s")
    t0, c0 = time.perf_counter(), time.process_time()
    feats = encode_images(images, enc, batch_size=args.batch_size)
    img_s, img_cpu = time.perf_counter() - t0, time.process_time() - c0
    img_rate = n / img_s
    t0 = time.perf_counter()
    again = encode_images(images, enc, batch_size=args.batch_size)
    img_hit = time.perf_counter() - t0
    assert again.n_encoded == 0 and np.array_equal(again.features, feats.features)
    print(f"images: {n} in {img_s:.1f} s = {img_rate:.1f} images/s ({feats.n_encoded} distinct, "
          f"{len(feats.errors)} unreadable); all {N_MVSA}: {N_MVSA / img_rate:.0f} s projected "
          f"(target <= {IMAGE_TARGET_S:.0f} s); cache hit: {img_hit:.2f} s")
    print(f"  CPU time {img_cpu:.1f} s = {img_cpu / n * 1000:.0f} CPU-ms/image; on {os.cpu_count()} otherwise idle cores: "
          f"~{N_MVSA * img_cpu / n / (os.cpu_count() or 1):.0f} s for all {N_MVSA}")

    t0 = time.perf_counter()
    tenc = load_text_encoder(device=args.device)
    tenc.model  # load it now (lazy otherwise), timed apart
    print(f"text encoder: {tenc.name}, loaded in {time.perf_counter() - t0:.2f} s")
    t0, c0 = time.perf_counter(), time.process_time()
    emb = encode_texts(texts, tenc)
    txt_s, txt_cpu = time.perf_counter() - t0, time.process_time() - c0
    txt_rate = n / txt_s
    t0 = time.perf_counter()
    again_t = encode_texts(texts, tenc)
    txt_hit = time.perf_counter() - t0
    assert np.array_equal(again_t, emb)
    print(f"texts: {n} in {txt_s:.1f} s = {txt_rate:.1f} texts/s; "
          f"all {N_MVSA}: {N_MVSA / txt_rate:.0f} s projected (target <= {TEXT_TARGET_S:.0f} s); cache hit: {txt_hit:.2f} s")
    print(f"  CPU time {txt_cpu:.1f} s = {txt_cpu / n * 1000:.0f} CPU-ms/text; on {os.cpu_count()} otherwise idle cores: "
          f"~{N_MVSA * txt_cpu / n / (os.cpu_count() or 1):.0f} s for all {N_MVSA}")

    if args.finetune:
        from cmcsl_core.encoders.finetune import finetune_image_encoder, split_finetune

        labels = {}
        for line in (data.parent / "labelResultAll.txt").read_text().splitlines()[1:]:
            key, value = line.split("\t")
            labels[key] = ["positive", "neutral", "negative"].index(value.split(",")[1].strip())
        y = np.array([labels[i] for i in ids])
        tune, _ = split_finetune(y)
        t0 = time.perf_counter()
        tuned = finetune_image_encoder(enc, [images[i] for i in tune], y[tune], "ce", device=args.device, use_cache=False)
        ft_s = time.perf_counter() - t0
        assert tuned.finetune is not None
        print(f"finetune ce: {len(tune)} images, 3 epochs in {ft_s:.1f} s (losses "
              f"{', '.join(f'{v:.3f}' for v in tuned.finetune.losses)}); all 20% of {N_MVSA}: "
              f"{ft_s * (0.2 * N_MVSA) / len(tune):.0f} s projected")
    print(f"load at the end: {os.getloadavg()[0]:.1f}")
    ok = N_MVSA / img_rate <= IMAGE_TARGET_S and N_MVSA / txt_rate <= TEXT_TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
