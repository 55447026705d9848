"""Convolution (and LeakyReLU) kernels on plain numpy arrays (no autograd), each written twice.

- ``reference``: short numpy code, obviously correct (read it first);
- ``numba``: Numba im2col / col2im around BLAS matmuls (fast; see ``numba_conv.py``), and
  fused element-wise loops (``numba_elementwise.py``).

The module-level functions below dispatch, at call time, to the current backend::

    from tinydagan import kernels
    kernels.set_backend("reference")        # or: with kernels.use_backend("reference"): ...
    y = kernels.conv2d_forward(x, w, b, stride=(1, 1), padding=(1, 1))

The initial backend comes from the environment variable ``TINYDAGAN_BACKEND``
(default ``"numba"``). Layout is NCHW, names and formulas are PyTorch's:

    conv2d_forward(x, weight, bias, stride, padding, saved=None) -> y    # (N, O, Ho, Wo)
        x (N, C, H, W), weight (O, C, kH, kW), bias (O,) or None, Ho = (H + 2ph - kH)//sh + 1
    conv2d_backward(grad_y, x, weight, stride, padding, needs, saved=None) -> (grad_x, grad_w, grad_b)
        the three gradients below in one call (None where needs[i] is False); ``saved`` is
        a dict passed to the forward too, where a backend may keep work for the backward
    conv2d_backward_input(grad_y, weight, x_shape, stride, padding) -> grad_x      # (N, C, H, W)
    conv2d_backward_weight(grad_y, x, weight_shape, stride, padding) -> grad_w     # (O, C, kH, kW)
    conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding) -> y
        x (N, Cin, H, W), weight (Cin, Cout, kH, kW), Ho = (H - 1)*sh - 2ph + kH + oph
    conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs) -> (grad_x, grad_w, grad_b)
    conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding) -> grad_x
    conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding) -> grad_w
    bias_backward(grad_y) -> grad_b                                      # sum over (0, 2, 3)
    leaky_relu_forward(a, slope) -> y;  leaky_relu_backward(grad_y, a, slope) -> grad_a
        element-wise, any shape (the numba versions are one fused pass: numba_elementwise.py)

``stride``, ``padding`` and ``output_padding`` are ``(h, w)`` int tuples. The layers in
``tinydagan.nn`` validate what users pass them; the Numba conv kernels also check that the
shapes they get fit together (their loops do not check indices). They accept float32 and float64,
and inputs of any memory layout. The numba backend returns batch-last arrays (NCHW
shape, ``(C, H, W, N)`` memory; see ``numba_conv.py``), the reference backend plain NCHW.
"""
import os
from contextlib import contextmanager

from . import numba_conv, numba_elementwise, reference

__all__ = [
    "BACKENDS",
    "set_backend",
    "get_backend",
    "use_backend",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "conv_transpose2d_backward_input",
    "conv_transpose2d_backward_weight",
    "bias_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
]

BACKENDS = {"numba": numba_conv, "reference": reference}
ELEMENTWISE = {"numba": numba_elementwise, "reference": reference}  # fused element-wise kernels
_current = None  # the module the functions below dispatch to; set by set_backend


def set_backend(name):
    """Select the kernels every later call uses: ``"numba"`` or ``"reference"``."""
    global _current
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; expected one of {sorted(BACKENDS)}")
    _current = name


def get_backend():
    """The name of the current backend."""
    return _current


@contextmanager
def use_backend(name):
    """``with use_backend("reference"): ...`` runs the block on that backend, then restores."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


set_backend(os.environ.get("TINYDAGAN_BACKEND", "numba"))


def conv2d_forward(x, weight, bias, stride, padding, saved=None):
    return BACKENDS[_current].conv2d_forward(x, weight, bias, stride, padding, saved)


def conv2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True), saved=None):
    return BACKENDS[_current].conv2d_backward(grad_y, x, weight, stride, padding, needs, saved)


def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    return BACKENDS[_current].conv2d_backward_input(grad_y, weight, x_shape, stride, padding)


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    return BACKENDS[_current].conv2d_backward_weight(grad_y, x, weight_shape, stride, padding)


def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding):
    return BACKENDS[_current].conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding)


def conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    return BACKENDS[_current].conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs)


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    return BACKENDS[_current].conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    return BACKENDS[_current].conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding)


def bias_backward(grad_y):
    return BACKENDS[_current].bias_backward(grad_y)


def leaky_relu_forward(a, slope):
    return ELEMENTWISE[_current].leaky_relu_forward(a, slope)


def leaky_relu_backward(grad_y, a, slope):
    return ELEMENTWISE[_current].leaky_relu_backward(grad_y, a, slope)


for _name in __all__[4:]:  # the dispatchers share the docstrings of the reference kernels
    globals()[_name].__doc__ = getattr(reference, _name).__doc__
