"""The kernel interface, written once: each function a backend defines, with its parameters.

``tinydagan.kernels`` makes one dispatcher per row (with the reference's docstring); the
backends take their ``__all__`` from the table; tests/test_kernel_definitions.py checks
that every backend defines every row with these parameters. What each function computes,
in which shapes, is the docstring of its reference version (``reference.py``).

Two families: the "conv" kernels live in a backend's conv module (``reference`` or
``numba_conv``), the "elementwise" ones in its element-wise module (``reference`` or
``numba_elementwise``). Layout is NCHW; ``stride``, ``padding`` and ``output_padding`` are
``(h, w)`` int tuples; ``needs`` says which of (grad_x, grad_w, grad_b) to compute (None
for the others).

``keeps_work``: the fast backend also takes a keyword ``saved``, a dict the autograd layer
passes to the forward and then to the backward, in which it keeps work for the backward
(its im2col matrix). It is no part of the definition: the dispatchers pass it on only to a
backend that keeps work (``kernels.Backend.keeps_work``), so the reference never sees it.
"""
from typing import NamedTuple

__all__ = ["Kernel", "KERNELS", "names"]


class Kernel(NamedTuple):
    name: str
    parameters: str            # as every backend defines them (the reference's defaults)
    returns: str
    family: str = "conv"       # "conv" or "elementwise"
    keeps_work: bool = False   # a backend that keeps work also takes the keyword ``saved``


KERNELS = (
    Kernel("conv2d_forward", "x, weight, bias, stride, padding", "y", keeps_work=True),
    Kernel("conv2d_backward", "grad_y, x, weight, stride, padding, needs=(True, True, True)",
           "(grad_x, grad_w, grad_b)", keeps_work=True),
    Kernel("conv2d_backward_input", "grad_y, weight, x_shape, stride, padding", "grad_x"),
    Kernel("conv2d_backward_weight", "grad_y, x, weight_shape, stride, padding", "grad_w"),
    Kernel("conv_transpose2d_forward", "x, weight, bias, stride, padding, output_padding", "y"),
    Kernel("conv_transpose2d_backward", "grad_y, x, weight, stride, padding, needs=(True, True, True)",
           "(grad_x, grad_w, grad_b)"),
    Kernel("conv_transpose2d_backward_input", "grad_y, weight, x_shape, stride, padding", "grad_x"),
    Kernel("conv_transpose2d_backward_weight", "grad_y, x, weight_shape, stride, padding", "grad_w"),
    Kernel("bias_backward", "grad_y", "grad_b"),
    Kernel("leaky_relu_forward", "a, slope", "y", family="elementwise"),
    Kernel("leaky_relu_backward", "grad_y, a, slope", "grad_a", family="elementwise"),
)


def names(family):
    """The names of one family's kernels, in table order (a backend module's ``__all__``)."""
    return [kernel.name for kernel in KERNELS if kernel.family == family]
