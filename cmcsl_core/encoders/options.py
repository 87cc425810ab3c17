"""The user's encoder choices (CLI flags, the app's sidebar), validated once: :class:`EncoderOptions`.

Every loader that encodes images and texts (``raw``, ``mvsa``, ``table``, the built-in MVSA
build) takes one ``EncoderOptions`` instead of repeating the keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Mapping

from cmcsl_core.encoders.backends import check_backend, require_torch
from cmcsl_core.encoders.device import check_device
from cmcsl_core.encoders.finetune import FINETUNE_MODES
from cmcsl_core.encoders.image import DEFAULT_IMAGE_ENCODER, image_backend
from cmcsl_core.encoders.text import text_backend
from cmcsl_core.errors import SourceError

__all__ = ["EncoderOptions", "ENCODER_OPTION_NAMES"]


@dataclass(frozen=True)
class EncoderOptions:
    """The encoders to use and how.

    Parameters
    ----------
    image_encoder : str
        ``efficientnet-lite0`` (default), ``resnet18``, ``none`` (random, for trials) or a ``.pth`` file.
    text_model : str or None
        A local sentence-transformers folder (torch); None = the built-in all-MiniLM-L6-v2.
    finetune : str
        One of :data:`~cmcsl_core.encoders.finetune.FINETUNE_MODES` (``ce``/``supcon`` need torch).
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    batch_size : int
        Images / texts per forward pass.
    backend : str
        ``auto`` (ONNX Runtime for the built-in encoders, torch for the others), ``onnx`` or ``torch``.
    """

    image_encoder: str = DEFAULT_IMAGE_ENCODER
    text_model: str | None = None
    finetune: str = "none"
    device: str = "auto"
    batch_size: int = 64
    backend: str = "auto"

    def validated(self) -> "EncoderOptions":
        """These options normalised (case, spaces), or one SourceError naming the problem.

        Also checks that what they ask for can run here: a torch-only choice without the
        torch extra is an error naming the extra.
        """
        finetune = str(self.finetune).strip().lower()
        if finetune not in FINETUNE_MODES:
            raise SourceError(f"unknown finetune {self.finetune!r}; choose one of {', '.join(FINETUNE_MODES)}")
        try:
            batch = int(self.batch_size)
        except (TypeError, ValueError):
            raise SourceError(f"batch_size must be a whole number, got {self.batch_size!r}") from None
        if batch < 1:
            raise SourceError(f"batch_size must be at least 1, got {self.batch_size}")
        backend = check_backend(self.backend)
        device = check_device(self.device)
        text_model = None if self.text_model is None or not str(self.text_model).strip() else str(self.text_model)
        out = replace(self, finetune=finetune, batch_size=batch, backend=backend, device=device, text_model=text_model,
                      image_encoder=str(self.image_encoder).strip() or DEFAULT_IMAGE_ENCODER)
        if finetune != "none":
            require_torch(f"--finetune {finetune}")
        image_backend(out.image_encoder, backend)
        text_backend(text_model, backend)
        return out

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "EncoderOptions":
        """Options from a mapping of option names (extra keys are ignored, None means the default)."""
        given = {name: values[name] for name in ENCODER_OPTION_NAMES if values.get(name) is not None}
        return cls(**given)  # type: ignore[arg-type]


ENCODER_OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(EncoderOptions))
"""The field names of :class:`EncoderOptions` (the sources' shared option names)."""
