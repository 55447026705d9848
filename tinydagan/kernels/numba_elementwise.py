"""Fused element-wise kernels (Numba): one pass over memory where numpy makes several.

LeakyReLU runs after every conv of the discriminator, forward and backward, on arrays as
large as the conv outputs. In numpy its forward is two passes (``a * slope``, then a
maximum) and its backward three (a comparison, a multiply, a select); each pass reads and
writes the whole array. The loops below do it in one pass, over the arrays' memory in
storage order, whatever the layout (the conv kernels return batch-last arrays; see
``numba_conv.py``). The readable definitions are ``reference.leaky_relu_forward`` and
``reference.leaky_relu_backward``; the tests compare the two.
"""
import tinydagan.cache  # noqa: F401  (sets NUMBA_CACHE_DIR; must run before numba is imported)

import numpy as np
from numba import njit

from . import reference
from .interface import names

__all__ = names("elementwise")


@njit(cache=True, nogil=True)
def _leaky_relu(a, slope, out):
    """out[i] = a[i] if a[i] > 0 else slope * a[i]; 1-D arrays."""
    for i in range(a.size):
        v = a[i]
        out[i] = v if v > 0 else v * slope


@njit(cache=True, nogil=True)
def _leaky_relu_grad(g, a, slope, out):
    """out[i] = g[i] if a[i] > 0 else slope * g[i]; 1-D arrays."""
    for i in range(a.size):
        out[i] = g[i] if a[i] > 0 else g[i] * slope


def _storage_view(a):
    """A 1-D view of a's elements in the order they sit in memory, or None if a has gaps.

    Works for any axis order (C, Fortran, batch-last ...): sort the axes by stride.
    """
    if a.flags.c_contiguous:
        return a.reshape(-1)
    axes = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
    t = a.transpose(axes)
    return t.reshape(-1) if t.flags.c_contiguous else None


def leaky_relu_forward(a, slope):
    out = np.empty_like(a)                                   # same memory layout as a
    flat_a, flat_out = _storage_view(a), _storage_view(out)
    if flat_a is None or flat_out is None or a.strides != out.strides:
        return reference.leaky_relu_forward(a, slope)
    _leaky_relu(flat_a, a.dtype.type(slope), flat_out)
    return out


def leaky_relu_backward(grad_y, a, slope):
    if grad_y.dtype != a.dtype or grad_y.strides != a.strides:   # e.g. mixed NCHW / batch-last inputs
        return reference.leaky_relu_backward(grad_y, a, slope)
    out = np.empty_like(grad_y)
    flat_g, flat_a, flat_out = _storage_view(grad_y), _storage_view(a), _storage_view(out)
    if flat_g is None or flat_a is None or flat_out is None or out.strides != grad_y.strides:
        return reference.leaky_relu_backward(grad_y, a, slope)
    _leaky_relu_grad(flat_g, flat_a, grad_y.dtype.type(slope), flat_out)
    return out


leaky_relu_forward.__doc__ = reference.leaky_relu_forward.__doc__
leaky_relu_backward.__doc__ = reference.leaky_relu_backward.__doc__
