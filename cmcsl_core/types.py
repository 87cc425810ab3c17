"""Type aliases shared across :mod:`cmcsl_core` (import them; never redefine them)."""

from __future__ import annotations

import os
from typing import Callable, Union

__all__ = ["PathLike", "ProgressFn"]

PathLike = Union[str, "os.PathLike[str]"]
"""A file or folder path: a string or any :class:`os.PathLike`."""

ProgressFn = Callable[[int, int], None]
"""A progress callback ``progress(done, total)``, called as long work advances."""
