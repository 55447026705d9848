"""Element-wise operations with numpy broadcasting, and their gradients.

Broadcasting copies an input along some axes in the forward pass; in the backward pass the
gradient must therefore be *summed* over those axes (``unbroadcast``), so that every input
receives a gradient of its own shape.
"""
import numpy as np

from .. import kernels
from ..tensor import Function

__all__ = ["unbroadcast", "mul_backward", "div_backward", "exp_backward", "log_backward",
           "tanh_backward", "sigmoid_backward", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp",
           "Log", "ReLU", "LeakyReLU", "Tanh", "Sigmoid"]


# --- exercise: unbroadcast ---
def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: undo numpy broadcasting in the backward pass.

    grad has the broadcast shape of an op's output, e.g. (2, 3, 4); shape is one input's,
    e.g. (3, 1). Broadcasting (1) added leading axes (here axis 0) and (2) stretched axes
    of size 1 (here the last): sum grad over both kinds, keeping the stretched ones as size 1.
    -> an array of exactly ``shape`` ((3, 1) here). When the shapes agree, return grad.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad  # added leading axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:  # axes of size 1 that were stretched
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)
# --- end exercise ---


# --- exercise: elementwise_backward ---
def mul_backward(grad, a, b, needs=(True, True)):
    """(grad_a, grad_b) of c = a * b:  dc/da = b,  dc/db = a.

    grad has c's (broadcast) shape; a and b their own shapes, and each gradient is summed
    back to its input's shape with ``unbroadcast``. An entry is None where ``needs`` is
    False (no gradient is wanted for that input).
    """
    grad_a = unbroadcast(grad * b, np.shape(a)) if needs[0] else None
    grad_b = unbroadcast(grad * a, np.shape(b)) if needs[1] else None
    return grad_a, grad_b


def div_backward(grad, a, b, needs=(True, True)):
    """(grad_a, grad_b) of c = a / b:  dc/da = 1 / b,  dc/db = -a / b^2.

    Shapes as in ``mul_backward``: each gradient unbroadcast to its input's shape, None
    where ``needs`` is False.
    """
    grad_a = unbroadcast(grad / b, np.shape(a)) if needs[0] else None
    grad_b = unbroadcast(-grad * a / (b * b), np.shape(b)) if needs[1] else None
    return grad_a, grad_b


def exp_backward(grad, out):
    """grad_a of out = exp(a):  d exp(a) / da = exp(a) = out  (the forward's result is saved).

    grad and out of one shape -> grad_a of that shape.
    """
    return grad * out


def log_backward(grad, a):
    """grad_a of log(a):  d log(a) / da = 1 / a.  grad and a of one shape -> that shape."""
    return grad / a


def tanh_backward(grad, out):
    """grad_a of out = tanh(a):  d tanh(a) / da = 1 - tanh(a)^2 = 1 - out^2.

    grad and out of one shape -> grad_a of that shape.
    """
    return grad * (1 - out * out)


def sigmoid_backward(grad, out):
    """grad_a of out = sigmoid(a) = 1 / (1 + exp(-a)):  d sigmoid(a) / da = out * (1 - out).

    grad and out of one shape -> grad_a of that shape.
    """
    return grad * out * (1 - out)
# --- end exercise ---


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shapes[0]), unbroadcast(g, ctx.shapes[1])


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shapes[0]), unbroadcast(-g, ctx.shapes[1])


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        return mul_backward(g, *ctx.saved_tensors, ctx.needs_input_grad)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        return div_backward(g, *ctx.saved_tensors, ctx.needs_input_grad)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """``a ** p`` for a constant exponent ``p``: d/da = p * a**(p-1)."""

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a)
        ctx.p = p
        return a ** p

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * ctx.p * a ** (ctx.p - 1), None


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return exp_backward(g, *ctx.saved_tensors)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        return log_backward(g, *ctx.saved_tensors)


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a > 0)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class LeakyReLU(Function):
    """max(a, 0) + slope * min(a, 0); the gradient is 1 for a > 0 and ``slope`` otherwise.

    The arithmetic is in ``tinydagan.kernels`` (``leaky_relu_forward`` / ``_backward``):
    a readable numpy version and a fused Numba one (one pass over memory instead of 2-3),
    because this runs after every conv of the discriminator.
    """

    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.save_for_backward(a)
        ctx.slope = negative_slope
        return kernels.leaky_relu_forward(a, negative_slope)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return kernels.leaky_relu_backward(g, a, ctx.slope), None


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return tanh_backward(g, *ctx.saved_tensors)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        # 1 / (1 + exp(-a)) overflows for very negative a; this form never does
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return sigmoid_backward(g, *ctx.saved_tensors)
