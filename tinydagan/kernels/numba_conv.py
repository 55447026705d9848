"""Fast convolution kernels: Numba im2col / col2im around BLAS matrix products.

Same interface and formulas as ``reference.py`` (read that first). The speed comes from
turning a convolution into a matrix product, which numpy hands to its BLAS (OpenBLAS):

    cols[(c, i, j), (n, a, b)] = x_pad[c, n, a*sh + i, b*sw + j]     # im2col: (C*kH*kW, N*Ho*Wo)
    y2 = w.reshape(O, C*kH*kW) @ cols                                  # (O, N*Ho*Wo) = y, channel-major
    y2 += bias[:, None]

and the gradients are the two other products of the same three matrices:

    grad_w = grad_y2 @ cols.T            grad_cols = w2.T @ grad_y2 -> col2im -> grad_x

``col2im`` is the adjoint of ``im2col``: it *adds* every column entry back to the pixel it
came from. A transposed convolution is the adjoint of a convolution, so it reuses the same
building blocks with input and output swapped (its forward is a conv's input gradient).

**Memory layout: channel-major.** Arrays keep PyTorch's NCHW *shape*, but these kernels
store their outputs channel-major, ``(C, N, H, W)`` in memory, and return the NCHW-shaped
view ``y_cm.transpose(1, 0, 2, 3)`` (numpy strides make the transpose free). The reason is
the line ``y2 = w2 @ cols`` above: the matrix product *is* channel-major, ``(O, N*Ho*Wo)``,
so storing it that way costs no copy, and the next layer's im2col reads each input channel
as one contiguous block. numpy's element-wise operations keep the memory layout of their
inputs, so activations and their gradients stay channel-major through a whole network;
an input that arrives in plain NCHW (images, the generator's reshaped linear output) is
copied once by ``_cm``. (The concatenate and the dropout in tinydagan keep the layout of
their input for this reason.)
The matrix products write straight into (column ranges of) channel-major arrays: BLAS
takes a row stride, so a chunk's slice ``y2[:, n0*P : n1*P]`` needs no copy either.
The values are identical either way: ``np.testing`` and every numpy function see only
the NCHW shape. (PyTorch calls the same idea a "memory format", e.g. channels_last.)

**Chunks.** The batch is cut into chunks so that ``cols`` stays below ``CHUNK_BYTES``: a
whole-batch ``cols`` can be hundreds of MB, while one chunk-sized buffer, reused by every
chunk, stays in the L3 cache between im2col and the matrix product.

**Keeping cols for the weight gradient.** ``grad_w = grad_y2 @ cols.T`` needs the same
``cols`` the forward built. When the autograd layer will need grad_w it passes a dict
``saved`` to the forward, which then keeps every chunk's cols there (if the whole batch's
cols are at most ``SAVE_COLS_BYTES``: every layer of the 16x16 networks and the smaller
ones at 32x32); otherwise the backward runs im2col again. Memory for time: the cols stay
alive until the backward has used them.

**1x1 convolutions** (NIN layers) need no im2col at all: with stride 1 and no padding,
``cols`` *is* the channel-major input, ``x_cm.reshape(C, N*H*W)``, so a NIN layer is three
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
# Every array here is channel-major: x (C, N, H, W). ``n0`` selects images n0, n0+1, ... of
# a whole-batch array and ``nb`` (or the width of cols) how many, so a chunk never needs a
# copy just to be contiguous, and one padded buffer (C, images per chunk, Hp, Wp) serves
# every chunk.

@njit(cache=True, nogil=True)
def pad_into(x, n0, nb, ph, pw, xp):
    """xp[c, n] = x[c, n0 + n] with a border of ph rows and pw columns of zeros, for n < nb.

    x (C, N, H, W), xp (C, nb or more, H + 2ph, W + 2pw).
    """
    nc, h, w = x.shape[0], x.shape[2], x.shape[3]
    wp = w + 2 * pw
    for c in range(nc):
        for n in range(nb):
            for r in range(ph):                               # the top and bottom rows
                top, bottom = xp[c, n, r], xp[c, n, ph + h + r]
                for b in range(wp):
                    top[b] = 0
                    bottom[b] = 0
            for a in range(h):
                row = xp[c, n, a + ph]
                for b in range(pw):                           # the left and right columns
                    row[b] = 0
                    row[pw + w + b] = 0
                src, dst = x[c, n0 + n, a], row[pw : pw + w]
                for b in range(w):
                    dst[b] = src[b]


@njit(cache=True, nogil=True)
def crop_from(xp, nb, ph, pw, x, n0):
    """The adjoint's last step: x[c, n0 + n] = xp[c, n, ph : ph + H, pw : pw + W] for n < nb."""
    nc, h, w = x.shape[0], x.shape[2], x.shape[3]
    for c in range(nc):
        for n in range(nb):
            for a in range(h):
                src, dst = xp[c, n, a + ph, pw : pw + w], x[c, n0 + n, a]
                for b in range(w):
                    dst[b] = src[b]


# im2col and col2im loop over c, i, j explicitly and give stride 1 its own innermost loop,
# a plain row copy that LLVM turns into SIMD code (measured 5-8x faster than one loop over
# r = (c, i, j) with a run-time stride; see docs/performance.md). Every innermost copy runs
# between two views sliced to the same length, dst[b] = src[b]: with an offset inside the
# index (src[b + j], dst[pw + b]) LLVM vectorised less of it (pad_into measured 2-4x slower).

@njit(cache=True, nogil=True)
def _stride2_block(sw, wo):
    """8 or 4 if a stride-2 row of wo outputs splits into blocks of that size, else 0."""
    if sw != 2:
        return 0
    if wo % 8 == 0:
        return 8
    if wo % 4 == 0:
        return 4
    return 0


@njit(cache=True, nogil=True)
def im2col(xp, n0, kh, kw, sh, sw, ho, wo, cols):
    """cols[(c, i, j), (n, a, b)] = xp[c, n0 + n, a*sh + i, b*sw + j].

    xp (C, N, H + 2ph, W + 2pw), the zero-padded input -> fills cols (C*kH*kW, nb*Ho*Wo).
    """
    nc = xp.shape[0]
    p = ho * wo
    nb = cols.shape[1] // p
    blk = _stride2_block(sw, wo)
    j_inner = sw > 1 and (wo >= 8 or blk > 0)   # rows of 8+ outputs, or stride-2 rows of 4: see below
    for c in range(nc):
        for i in range(kh):
            if not j_inner:
                for j in range(kw):                  # one row of cols at a time
                    row = cols[(c * kh + i) * kw + j]
                    for n in range(nb):
                        for a in range(ho):
                            src = xp[c, n0 + n, a * sh + i]
                            dst = row[n * p + a * wo : n * p + (a + 1) * wo]
                            if sw == 1:
                                src = src[j : j + wo]
                                for b in range(wo):
                                    dst[b] = src[b]
                            else:
                                for b in range(wo):
                                    dst[b] = src[b * sw + j]
            else:
                # A strided copy is a gather, not a SIMD copy. For rows of 8+ outputs,
                # reading each input row once for all j (j innermost, the row stays in L1)
                # measured 1.2-1.5x faster; for stride 1 or shorter rows it was slower.
                # Stride 2 (the paper's) copies fixed blocks of 8 or 4 outputs (so rows of
                # 4 come here too): with the block size and the stride known to the
                # compiler, LLVM unrolls a block into straight-line copies at constant
                # offsets (measured faster than a loop with a run-time stride). The
                # literal 2 below *is* sw (blk > 0 only if sw == 2).
                for n in range(nb):
                    for a in range(ho):
                        src = xp[c, n0 + n, a * sh + i]
                        start = n * p + a * wo
                        for j in range(kw):
                            dst = cols[(c * kh + i) * kw + j, start : start + wo]
                            if blk == 8:
                                for q in range(wo // 8):
                                    for b in range(8):
                                        dst[q * 8 + b] = src[2 * (q * 8 + b) + j]
                            elif blk == 4:
                                for q in range(wo // 4):
                                    for b in range(4):
                                        dst[q * 4 + b] = src[2 * (q * 4 + b) + j]
                            else:
                                for b in range(wo):
                                    dst[b] = src[b * sw + j]


@njit(cache=True, nogil=True)
def col2im(cols, kh, kw, sh, sw, ho, wo, xp, n0):
    """The adjoint of im2col: xp[c, n0 + n, a*sh + i, b*sw + j] += cols[(c, i, j), (n, a, b)].

    cols (C*kH*kW, nb*Ho*Wo) -> overwrites xp[:, n0 : n0 + nb] (the padded gradient,
    border included).
    """
    # The loops run in the order cols is stored (row r = (c, i, j) outer, then n, a), as in
    # im2col: each cols row is read front to back once. Looping n outer instead reads one
    # 16-64 byte piece from each of the C*kH*kW rows in turn, a different page every time;
    # for G's 5x5 transposed conv that was 2-3x slower (latency-bound, see
    # docs/performance.md). The writes of one channel, xp[c], stay in the L2 cache.
    nc = xp.shape[0]
    p = ho * wo
    nb = cols.shape[1] // p
    blk = _stride2_block(sw, wo)
    j_inner = sw > 1 and (wo >= 8 or blk > 0)   # as in im2col; the literal 2 below is sw
    for c in range(nc):
        for n in range(nb):
            xp[c, n0 + n] = 0
        for i in range(kh):
            if not j_inner:
                for j in range(kw):
                    row = cols[(c * kh + i) * kw + j]
                    for n in range(nb):
                        for a in range(ho):
                            src = row[n * p + a * wo : n * p + (a + 1) * wo]
                            dst = xp[c, n0 + n, a * sh + i]
                            if sw == 1:
                                dst = dst[j : j + wo]
                                for b in range(wo):
                                    dst[b] += src[b]
                            else:
                                for b in range(wo):
                                    dst[b * sw + j] += src[b]
            else:
                for n in range(nb):
                    for a in range(ho):
                        dst = xp[c, n0 + n, a * sh + i]
                        start = n * p + a * wo
                        for j in range(kw):
                            src = cols[(c * kh + i) * kw + j, start : start + wo]
                            if blk == 8:                     # fixed blocks, as in im2col
                                for q in range(wo // 8):
                                    for b in range(8):
                                        dst[2 * (q * 8 + b) + j] += src[q * 8 + b]
                            elif blk == 4:
                                for q in range(wo // 4):
                                    for b in range(4):
                                        dst[2 * (q * 4 + b) + j] += src[q * 4 + b]
                            else:
                                for b in range(wo):
                                    dst[b * sw + j] += src[b]


# ----------------------------------------------------------------------------- helpers

def _cm(a, dtype=None):
    """a (N, C, H, W), any memory layout -> the same numbers as a C-contiguous (C, N, H, W).

    Free (a view) when a is already channel-major, as every output of these kernels is.
    """
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3), dtype=dtype)


def _nchw(a_cm):
    """The NCHW-shaped view of a channel-major (C, N, H, W) array (no copy)."""
    return a_cm.transpose(1, 0, 2, 3)


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


def _chunks(n, bytes_per_image):
    """Split range(n) into (start, stop) pieces of about CHUNK_BYTES of cols each."""
    step = max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image)))
    return [(s, min(n, s + step)) for s in range(0, n, step)], step


def _columns(x_cm, geometry, ho, wo, keep=False):
    """im2col, one chunk of images at a time: yields (n0, n1, cols (C*kH*kW, (n1-n0)*Ho*Wo)).

    One cols buffer and one padded-input buffer serve every chunk, so a caller must use
    each cols before asking for the next; with ``keep`` every chunk gets a fresh array
    instead, which the caller may keep. For a 1x1 conv, cols is x itself (no copy).
    """
    kh, kw, sh, sw, ph, pw = geometry
    c, n, h, w = x_cm.shape
    k, p = c * kh * kw, ho * wo
    if _is_pointwise(geometry):
        yield 0, n, x_cm.reshape(c, n * p)
        return
    ranges, step = _chunks(n, k * p * x_cm.itemsize)
    cols_buf = None if keep else np.empty(k * step * p, x_cm.dtype)
    xp = np.empty((c, step, h + 2 * ph, w + 2 * pw), x_cm.dtype) if ph or pw else None  # pad_into fills it
    for n0, n1 in ranges:
        nb = n1 - n0
        cols = np.empty((k, nb * p), x_cm.dtype) if keep else cols_buf[: k * nb * p].reshape(k, nb * p)
        if xp is None:                           # no padding: read x itself
            im2col(x_cm, n0, kh, kw, sh, sw, ho, wo, cols)
        else:
            pad_into(x_cm, n0, nb, ph, pw, xp)
            im2col(xp, 0, kh, kw, sh, sw, ho, wo, cols)
        yield n0, n1, cols


def _col2im_product(w2t, gy2, x_shape_cm, geometry, ho, wo):
    """grad_x = col2im(w2t @ gy2), one chunk of images at a time -> (C, N, H, W) channel-major.

    w2t (C*kH*kW, O), gy2 (O, N*Ho*Wo). Used by conv2d's input gradient and by the
    transposed conv's forward (the same computation).
    """
    kh, kw, sh, sw, ph, pw = geometry
    c, n, h, w = x_shape_cm
    k, p = c * kh * kw, ho * wo
    dtype = np.result_type(w2t, gy2)
    grad_x = np.empty((c, n, h, w), dtype)
    if _is_pointwise(geometry):
        np.matmul(w2t, gy2, out=grad_x.reshape(c, n * p))
        return grad_x
    ranges, step = _chunks(n, k * p * grad_x.itemsize)
    cols_buf = np.empty(k * step * p, dtype)
    xp = np.empty((c, step, h + 2 * ph, w + 2 * pw), dtype) if ph or pw else None
    for n0, n1 in ranges:
        nb = n1 - n0
        cols = np.matmul(w2t, gy2[:, n0 * p : n1 * p], out=cols_buf[: k * nb * p].reshape(k, nb * p))
        if xp is None:                           # no padding: write into grad_x itself
            col2im(cols, kh, kw, sh, sw, ho, wo, grad_x, n0)
        else:
            col2im(cols, kh, kw, sh, sw, ho, wo, xp, 0)
            crop_from(xp, nb, ph, pw, grad_x, n0)
    return grad_x


# ----------------------------------------------------------------------------- conv2d

def conv2d_forward(x, weight, bias, stride, padding, saved=None):
    """y = conv2d(x, weight) + bias. x (N, C, H, W), weight (O, C, kH, kW) -> (N, O, Ho, Wo).

    ``saved``: a dict the caller passes when it will ask for the weight gradient. If the
    whole batch's cols fit in SAVE_COLS_BYTES, they are kept there (chunk by chunk, as
    ``saved["cols"]`` = [(n0, n1, cols), ...]), and ``conv2d_backward`` multiplies by
    them instead of running im2col a second time.
    """
    _check("conv2d_forward", x.shape, weight.shape, stride, padding)
    dtype = np.result_type(x, weight)
    x_cm = _cm(x, dtype)                                                  # (C, N, H, W)
    c, n, h, w = x_cm.shape
    o = weight.shape[0]
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    kh, kw, sh, sw, ph, pw = geometry
    ho, wo = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    p = ho * wo
    w2 = np.ascontiguousarray(weight, dtype=dtype).reshape(o, c * kh * kw)
    b = None if bias is None else np.asarray(bias, dtype=dtype)[:, None]
    y_cm = np.empty((o, n, ho, wo), dtype)
    y2 = y_cm.reshape(o, n * p)                                           # (O, N*Ho*Wo)
    keep = (saved is not None and not _is_pointwise(geometry)
            and w2.shape[1] * n * p * y_cm.itemsize <= SAVE_COLS_BYTES)
    kept = []
    for n0, n1, cols in _columns(x_cm, geometry, ho, wo, keep):
        y2_chunk = np.matmul(w2, cols, out=y2[:, n0 * p : n1 * p])
        if b is not None:
            y2_chunk += b                        # while the chunk is still in the cache
        if keep:
            kept.append((n0, n1, cols))
    if keep:
        saved["cols"] = kept
    return _nchw(y_cm)


def conv2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True), saved=None):
    """(grad_x, grad_w, grad_b) of conv2d in one call; an entry is None where needs is False.

    grad_y (N, O, Ho, Wo), x (N, C, H, W), weight (O, C, kH, kW); ``saved``: the dict
    given to conv2d_forward (its cols are used once, then dropped to free the memory).
    """
    _check("conv2d_backward", x.shape, weight.shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, x, weight)
    gy_cm = _cm(grad_y, dtype)                                            # (O, N, Ho, Wo)
    o, n, ho, wo = gy_cm.shape
    gy2 = gy_cm.reshape(o, n * ho * wo)
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    grad_x = grad_w = grad_b = None
    if needs[0]:
        grad_x = _input_gradient(gy2, weight, x.shape, geometry, ho, wo, dtype)
    kept = saved.pop("cols", None) if saved else None
    if needs[1]:
        if kept is None or kept[0][2].dtype != dtype:                   # no kept cols: im2col again
            kept = _columns(_cm(x, dtype), geometry, ho, wo)
        grad_w = _weight_gradient(gy2, kept, ho * wo).reshape(weight.shape)
    if needs[2]:
        grad_b = gy2.sum(axis=1)
    return grad_x, grad_w, grad_b


def _input_gradient(gy2, weight, x_shape, geometry, ho, wo, dtype):
    """grad_x = col2im(w2.T @ gy2) -> (N, C, H, W) = x_shape, stored channel-major."""
    o = weight.shape[0]
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(o, -1).T      # (C*kH*kW, O), a view
    x_shape_cm = (x_shape[1], x_shape[0], x_shape[2], x_shape[3])
    return _nchw(_col2im_product(w2t, gy2, x_shape_cm, geometry, ho, wo))


def _weight_gradient(gy2, column_chunks, p):
    """grad_w = sum over chunks of gy2[:, chunk] @ cols.T -> (O, C*kH*kW).

    column_chunks: (n0, n1, cols) triples, from _columns or kept by the forward; p = Ho*Wo.
    """
    grad_w = part = None
    for n0, n1, cols in column_chunks:
        if grad_w is None:
            grad_w = np.matmul(gy2[:, n0 * p : n1 * p], cols.T)
            part = np.empty_like(grad_w)
        else:
            grad_w += np.matmul(gy2[:, n0 * p : n1 * p], cols.T, out=part)
    return grad_w


def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = col2im(w2.T @ grad_y2). grad_y (N, O, Ho, Wo) -> grad_x (N, C, H, W) = x_shape."""
    _check("conv2d_backward_input", x_shape, weight.shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, weight)
    gy_cm = _cm(grad_y, dtype)
    o, _, ho, wo = gy_cm.shape
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    return _input_gradient(gy_cm.reshape(o, -1), weight, x_shape, geometry, ho, wo, dtype)


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w = sum over chunks of grad_y2 @ cols.T. -> (O, C, kH, kW) = weight_shape."""
    _check("conv2d_backward_weight", x.shape, weight_shape, stride, padding, grad_y.shape)
    dtype = np.result_type(grad_y, x)
    gy_cm = _cm(grad_y, dtype)
    o, _, ho, wo = gy_cm.shape
    geometry = _conv_geometry(weight_shape[2:], stride, padding)
    columns = _columns(_cm(x, dtype), geometry, ho, wo)
    return _weight_gradient(gy_cm.reshape(o, -1), columns, ho * wo).reshape(weight_shape)


def bias_backward(grad_y):
    """grad_b = grad_y summed over (N, H, W): (N, O, Ho, Wo) -> (O,)."""
    gy_cm = _cm(grad_y)
    return gy_cm.reshape(gy_cm.shape[0], -1).sum(axis=1)


# ----------------------------------------------------------------------------- transposed conv

def _transposed_geometry(x, weight, stride, padding, output_padding):
    n, _, h, w = x.shape
    _, cout, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw
    return (cout, n, ho, wo), _conv_geometry((kh, kw), stride, padding)


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
    y_shape_cm, geometry = _transposed_geometry(x, weight, stride, padding, output_padding)
    _check("conv_transpose2d_forward", (x.shape[0],) + y_shape_cm[:1] + y_shape_cm[2:], weight.shape,
           stride, padding, x.shape, names=("y", "x"))
    dtype = np.result_type(x, weight)
    x_cm = _cm(x, dtype)                                                  # (Cin, N, H, W)
    cin, n, h, w = x_cm.shape
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1).T    # (Cout*kH*kW, Cin)
    y_cm = _col2im_product(w2t, x_cm.reshape(cin, n * h * w), y_shape_cm, geometry, h, w)
    if bias is not None:
        y_cm += np.asarray(bias, dtype=dtype)[:, None, None, None]
    return _nchw(y_cm)


def conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs=(True, True, True)):
    """(grad_x, grad_w, grad_b) of conv_transpose2d in one call (None where needs is False).

    grad_x = conv2d(grad_y, weight) and grad_w = x2 @ im2col(grad_y).T share one im2col of
    grad_y per chunk.
    """
    _check("conv_transpose2d_backward", grad_y.shape, weight.shape, stride, padding, x.shape,
           names=("grad_y", "x"))
    dtype = np.result_type(grad_y, x, weight)
    gy_cm = _cm(grad_y, dtype)                                            # (Cout, N, Ho, Wo)
    x_cm = _cm(x, dtype)                                                  # (Cin, N, H, W)
    cin, n, h, w = x_cm.shape
    p = h * w
    geometry = _conv_geometry(weight.shape[2:], stride, padding)
    w2 = np.ascontiguousarray(weight, dtype=dtype).reshape(cin, -1)      # (Cin, Cout*kH*kW)
    x2 = x_cm.reshape(cin, n * p)
    grad_x_cm = np.empty((cin, n, h, w), dtype) if needs[0] else None

    def columns_of_grad_y():
        """im2col of grad_y chunk by chunk, doing each chunk's grad_x product on the way."""
        for n0, n1, cols in _columns(gy_cm, geometry, h, w):
            if needs[0]:
                np.matmul(w2, cols, out=grad_x_cm.reshape(cin, n * p)[:, n0 * p : n1 * p])
            yield n0, n1, cols

    grad_w = None
    if needs[1]:
        grad_w = _weight_gradient(x2, columns_of_grad_y(), p).reshape(weight.shape)
    elif needs[0]:
        for _ in columns_of_grad_y():
            pass
    grad_b = gy_cm.reshape(gy_cm.shape[0], -1).sum(axis=1) if needs[2] else None
    return (None if grad_x_cm is None else _nchw(grad_x_cm)), grad_w, grad_b


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = conv2d(grad_y, weight): grad_y (N, Cout, Ho, Wo) -> (N, Cin, H, W)."""
    return conv2d_forward(grad_y, weight, None, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """conv2d's weight gradient with x and grad_y swapped -> (Cin, Cout, kH, kW)."""
    return conv2d_backward_weight(x, grad_y, weight_shape, stride, padding)
