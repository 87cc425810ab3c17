"""Process-level memory tuning for the command-line process (never done on import).

NumPy allocates every array of more than 128 KB with its own ``mmap``, and glibc gives
it back to the system on ``free``. A BLAS-heavy command such as ``curve`` makes and
drops thousands of multi-megabyte temporaries, so each new one page-faults its memory
again: on the benchmark workload that was 0.3 to 1.2 s of system time, as much as a
third of the run. Keeping freed memory in the process for reuse removes most of it
(about 30,000 page faults instead of 100,000 to 550,000). The cost: the process holds
on to its peak memory until it exits, which is fine for a command that exits when done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8
_SETTINGS = (
    (_M_MMAP_THRESHOLD, 1 << 30),  # arrays below 1 GB come from the heap...
    (_M_TRIM_THRESHOLD, (1 << 31) - 1),  # ...which is not trimmed back to the system on free
    (_M_TOP_PAD, 1 << 28),  # and grows in 256 MB steps
    (_M_ARENA_MAX, 1),  # one heap for all threads, so worker threads reuse it too
)


def keep_freed_memory() -> bool:
    """Tell glibc's allocator to keep freed memory for reuse; False where that is not possible.

    A no-op (returning False) off Linux or with another C library.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in _SETTINGS)
