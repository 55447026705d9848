"""The geometry of a convolution, its two output-size formulas, and the checks of its arguments.

A conv's kernel size, stride and padding travel together as one ``ConvGeometry``. The
output sizes are PyTorch's (dilation 1), per spatial axis:

    conv2d:            out = (in + 2*padding - kernel_size) // stride + 1
    conv_transpose2d:  out = (in - 1)*stride - 2*padding + kernel_size + output_padding

They are written once, here, and so are the checks that a conv's arguments and shapes fit
together: the Numba kernels (``numba_conv.py``: their loops do not check indices),
``tinydagan.functional`` and the layers of ``tinydagan.nn`` call them; the reference kernels
use ``ConvGeometry`` for their output sizes. Each error says what was expected and what
was found.
"""
from typing import NamedTuple

__all__ = ["ConvGeometry", "check_conv_arguments", "check_conv2d_shapes", "check_conv_transpose2d_shapes"]


class ConvGeometry(NamedTuple):
    """Kernel size (kh, kw), stride (sh, sw) and padding (ph, pw) of a 2-d convolution."""
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int

    @classmethod
    def of(cls, kernel_size, stride, padding):
        """From the three (h, w) pairs, e.g. ``ConvGeometry.of(weight.shape[2:], stride, padding)``."""
        (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
        return cls(int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))

    def output_size(self, h, w):
        """(Ho, Wo) of a conv2d with this geometry on an (h, w) input."""
        return (h + 2 * self.ph - self.kh) // self.sh + 1, (w + 2 * self.pw - self.kw) // self.sw + 1

    def transposed_output_size(self, h, w, output_padding):
        """(Ho, Wo) of a conv_transpose2d with this geometry on an (h, w) input.

        A conv2d with the same geometry maps (Ho, Wo) back to (h, w) when 0 <= output_padding
        < stride: a stride-2 conv maps 8 and 7 alike to 4, and output_padding picks one.
        """
        oph, opw = output_padding
        return ((h - 1) * self.sh - 2 * self.ph + self.kh + oph,
                (w - 1) * self.sw - 2 * self.pw + self.kw + opw)

    @property
    def is_pointwise(self):
        """A 1x1 kernel with stride 1 and no padding: each output pixel sees one input pixel."""
        return self == (1, 1, 1, 1, 0, 0)


def check_conv_arguments(name, kernel_size, stride, padding, output_padding=(0, 0)):
    """kernel_size >= 1, stride >= 1, padding >= 0 and 0 <= output_padding < stride, per axis."""
    if min(kernel_size) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: need kernel_size >= 1, stride >= 1 and padding >= 0, got kernel_size "
                         f"{tuple(kernel_size)}, stride {tuple(stride)}, padding {tuple(padding)}")
    if not all(0 <= op < s for op, s in zip(output_padding, stride)):
        raise ValueError(f"{name}: need 0 <= output_padding < stride, got output_padding "
                         f"{tuple(output_padding)} and stride {tuple(stride)}")


def check_conv2d_shapes(name, x_shape, weight_shape, stride, padding, y_shape=None, names=("x", "y")):
    """Shapes a conv2d ``y = conv2d(x, weight)`` can have; a ValueError otherwise.

    x (N, C, H, W), weight (O, C, kH, kW) whose kernel fits the padded input, and (when
    given) y (N, O, Ho, Wo) with (Ho, Wo) = output_size(H, W). ``names`` are what the
    caller calls x and y (a backward checks its grad_y in the role of y; a transposed conv
    is checked as the conv it is the adjoint of). Returns the ``ConvGeometry``.
    """
    x_name, y_name = names
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ValueError(f"{name}: expected a 4-d {x_name} (N, C, H, W) and a 4-d weight (O, C, kH, kW), "
                         f"got shapes {tuple(x_shape)} and {tuple(weight_shape)}")
    n, c, h, w = x_shape
    o, c_weight, kh, kw = weight_shape
    if c != c_weight:
        raise ValueError(f"{name}: {x_name} has {c} channels but the weight {tuple(weight_shape)} "
                         f"expects {c_weight} ({x_name} shape {tuple(x_shape)})")
    check_conv_arguments(name, (kh, kw), stride, padding)
    geometry = ConvGeometry.of((kh, kw), stride, padding)
    ho, wo = geometry.output_size(h, w)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: a {kh}x{kw} kernel does not fit {h}x{w} with padding {tuple(padding)}: "
                         f"the padded input is smaller than the kernel")
    if y_shape is not None and tuple(y_shape) != (n, o, ho, wo):
        raise ValueError(f"{name}: expected {y_name} of shape {(n, o, ho, wo)} for {x_name} {tuple(x_shape)}, "
                         f"weight {tuple(weight_shape)}, stride {tuple(stride)}, padding {tuple(padding)}; "
                         f"got {tuple(y_shape)}")
    return geometry


def check_conv_transpose2d_shapes(name, x_shape, weight_shape, stride, padding, output_padding,
                                  names=("x", "y")):
    """Shapes a conv_transpose2d ``y = conv_transpose2d(x, weight)`` can have; a ValueError otherwise.

    x (N, Cin, H, W), weight (Cin, Cout, kH, kW) -> y (N, Cout, Ho, Wo), (Ho, Wo) =
    transposed_output_size(H, W, output_padding), at least 1x1. Returns the ``ConvGeometry``
    and y's shape.
    """
    x_name, y_name = names
    if len(x_shape) != 4 or len(weight_shape) != 4 or x_shape[1] != weight_shape[0]:
        raise ValueError(f"{name}: expected {x_name} (N, Cin, H, W) and weight (Cin, Cout, kH, kW), "
                         f"got shapes {tuple(x_shape)} and {tuple(weight_shape)}")
    check_conv_arguments(name, weight_shape[2:], stride, padding, output_padding)
    geometry = ConvGeometry.of(weight_shape[2:], stride, padding)
    ho, wo = geometry.transposed_output_size(x_shape[2], x_shape[3], output_padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: {x_name} {tuple(x_shape)} with a {geometry.kh}x{geometry.kw} kernel, "
                         f"stride {tuple(stride)}, padding {tuple(padding)} and output_padding "
                         f"{tuple(output_padding)} gives a {ho}x{wo} {y_name}; expected at least 1x1")
    return geometry, (x_shape[0], weight_shape[1], ho, wo)
