"""Reference convolution kernels: short numpy code that is obviously correct.

These are the definitions the fast Numba kernels (``numba_conv.py``) are tested against.
Arrays are NCHW; weights follow PyTorch: ``conv2d`` weight ``(O, C, kH, kW)``,
``conv_transpose2d`` weight ``(Cin, Cout, kH, kW)``. Output sizes and the kernel, stride
and padding come as one ``ConvGeometry`` (``geometry.py``).

The idea: a convolution is a sum over the kernel offsets ``(i, j)``. For one offset, the
input pixels that meet weight ``w[:, :, i, j]`` form a strided slice of the padded input,

    patch_ij = x_padded[:, :, i : i + sh*(Ho-1) + 1 : sh, j : j + sw*(Wo-1) + 1 : sw]   # (N, C, Ho, Wo)

and ``y = sum_ij  w[:, :, i, j] @ patch_ij`` (a matrix product over the channel axis).
The two gradients are the same loop run backwards: the input gradient *adds* each
offset's contribution back into that same slice, the weight gradient pairs ``grad_y``
with the slice.

A transposed convolution is the adjoint (the "backward") of a convolution, so this file
defines it through the three conv2d functions, with the roles of input and output
swapped; the tests check it independently against its own loop formula.

The end of the file is the stepping stone to the fast kernels: the same patches stacked
into one matrix, ``im2col(x)``, so that a conv is *one* matrix product ``w2 @ im2col(x)``
(``conv2d_forward_im2col``), and its gradients the two other products of the same
matrices (``conv2d_backward_im2col``). ``numba_conv.py`` starts from there.
"""
import numpy as np

from .geometry import ConvGeometry
from .interface import names

__all__ = names("conv") + names("elementwise") + [
    "pad", "patch", "im2col", "col2im", "conv2d_forward_im2col", "conv2d_backward_im2col"]


# --- exercise: conv2d_forward ---
def pad(x, g):
    """x (N, C, H, W) with a zero border of g.ph rows (top and bottom) and g.pw columns
    (left and right) -> (N, C, H + 2*ph, W + 2*pw). ``g`` is a ConvGeometry (kh, kw, sh, sw, ph, pw)."""
    return np.pad(x, ((0, 0), (0, 0), (g.ph, g.ph), (g.pw, g.pw)))


def patch(xp, i, j, ho, wo, g):
    """The slice of the padded input that kernel offset (i, j) sees: (N, C, Ho, Wo).

    patch[n, c, a, b] = xp[n, c, a*sh + i, b*sw + j] for the Ho x Wo output pixels (a, b):
    rows i, i + sh, ..., i + sh*(Ho-1), columns likewise. A view into xp (a strided slice,
    no copy), so that a backward can add into it.
    """
    return xp[:, :, i : i + g.sh * (ho - 1) + 1 : g.sh, j : j + g.sw * (wo - 1) + 1 : g.sw]


def conv2d_forward(x, weight, bias, stride, padding):
    """y[n, o, a, b] = bias[o] + sum_{c,i,j} w[o, c, i, j] * x_pad[n, c, a*sh + i, b*sw + j].

    x (N, C, H, W), weight (O, C, kH, kW), bias (O,) or None -> y (N, O, Ho, Wo),
    Ho = (H + 2*ph - kH) // sh + 1, Wo likewise (``ConvGeometry.output_size``).
    As a loop over the kernel offsets (i, j): y += w[:, :, i, j] @ patch_ij over the
    channel axis (``np.einsum("oc,nchw->nohw", ...)``); stride and padding are (h, w) pairs.
    """
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    n, _, h, w = x.shape
    ho, wo = g.output_size(h, w)
    xp = pad(x, g)
    y = np.zeros((n, weight.shape[0], ho, wo), dtype=np.result_type(x, weight))
    for i in range(g.kh):
        for j in range(g.kw):
            y += np.einsum("oc,nchw->nohw", weight[:, :, i, j], patch(xp, i, j, ho, wo, g))
    if bias is not None:
        y += bias[None, :, None, None]
    return y
# --- end exercise ---


# --- exercise: conv2d_backward ---
def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = d(sum grad_y * conv2d(x)) / dx: each offset adds w^T @ grad_y back into its slice.

    grad_y (N, O, Ho, Wo), weight (O, C, kH, kW), x_shape (N, C, H, W) -> grad_x (N, C, H, W).
    """
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    n, c, h, w = x_shape
    _, _, ho, wo = grad_y.shape
    grad_xp = np.zeros((n, c, h + 2 * g.ph, w + 2 * g.pw), dtype=np.result_type(grad_y, weight))
    for i in range(g.kh):
        for j in range(g.kw):
            patch(grad_xp, i, j, ho, wo, g)[...] += np.einsum("oc,nohw->nchw", weight[:, :, i, j], grad_y)
    return grad_xp[:, :, g.ph : g.ph + h, g.pw : g.pw + w]


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w[o, c, i, j] = sum_{n,a,b} grad_y[n, o, a, b] * x_pad[n, c, a*sh + i, b*sw + j].

    grad_y (N, O, Ho, Wo), x (N, C, H, W), weight_shape (O, C, kH, kW) -> grad_w (O, C, kH, kW).
    """
    g = ConvGeometry.of(weight_shape[2:], stride, padding)
    _, _, ho, wo = grad_y.shape
    xp = pad(x, g)
    grad_w = np.zeros(weight_shape, dtype=np.result_type(grad_y, x))
    for i in range(g.kh):
        for j in range(g.kw):
            grad_w[:, :, i, j] = np.einsum("nohw,nchw->oc", grad_y, patch(xp, i, j, ho, wo, g))
    return grad_w
# --- end exercise ---


def conv2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    """(grad_x, grad_w, grad_b) of conv2d in one call; an entry is None where needs is False.

    The three gradients above, side by side (what an autograd layer asks for at once).
    """
    return (conv2d_backward_input(grad_y, weight, x.shape, stride, padding) if needs[0] else None,
            conv2d_backward_weight(grad_y, x, weight.shape, stride, padding) if needs[1] else None,
            bias_backward(grad_y) if needs[2] else None)


# --- exercise: conv_transpose2d ---
def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding):
    """Transposed convolution = the input gradient of a conv2d whose weight is ``weight``.

    y[n, d, a*sh - ph + i, b*sw - pw + j] += sum_c x[n, c, a, b] * w[c, d, i, j]

    x (N, Cin, H, W), weight (Cin, Cout, kH, kW), bias (Cout,) or None -> y (N, Cout, Ho, Wo),
    Ho = (H - 1)*sh - 2*ph + kH + oph, Wo likewise (``ConvGeometry.transposed_output_size``).
    A conv2d with this stride and padding maps (Ho, Wo) back to (H, W) because oph < sh.
    """
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    n, _, h, w = x.shape
    y = conv2d_backward_input(x, weight, (n, weight.shape[1]) + g.transposed_output_size(h, w, output_padding),
                              stride, padding)
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """The adjoint of the adjoint: grad_x is a plain conv2d of grad_y with the same weight.

    grad_y (N, Cout, Ho, Wo), weight (Cin, Cout, kH, kW) -> grad_x (N, Cin, H, W) = x_shape.
    """
    return conv2d_forward(grad_y, weight, None, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w[c, d, i, j] = sum_{n,a,b} x[n, c, a, b] * grad_y_pad[n, d, a*sh + i, b*sw + j],

    i.e. conv2d's weight gradient with x in the role of grad_y and grad_y in the role of x.
    grad_y (N, Cout, Ho, Wo), x (N, Cin, H, W) -> grad_w (Cin, Cout, kH, kW) = weight_shape.
    """
    return conv2d_backward_weight(x, grad_y, weight_shape, stride, padding)
# --- end exercise ---


def conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    """(grad_x, grad_w, grad_b) of conv_transpose2d in one call (None where needs is False)."""
    return (conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding) if needs[0] else None,
            conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding) if needs[1] else None,
            bias_backward(grad_y) if needs[2] else None)


# --- exercise: conv2d_backward ---
def bias_backward(grad_y):
    """grad_b[o] = sum_{n,a,b} grad_y[n, o, a, b]: grad_y (N, O, Ho, Wo) -> (O,)."""
    return grad_y.sum(axis=(0, 2, 3))
# --- end exercise ---


# ----------------------------------------------------------------------------- element-wise

def leaky_relu_forward(a, slope):
    """y = a where a > 0, slope * a elsewhere (any shape).

    For 0 <= slope <= 1 this is max(a, slope * a): one multiply and one maximum, which
    numpy computes faster than np.where's mask and select (docs/performance.md).
    """
    slope = a.dtype.type(slope)
    if 0 <= slope <= 1:
        out = a * slope
        return np.maximum(a, out, out=out)
    return np.where(a > 0, a, a * slope)


def leaky_relu_backward(grad_y, a, slope):
    """grad_a = grad_y where a > 0, slope * grad_y elsewhere: grad_y and a of any (one) shape."""
    slope = grad_y.dtype.type(slope)
    return grad_y * ((a > 0) * (1 - slope) + slope)


# ----------------------------------------------------------------------------- the stepping stone: im2col

def im2col(x, g):
    """The patches of x stacked into one matrix: cols[(c, i, j), (n, a, b)] = x_pad[n, c, a*sh + i, b*sw + j].

    x (N, C, H, W), g a ConvGeometry -> cols (C*kH*kW, N*Ho*Wo). Column (n, a, b) is the
    window under output pixel (a, b) of image n, flattened; row (c, i, j) is channel c of
    ``patch(i, j)``, flattened.
    """
    n, c, h, w = x.shape
    ho, wo = g.output_size(h, w)
    xp = pad(x, g)
    patches = np.stack([patch(xp, i, j, ho, wo, g) for i in range(g.kh) for j in range(g.kw)],
                       axis=2)                                                 # (N, C, kH*kW, Ho, Wo)
    return patches.transpose(1, 2, 0, 3, 4).reshape(c * g.kh * g.kw, n * ho * wo)


def col2im(cols, x_shape, g):
    """The adjoint of im2col: adds every entry of cols back to the pixel it came from.

    cols (C*kH*kW, N*Ho*Wo) -> (N, C, H, W) = x_shape; entries from the zero border are dropped.
    """
    n, c, h, w = x_shape
    ho, wo = g.output_size(h, w)
    patches = cols.reshape(c, g.kh, g.kw, n, ho, wo)
    grad_xp = np.zeros((n, c, h + 2 * g.ph, w + 2 * g.pw), dtype=cols.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            patch(grad_xp, i, j, ho, wo, g)[...] += patches[:, i, j].transpose(1, 0, 2, 3)
    return grad_xp[:, :, g.ph : g.ph + h, g.pw : g.pw + w]


def conv2d_forward_im2col(x, weight, bias, stride, padding):
    """conv2d as one matrix product: y2 = w2 @ im2col(x) + bias, w2 = weight.reshape(O, C*kH*kW).

    The same numbers as conv2d_forward, up to rounding. y2 (O, N*Ho*Wo) is y with its first
    two axes swapped: -> y (N, O, Ho, Wo).
    """
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    n, _, h, w = x.shape
    o = weight.shape[0]
    y2 = weight.reshape(o, -1) @ im2col(x, g)                                   # (O, N*Ho*Wo)
    if bias is not None:
        y2 += bias[:, None]
    return y2.reshape((o, n) + g.output_size(h, w)).transpose(1, 0, 2, 3)


def conv2d_backward_im2col(grad_y, x, weight, stride, padding):
    """(grad_x, grad_w, grad_b) of conv2d as the two other products of the same matrices:

        grad_w = grad_y2 @ cols.T        grad_x = col2im(w2.T @ grad_y2)        grad_b = grad_y2 @ ones

    with cols = im2col(x), grad_y2 = grad_y as (O, N*Ho*Wo). The same numbers as conv2d_backward.
    """
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    o = weight.shape[0]
    gy2 = grad_y.transpose(1, 0, 2, 3).reshape(o, -1)                          # (O, N*Ho*Wo)
    w2 = weight.reshape(o, -1)                                                  # (O, C*kH*kW)
    grad_x = col2im(w2.T @ gy2, x.shape, g)
    grad_w = (gy2 @ im2col(x, g).T).reshape(weight.shape)
    return grad_x, grad_w, gy2.sum(axis=1)
