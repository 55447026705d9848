"""Fast convolution kernels: Numba im2col / col2im around BLAS matrix products.

Same interface and formulas as ``reference.py`` (read that first). The speed comes from
turning a convolution into a matrix product, which numpy hands to its BLAS (OpenBLAS):

    cols[(c, i, j), (a, b, n)] = x_pad[c, a*sh + i, b*sw + j, n]     # im2col: (C*kH*kW, Ho*Wo*N)
    y2 = w.reshape(O, C*kH*kW) @ cols                                  # (O, Ho*Wo*N) = y, batch-last
    y2 += bias[:, None]

and the gradients are the two other products of the same three matrices:

    grad_w = grad_y2 @ cols.T            grad_cols = w2.T @ grad_y2 -> col2im -> grad_x

(The code does the bias add inside the first product, and grad_b inside the second: a row
of ones below cols and the bias as one more column of w2; see ``_columns``.)

``col2im`` is the adjoint of ``im2col``: it *adds* every column entry back to the pixel it
came from. A transposed convolution is the adjoint of a convolution, so it reuses the same
building blocks with input and output swapped (its forward is a conv's input gradient).

**Memory layout: batch-last, (C, H, W, N).** Arrays keep PyTorch's NCHW *shape*, but these
kernels store their outputs as ``(C, H, W, N)`` in memory (the layout cuda-convnet used),
and return the NCHW-shaped view ``y_chwn.transpose(3, 0, 1, 2)`` (numpy strides make the
transpose free). Two reasons:

- the line ``y2 = w2 @ cols`` above: the matrix product *is* ``(O, Ho*Wo*N)``, so storing
  it that way costs no copy;
- every element of ``cols`` is one pixel of one image, and with the batch innermost the N
  images' values of a pixel sit side by side. So im2col and col2im copy blocks of N
  numbers (64 in training) whatever the stride, kernel or image size: a stride-2 conv or
  a 4x4 image costs no more per element than a stride-1 conv on 32x32 images. (With the
  batch outside, ``(C, N, H, W)``, the copies ran along image rows: gathers with stride 2,
  and rows of only 2-8 numbers at 16x16; with its pad, im2col of a whole layer cost
  0.7-3.1 ns per element, the most for rows of 2-4, against 0.3-0.85 here; see
  docs/performance.md.) Padding needs no padded copy either: a block whose pixel lies in
  the zero border is written as zeros (im2col) or skipped (col2im).

numpy's element-wise operations keep the memory layout of their inputs, so activations
and their gradients stay batch-last through a whole network; an input that arrives in
plain NCHW (images, the generator's reshaped linear output) is copied once by ``_chwn``.
(The concatenate and the dropout in tinydagan keep the layout of their input for this
reason.) The matrix products write straight into (column ranges of) batch-last arrays:
BLAS takes a row stride, so a chunk's slice ``y2[:, q0*N : q1*N]`` needs no copy either.
The values are identical either way: ``np.testing`` and every numpy function see only
the NCHW shape. (PyTorch calls the same idea a "memory format", e.g. channels_last.)

**Chunks.** The output pixels ``q = a*Wo + b`` are cut into chunks so that ``cols`` stays
below ``CHUNK_BYTES``: a whole-batch ``cols`` can be hundreds of MB, while one chunk-sized
buffer, reused by every chunk, stays in the L3 cache between im2col and the matrix product.
Chunk ``[q0, q1)`` is the column range ``[q0*N, q1*N)`` of ``cols`` and of ``y2``.

**Keeping cols for the weight gradient.** ``grad_w = grad_y2 @ cols.T`` needs the same
``cols`` the forward built. When the autograd layer will need grad_w it passes a dict
``saved`` to the forward, which then keeps every chunk's cols there (if the whole batch's
cols are at most ``SAVE_COLS_BYTES``: every layer of the 16x16 networks and the smaller
ones at 32x32); otherwise the backward runs im2col again. Memory for time: the cols stay
alive until the backward has used them.

**1x1 convolutions** (NIN layers) need no im2col at all: with stride 1 and no padding,
``cols`` *is* the batch-last input, ``x_chwn.reshape(C, H*W*N)``, so a NIN layer is three
plain matrix products.

The Numba helpers are single-threaded (``nogil``): numpy's OpenBLAS already uses every
core for the matrix products, and on this shared 2-core machine a Numba thread pool
running between BLAS calls fought the (still spinning) BLAS threads; see
docs/performance.md for the measurements.
"""
import tinydagan.cache  # noqa: F401  (sets NUMBA_CACHE_DIR; must run before numba is imported)

import numpy as np
from numba import njit

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "conv_transpose2d_backward_input",
    "conv_transpose2d_backward_weight",
    "bias_backward",
    "CHUNK_BYTES",
    "SAVE_COLS_BYTES",
]

CHUNK_BYTES = 8 * 2**20  # target size of one chunk's cols matrix (see module docstring)
SAVE_COLS_BYTES = 64 * 2**20  # a forward keeps its cols for the weight gradient up to this size


# ----------------------------------------------------------------------------- Numba kernels
# Every array here is batch-last: x (C, H, W, N). A chunk is the output pixels q0, q0+1, ...
# (q = a*Wo + b) and cols holds its columns: (C*kH*kW, (q1 - q0)*N). The innermost loops
# copy the N images of one pixel, between two views sliced to the same length
# (dst[m] = src[m]), which LLVM turns into SIMD code.

@njit(cache=True, nogil=True)
def im2col(x, kh, kw, sh, sw, ph, pw, wo, q0, cols):
    """cols[(c, i, j), (q - q0, n)] = x_pad[c, a*sh + i, b*sw + j, n] for output pixels
    q = a*Wo + b in [q0, q0 + cols.shape[1] // N); x_pad is x with a zero border of ph rows
    and pw columns (never built: border pixels are written as zeros).

    x (C, H, W, N) -> fills cols (C*kH*kW, (q1 - q0)*N).
    """
    nc, h, w, n = x.shape
    if n == 0:                                                   # an empty batch: nothing to copy
        return
    q1 = q0 + cols.shape[1] // n
    for c in range(nc):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for q in range(q0, q1):
                    a, b = q // wo, q % wo
                    hi, wi = a * sh + i - ph, b * sw + j - pw    # the input pixel (unpadded)
                    dst = row[(q - q0) * n : (q - q0 + 1) * n]
                    if 0 <= hi < h and 0 <= wi < w:
                        src = x[c, hi, wi]
                        for m in range(n):
                            dst[m] = src[m]
                    else:                                        # in the zero border
                        for m in range(n):
                            dst[m] = 0


@njit(cache=True, nogil=True)
def col2im(cols, kh, kw, sh, sw, ph, pw, wo, q0, x):
    """The adjoint of im2col: x[c, a*sh + i - ph, b*sw + j - pw, n] += cols[(c, i, j), (q - q0, n)]
    for the output pixels q = a*Wo + b of the chunk; entries that fall in the zero border
    are dropped (the border is not part of x).

    cols (C*kH*kW, (q1 - q0)*N) -> adds into x (C, H, W, N), which the caller zeroes once.
    """
    # The loops run in the order cols is stored (row r = (c, i, j) outer, then q), as in
    # im2col: each cols row is read front to back once, and the writes of one channel,
    # x[c], stay in the cache.
    nc, h, w, n = x.shape
    if n == 0:                                                   # an empty batch: nothing to copy
        return
    q1 = q0 + cols.shape[1] // n
    for c in range(nc):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for q in range(q0, q1):
                    a, b = q // wo, q % wo
                    hi, wi = a * sh + i - ph, b * sw + j - pw
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


def _out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def _conv_geometry(kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return int(kh), int(kw), int(sh), int(sw), int(ph), int(pw)


def _check(name, x_shape, weight_shape, stride, padding, grad_y_shape=None, names=("x", "grad_y")):
    """Shapes a conv2d can have; a ValueError naming them otherwise. (A transposed conv is
    checked as the conv it is the adjoint of: its grad_y in the role of x; ``names`` says so.)

    The Numba loops do not check their indices, so a wrong grad_y shape here would read or
    write outside the arrays (a crash, or silently wrong numbers) instead of an error.
    """
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ValueError(f"{name}: expected 4-d {names[0]} and weight, got shapes "
                         f"{tuple(x_shape)} and {tuple(weight_shape)}")
    n, c, h, w = x_shape
    o, cw, kh, kw = weight_shape
    (sh, sw), (ph, pw) = stride, padding
    if c != cw:
        raise ValueError(f"{name}: {names[0]} has {c} channels but weight {tuple(weight_shape)} expects {cw}")
    if min(sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"{name}: need stride >= 1 and padding >= 0, got stride {stride}, padding {padding}")
    ho, wo = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: a {kh}x{kw} kernel does not fit {h}x{w} with padding {padding}")
    if grad_y_shape is not None and tuple(grad_y_shape) != (n, o, ho, wo):
        raise ValueError(f"{name}: expected {names[1]} of shape {(n, o, ho, wo)} for {names[0]} "
                         f"{tuple(x_shape)}, weight {tuple(weight_shape)}, stride {stride}, padding "
                         f"{padding}; got {tuple(grad_y_shape)}")


def _is_pointwise(geometry):
    """A 1x1 conv with stride 1 and no padding: im2col would be the identity."""
    return geometry == (1, 1, 1, 1, 0, 0)


def _chunks(n_pixels, bytes_per_pixel):
    """Split the output pixels range(n_pixels) into (q0, q1) pieces of about CHUNK_BYTES of
    cols each (at least one pixel per piece)."""
    step = max(1, min(n_pixels, CHUNK_BYTES // max(1, bytes_per_pixel)))
    return [(s, min(n_pixels, s + step)) for s in range(0, n_pixels, step)], step


def _columns(x_chwn, geometry, ho, wo, keep=False, bias_row=False):
    """im2col, one chunk of output pixels at a time: yields (q0, q1, cols (C*kH*kW, (q1-q0)*N)).

    One cols buffer serves every chunk, so a caller must use each cols before asking for
    the next; with ``keep`` every chunk gets a fresh array instead, which the caller may
    keep. For a 1x1 conv, cols is x itself (no copy, and no bias row).

    ``bias_row``: cols gets one more row, all ones, below the C*kH*kW rows of x. A bias is
    the weight of an input that is always 1, so then ``[w2 | bias] @ cols`` adds the bias
    inside the product, and ``grad_y2 @ cols.T`` is ``[grad_w | grad_b]``: no separate pass
    over y to add it, nor over grad_y to sum it (those passes cost D's first layer, whose
    products are short (K = 27), a fifth of its time).
    """
    kh, kw, sh, sw, ph, pw = geometry
    c, h, w, n = x_chwn.shape
    k = c * kh * kw
    if _is_pointwise(geometry):
        yield 0, h * w, x_chwn.reshape(c, h * w * n)
        return
    rows = k + 1 if bias_row else k
    ranges, step = _chunks(ho * wo, rows * n * x_chwn.itemsize)
    cols_buf = None if keep else np.empty(rows * step * n, x_chwn.dtype)
    for q0, q1 in ranges:
        width = (q1 - q0) * n
        cols = np.empty((rows, width), x_chwn.dtype) if keep else cols_buf[: rows * width].reshape(rows, width)
        im2col(x_chwn, kh, kw, sh, sw, ph, pw, wo, q0, cols[:k])
        if bias_row:
            cols[k] = 1
        yield q0, q1, cols


def _col2im_product(w2t, gy2, x_shape_chwn, geometry, ho, wo):
    """grad_x = col2im(w2t @ gy2), one chunk of output pixels at a time -> (C, H, W, N).

    w2t (C*kH*kW, O), gy2 (O, Ho*Wo*N). Used by conv2d's input gradient and by the
    transposed conv's forward (the same computation).
    """
    kh, kw, sh, sw, ph, pw = geometry
    c, h, w, n = x_shape_chwn
    k = c * kh * kw
    dtype = np.result_type(w2t, gy2)
    if _is_pointwise(geometry):
        grad_x = np.empty((c, h, w, n), dtype)
        np.matmul(w2t, gy2, out=grad_x.reshape(c, h * w * n))
        return grad_x
    grad_x = np.zeros((c, h, w, n), dtype)                # col2im adds into it
    ranges, step = _chunks(ho * wo, k * n * grad_x.itemsize)
    cols_buf = np.empty(k * step * n, dtype)
    for q0, q1 in ranges:
        width = (q1 - q0) * n
        cols = np.matmul(w2t, gy2[:, q0 * n : q1 * n], out=cols_buf[: k * width].reshape(k, width))
        col2im(cols, kh, kw, sh, sw, ph, pw, wo, q0, grad_x)
    return grad_x


# ----------------------------------------------------------------------------- conv2d

def conv2d_forward(x, weight, bias, stride, padding, saved=None):
    """y = conv2d(x, weight) + bias. x (N, C, H, W), weight (O, C, kH, kW) -> (N, O, Ho, Wo).

    The bias is added inside the product: ``y2 = [w2 | bias] @ [cols; ones]`` (see
    ``_columns``), except for a 1x1 conv, whose cols is x itself.

    ``saved``: a dict the caller passes when it will ask for the weight gradient. If the
    whole batch's cols fit in SAVE_COLS_BYTES, they are kept there (chunk by chunk, as
    ``saved["cols"]`` = [(q0, q1, cols), ...], with their row of ones if there is a bias),
    and ``conv2d_backward`` multiplies by them instead of running im2col a second time.
    """
    _check("conv2d_forward", x.shape, weight.shape, stride, padding)
    dtype = np.result_type(x, weight)
    x_chwn = _chwn(x, dtype)                                              # (C, H, W, N)
    c, h, w, n = x_chwn.shape
    o = weight.shape[0]
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    kh, kw, sh, sw, ph, pw = geometry
    ho, wo = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    w2 = np.asarray(weight, dtype=dtype).reshape(o, c * kh * kw)
    b = None if bias is None else np.asarray(bias, dtype=dtype)[:, None]
    bias_row = b is not None and not _is_pointwise(geometry)
    w2 = np.concatenate([w2, b], axis=1) if bias_row else np.ascontiguousarray(w2)  # [w2 | bias]
    y_chwn = np.empty((o, ho, wo, n), dtype)
    y2 = y_chwn.reshape(o, ho * wo * n)                                   # (O, Ho*Wo*N)
    keep = (saved is not None and not _is_pointwise(geometry)
            and w2.shape[1] * ho * wo * n * y_chwn.itemsize <= SAVE_COLS_BYTES)
    kept = []
    for q0, q1, cols in _columns(x_chwn, geometry, ho, wo, keep, bias_row):
        y2_chunk = np.matmul(w2, cols, out=y2[:, q0 * n : q1 * n])
        if b is not None and not bias_row:       # a 1x1 conv: cols is x, with no row of ones
            y2_chunk += b
        if keep:
            kept.append((q0, q1, cols))
    if keep:
        saved["cols"] = kept
    return _nchw(y_chwn)


def conv2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True), saved=None):
    """(grad_x, grad_w, grad_b) of conv2d in one call; an entry is None where needs is False.

    grad_y (N, O, Ho, Wo), x (N, C, H, W), weight (O, C, kH, kW); ``saved``: the dict
    given to conv2d_forward (its cols are used once, then dropped to free the memory).
    """
    _check("conv2d_backward", x.shape, weight.shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, x, weight)
    gy_chwn = _chwn(grad_y, dtype)                                        # (O, Ho, Wo, N)
    o, ho, wo, n = gy_chwn.shape
    gy2 = gy_chwn.reshape(o, ho * wo * n)
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    grad_x = grad_w = grad_b = None
    if needs[0]:
        grad_x = _input_gradient(gy2, weight, x.shape, geometry, ho, wo, dtype)
    kept = saved.pop("cols", None) if saved else None
    if needs[1]:
        if kept is None or kept[0][2].dtype != dtype:                   # no kept cols: im2col again
            kept = _columns(_chwn(x, dtype), geometry, ho, wo, bias_row=needs[2])
        k = weight[0].size                                              # C*kH*kW
        grad_wb = _weight_gradient(gy2, kept, n)         # (O, K), or (O, K + 1) = [grad_w | grad_b]
        grad_w = np.ascontiguousarray(grad_wb[:, :k]).reshape(weight.shape)
        if needs[2] and grad_wb.shape[1] > k:                           # the cols had a row of ones
            grad_b = np.ascontiguousarray(grad_wb[:, k])
    if needs[2] and grad_b is None:
        grad_b = gy2.sum(axis=1)
    return grad_x, grad_w, grad_b


def input_gradient_is_a_conv(weight_shape, x_shape, stride, padding):
    """True where conv2d's input gradient is computed as a conv of grad_y (see
    ``_input_gradient``): stride 1, output as large as the input, O <= C, not 1x1."""
    o, c, kh, kw = weight_shape
    geometry = _conv_geometry((kh, kw), stride, padding)
    _, _, sh, sw, ph, pw = geometry
    h, w = x_shape[2:]
    same = (_out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)) == (h, w)
    return (sh, sw) == (1, 1) and same and o <= c and not _is_pointwise(geometry)


def _input_gradient(gy2, weight, x_shape, geometry, ho, wo, dtype):
    """grad_x = col2im(w2.T @ gy2) -> (N, C, H, W) = x_shape, stored batch-last.

    For a stride-1 conv whose output is as large as its input ("same" padding), grad_x is
    itself a convolution: of grad_y with the kernel flipped in both spatial axes and its
    two channel axes swapped, padding kH - 1 - ph (the "full" correlation). Its im2col
    copies O*kH*kW rows of grad_y where col2im adds C*kH*kW rows back into grad_x, and an
    add costs more than a copy (it also reads the destination, which must be zeroed first):
    with O <= C (D's conv2 and conv5) this way took 0.68-0.99x the time, with O = 2C
    (conv4) 1.07-1.17x, with O = 32C (conv1) 4-5x. Same products, same flops.
    """
    o = weight.shape[0]
    n, c, h, w = x_shape
    kh, kw, sh, sw, ph, pw = geometry
    if input_gradient_is_a_conv(weight.shape, x_shape, (sh, sw), (ph, pw)):
        w_flip = np.ascontiguousarray(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], dtype=dtype)
        gy = _nchw(gy2.reshape(o, ho, wo, n))                             # a view, batch-last
        return conv2d_forward(gy, w_flip, None, (1, 1), (kh - 1 - ph, kw - 1 - pw))
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(o, -1).T      # (C*kH*kW, O), a view
    return _nchw(_col2im_product(w2t, gy2, (c, h, w, n), geometry, ho, wo))


def _weight_gradient(gy2, column_chunks, n):
    """grad_w = sum over chunks of gy2[:, chunk] @ cols.T -> (O, C*kH*kW), or (O, C*kH*kW + 1)
    = [grad_w | grad_b] when the cols carry the bias row of ones (see ``_columns``).

    column_chunks: (q0, q1, cols) triples, from _columns or kept by the forward; n = batch.
    """
    grad_w = part = None
    for q0, q1, cols in column_chunks:
        if grad_w is None:
            grad_w = np.matmul(gy2[:, q0 * n : q1 * n], cols.T)
            part = np.empty_like(grad_w)
        else:
            grad_w += np.matmul(gy2[:, q0 * n : q1 * n], cols.T, out=part)
    return grad_w


def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = col2im(w2.T @ grad_y2). grad_y (N, O, Ho, Wo) -> grad_x (N, C, H, W) = x_shape."""
    _check("conv2d_backward_input", x_shape, weight.shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, weight)
    gy_chwn = _chwn(grad_y, dtype)
    o, ho, wo, _ = gy_chwn.shape
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    return _input_gradient(gy_chwn.reshape(o, -1), weight, x_shape, geometry, ho, wo, dtype)


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w = sum over chunks of grad_y2 @ cols.T. -> (O, C, kH, kW) = weight_shape."""
    _check("conv2d_backward_weight", x.shape, weight_shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, x)
    gy_chwn = _chwn(grad_y, dtype)
    o, ho, wo, n = gy_chwn.shape
    geometry = _conv_geometry(weight_shape[2:], stride, padding)
    columns = _columns(_chwn(x, dtype), geometry, ho, wo)
    return _weight_gradient(gy_chwn.reshape(o, -1), columns, n).reshape(weight_shape)


def bias_backward(grad_y):
    """grad_b = grad_y summed over (N, H, W): (N, O, Ho, Wo) -> (O,)."""
    gy_chwn = _chwn(grad_y)
    return gy_chwn.reshape(gy_chwn.shape[0], -1).sum(axis=1)


# ----------------------------------------------------------------------------- transposed conv

def _transposed_geometry(x, weight, stride, padding, output_padding):
    """-> the batch-last output shape (Cout, Ho, Wo, N) and the conv geometry."""
    n, _, h, w = x.shape
    _, cout, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw
    return (cout, ho, wo, n), _conv_geometry((kh, kw), stride, padding)


def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding):
    """Transposed conv = conv2d input-gradient with weight (Cin, Cout, kH, kW) as (O, C, kH, kW).

    x (N, Cin, H, W) -> y (N, Cout, Ho, Wo), Ho = (H - 1)*sh - 2*ph + kH + oph.
    """
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[0]:
        raise ValueError(f"conv_transpose2d_forward: expected x (N, Cin, H, W) and weight (Cin, Cout, kH, kW), "
                         f"got shapes {x.shape} and {weight.shape}")
    if not all(0 <= op < st for op, st in zip(output_padding, stride)):
        raise ValueError(f"conv_transpose2d_forward: need 0 <= output_padding < stride, got "
                         f"{output_padding} and {stride}")
    y_shape_chwn, geometry = _transposed_geometry(x, weight, stride, padding, output_padding)
    cout, ho, wo, n = y_shape_chwn
    _check("conv_transpose2d_forward", (n, cout, ho, wo), weight.shape,
           stride, padding, x.shape, names=("y", "x"))
    dtype = np.result_type(x, weight)
    x_chwn = _chwn(x, dtype)                                              # (Cin, H, W, N)
    cin, h, w, _ = x_chwn.shape
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1).T    # (Cout*kH*kW, Cin)
    y_chwn = _col2im_product(w2t, x_chwn.reshape(cin, h * w * n), y_shape_chwn, geometry, h, w)
    if bias is not None:
        y_chwn += np.asarray(bias, dtype=dtype)[:, None, None, None]
    return _nchw(y_chwn)


def conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    """(grad_x, grad_w, grad_b) of conv_transpose2d in one call (None where needs is False).

    grad_x = conv2d(grad_y, weight) and grad_w = x2 @ im2col(grad_y).T share one im2col of
    grad_y per chunk.
    """
    _check("conv_transpose2d_backward", grad_y.shape, weight.shape, stride, padding, x.shape,
           names=("grad_y", "x"))
    dtype = np.result_type(grad_y, x, weight)
    gy_chwn = _chwn(grad_y, dtype)                                        # (Cout, Ho, Wo, N)
    x_chwn = _chwn(x, dtype)                                              # (Cin, H, W, N)
    cin, h, w, n = x_chwn.shape
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    w2 = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1)      # (Cin, Cout*kH*kW)
    x2 = x_chwn.reshape(cin, h * w * n)
    grad_x_chwn = np.empty((cin, h, w, n), dtype) if needs[0] else None

    def columns_of_grad_y():
        """im2col of grad_y chunk by chunk, doing each chunk's grad_x product on the way."""
        for q0, q1, cols in _columns(gy_chwn, geometry, h, w):
            if needs[0]:
                np.matmul(w2, cols, out=grad_x_chwn.reshape(cin, h * w * n)[:, q0 * n : q1 * n])
            yield q0, q1, cols

    grad_w = None
    if needs[1]:
        grad_w = _weight_gradient(x2, columns_of_grad_y(), n).reshape(weight.shape)
    elif needs[0]:
        for _ in columns_of_grad_y():
            pass
    grad_b = gy_chwn.reshape(gy_chwn.shape[0], -1).sum(axis=1) if needs[2] else None
    return (None if grad_x_chwn is None else _nchw(grad_x_chwn)), grad_w, grad_b


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = conv2d(grad_y, weight): grad_y (N, Cout, Ho, Wo) -> (N, Cin, H, W)."""
    return conv2d_forward(grad_y, weight, None, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """conv2d's weight gradient with x and grad_y swapped -> (Cin, Cout, kH, kW)."""
    return conv2d_backward_weight(x, grad_y, weight_shape, stride, padding)
