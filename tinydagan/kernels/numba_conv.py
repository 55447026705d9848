"""Fast convolution kernels: Numba im2col / col2im around one BLAS matmul per chunk.

Same interface and formulas as ``reference.py`` (read that first). The speed comes from
turning a convolution into a matrix product, which numpy hands to its BLAS (OpenBLAS):

    cols[(c, i, j), (n, a, b)] = x_pad[n, c, a*sh + i, b*sw + j]     # im2col: (C*kH*kW, N*Ho*Wo)
    y2 = w.reshape(O, C*kH*kW) @ cols                                  # (O, N*Ho*Wo)
    y[n, o, a, b] = y2[o, (n, a, b)] + bias[o]                         # back to NCHW

and the gradients are the two other products of the same three matrices:

    grad_w = grad_y2 @ cols.T            grad_cols = w2.T @ grad_y2 -> col2im -> grad_x

``col2im`` is the adjoint of ``im2col``: it *adds* every column entry back to the pixel it
came from. Columns span the whole (chunk of the) batch, so each layer is one big, efficient
matrix product instead of N small ones. The batch is cut into chunks so that ``cols`` stays
below ``CHUNK_BYTES``: a full-batch ``cols`` can be hundreds of MB, and allocating that
anew each call costs page faults, while chunk-sized buffers are reused by the allocator
and stay warm in the L3 cache between im2col and the matmul.

A transposed convolution is the adjoint of a convolution, so it reuses the same three
building blocks with input and output swapped (forward = conv input-gradient, and so on).

The Numba helpers are single-threaded (``nogil``): numpy's OpenBLAS already uses every
core for the matmul, and on this shared 2-core machine a Numba thread pool running between
BLAS calls fought the (still spinning) BLAS threads and the neighbours' processes, with the
default ``omp`` pool and with ``workqueue`` alike; see docs/performance.md for measurements.
"""
import tinydagan.cache  # noqa: F401  (sets NUMBA_CACHE_DIR; must run before numba is imported)

import numpy as np
from numba import njit

__all__ = [
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward_input",
    "conv_transpose2d_backward_weight",
    "bias_backward",
    "CHUNK_BYTES",
]

CHUNK_BYTES = 8 * 2**20  # target size of one chunk's cols matrix (see module docstring)


# ----------------------------------------------------------------------------- Numba kernels

@njit(cache=True, nogil=True)
def pad_into(x, ph, pw, xp):
    """Copy x (N, C, H, W) into the middle of xp (N, C, H + 2ph, W + 2pw), whose border is 0."""
    nb, nc, h, w = x.shape
    for n in range(nb):
        for c in range(nc):
            for a in range(h):
                src, dst = x[n, c, a], xp[n, c, a + ph]
                for b in range(w):
                    dst[pw + b] = src[b]


@njit(cache=True, nogil=True)
def crop_from(xp, ph, pw, x):
    """The inverse of pad_into: x (N, C, H, W) = the middle of xp."""
    nb, nc, h, w = x.shape
    for n in range(nb):
        for c in range(nc):
            for a in range(h):
                src, dst = xp[n, c, a + ph], x[n, c, a]
                for b in range(w):
                    dst[b] = src[pw + b]


# im2col and col2im loop over c, i, j explicitly and give stride 1 its own innermost loop:
# both let LLVM turn the row copy into SIMD code (measured 5-8x faster than one loop over
# r = (c, i, j) with a run-time stride; see docs/performance.md).

@njit(cache=True, nogil=True)
def im2col(xp, kh, kw, sh, sw, ho, wo, cols):
    """cols[(c, i, j), (n, a, b)] = xp[n, c, a*sh + i, b*sw + j].

    xp (N, C, H + 2ph, W + 2pw), the zero-padded input -> fills cols (C*kH*kW, N*Ho*Wo).
    """
    nb, nc = xp.shape[:2]
    p = ho * wo
    for c in range(nc):
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for n in range(nb):
                    for a in range(ho):
                        src = xp[n, c, a * sh + i]
                        dst = cols[r, n * p + a * wo : n * p + (a + 1) * wo]
                        if sw == 1:
                            for b in range(wo):
                                dst[b] = src[b + j]
                        else:
                            for b in range(wo):
                                dst[b] = src[b * sw + j]


@njit(cache=True, nogil=True)
def col2im(cols, kh, kw, sh, sw, ho, wo, xp):
    """The adjoint of im2col: xp[n, c, a*sh + i, b*sw + j] += cols[(c, i, j), (n, a, b)].

    cols (C*kH*kW, N*Ho*Wo) -> overwrites xp (N, C, H + 2ph, W + 2pw), the padded gradient.
    """
    # The loops run in the order cols is stored (row r = (c, i, j) outer, then n, a), as in
    # im2col: each cols row is read front to back once. Looping n outer instead reads one
    # 16-64 byte piece from each of the C*kH*kW rows in turn, a different page every time;
    # for G's 5x5 transposed conv that was 2-3x slower (latency-bound, see
    # docs/performance.md). The writes of one channel, xp[:, c], stay in the L2 cache.
    nb, nc = xp.shape[:2]
    p = ho * wo
    for c in range(nc):
        for n in range(nb):
            xp[n, c] = 0
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for n in range(nb):
                    for a in range(ho):
                        src = cols[r, n * p + a * wo : n * p + (a + 1) * wo]
                        dst = xp[n, c, a * sh + i]
                        if sw == 1:
                            for b in range(wo):
                                dst[b + j] += src[b]
                        else:
                            for b in range(wo):
                                dst[b * sw + j] += src[b]


@njit(cache=True, nogil=True)
def nchw_to_cm(a, out):
    """Channel-major copy: a (N, C, P) -> out (C, N*P), out[c, n*P + q] = a[n, c, q]."""
    nb, nc, p = a.shape
    for c in range(nc):
        for n in range(nb):
            for q in range(p):
                out[c, n * p + q] = a[n, c, q]


@njit(cache=True, nogil=True)
def cm_to_nchw(b, bias, out):
    """Back to NCHW, adding the bias on the way: out[n, c, q] = b[c, n*P + q] + bias[c].

    b (C, N*P), bias (C,) -> overwrites out (N, C, P).
    """
    nb, nc, p = out.shape
    for n in range(nb):
        for c in range(nc):
            for q in range(p):
                out[n, c, q] = b[c, n * p + q] + bias[c]


# fastmath lets LLVM reorder the additions of each row's sum into SIMD lanes (8 partial
# sums instead of one long chain): 2-3x faster, and no less accurate than a plain loop.
@njit(cache=True, nogil=True, fastmath=True)
def bias_backward_kernel(grad_y):
    """grad_b[o] = sum over n, q of grad_y[n, o, q]: grad_y (N, O, P) -> (O,)."""
    nb, no, p = grad_y.shape
    out = np.zeros(no, dtype=grad_y.dtype)
    for n in range(nb):
        for o in range(no):
            row = grad_y[n, o]
            s = row[0] * 0
            for q in range(p):
                s += row[q]
            out[o] += s
    return out


# ----------------------------------------------------------------------------- helpers

def _chunks(n, bytes_per_image):
    """Split range(n) into (start, stop) pieces of about CHUNK_BYTES of cols each."""
    step = max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image)))
    return [(s, min(n, s + step)) for s in range(0, n, step)], step


class _Padded:
    """The zero-padded chunks of x that im2col reads, in one buffer reused by every chunk.

    With no padding (1x1 NIN convs, 'valid' convs) a chunk is just a view of x: no copy.
    """

    def __init__(self, x, step, ph, pw):
        n, c, h, w = x.shape
        self.x, self.ph, self.pw = x, ph, pw
        if ph or pw:
            self.buf = np.zeros((step, c, h + 2 * ph, w + 2 * pw), x.dtype)  # border stays 0

    def chunk(self, n0, n1):
        """x_pad[n0:n1], (n1 - n0, C, H + 2ph, W + 2pw)."""
        if not (self.ph or self.pw):
            return self.x[n0:n1]
        xp = self.buf[: n1 - n0]
        pad_into(self.x[n0:n1], self.ph, self.pw, xp)
        return xp


def _out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def _conv_geometry(kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return int(kh), int(kw), int(sh), int(sw), int(ph), int(pw)


# ----------------------------------------------------------------------------- conv2d

def conv2d_forward(x, weight, bias, stride, padding):
    """y = conv2d(x, weight) + bias. x (N, C, H, W), weight (O, C, kH, kW) -> (N, O, Ho, Wo)."""
    dtype = np.result_type(x, weight)
    x = np.ascontiguousarray(x, dtype=dtype)
    n, c, h, w = x.shape
    o = weight.shape[0]
    kh, kw, sh, sw, ph, pw = _conv_geometry(weight.shape[2:], stride, padding)
    ho, wo = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    k, p = c * kh * kw, ho * wo
    w2 = np.ascontiguousarray(weight, dtype=dtype).reshape(o, k)
    b = np.zeros(o, dtype) if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    y = np.empty((n, o, ho, wo), dtype)
    chunks, step = _chunks(n, k * p * x.itemsize)
    padded = _Padded(x, step, ph, pw)
    cols_buf = np.empty(k * step * p, dtype)
    y2_buf = np.empty(o * step * p, dtype)
    for n0, n1 in chunks:
        m = (n1 - n0) * p
        cols = cols_buf[: k * m].reshape(k, m)                           # (C*kH*kW, nb*Ho*Wo)
        im2col(padded.chunk(n0, n1), kh, kw, sh, sw, ho, wo, cols)
        y2 = np.matmul(w2, cols, out=y2_buf[: o * m].reshape(o, m))      # (O, nb*Ho*Wo)
        cm_to_nchw(y2, b, y[n0:n1].reshape(n1 - n0, o, p))
    return y


def conv2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = col2im(w2.T @ grad_y2). grad_y (N, O, Ho, Wo) -> grad_x (N, C, H, W) = x_shape."""
    dtype = np.result_type(grad_y, weight)
    grad_y = np.ascontiguousarray(grad_y, dtype=dtype)
    n, c, h, w = x_shape
    _, o, ho, wo = grad_y.shape
    kh, kw, sh, sw, ph, pw = _conv_geometry(weight.shape[2:], stride, padding)
    k, p = c * kh * kw, ho * wo
    w2t = np.ascontiguousarray(weight, dtype=dtype).reshape(o, k).T     # (C*kH*kW, O), a view
    grad_x = np.empty((n, c, h, w), dtype)
    chunks, step = _chunks(n, k * p * grad_y.itemsize)
    gy2_buf = np.empty(o * step * p, dtype)
    cols_buf = np.empty(k * step * p, dtype)
    # without padding col2im can write into grad_x itself (1x1 NIN convs, 'valid' convs)
    grad_xp = None if ph == pw == 0 else np.empty((step, c, h + 2 * ph, w + 2 * pw), dtype)
    for n0, n1 in chunks:
        m = (n1 - n0) * p
        gy2 = gy2_buf[: o * m].reshape(o, m)                              # (O, nb*Ho*Wo)
        nchw_to_cm(grad_y[n0:n1].reshape(n1 - n0, o, p), gy2)
        cols = np.matmul(w2t, gy2, out=cols_buf[: k * m].reshape(k, m))  # (C*kH*kW, nb*Ho*Wo)
        if grad_xp is None:
            col2im(cols, kh, kw, sh, sw, ho, wo, grad_x[n0:n1])
        else:
            col2im(cols, kh, kw, sh, sw, ho, wo, grad_xp[: n1 - n0])
            crop_from(grad_xp[: n1 - n0], ph, pw, grad_x[n0:n1])
    return grad_x


def conv2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """grad_w = sum over chunks of grad_y2 @ cols.T. -> (O, C, kH, kW) = weight_shape."""
    dtype = np.result_type(grad_y, x)
    grad_y = np.ascontiguousarray(grad_y, dtype=dtype)
    x = np.ascontiguousarray(x, dtype=dtype)
    n, c, h, w = x.shape
    _, o, ho, wo = grad_y.shape
    kh, kw, sh, sw, ph, pw = _conv_geometry(weight_shape[2:], stride, padding)
    k, p = c * kh * kw, ho * wo
    grad_w = np.zeros((o, k), dtype)
    part = np.empty((o, k), dtype)
    chunks, step = _chunks(n, k * p * x.itemsize)
    gy2_buf = np.empty(o * step * p, dtype)
    cols_buf = np.empty(k * step * p, dtype)
    padded = _Padded(x, step, ph, pw)
    for n0, n1 in chunks:
        m = (n1 - n0) * p
        cols = cols_buf[: k * m].reshape(k, m)
        im2col(padded.chunk(n0, n1), kh, kw, sh, sw, ho, wo, cols)
        gy2 = gy2_buf[: o * m].reshape(o, m)
        nchw_to_cm(grad_y[n0:n1].reshape(n1 - n0, o, p), gy2)
        grad_w += np.matmul(gy2, cols.T, out=part)                         # (O, C*kH*kW)
    return grad_w.reshape(weight_shape)


# ----------------------------------------------------------------------------- transposed conv

def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding):
    """Transposed conv = conv2d input-gradient with weight (Cin, Cout, kH, kW) as (O, C, kH, kW).

    x (N, Cin, H, W) -> y (N, Cout, Ho, Wo), Ho = (H - 1)*sh - 2*ph + kH + oph.
    """
    n, _, h, w = x.shape
    _, cout, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw
    y = conv2d_backward_input(x, weight, (n, cout, ho, wo), stride, padding)
    if bias is not None:
        y += bias.astype(y.dtype, copy=False)[None, :, None, None]
    return y


def conv_transpose2d_backward_input(grad_y, weight, x_shape, stride, padding):
    """grad_x = conv2d(grad_y, weight): grad_y (N, Cout, Ho, Wo) -> (N, Cin, H, W)."""
    return conv2d_forward(grad_y, weight, None, stride, padding)


def conv_transpose2d_backward_weight(grad_y, x, weight_shape, stride, padding):
    """conv2d's weight gradient with x and grad_y swapped -> (Cin, Cout, kH, kW)."""
    return conv2d_backward_weight(x, grad_y, weight_shape, stride, padding)


def bias_backward(grad_y):
    """grad_b = grad_y summed over (N, H, W): (N, O, Ho, Wo) -> (O,)."""
    grad_y = np.ascontiguousarray(grad_y)
    n, o, ho, wo = grad_y.shape
    return bias_backward_kernel(grad_y.reshape(n, o, ho * wo))
