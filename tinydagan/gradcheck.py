"""Check a backward pass against central differences.

For a scalar-valued check we contract the output with a fixed random "upstream gradient" w:
L(x) = sum(w * f(x)). The analytic gradient comes from ``L.backward()``; the numeric one from

    dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),

whose error is O(eps^2). Everything runs in float64: in float32, rounding error (~1e-7
relative) divided by eps would swamp the comparison.
"""
import numpy as np

from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError", "central_difference"]


class GradcheckError(AssertionError):
    """The analytic and the numeric gradient disagree; the message says where."""


def central_difference(loss_value, flat, j, eps=1e-6):
    """(L(x + eps e_j) - L(x - eps e_j)) / (2 eps): ``flat`` is x as a flat view, perturbed
    in place and restored; ``loss_value()`` computes L from it."""
    original = flat[j]
    flat[j] = original + eps
    plus = loss_value()
    flat[j] = original - eps
    minus = loss_value()
    flat[j] = original
    return (plus - minus) / (2 * eps)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Compare the gradients of ``fn(*inputs)`` with central differences.

    fn      a function of Tensors returning a Tensor (of any shape)
    inputs  a list of float64 Tensors; those with ``requires_grad=True`` are checked
    Returns True when every element agrees within ``atol + rtol * |numeric|``; otherwise
    raises ``GradcheckError`` naming the input index, the element index, the numeric and the
    analytic value (or returns False when ``raise_exception=False``).
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and not t.data.flags.c_contiguous:
            t.data = np.ascontiguousarray(t.data)  # so that reshape(-1) below is a view
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, expected a Tensor")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; gradient checks need float64")

    out = fn(*inputs)
    w = np.random.default_rng(seed).standard_normal(out.shape)

    def loss_value():
        return float(np.sum(w * fn(*inputs).data))

    for t in inputs:
        t.grad = None
    (out * w).sum().backward()

    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        analytic = np.zeros_like(t.data) if t.grad is None else t.grad
        flat = t.data.reshape(-1)  # a view: perturbing it perturbs the input
        for j in range(flat.size):
            numeric = central_difference(loss_value, flat, j, eps)
            a = analytic.reshape(-1)[j]
            if not abs(numeric - a) <= atol + rtol * abs(numeric):
                element = np.unravel_index(j, t.shape)
                message = (f"gradcheck failed for input {i} (shape {t.shape}) at element "
                           f"{tuple(int(k) for k in element)}: numeric {numeric:.8g}, "
                           f"analytic {a:.8g}, difference {abs(numeric - a):.3g}")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True
