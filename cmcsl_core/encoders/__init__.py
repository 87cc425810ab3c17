"""Encoders that turn images and texts into features (offline, cached on disk).

=============  ==============================================================
module         holds
=============  ==============================================================
``image``      ImageEncoder, load_image_encoder, encode_images (EfficientNet-Lite0, ResNet-18, none, FILE.pth)
``text``       TextEncoder, load_text_encoder, encode_texts (all-MiniLM-L6-v2 or a local folder)
``finetune``   split_finetune, finetune_image_encoder (ce / supcon, last block + head)
``decode``     reading any image file into the 224 x 224 RGB input (never raises for a bad file)
``device``     resolve_device ("auto" = CUDA when available)
``networks``   the torch modules (imports torch; the others import it lazily)
=============  ==============================================================
"""
