"""Fine-tuning an image encoder on labelled items, as the papers did, in minutes on a CPU.

``ce``
    The CMCSL paper: class-weighted cross-entropy (weights ``n / (k * n_c)``) through a linear
    classifier on the pooled features; the paper fine-tuned ResNet-18 on a stratified 20% of
    the subset (:func:`split_finetune`) and exported the features of the other 80% only.
``supcon``
    The late-fusion paper: a supervised contrastive loss (Khosla et al. 2020, the
    multi-positive generalisation of the N-pair loss; temperature 0.1) on L2-normalised
    64-d outputs of a projection head (dim -> dim -> 64).

Only the network's last block and head convolution train (the ``tail`` of
:class:`~cmcsl_core.encoders.networks.PooledNet`); the frozen ``trunk``'s outputs are
computed once, so an epoch costs a fraction of a forward pass over the images. Batch-norm
statistics stay frozen (small, class-skewed batches would spoil them) and there is no
augmentation, so training is seeded and deterministic: the same inputs give bit-identical
weights. The trained weights are cached on disk (keyed by the base encoder, the images'
contents, the labels, the mode, epochs and seed), so a second run is instant.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from cmcsl_core.cache import cache_key, cached_arrays
from cmcsl_core.constants import RANDOM_STATE
from cmcsl_core.encoders.backends import require_torch
from cmcsl_core.encoders.device import resolve_device
from cmcsl_core.encoders.image import FinetuneInfo, ImageEncoder, load_image_encoder
from cmcsl_core.encoders.pipeline import decoded_batches
from cmcsl_core.errors import SourceError
from cmcsl_core.fileio import file_digests
from cmcsl_core.types import PathLike, ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from cmcsl_core.encoders.networks import PooledNet

__all__ = [
    "FINETUNE_MODES",
    "FINETUNE_FRACTION",
    "PROJECTION_DIM",
    "EpochReport",
    "split_finetune",
    "finetune_image_encoder",
]

FINETUNE_MODES: tuple[str, ...] = ("none", "ce", "supcon")
"""``none`` (no fine-tuning), ``ce`` (CMCSL paper) or ``supcon`` (late-fusion paper)."""

FINETUNE_FRACTION = 0.2
"""Share of the items the CMCSL paper fine-tuned on (stratified); the rest is exported."""

PROJECTION_DIM = 64
"""Output width of the supervised-contrastive projection head."""

TEMPERATURE = 0.1
BATCH_SIZE = 32
LR_TAIL = 1e-4
LR_HEAD = 1e-3
WEIGHT_DECAY = 1e-4
_VERSION = "tail-frozen-bn/adamw/v1"



@dataclass(frozen=True)
class EpochReport:
    """Sent to ``on_epoch`` after every epoch (for a progress bar showing epoch, loss, time left)."""

    epoch: int
    epochs: int
    loss: float
    elapsed_s: float
    eta_s: float


def split_finetune(
    y: Sequence[int] | np.ndarray, fraction: float = FINETUNE_FRACTION, seed: int = RANDOM_STATE
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of the items into a fine-tuning part and an export part.

    Every class with at least two items puts ``round(fraction * n_c)`` of them (at least
    one, at most ``n_c - 1``) into the fine-tuning part; items with a negative (unknown)
    label are always exported.

    Parameters
    ----------
    y : array of int
        Class of every item.
    fraction : float
        Share of each class used for fine-tuning, in (0, 1).
    seed : int
        Seeds the draw.

    Returns
    -------
    finetune_idx, export_idx : int arrays, sorted, disjoint, together all items

    Raises
    ------
    SourceError
        ``fraction`` outside (0, 1).
    """
    if not 0.0 < float(fraction) < 1.0:
        raise SourceError(f"the fine-tuning fraction must be between 0 and 1, got {fraction}")
    labels = np.asarray(y).astype(np.int64)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == c)
        if members.size < 2:
            continue
        k = int(np.clip(round(float(fraction) * members.size), 1, members.size - 1))
        picked.append(rng.permutation(members)[:k])
    ft = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    export = np.setdiff1d(np.arange(labels.size), ft)
    return ft.astype(np.int64), export.astype(np.int64)


def _supcon_loss(z: "torch.Tensor", y: "torch.Tensor", temperature: float = TEMPERATURE) -> "torch.Tensor":
    """Supervised contrastive loss of unit-norm embeddings ``z`` (anchors without a positive are ignored)."""
    import torch

    n = z.shape[0]
    logits = z @ z.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (y[:, None] == y[None, :]) & ~self_mask
    n_pos = positives.sum(dim=1)
    has = n_pos > 0
    if not bool(has.any()):
        return z.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~positives, 0.0).sum(dim=1)[has] / n_pos[has])
    return per_anchor.mean()


def _trunk_inputs(
    model: "PooledNet", paths: Sequence[str], device: str, progress: Optional[ProgressFn], total: int
) -> tuple["torch.Tensor", np.ndarray]:
    """The frozen trunk's outputs for the decodable images, and their positions."""
    import torch

    from cmcsl_core.encoders.networks import to_input

    trunk = model.trunk
    outputs: list[torch.Tensor] = []
    good: list[int] = []
    with torch.inference_mode():
        for start, decoded in decoded_batches(paths, BATCH_SIZE):
            ok = [i for i, d in enumerate(decoded) if d.pixels is not None]
            if ok:
                x = to_input(np.stack([decoded[i].pixels for i in ok]), device, device == "cpu")  # type: ignore[misc]
                outputs.append(trunk(x).contiguous().clone())
                good.extend(start + i for i in ok)
            if progress is not None:
                progress(min(start + BATCH_SIZE, len(paths)), total)
    if not outputs:
        raise SourceError("none of the fine-tuning images could be decoded")
    return torch.cat(outputs), np.asarray(good, dtype=np.int64)


def _train(
    encoder: ImageEncoder, paths: Sequence[str], labels: np.ndarray, mode: str, epochs: int, seed: int,
    device: str, progress: Optional[ProgressFn], on_epoch: Optional[Callable[[EpochReport], None]],
) -> dict[str, np.ndarray]:
    import torch
    from torch import nn

    t0 = time.perf_counter()
    n = len(paths)
    total = n * (1 + epochs)
    assert encoder.model is not None  # a torch encoder (finetune_image_encoder makes sure)
    model: PooledNet = copy.deepcopy(encoder.model).to(device).eval()
    inputs, good = _trunk_inputs(model, paths, device, progress, total)
    t_train = time.perf_counter()
    y_all = torch.as_tensor(labels[good], dtype=torch.long, device=device)
    k = int(labels.max()) + 1
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            head: nn.Module
            if mode == "ce":
                head = nn.Linear(encoder.dim, k)
                counts = torch.bincount(y_all, minlength=k).clamp(min=1).float()
                criterion = nn.CrossEntropyLoss(weight=(len(y_all) / (k * counts)).to(device))
            else:
                head = nn.Sequential(
                    nn.Linear(encoder.dim, encoder.dim), nn.ReLU(), nn.Linear(encoder.dim, PROJECTION_DIM)
                )
            head = head.to(device)
            tail = model.tail
            for p in tail.parameters():
                p.requires_grad_(True)
            optimizer = torch.optim.AdamW(
                [
                    {"params": list(tail.parameters()), "lr": LR_TAIL},
                    {"params": list(head.parameters()), "lr": LR_HEAD},
                ],
                weight_decay=WEIGHT_DECAY,
            )
            generator = torch.Generator().manual_seed(seed)
            losses: list[float] = []
            m = len(y_all)
            for epoch in range(epochs):
                order = torch.randperm(m, generator=generator)
                total_loss, seen = 0.0, 0
                for start in range(0, m, BATCH_SIZE):
                    rows = order[start : start + BATCH_SIZE].to(device)
                    feats = model.pool(tail(inputs[rows]))
                    out = head(feats)
                    yb = y_all[rows]
                    if mode == "ce":
                        loss = criterion(out, yb)
                    else:
                        loss = _supcon_loss(nn.functional.normalize(out, dim=1), yb)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total_loss += float(loss.detach()) * len(rows)
                    seen += len(rows)
                    if progress is not None:
                        progress(n + epoch * n + min(int(round((start + len(rows)) * n / m)), n), total)
                losses.append(total_loss / max(seen, 1))
                if on_epoch is not None:
                    per_epoch = (time.perf_counter() - t_train) / (epoch + 1)
                    eta = per_epoch * (epochs - epoch - 1)
                    on_epoch(EpochReport(epoch + 1, epochs, losses[-1], time.perf_counter() - t0, eta))
    finally:
        torch.use_deterministic_algorithms(deterministic)
    state = {f"tail.{key}": v.detach().cpu().numpy() for key, v in tail.state_dict().items()}
    state["meta.losses"] = np.asarray(losses, dtype=np.float64)
    state["meta.n_items"] = np.asarray(len(good))
    state["meta.seconds"] = np.asarray(time.perf_counter() - t0)
    return state


def finetune_image_encoder(
    encoder: ImageEncoder,
    paths: Sequence[PathLike],
    labels: Sequence[int] | np.ndarray,
    mode: str,
    *,
    epochs: int = 3,
    seed: int = RANDOM_STATE,
    device: str = "auto",
    progress: Optional[ProgressFn] = None,
    on_epoch: Optional[Callable[[EpochReport], None]] = None,
    use_cache: bool = True,
) -> ImageEncoder:
    """Fine-tune ``encoder``'s last block on labelled images (see the module docs).

    Parameters
    ----------
    encoder : ImageEncoder
        The base encoder (left unchanged); an ONNX Runtime one is replaced by the same network on torch.
    paths, labels : sequences of equal length
        The fine-tuning images and their classes (``0..k-1``); undecodable images are left out.
        Export features of *other* items only (:func:`split_finetune`): no leak.
    mode : {"ce", "supcon"}
        Class-weighted cross-entropy or supervised contrastive loss.
    epochs : int
        Passes over the fine-tuning items.
    seed : int
        Seeds the heads' initialisation and the batch order.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``.
    progress : callable(done, total), optional
        Called after every batch (first the images read, then the training steps).
    on_epoch : callable(EpochReport), optional
        Called after every epoch with the epoch, its mean loss and the time left.
    use_cache : bool
        Read and write the trained weights in the on-disk cache.

    Returns
    -------
    ImageEncoder
        A new encoder (own identity, ``finetune`` = a :class:`~cmcsl_core.encoders.image.FinetuneInfo`
        with the per-epoch loss history).

    Raises
    ------
    SourceError
        Unknown mode, mismatched lengths, negative labels, fewer than two classes, epochs < 1,
        no decodable image; the torch extra not installed.
    """
    mode = str(mode).strip().lower()
    if mode not in FINETUNE_MODES or mode == "none":
        raise SourceError(f"unknown fine-tuning mode {mode!r}; use ce or supcon (or none for no fine-tuning)")
    require_torch(f"--finetune {mode}")
    import torch

    from cmcsl_core.encoders.networks import place_frozen

    if encoder.model is None:  # an ONNX Runtime encoder: fine-tune its torch twin (the same weights)
        encoder = load_image_encoder(encoder.name, device, backend="torch")
    names = [os.fspath(p) for p in paths]
    y = np.asarray(labels).astype(np.int64)
    if y.shape != (len(names),):
        raise SourceError(f"{len(names)} fine-tuning images but {y.size} labels")
    if y.size and y.min() < 0:
        raise SourceError("fine-tuning labels must be known (>= 0); leave unlabelled items out")
    if np.unique(y).size < 2:
        raise SourceError("fine-tuning needs items of at least two classes")
    if int(epochs) < 1:
        raise SourceError(f"epochs must be at least 1, got {epochs}")
    dev = resolve_device(device)
    digests = file_digests(names)
    blob = hashlib.sha256(
        "\n".join(f"{d or 'missing'}:{c}" for d, c in zip(digests, y.tolist())).encode()
    ).hexdigest()[:16]
    identity = f"{encoder.identity}+ft-{mode}:{blob}:e{int(epochs)}:s{int(seed)}:{_VERSION}"
    key = cache_key("finetune", identity=identity)
    stored = cached_arrays(
        key, lambda: _train(encoder, names, y, mode, int(epochs), int(seed), dev, progress, on_epoch),
        enabled=use_cache,
    )
    assert encoder.model is not None
    model = copy.deepcopy(encoder.model).cpu()
    tail_state = {
        k.removeprefix("tail."): torch.from_numpy(np.array(v)) for k, v in stored.items() if k.startswith("tail.")
    }
    model.tail.load_state_dict(tail_state)
    model = place_frozen(model, dev)
    info = FinetuneInfo(
        mode=mode,
        n_items=int(stored["meta.n_items"]),
        epochs=int(epochs),
        seed=int(seed),
        losses=tuple(float(v) for v in stored["meta.losses"]),
        seconds=float(stored["meta.seconds"]),
    )
    return replace(encoder, identity=identity, model=model, device=dev, finetune=info)
