"""Reductions: sum, mean, max, logsumexp.

Backward of a reduction spreads the gradient back over the reduced axes. With
``keepdims=False`` the reduced axes are gone from ``grad_output``; ``_expand`` puts them
back as size-1 axes so numpy broadcasting does the spreading.
"""
import numpy as np

from ..tensor import Function

__all__ = ["Sum", "Mean", "Max", "LogSumExp"]


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim for a in axes)


def _expand(g, axes, keepdims):
    return g if keepdims else np.expand_dims(g, axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return np.asarray(a.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_expand(g, ctx.axes, ctx.keepdims), ctx.shape).copy()


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes]))
        return np.asarray(a.mean(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        g = _expand(g, ctx.axes, ctx.keepdims) / g.dtype.type(ctx.count)
        return np.broadcast_to(g, ctx.shape).copy()


class Max(Function):
    """Max over axes. The gradient goes to the maximal elements (split evenly between ties)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _axes(axis, a.ndim)
        out = a.max(axis=axes, keepdims=True)
        mask = a == out
        ctx.save_for_backward(mask / mask.sum(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        (share,) = ctx.saved_tensors
        return (_expand(g, ctx.axes, ctx.keepdims) * share).astype(g.dtype, copy=False)


class LogSumExp(Function):
    """log(sum(exp(a))) over ``axis``, computed stably as m + log(sum(exp(a - m))), m = max(a).

    Its gradient is softmax(a) along ``axis``.
    """

    @staticmethod
    def forward(ctx, a, axis=-1, keepdims=False):
        axes = _axes(axis, a.ndim)
        m = a.max(axis=axes, keepdims=True)
        e = np.exp(a - m)
        s = e.sum(axis=axes, keepdims=True)
        ctx.save_for_backward(e / s)
        ctx.axes, ctx.keepdims = axes, keepdims
        out = m + np.log(s)
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        (softmax,) = ctx.saved_tensors
        return _expand(g, ctx.axes, ctx.keepdims) * softmax
