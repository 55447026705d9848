"""Memory-layout helpers shared by the tests: the numba kernels store NCHW-shaped arrays
batch-last, (C, H, W, N) in memory (see tinydagan/kernels/numba_conv.py)."""
import numpy as np


def batch_last(a):
    """The same values stored (C, H, W, N) in memory, NCHW-shaped: what the numba kernels return."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def is_batch_last(a):
    """An NCHW-shaped array stored as (C, H, W, N) in memory."""
    return a.transpose(1, 2, 3, 0).flags.c_contiguous


# the same values in four memory layouts: name -> function of an NCHW array
LAYOUTS = {
    "C": lambda a: a,
    "batch-last": batch_last,
    "fortran": np.asfortranarray,
    "gappy view": lambda a: np.concatenate([a, a], axis=3)[:, :, :, ::2],   # not contiguous at all
}
