"""Differentiable operations on Tensors, as plain functions.

Each function wraps a ``Function`` subclass from the files beside this one
(``elementwise.py``, ``reduce.py``, ``shape.py``, ``linalg.py``). Non-Tensor operands
(Python numbers, numpy arrays) are treated as constants in the Tensor's dtype.
"""
import numpy as np

from ..tensor import Tensor
from .elementwise import (Add, Div, Exp, LeakyReLU, Log, Mul, Neg, Pow, ReLU, Sigmoid, Sub,
                          Tanh, unbroadcast)
from .linalg import MatMul
from .reduce import LogSumExp, Max, Mean, Sum
from .shape import Concatenate, GetItem, Reshape, Transpose

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "relu",
           "leaky_relu", "tanh", "sigmoid", "sum", "mean", "max", "logsumexp", "log_softmax",
           "softmax", "reshape", "transpose", "concatenate", "getitem", "unbroadcast"]


def _pair(a, b):
    """Make both operands arrays/Tensors of one float dtype (a Tensor's dtype wins)."""
    like = a if isinstance(a, Tensor) else b
    if not isinstance(a, Tensor):
        a = np.asarray(a, dtype=like.dtype)
    if not isinstance(b, Tensor):
        b = np.asarray(b, dtype=like.dtype)
    return a, b


def add(a, b):
    return Add.apply(*_pair(a, b))


def sub(a, b):
    return Sub.apply(*_pair(a, b))


def mul(a, b):
    return Mul.apply(*_pair(a, b))


def div(a, b):
    return Div.apply(*_pair(a, b))


def neg(a):
    return Neg.apply(a)


def pow(a, exponent):
    if isinstance(exponent, Tensor):
        raise TypeError("pow: only a constant (non-Tensor) exponent is supported")
    return Pow.apply(a, exponent)


def matmul(a, b):
    return MatMul.apply(*_pair(a, b))


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)


def relu(a):
    return ReLU.apply(a)


def leaky_relu(a, negative_slope=0.2):
    return LeakyReLU.apply(a, negative_slope)


def tanh(a):
    return Tanh.apply(a)


def sigmoid(a):
    return Sigmoid.apply(a)


def sum(a, axis=None, keepdims=False):
    return Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    return Max.apply(a, axis=axis, keepdims=keepdims)


def logsumexp(a, axis=-1, keepdims=False):
    """log(sum(exp(a), axis)), computed without overflow."""
    return LogSumExp.apply(a, axis=axis, keepdims=keepdims)


# --- exercise: log_softmax ---
def log_softmax(a, axis=-1):
    """log softmax(a) = a - logsumexp(a): stable, and exact where softmax underflows.

    a: a Tensor; the logsumexp runs along ``axis`` with keepdims=True, so that it
    broadcasts against a. -> a Tensor of a's shape, built from Tensor ops (autograd gives
    its gradient).
    """
    return sub(a, logsumexp(a, axis=axis, keepdims=True))
# --- end exercise ---


def softmax(a, axis=-1):
    return exp(log_softmax(a, axis=axis))


def reshape(a, shape):
    return Reshape.apply(a, tuple(shape))


def transpose(a, axes=None):
    return Transpose.apply(a, axes)


def concatenate(tensors, axis=0):
    """Join Tensors (or constant arrays) along ``axis``."""
    tensors = list(tensors)
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    dtype = like.dtype if like is not None else np.float32
    parts = [t if isinstance(t, Tensor) else np.asarray(t, dtype=dtype) for t in tensors]
    return Concatenate.apply(*parts, axis=axis)


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data.astype(np.int64)
    return GetItem.apply(a, index)
