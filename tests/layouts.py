"""Memory-layout helpers shared by the tests: the numba kernels store NCHW-shaped arrays
channel-major, (C, N, H, W) in memory (see tinydagan/kernels/numba_conv.py)."""
import numpy as np


def channel_major(a):
    """The same values stored (C, N, H, W) in memory, NCHW-shaped: what the numba kernels return."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


def is_channel_major(a):
    """An NCHW-shaped array stored as (C, N, H, W) in memory."""
    return a.transpose(1, 0, 2, 3).flags.c_contiguous
