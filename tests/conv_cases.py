"""The convolution cases the kernel tests share (tiny shapes, so that the suite is also quick
with NUMBA_DISABLE_JIT=1, when the Numba kernels run as Python loops).

The output sizes are written out here again on purpose: the tests check the kernels (and
``ConvGeometry``) against these formulas, not against themselves.
"""
import numpy as np

# (N, C, H, W, O, kH, kW, stride, padding): non-square kernels, stride 1 / 2, padding 0 / 1 / 2
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 3, (1, 1), (0, 0)),
    (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1)),
    (2, 3, 8, 8, 5, 3, 3, (2, 2), (1, 1)),
    (3, 2, 7, 9, 3, 2, 3, (2, 1), (0, 2)),
    (1, 4, 6, 7, 2, 1, 1, (1, 1), (0, 0)),   # NIN: a 1x1 conv
    (2, 2, 9, 8, 3, 5, 5, (2, 2), (2, 2)),
    (2, 3, 6, 5, 2, 3, 2, (1, 2), (2, 1)),
    (2, 2, 17, 18, 3, 3, 3, (2, 2), (1, 1)),  # stride 2, 9 outputs per row
    (2, 2, 9, 16, 3, 3, 3, (2, 2), (1, 1)),   # stride 2, 8 outputs per row
    (2, 2, 8, 8, 3, 3, 3, (2, 2), (1, 1)),    # stride 2, 4 outputs per row (the 16x16 D's conv6)
    (2, 2, 6, 31, 2, 3, 2, (1, 2), (0, 1)),   # 16 outputs per row; kW 2
    (3, 2, 4, 4, 2, 3, 3, (1, 1), (0, 0)),    # 'valid' 4x4 -> 2x2 (the 16x16 D's conv7)
    (2, 2, 3, 4, 2, 3, 3, (2, 1), (2, 2)),    # whole output rows and columns in the border
    (2, 4, 6, 5, 3, 3, 3, (1, 1), (1, 1)),    # 'same', O <= C: grad_x is a conv of grad_y
    (2, 3, 5, 7, 3, 3, 5, (1, 1), (1, 2)),    # the same with a 3x5 kernel
]
# (N, Cin, H, W, Cout, kH, kW, stride, padding, output_padding)
TCONV_CASES = [
    (1, 1, 3, 3, 1, 3, 3, (1, 1), (0, 0), (0, 0)),
    (2, 3, 4, 4, 2, 5, 5, (2, 2), (2, 2), (1, 1)),   # the paper's generator layers
    (2, 2, 3, 5, 3, 3, 2, (2, 1), (1, 0), (1, 0)),
    (3, 2, 4, 3, 2, 4, 4, (2, 2), (1, 1), (0, 0)),
    (1, 3, 5, 4, 2, 3, 3, (1, 1), (2, 1), (0, 0)),
    (2, 2, 3, 3, 3, 2, 3, (2, 2), (0, 1), (1, 1)),
    (2, 2, 8, 9, 2, 5, 5, (2, 2), (2, 2), (1, 1)),   # 9 inputs per row
    (2, 2, 3, 8, 2, 5, 5, (2, 2), (2, 2), (1, 1)),   # 8 inputs per row
    (2, 3, 4, 4, 2, 5, 5, (2, 2), (2, 2), (0, 0)),   # no output_padding
]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def conv_out(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def tconv_out(h, k, s, p, op):
    return (h - 1) * s - 2 * p + k + op


def make_conv(case, dtype, seed=0):
    n, c, h, w, o, kh, kw, stride, padding = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    ho, wo = conv_out(h, kh, stride[0], padding[0]), conv_out(w, kw, stride[1], padding[1])
    grad_y = rng.standard_normal((n, o, ho, wo)).astype(dtype)
    return x, weight, bias, grad_y, stride, padding


def make_tconv(case, dtype, seed=0):
    n, cin, h, w, cout, kh, kw, stride, padding, out_pad = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, h, w)).astype(dtype)
    weight = rng.standard_normal((cin, cout, kh, kw)).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype)
    ho = tconv_out(h, kh, stride[0], padding[0], out_pad[0])
    wo = tconv_out(w, kw, stride[1], padding[1], out_pad[1])
    grad_y = rng.standard_normal((n, cout, ho, wo)).astype(dtype)
    return x, weight, bias, grad_y, stride, padding, out_pad
