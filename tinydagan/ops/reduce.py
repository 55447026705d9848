"""Reductions: sum, mean, max, logsumexp.

Backward of a reduction spreads the gradient back over the reduced axes. With
``keepdims=False`` the reduced axes are gone from ``grad_output``; ``expand_reduced`` puts
them back as size-1 axes so numpy broadcasting does the spreading.

The arithmetic is in plain functions on arrays (``sum_backward``, ``max_forward``, ...);
the Function classes at the end of the file wire them into the graph.
"""
import numpy as np

from ..tensor import Function

__all__ = ["expand_reduced", "sum_backward", "mean_backward", "max_forward", "max_backward",
           "logsumexp_forward", "logsumexp_backward", "Sum", "Mean", "Max", "LogSumExp"]


def _axes(axis, ndim):
    """``axis`` (None, an int or a tuple, possibly negative) as a tuple of axes in [0, ndim)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim for a in axes)


# --- exercise: reductions ---
def expand_reduced(grad, axes, keepdims):
    """The gradient of a reduction's output with the reduced axes put back as size-1 axes.

    grad: the output's shape, e.g. (2, 4) for a (2, 3, 4) input reduced over axes (1,);
    axes: a tuple of non-negative ints. -> (2, 1, 4), which broadcasts against the input.
    With keepdims=True the axes are still there: return grad as it is.
    """
    return grad if keepdims else np.expand_dims(grad, axes)


def sum_backward(grad, shape, axes, keepdims):
    """grad_a of out = a.sum(axes): every element of a receives the gradient of its sum.

    grad: out's shape; shape: a's; axes: a tuple of non-negative ints. -> an array of
    ``shape`` (a new array, not a broadcast view).
    """
    return np.broadcast_to(expand_reduced(grad, axes, keepdims), shape).copy()


def mean_backward(grad, shape, axes, keepdims):
    """grad_a of out = a.mean(axes): each element receives grad / count, count = the number
    of elements averaged (the product of a's sizes along ``axes``).

    grad: out's shape; shape: a's. -> an array of ``shape`` in grad's dtype.
    """
    count = int(np.prod([shape[i] for i in axes]))
    g = expand_reduced(grad, axes, keepdims) / grad.dtype.type(count)
    return np.broadcast_to(g, shape).copy()


def max_forward(a, axes, keepdims):
    """(out, share): out = a.max(axes), and where the gradient will go.

    share[i] = 1 / (number of maxima) where a[i] is a maximum of its group, else 0: tied
    maxima split the gradient evenly. out has the reduced shape (size-1 axes kept when
    keepdims); share has a's shape.
    """
    out = a.max(axis=axes, keepdims=True)
    mask = a == out
    share = mask / mask.sum(axis=axes, keepdims=True)
    return (out if keepdims else np.squeeze(out, axis=axes)), share


def max_backward(grad, share, axes, keepdims):
    """grad_a of out = a.max(axes) = grad spread by ``share`` (from ``max_forward``).

    grad: out's shape; share: a's. -> a's shape, in grad's dtype.
    """
    return (expand_reduced(grad, axes, keepdims) * share).astype(grad.dtype, copy=False)
# --- end exercise ---


# --- exercise: logsumexp ---
def logsumexp_forward(a, axes, keepdims):
    """(out, softmax): out = log(sum(exp(a), axes)), computed without overflow.

        out = m + log(sum(exp(a - m)))    with m = max(a) along axes  (exp(a - m) <= 1)

    softmax = exp(a - m) / sum(exp(a - m)) has a's shape: it is the gradient of out, kept
    for the backward. out has the reduced shape (size-1 axes kept when keepdims).
    """
    m = a.max(axis=axes, keepdims=True)
    e = np.exp(a - m)
    s = e.sum(axis=axes, keepdims=True)
    out = m + np.log(s)
    return (out if keepdims else np.squeeze(out, axis=axes)), e / s


def logsumexp_backward(grad, softmax, axes, keepdims):
    """grad_a of out = logsumexp(a, axes):  d out / d a = softmax(a) along ``axes``.

    grad: out's shape; softmax: a's (from ``logsumexp_forward``). -> a's shape. Use
    ``expand_reduced`` to put the reduced axes back.
    """
    return expand_reduced(grad, axes, keepdims) * softmax
# --- end exercise ---


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return np.asarray(a.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return sum_backward(g, ctx.shape, ctx.axes, ctx.keepdims)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return np.asarray(a.mean(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return mean_backward(g, ctx.shape, ctx.axes, ctx.keepdims)


class Max(Function):
    """Max over axes. The gradient goes to the maximal elements (split evenly between ties)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims = _axes(axis, a.ndim), keepdims
        out, share = max_forward(a, ctx.axes, keepdims)
        ctx.save_for_backward(share)
        return out

    @staticmethod
    def backward(ctx, g):
        (share,) = ctx.saved_tensors
        return max_backward(g, share, ctx.axes, ctx.keepdims)


class LogSumExp(Function):
    """log(sum(exp(a))) over ``axis``, computed stably; its gradient is softmax(a)."""

    @staticmethod
    def forward(ctx, a, axis=-1, keepdims=False):
        ctx.axes, ctx.keepdims = _axes(axis, a.ndim), keepdims
        out, softmax = logsumexp_forward(a, ctx.axes, keepdims)
        ctx.save_for_backward(softmax)
        return out

    @staticmethod
    def backward(ctx, g):
        (softmax,) = ctx.saved_tensors
        return logsumexp_backward(g, softmax, ctx.axes, ctx.keepdims)
