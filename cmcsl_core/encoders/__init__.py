"""Encoders that turn images and texts into features (offline, cached on disk).

=============  ==============================================================
module         holds
=============  ==============================================================
``image``      ImageEncoder, load_image_encoder, encode_images (EfficientNet-Lite0 on ONNX Runtime or
               torch; with the torch extra ResNet-18, none, FILE.pth)
``text``       TextEncoder, load_text_encoder, encode_texts (all-MiniLM-L6-v2 on ONNX Runtime + tokenizers,
               or sentence-transformers / a local folder with the torch extra)
``pipeline``   the one encoding pipeline: files -> decode (threads) -> encoder -> per-item cache (+ thumbnails)
``options``    EncoderOptions: the user's encoder choices, validated once
``backends``   ONNX Runtime vs torch: which runs what, the torch extra and its one error
``shipped``    the ONNX model files in ``models/`` (manifest, SHA-256 check, sessions)
``thumbnails`` item thumbnails (96 px JPEG, cached by content), safe re-encoding, the placeholder
``decode``     reading any image file into the 224 x 224 RGB input (never raises for a bad file)
``device``     resolve_device (torch) / resolve_onnx_device ("auto" = CUDA when available)
``weights``    the torch networks' weights: bundled, torchvision's cache, a .pth file (torch extra)
``networks``   the torch modules (imports torch; the others import it lazily)
``finetune``   split_finetune, finetune_image_encoder (ce / supcon, last block + head; torch extra)
=============  ==============================================================
"""
