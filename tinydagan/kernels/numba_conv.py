"""Fast convolution kernels: Numba im2col / col2im around BLAS matrix products.

Same interface and, up to rounding, numbers as ``reference.py``. Read that first, down to
its stepping stone:
a conv as one matrix product ``y2 = w2 @ im2col(x)`` (``conv2d_forward_im2col``), and its
gradients as the two other products of the same matrices, ``grad_w = grad_y2 @ cols.T`` and
``grad_x = col2im(w2.T @ grad_y2)`` (``conv2d_backward_im2col``). numpy hands the products to
its BLAS (OpenBLAS), which is where the speed is. This file differs from the stepping stone
in nine steps, one idea each:

1. **Batch-last memory** (``_chwn``, ``_nchw``). Arrays keep their NCHW *shape*, but these
   kernels store their outputs as ``(C, H, W, N)`` in memory, and order the columns of cols
   ``(a, b, n)`` instead of ``(n, a, b)``. Then the product ``y2 = w2 @ cols``,
   ``(O, Ho*Wo*N)``, *is* y in memory (returned as the NCHW-shaped view
   ``y_chwn.transpose(3, 0, 1, 2)``, free), and the N images' values of a pixel sit side by
   side: im2col and col2im copy blocks of N numbers, whatever the stride, kernel or image
   size. numpy's element-wise operations keep their inputs' layout, so activations and
   gradients stay batch-last through a network; a plain NCHW input (images) is copied once
   by ``_chwn``. (PyTorch calls such a layout a "memory format", e.g. channels_last.)
2. **im2col and col2im as loops, without a padded copy** (``im2col``, ``col2im``): a block
   whose pixel lies in the zero border is written as zeros (im2col) or skipped (col2im).
3. **Chunks** (``_chunks``, ``_columns``, ``_col2im_product``): the output pixels
   ``q = a*Wo + b`` are cut into chunks whose cols take about ``CHUNK_BYTES``, in one buffer
   that every chunk reuses, so that it stays in the cache between im2col and the product.
   Chunk ``[q0, q1)`` is the column range ``[q0*N, q1*N)`` of cols and of y2, and BLAS
   writes straight into that slice of y2.
4. **The bias row** (``_columns(bias_row=True)``, ``conv2d_forward``): a bias is the weight of
   an input that is always 1. With a row of ones below cols and the bias as one more column
   of w2, ``[w2 | bias] @ [cols; ones]`` adds the bias, and the weight gradient's product
   ``grad_y2 @ cols.T`` is ``[grad_w | grad_b]``: no passes of their own over y and grad_y.
5. **Kept columns** (``conv2d_forward(saved=...)``, ``conv2d_backward``): when the layer will
   need grad_w, the forward keeps each chunk's cols in the dict ``saved`` (if the batch's
   cols take at most ``SAVE_COLS_BYTES``), and the backward multiplies by them instead of
   running im2col again. Memory for time: they live until the backward has used them.
6. **The 1x1 path** (``ConvGeometry.is_pointwise``, in ``_columns`` and ``_col2im_product``):
   with stride 1 and no padding, cols *is* the batch-last input, ``x.reshape(C, H*W*N)``, so
   a NIN layer is three plain products (and adds its bias itself: x has no row of ones).
7. **The input gradient as a conv of grad_y** (``_input_gradient``,
   ``input_gradient_is_a_conv``): for a stride-1 conv whose output is as large as its input,
   grad_x is grad_y convolved with the flipped kernel. Where O <= C, its im2col (copies of
   O*kH*kW rows) costs less than col2im (adds into C*kH*kW rows of a zeroed grad_x).
8. **The transposed conv from the same pieces** (``conv_transpose2d_forward``,
   ``conv_transpose2d_backward``): its forward is a conv's input gradient
   (``_col2im_product``), and its input and weight gradients share one im2col of grad_y.
9. **Winograd's F(2x2, 3x3) for the large 3x3 stride-1 convs** (``uses_winograd``,
   ``numba_winograd.py``; its reference is ``winograd.py``): 16 products U[xi] @ V[xi] of
   transformed weights and input tiles replace the im2col product, with 2.25x fewer
   multiplications; the input gradient is the same algorithm on grad_y, the weight gradient
   its adjoint. It pays only where the layer is large and deep enough (the 32x32 networks).

The Numba loops do not check their indices, so every kernel first checks that its shapes
fit together (``geometry.py``). The loops are single-threaded (``nogil``): numpy's OpenBLAS
already uses every core for the products (docs/performance.md: what threads for the copies did).
"""
import tinydagan.cache  # noqa: F401  (sets NUMBA_CACHE_DIR; must run before numba is imported)

import numpy as np
from numba import njit

from . import numba_winograd
from .geometry import check_conv2d_shapes, check_conv_transpose2d_shapes
from .interface import names

__all__ = names("conv") + ["im2col", "col2im", "input_gradient_is_a_conv", "CHUNK_BYTES", "SAVE_COLS_BYTES"]

CHUNK_BYTES = 8 * 2**20  # target size of one chunk's cols matrix (step 3)
SAVE_COLS_BYTES = 64 * 2**20  # a forward keeps its cols for the weight gradient up to this size (step 5)
# 3x3 stride-1 convs with at least this many output pixels and input channels use F(2x2, 3x3)
# (step 9; docs/performance.md has the measurements behind the two numbers)
WINOGRAD_MIN_PIXELS = 256
WINOGRAD_MIN_CHANNELS = 96


# ----------------------------------------------------------------------------- Numba kernels
# Every array here is batch-last: x (C, H, W, N). A chunk is the output pixels q0, q0+1, ...
# (q = a*Wo + b) and cols holds its columns: (C*kH*kW, (q1 - q0)*N). The innermost loops
# copy the N images of one pixel, between two views sliced to the same length
# (dst[m] = src[m]), which LLVM turns into SIMD code.

@njit(cache=True, nogil=True)
def im2col(x, g, wo, q0, cols):
    """cols[(c, i, j), (q - q0, n)] = x_pad[c, a*sh + i, b*sw + j, n] for output pixels
    q = a*Wo + b in [q0, q0 + cols.shape[1] // N); x_pad is x with a zero border of ph rows
    and pw columns (never built: border pixels are written as zeros).

    x (C, H, W, N), g a ConvGeometry -> fills cols (C*kH*kW, (q1 - q0)*N).
    """
    nc, h, w, n = x.shape
    if n == 0:                                                   # an empty batch: nothing to copy
        return
    q1 = q0 + cols.shape[1] // n
    for c in range(nc):
        for i in range(g.kh):
            for j in range(g.kw):
                row = cols[(c * g.kh + i) * g.kw + j]
                for q in range(q0, q1):
                    a, b = q // wo, q % wo
                    hi, wi = a * g.sh + i - g.ph, b * g.sw + j - g.pw    # the input pixel (unpadded)
                    dst = row[(q - q0) * n : (q - q0 + 1) * n]
                    if 0 <= hi < h and 0 <= wi < w:
                        src = x[c, hi, wi]
                        for m in range(n):
                            dst[m] = src[m]
                    else:                                        # in the zero border
                        for m in range(n):
                            dst[m] = 0


@njit(cache=True, nogil=True)
def col2im(cols, g, wo, q0, x):
    """The adjoint of im2col: x[c, a*sh + i - ph, b*sw + j - pw, n] += cols[(c, i, j), (q - q0, n)]
    for the output pixels q = a*Wo + b of the chunk; entries that fall in the zero border
    are dropped (the border is not part of x).

    cols (C*kH*kW, (q1 - q0)*N), g a ConvGeometry -> adds into x (C, H, W, N), which the
    caller zeroes once.
    """
    # The loops run in the order cols is stored (row r = (c, i, j) outer, then q), as in
    # im2col: each cols row is read front to back once, and the writes of one channel,
    # x[c], stay in the cache.
    nc, h, w, n = x.shape
    if n == 0:                                                   # an empty batch: nothing to copy
        return
    q1 = q0 + cols.shape[1] // n
    for c in range(nc):
        for i in range(g.kh):
            for j in range(g.kw):
                row = cols[(c * g.kh + i) * g.kw + j]
                for q in range(q0, q1):
                    a, b = q // wo, q % wo
                    hi, wi = a * g.sh + i - g.ph, b * g.sw + j - g.pw
                    if 0 <= hi < h and 0 <= wi < w:
                        src, dst = row[(q - q0) * n : (q - q0 + 1) * n], x[c, hi, wi]
                        for m in range(n):
                            dst[m] += src[m]


# ----------------------------------------------------------------------------- helpers

def _chwn(a, dtype=None):
    """a (N, C, H, W), any memory layout -> the same numbers as a C-contiguous (C, H, W, N).

    Free (a view) when a is already batch-last, as every output of these kernels is.
    """
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0), dtype=dtype)


def _nchw(a_chwn):
    """The NCHW-shaped view of a batch-last (C, H, W, N) array (no copy)."""
    return a_chwn.transpose(3, 0, 1, 2)


def _chunks(n_pixels, bytes_per_pixel):
    """Split the output pixels range(n_pixels) into (q0, q1) pieces of about CHUNK_BYTES of
    cols each (at least one pixel per piece)."""
    step = max(1, min(n_pixels, CHUNK_BYTES // max(1, bytes_per_pixel)))
    return [(s, min(n_pixels, s + step)) for s in range(0, n_pixels, step)], step


def _columns(x_chwn, g, ho, wo, keep=False, bias_row=False):
    """im2col, one chunk of output pixels at a time: yields (q0, q1, cols (C*kH*kW, (q1-q0)*N)).

    One cols buffer serves every chunk, so a caller must use each cols before asking for
    the next; with ``keep`` every chunk gets a fresh array instead, which the caller may
    keep. For a 1x1 conv, cols is x itself (no copy, and no bias row).

    ``bias_row``: cols gets one more row, all ones, below the C*kH*kW rows of x (step 4).
    """
    c, h, w, n = x_chwn.shape
    k = c * g.kh * g.kw
    if g.is_pointwise:
        yield 0, h * w, x_chwn.reshape(c, h * w * n)
        return
    rows = k + 1 if bias_row else k
    ranges, step = _chunks(ho * wo, rows * n * x_chwn.itemsize)
    cols_buf = None if keep else np.empty(rows * step * n, x_chwn.dtype)
    for q0, q1 in ranges:
        width = (q1 - q0) * n
        cols = np.empty((rows, width), x_chwn.dtype) if keep else cols_buf[: rows * width].reshape(rows, width)
        im2col(x_chwn, g, wo, q0, cols[:k])
        if bias_row:
            cols[k] = 1
        yield q0, q1, cols


def _col2im_product(w2t, gy2, x_shape_chwn, g, ho, wo):
    """grad_x = col2im(w2t @ gy2), one chunk of output pixels at a time -> (C, H, W, N).

    w2t (C*kH*kW, O), gy2 (O, Ho*Wo*N). Used by conv2d's input gradient and by the
    transposed conv's forward (the same computation).
    """
    c, h, w, n = x_shape_chwn
    k = c * g.kh * g.kw
    dtype = np.result_type(w2t, gy2)
    if g.is_pointwise:
        grad_x = np.empty((c, h, w, n), dtype)
        np.matmul(w2t, gy2, out=grad_x.reshape(c, h * w * n))
        return grad_x
    grad_x = np.zeros((c, h, w, n), dtype)                # col2im adds into it
    ranges, step = _chunks(ho * wo, k * n * grad_x.itemsize)
    cols_buf = np.empty(k * step * n, dtype)
    for q0, q1 in ranges:
        width = (q1 - q0) * n
        cols = np.matmul(w2t, gy2[:, q0 * n : q1 * n], out=cols_buf[: k * width].reshape(k, width))
        col2im(cols, g, wo, q0, grad_x)
    return grad_x


class _ProductSum:
    """``total`` = the sum of the products ``a @ b`` given to ``add``, in that order. The first
    product becomes the total; each later one is written into one scratch array and added."""

    def __init__(self):
        self.total = self._part = None

    def add(self, a, b):
        if self.total is None:
            self.total = np.matmul(a, b)
            self._part = np.empty_like(self.total)
        else:
            self.total += np.matmul(a, b, out=self._part)


# ----------------------------------------------------------------------------- conv2d

def conv2d_forward(x, weight, bias, stride, padding, *, saved=None):
    """y = conv2d(x, weight) + bias. x (N, C, H, W), weight (O, C, kH, kW) -> (N, O, Ho, Wo).

    The bias is added inside the product, ``y2 = [w2 | bias] @ [cols; ones]`` (step 4),
    except for a 1x1 conv, whose cols is x itself.

    ``saved``: a dict the caller passes when it will ask for the weight gradient (step 5).
    If the whole batch's cols fit in SAVE_COLS_BYTES, they are kept there chunk by chunk, as
    ``saved["cols"]`` = [(q0, q1, cols), ...] (with their row of ones if there is a bias),
    and ``conv2d_backward`` multiplies by them instead of running im2col a second time.
    """
    g = check_conv2d_shapes("conv2d_forward", x.shape, weight.shape, stride, padding)
    dtype = np.result_type(x, weight)
    x_chwn = _chwn(x, dtype)                                              # (C, H, W, N)
    if bias is not None and np.shape(bias) != (weight.shape[0],):
        raise ValueError(f"conv2d_forward: expected a bias of shape ({weight.shape[0]},), got "
                         f"{np.shape(bias)}")
    if uses_winograd(g, *g.output_size(*x.shape[2:]), x.shape[1]) and x.shape[0] > 0:
        keep = [] if saved is not None else None
        y = numba_winograd.conv2d_forward(x_chwn, np.asarray(weight, dtype), bias, padding, keep)
        if keep is not None:
            saved["winograd"] = keep
        return _nchw(y)
    c, h, w, n = x_chwn.shape
    o = weight.shape[0]
    ho, wo = g.output_size(h, w)
    w2 = np.asarray(weight, dtype=dtype).reshape(o, c * g.kh * g.kw)
    b = None if bias is None else np.asarray(bias, dtype=dtype)[:, None]
    bias_row = b is not None and not g.is_pointwise
    w2 = np.concatenate([w2, b], axis=1) if bias_row else np.ascontiguousarray(w2)  # [w2 | bias]
    y_chwn = np.empty((o, ho, wo, n), dtype)
    y2 = y_chwn.reshape(o, ho * wo * n)                                   # (O, Ho*Wo*N)
    keep = (saved is not None and not g.is_pointwise
            and w2.shape[1] * ho * wo * n * y_chwn.itemsize <= SAVE_COLS_BYTES)
    kept = []
    for q0, q1, cols in _columns(x_chwn, g, ho, wo, keep, bias_row):
        y2_chunk = np.matmul(w2, cols, out=y2[:, q0 * n : q1 * n])
        if b is not None and not bias_row:       # a 1x1 conv: cols is x, with no row of ones
            y2_chunk += b
        if keep:
            kept.append((q0, q1, cols))
    if keep:
        saved["cols"] = kept
    return _nchw(y_chwn)


def conv2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True), *, saved=None):
    """(grad_x, grad_w, grad_b) of conv2d in one call; an entry is None where needs is False.

    grad_y (N, O, Ho, Wo), x (N, C, H, W), weight (O, C, kH, kW); ``saved``: the dict
    given to conv2d_forward (its cols are used once, then dropped to free the memory).
    """
    g = check_conv2d_shapes("conv2d_backward", x.shape, weight.shape, stride, padding, grad_y.shape,
                            names=("x", "grad_y"))
    dtype = np.result_type(grad_y, x, weight)
    gy_chwn = _chwn(grad_y, dtype)                                        # (O, Ho, Wo, N)
    o, ho, wo, n = gy_chwn.shape
    gy2 = gy_chwn.reshape(o, ho * wo * n)
    grad_x = grad_w = grad_b = None
    if uses_winograd(g, ho, wo, x.shape[1]) and n > 0:
        weight = np.asarray(weight, dtype)
        kept = saved.pop("winograd", None) if saved else None          # used once, then freed
        if kept and kept[0][2].dtype != dtype:                          # V of another dtype
            kept = None
        if needs[0]:
            grad_x = _nchw(numba_winograd.conv2d_backward_input(gy_chwn, weight, padding))
        if needs[1]:
            grad_w = numba_winograd.conv2d_backward_weight(gy_chwn, _chwn(x, dtype), weight.shape,
                                                           padding, kept)
        if needs[2]:
            grad_b = gy2.sum(axis=1)
        return grad_x, grad_w, grad_b
    if needs[0]:
        grad_x = _input_gradient(gy2, weight, x.shape, g, ho, wo, dtype)
    kept = saved.pop("cols", None) if saved else None
    if needs[1]:
        if kept is None or kept[0][2].dtype != dtype:                   # no kept cols: im2col again
            kept = _columns(_chwn(x, dtype), g, ho, wo, bias_row=needs[2])
        k = weight[0].size                                              # C*kH*kW
        grad_wb = _weight_gradient(gy2, kept, n)         # (O, K), or (O, K + 1) = [grad_w | grad_b]
        grad_w = np.ascontiguousarray(grad_wb[:, :k]).reshape(weight.shape)
        if needs[2] and grad_wb.shape[1] > k:                           # the cols had a row of ones
            grad_b = np.ascontiguousarray(grad_wb[:, k])
    if needs[2] and grad_b is None:
        grad_b = gy2.sum(axis=1)
    return grad_x, grad_w, grad_b


def uses_winograd(g, ho, wo, in_channels):
    """True where a conv2d runs as F(2x2, 3x3) (step 9, ``numba_winograd.py``): a 3x3 kernel,
    stride 1, padding at most 2 (its input gradient is then a conv with padding 2 - p), at
    least WINOGRAD_MIN_PIXELS output pixels and WINOGRAD_MIN_CHANNELS input channels. Its 16
    products are only C deep; on small or shallow layers they and the transforms cost more
    than the 2.25x fewer multiplications save."""
    return ((g.kh, g.kw, g.sh, g.sw) == (3, 3, 1, 1) and g.ph <= 2 and g.pw <= 2
            and ho * wo >= WINOGRAD_MIN_PIXELS and in_channels >= WINOGRAD_MIN_CHANNELS)


def input_gradient_is_a_conv(g, weight_shape, x_shape):
    """True where conv2d's input gradient is computed as a conv of grad_y (step 7): stride 1,
    output as large as the input, O <= C, not 1x1. g: the conv's ConvGeometry."""
    o, c = weight_shape[:2]
    h, w = x_shape[2:]
    same = g.output_size(h, w) == (h, w)
    return (g.sh, g.sw) == (1, 1) and same and o <= c and not g.is_pointwise


def _input_gradient(gy2, weight, x_shape, g, ho, wo, dtype):
    """grad_x = col2im(w2.T @ gy2) -> (N, C, H, W) = x_shape, stored batch-last.

    For a stride-1 conv whose output is as large as its input ("same" padding), grad_x is
    itself a convolution: of grad_y with the kernel flipped in both spatial axes and its two
    channel axes swapped, padding kH - 1 - ph (the "full" correlation). Where O <= C its
    copies cost less than col2im's adds (step 7); the products and flops are the same.
    """
    o = weight.shape[0]
    n, c, h, w = x_shape
    if input_gradient_is_a_conv(g, weight.shape, x_shape):
        w_flip = np.ascontiguousarray(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], dtype=dtype)
        gy = _nchw(gy2.reshape(o, ho, wo, n))                             # a view, batch-last
        return conv2d_forward(gy, w_flip, None, (1, 1), (g.kh - 1 - g.ph, g.kw - 1 - g.pw))
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(o, -1).T      # (C*kH*kW, O), a view
    return _nchw(_col2im_product(w2t, gy2, (c, h, w, n), g, ho, wo))


def _weight_gradient(gy2, column_chunks, n):
    """grad_w = sum over chunks of gy2[:, chunk] @ cols.T -> (O, C*kH*kW), or (O, C*kH*kW + 1)
    = [grad_w | grad_b] when the cols carry the bias row of ones (step 4).

    column_chunks: (q0, q1, cols) triples, from _columns or kept by the forward; n = batch.
    """
    grad_w = _ProductSum()
    for q0, q1, cols in column_chunks:
        grad_w.add(gy2[:, q0 * n : q1 * n], cols.T)
    return grad_w.total


def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = col2im(w2.T @ grad_y2). grad_y (N, O, Ho, Wo) -> grad_x (N, C, H, W) = x_shape."""
    g = check_conv2d_shapes("conv2d_backward_input", x_shape, weight.shape, stride, padding, grad_y.shape,
                            names=("x", "grad_y"))
    dtype = np.result_type(grad_y, weight)
    gy_chwn = _chwn(grad_y, dtype)
    o, ho, wo, _ = gy_chwn.shape
    return _input_gradient(gy_chwn.reshape(o, -1), weight, x_shape, g, ho, wo, dtype)


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w = sum over chunks of grad_y2 @ cols.T. -> (O, C, kH, kW) = weight_shape."""
    g = check_conv2d_shapes("conv2d_backward_weight", x.shape, weight_shape, stride, padding, grad_y.shape,
                            names=("x", "grad_y"))
    dtype = np.result_type(grad_y, x)
    gy_chwn = _chwn(grad_y, dtype)
    o, ho, wo, n = gy_chwn.shape
    columns = _columns(_chwn(x, dtype), g, ho, wo)
    return _weight_gradient(gy_chwn.reshape(o, -1), columns, n).reshape(weight_shape)


def bias_backward(grad_y):
    """grad_b = grad_y summed over (N, H, W): (N, O, Ho, Wo) -> (O,)."""
    gy_chwn = _chwn(grad_y)
    return gy_chwn.reshape(gy_chwn.shape[0], -1).sum(axis=1)


# ----------------------------------------------------------------------------- transposed conv

def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding):
    """Transposed conv = conv2d input-gradient with weight (Cin, Cout, kH, kW) as (O, C, kH, kW).

    x (N, Cin, H, W) -> y (N, Cout, Ho, Wo), Ho = (H - 1)*sh - 2*ph + kH + oph.
    """
    g, y_shape = check_conv_transpose2d_shapes("conv_transpose2d_forward", x.shape, weight.shape,
                                               stride, padding, output_padding)
    n, cout, ho, wo = y_shape
    dtype = np.result_type(x, weight)
    x_chwn = _chwn(x, dtype)                                              # (Cin, H, W, N)
    cin, h, w, _ = x_chwn.shape
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1).T    # (Cout*kH*kW, Cin)
    y_chwn = _col2im_product(w2t, x_chwn.reshape(cin, h * w * n), (cout, ho, wo, n), g, h, w)
    if bias is not None:
        y_chwn += np.asarray(bias, dtype=dtype)[:, None, None, None]
    return _nchw(y_chwn)


def conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    """(grad_x, grad_w, grad_b) of conv_transpose2d in one call (None where needs is False).

    grad_x = conv2d(grad_y, weight) and grad_w = x2 @ im2col(grad_y).T share one im2col of
    grad_y per chunk.
    """
    # checked as the conv it is the adjoint of: grad_y in the role of that conv's input
    g = check_conv2d_shapes("conv_transpose2d_backward", grad_y.shape, weight.shape, stride, padding, x.shape,
                            names=("grad_y", "x"))
    dtype = np.result_type(grad_y, x, weight)
    gy_chwn = _chwn(grad_y, dtype)                                        # (Cout, Ho, Wo, N)
    x_chwn = _chwn(x, dtype)                                              # (Cin, H, W, N)
    cin, h, w, n = x_chwn.shape
    w2 = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1)      # (Cin, Cout*kH*kW)
    x2 = x_chwn.reshape(cin, h * w * n)
    grad_x_chwn = np.empty((cin, h, w, n), dtype) if needs[0] else None
    grad_w = _ProductSum()
    if needs[0] or needs[1]:
        for q0, q1, cols in _columns(gy_chwn, g, h, w):                 # im2col of grad_y, by chunk
            if needs[0]:
                np.matmul(w2, cols, out=grad_x_chwn.reshape(cin, h * w * n)[:, q0 * n : q1 * n])
            if needs[1]:
                grad_w.add(x2[:, q0 * n : q1 * n], cols.T)
    grad_b = gy_chwn.reshape(gy_chwn.shape[0], -1).sum(axis=1) if needs[2] else None
    return ((None if grad_x_chwn is None else _nchw(grad_x_chwn)),
            (grad_w.total.reshape(weight.shape) if needs[1] else None), grad_b)


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = conv2d(grad_y, weight): grad_y (N, Cout, Ho, Wo) -> (N, Cin, H, W)."""
    return conv2d_forward(grad_y, weight, None, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """conv2d's weight gradient with x and grad_y swapped -> (Cin, Cout, kH, kW)."""
    return conv2d_backward_weight(x, grad_y, weight_shape, stride, padding)
