"""Operations that move elements around without computing: reshape, transpose,
concatenate, indexing. Their backward moves the gradient back the same way."""
import numpy as np

from ..tensor import Function

__all__ = ["Reshape", "Transpose", "Concatenate", "GetItem"]


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes=None):
        ctx.axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
        return np.transpose(a, ctx.axes)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, np.argsort(ctx.axes)), None


class Concatenate(Function):
    """``concatenate(a_0, a_1, ..., axis)``: the gradient is cut back into the same pieces.

    The result is stored in the memory layout of ``a_0`` (np.concatenate alone would always
    give a C-contiguous array): the generator concatenates label maps to a batch-last
    activation from the conv kernels, and a batch-last result is what the next
    transposed conv reads without a copy (see tinydagan/kernels/numba_conv.py).
    """

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        shape = list(arrays[0].shape)
        shape[axis] = sum(a.shape[axis] for a in arrays)
        out = np.empty_like(arrays[0], dtype=np.result_type(*arrays), shape=shape)  # a_0's layout
        return np.concatenate(arrays, axis=axis, out=out)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


class GetItem(Function):
    """``a[index]`` for any numpy index (slices, integer arrays for gathering).

    The backward uses ``np.add.at`` so that an element picked twice gets both gradients.
    """

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        if _is_basic(ctx.index):
            grad[ctx.index] = g  # slices and integers pick each element at most once
        else:
            np.add.at(grad, ctx.index, g)
        return grad, None


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts)
