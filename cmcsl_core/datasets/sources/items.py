"""Items with an image and a text: what the sources that encode (``raw``, ``mvsa``, ``table``) share.

The pieces live in modules named for what they hold; this module gathers their public names:

=============  ==============================================================================
module         holds
=============  ==============================================================================
``rows``       ItemRows, SkippedItem, decode_text, MISSING_IMAGE / MISSING_LABEL
``encoding``   encode_items / encode_with_options (the one pipeline), ItemEncoders, default_encoders,
               LoadedItems, load_spec_items, item_loader_doc
``skipped``    skipped_summary, report_skipped, write_skipped_csv, skipped_csv_path
=============  ==============================================================================

with :class:`~cmcsl_core.encoders.options.EncoderOptions` (the user's encoder choices) and
:func:`~cmcsl_core.encoders.thumbnails.make_thumbnail` from :mod:`cmcsl_core.encoders`.
"""

from __future__ import annotations

from cmcsl_core.datasets.sources.encoding import (
    ENCODER_PARAMETERS,
    ItemEncoders,
    LoadedItems,
    check_left,
    default_encoders,
    encode_items,
    encode_with_options,
    item_loader_doc,
    load_spec_items,
)
from cmcsl_core.datasets.sources.rows import MISSING_IMAGE, MISSING_LABEL, ItemRows, SkippedItem, decode_text
from cmcsl_core.datasets.sources.skipped import report_skipped, skipped_csv_path, skipped_summary, write_skipped_csv
from cmcsl_core.encoders.finetune import FINETUNE_MODES
from cmcsl_core.encoders.options import EncoderOptions
from cmcsl_core.encoders.thumbnails import make_thumbnail

__all__ = [
    "FINETUNE_MODES",
    "MISSING_IMAGE",
    "MISSING_LABEL",
    "SkippedItem",
    "ItemRows",
    "LoadedItems",
    "ItemEncoders",
    "EncoderOptions",
    "decode_text",
    "check_left",
    "encode_items",
    "encode_with_options",
    "ENCODER_PARAMETERS",
    "item_loader_doc",
    "default_encoders",
    "skipped_summary",
    "skipped_csv_path",
    "write_skipped_csv",
    "make_thumbnail",
    "load_spec_items",
    "report_skipped",
]
