"""Keep freed memory for reuse instead of handing it back to the operating system.

Why: a training step allocates the same large arrays again and again (activations, im2col
matrices, gradients: up to tens of MB each). glibc's ``malloc`` serves blocks above a
threshold with a fresh ``mmap`` and returns them to the OS on ``free``, so the next step's
array of the same size starts as untouched pages, and the first write to each 4 KB page
traps into the kernel (a "page fault") to get it zeroed. That first write usually happens
inside a BLAS matrix product, which then runs well below its speed.

``benchmarks/train_step.py`` counts the page faults of one iteration with and without it
(docs/performance.md has the measurements).

What this does (glibc only; elsewhere nothing): ``mallopt(M_MMAP_MAX, 0)`` serves every
block from the heap, and ``mallopt(M_TRIM_THRESHOLD, 2 GB)`` keeps up to 2 GB of freed
heap memory for the next allocation. The cost: the process keeps its peak memory until it exits
(PyTorch's caching allocator makes the same trade). It is switched on when tinydagan is
imported; set the environment variable ``TINYDAGAN_KEEP_MEMORY=0`` to leave malloc alone.
"""
import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1   # glibc's malloc.h
_M_MMAP_MAX = -4


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory (see the module docstring).

    Returns True if the setting was applied, False where it does not apply (not Linux,
    not glibc, or ``TINYDAGAN_KEEP_MEMORY=0``).
    """
    if os.environ.get("TINYDAGAN_KEEP_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and friends have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trimmed = mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1   # (an int: 2 GB, the largest allowed)
    no_mmap = mallopt(_M_MMAP_MAX, 0) == 1
    return trimmed and no_mmap
