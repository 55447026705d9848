"""Graders of the convolution tasks: conv2d forward as a loop over kernel offsets, its two
gradients, and the transposed convolution as its adjoint.

References: the library's readable kernels (``tinydagan/kernels/reference.py``), on small
float64 cases with non-square kernels, strides 1 and 2, padding 0 to 2.
"""
import numpy as np

from ..kernels.geometry import ConvGeometry
from ..kernels.reference import (bias_backward, conv2d_backward_input, conv2d_backward_weight,
                                 conv2d_forward, conv_transpose2d_backward_input,
                                 conv_transpose2d_backward_weight, conv_transpose2d_forward, pad, patch)
from .checks import Check, Mismatch, compare, numeric_gradient_at

__all__ = ["grade_conv2d_forward", "grade_conv2d_backward", "grade_conv_transpose2d"]

# (N, C, H, W, O, kH, kW, stride, padding)
CONV_CASES = [(1, 1, 5, 5, 1, 3, 3, (1, 1), (0, 0)),
              (2, 3, 6, 5, 4, 3, 3, (1, 1), (1, 1)),
              (2, 2, 7, 8, 3, 3, 2, (2, 1), (1, 0)),
              (1, 2, 6, 6, 2, 5, 5, (2, 2), (2, 2)),
              (2, 3, 4, 5, 2, 1, 1, (1, 1), (0, 0))]
# (N, Cin, H, W, Cout, kH, kW, stride, padding, output_padding)
TCONV_CASES = [(1, 1, 3, 3, 1, 3, 3, (1, 1), (0, 0), (0, 0)),
               (2, 3, 3, 4, 2, 5, 5, (2, 2), (2, 2), (1, 1)),
               (2, 2, 3, 4, 3, 3, 2, (2, 1), (1, 0), (1, 0))]
OUTPUT_SIZE = "Ho = (H + 2*ph - kH) // sh + 1, Wo likewise."
TRANSPOSED_SIZE = "Ho = (H - 1)*sh - 2*ph + kH + oph, Wo likewise (ConvGeometry.transposed_output_size)."


def _describe(case):
    n, c, h, w, o, kh, kw, stride, padding = case[:9]
    extra = f", output_padding {case[9]}" if len(case) == 10 else ""
    return f"x ({n}, {c}, {h}, {w}), a {kh}x{kw} kernel, {o} output channels, stride {stride}, padding {padding}{extra}"


def _conv_arrays(case, seed):
    n, c, h, w, o, kh, kw, stride, padding = case
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw)), rng.standard_normal(o)
    ho, wo = ConvGeometry.of((kh, kw), stride, padding).output_size(h, w)
    return x, weight, bias, rng.standard_normal((n, o, ho, wo)), stride, padding


def grade_conv2d_forward(student):
    for seed, case in enumerate(CONV_CASES):
        x, weight, bias, _, stride, padding = _conv_arrays(case, seed)
        g = ConvGeometry.of(weight.shape[2:], stride, padding)
        with Check(f"pad(x, g) with {_describe(case)}",
                   hint="only the two spatial axes get a border: ph rows above and below, pw columns left and right."):
            compare("x_pad", student.pad(x.copy(), g), pad(x, g))
        xp = pad(x, g)
        ho, wo = g.output_size(*x.shape[2:])
        for i, j in {(0, 0), (g.kh - 1, g.kw - 1), (g.kh // 2, 0)}:
            with Check(f"patch(x_pad, {i}, {j}, Ho={ho}, Wo={wo}, g) with {_describe(case)}",
                       hint="patch_ij = x_pad[:, :, i : i + sh*(Ho-1) + 1 : sh, j : j + sw*(Wo-1) + 1 : sw]."):
                got = student.patch(xp, i, j, ho, wo, g)
                compare("patch", got, patch(xp, i, j, ho, wo, g))
                if not np.shares_memory(got, xp):
                    raise Mismatch("patch returned a copy", "return the slice itself (a view): the input "
                                   "gradient adds into it.")
        with Check(f"conv2d_forward with {_describe(case)}", hint=OUTPUT_SIZE):
            compare("y", student.conv2d_forward(x.copy(), weight.copy(), bias.copy(), stride, padding),
                    conv2d_forward(x, weight, bias, stride, padding))
    x, weight, _, _, stride, padding = _conv_arrays(CONV_CASES[1], 9)
    with Check("conv2d_forward with bias None", hint="bias may be None: then add nothing."):
        compare("y", student.conv2d_forward(x, weight, None, stride, padding), conv2d_forward(x, weight, None, stride, padding))


def grade_conv2d_backward(student):
    for seed, case in enumerate(CONV_CASES):
        x, weight, bias, grad_y, stride, padding = _conv_arrays(case, seed)
        loss = lambda: float(np.sum(grad_y * conv2d_forward(x, weight, bias, stride, padding)))  # noqa: E731
        with Check(f"conv2d_backward_input with {_describe(case)}",
                   hint="for each offset (i, j), ADD w[:, :, i, j]^T @ grad_y into patch(grad_x_pad, i, j), "
                        "then cut the border off."):
            compare("grad_x", student.conv2d_backward_input(grad_y.copy(), weight.copy(), x.shape, stride, padding),
                    conv2d_backward_input(grad_y, weight, x.shape, stride, padding), numeric=numeric_gradient_at(loss, x))
        with Check(f"conv2d_backward_weight with {_describe(case)}",
                   hint="grad_w[:, :, i, j] pairs grad_y with patch(x_pad, i, j): a sum over n, a and b."):
            compare("grad_w", student.conv2d_backward_weight(grad_y.copy(), x.copy(), weight.shape, stride, padding),
                    conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                    numeric=numeric_gradient_at(loss, weight))
        with Check(f"bias_backward with {_describe(case)}", hint="sum grad_y over the batch and both spatial axes."):
            compare("grad_b", student.bias_backward(grad_y.copy()), bias_backward(grad_y),
                    numeric=numeric_gradient_at(loss, bias))


def _tconv_arrays(case, seed):
    n, cin, h, w, cout, kh, kw, stride, padding, output_padding = case
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal((n, cin, h, w)), rng.standard_normal((cin, cout, kh, kw)), rng.standard_normal(cout)
    ho, wo = ConvGeometry.of((kh, kw), stride, padding).transposed_output_size(h, w, output_padding)
    return x, weight, bias, rng.standard_normal((n, cout, ho, wo)), stride, padding, output_padding


def grade_conv_transpose2d(student):
    for seed, case in enumerate(TCONV_CASES):
        x, weight, bias, grad_y, stride, padding, output_padding = _tconv_arrays(case, seed)
        with Check(f"conv_transpose2d_forward with {_describe(case)}",
                   hint="it is conv2d's input gradient with x in the role of grad_y; " + TRANSPOSED_SIZE):
            compare("y", student.conv_transpose2d_forward(x.copy(), weight.copy(), bias.copy(), stride, padding,
                                                          output_padding),
                    conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding))
        loss = lambda: float(np.sum(grad_y * conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding)))  # noqa: E731
        with Check(f"conv_transpose2d_backward_input with {_describe(case)}",
                   hint="the adjoint of the adjoint: a plain conv2d of grad_y with the same weight."):
            compare("grad_x", student.conv_transpose2d_backward_input(grad_y.copy(), weight.copy(), x.shape, stride, padding),
                    conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding),
                    numeric=numeric_gradient_at(loss, x))
        with Check(f"conv_transpose2d_backward_weight with {_describe(case)}",
                   hint="conv2d's weight gradient with x in the role of grad_y, and grad_y in the role of x."):
            compare("grad_w", student.conv_transpose2d_backward_weight(grad_y.copy(), x.copy(), weight.shape, stride, padding),
                    conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                    numeric=numeric_gradient_at(loss, weight))
