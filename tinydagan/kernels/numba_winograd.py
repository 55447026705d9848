"""F(2x2, 3x3) Winograd convolution, fast: Numba tile transforms around BLAS matrix products.

Read ``winograd.py`` first (the algorithm, in numpy). This version differs from it as
``numba_conv.py`` differs from the im2col stepping stone:

1. **Batch-last memory**, (C, H, W, N): a transformed tile is a vector over the batch, so
   every transform below is a handful of additions of contiguous length-N vectors.
2. **Tiles in chunks** (``_tile_chunks``): the tiles q = a*tw + b are cut into ranges whose
   transformed input V (16, C, tiles*N) takes about ``numba_conv.CHUNK_BYTES``; each
   range is transformed, multiplied (16 BLAS products ``U[xi] @ V[xi]``) and transformed
   back before the next, so V and M stay in the cache.
3. **Kept V** (``conv2d_forward(saved=...)``): the weight gradient needs the forward's V
   (``grad_U[xi] = grad_M[xi] @ V[xi]^T``); the forward keeps it, as the im2col path keeps
   its cols.
4. **The bias** is added by the output transform, in the same pass.

Arrays passed in and out are batch-last (C, H, W, N); ``numba_conv`` decides when a conv
takes this path (``numba_conv.uses_winograd``) and does the layout conversions.
"""
import tinydagan.cache  # noqa: F401  (sets NUMBA_CACHE_DIR; must run before numba is imported)

import numpy as np
from numba import njit

from . import winograd

__all__ = ["input_transform", "output_transform", "output_gradient_transform",
           "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"]

CHUNK_BYTES = 8 * 2**20  # target size of one chunk's V (as numba_conv's cols)


# ----------------------------------------------------------------------------- Numba kernels
# A tile's 16 values for the N images are the rows of a (16, N) scratch array; every loop
# over m (the image) is a contiguous vector operation that LLVM turns into SIMD code.

@njit(cache=True, nogil=True)
def input_transform(x, ph, pw, tw, q0, V):
    """V[(i, j), c, (q - q0, n)] = (B^T d B)[i, j] for the tiles q = a*tw + b in
    [q0, q0 + V.shape[2] // N), d = x_pad[c, 2a : 2a + 4, 2b : 2b + 4, n] (zeros outside x)."""
    c_, h, w, n = x.shape
    tiles = V.shape[2] // n
    d = np.empty((16, n), x.dtype)
    t = np.empty((16, n), x.dtype)
    for c in range(c_):
        for q in range(q0, q0 + tiles):
            a, b = q // tw, q % tw
            for i in range(4):                      # gather the 4x4 tile (zero border)
                r = 2 * a + i - ph
                for j in range(4):
                    s = 2 * b + j - pw
                    row = d[4 * i + j]
                    if 0 <= r < h and 0 <= s < w:
                        src = x[c, r, s]
                        for m in range(n):
                            row[m] = src[m]
                    else:
                        for m in range(n):
                            row[m] = 0
            for j in range(4):                      # t = B^T d, column by column
                d0, d1, d2, d3 = d[j], d[4 + j], d[8 + j], d[12 + j]
                t0, t1, t2, t3 = t[j], t[4 + j], t[8 + j], t[12 + j]
                for m in range(n):
                    t0[m] = d0[m] - d2[m]
                    t1[m] = d1[m] + d2[m]
                    t2[m] = d2[m] - d1[m]
                    t3[m] = d1[m] - d3[m]
            col = (q - q0) * n
            for i in range(4):                      # V = t B, row by row
                e0, e1, e2, e3 = t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]
                v0 = V[4 * i, c, col : col + n]
                v1 = V[4 * i + 1, c, col : col + n]
                v2 = V[4 * i + 2, c, col : col + n]
                v3 = V[4 * i + 3, c, col : col + n]
                for m in range(n):
                    v0[m] = e0[m] - e2[m]
                    v1[m] = e1[m] + e2[m]
                    v2[m] = e2[m] - e1[m]
                    v3[m] = e1[m] - e3[m]


@njit(cache=True, nogil=True)
def output_transform(M, bias, tw, q0, y):
    """y[o, 2a + k, 2b + l, n] = (A^T M[:, o, (q - q0, n)] A)[k, l] + bias[o] for the tiles
    q = a*tw + b of this chunk; outputs of a tile that fall outside y are dropped.
    ``bias``: (O,), or an empty array for none."""
    o_, ho, wo, n = y.shape
    tiles = M.shape[2] // n
    t = np.empty((8, n), M.dtype)
    out = np.empty((4, n), M.dtype)
    for o in range(o_):
        beta = bias[o] if bias.shape[0] else 0.0
        for q in range(q0, q0 + tiles):
            a, b = q // tw, q % tw
            col = (q - q0) * n
            for j in range(4):                      # t = A^T M, column by column
                m0 = M[j, o, col : col + n]
                m1 = M[4 + j, o, col : col + n]
                m2 = M[8 + j, o, col : col + n]
                m3 = M[12 + j, o, col : col + n]
                t0, t1 = t[j], t[4 + j]
                for m in range(n):
                    t0[m] = m0[m] + m1[m] + m2[m]
                    t1[m] = m1[m] - m2[m] - m3[m]
            for k in range(2):                      # out = t A, row by row
                e0, e1, e2, e3 = t[4 * k], t[4 * k + 1], t[4 * k + 2], t[4 * k + 3]
                o0, o1 = out[2 * k], out[2 * k + 1]
                for m in range(n):
                    o0[m] = e0[m] + e1[m] + e2[m] + beta
                    o1[m] = e1[m] - e2[m] - e3[m] + beta
            for k in range(2):
                for l in range(2):
                    r, s = 2 * a + k, 2 * b + l
                    if r < ho and s < wo:
                        dst, src = y[o, r, s], out[2 * k + l]
                        for m in range(n):
                            dst[m] = src[m]


@njit(cache=True, nogil=True)
def output_gradient_transform(gy, tw, q0, gM):
    """The adjoint of ``output_transform``: gM[:, o, (q - q0, n)] = A gy_tile A^T, gy_tile
    the 2x2 block of grad_y at (2a, 2b) (zeros outside grad_y)."""
    o_, ho, wo, n = gy.shape
    tiles = gM.shape[2] // n
    g = np.empty((4, n), gy.dtype)
    s_ = np.empty((8, n), gy.dtype)
    for o in range(o_):
        for q in range(q0, q0 + tiles):
            a, b = q // tw, q % tw
            for k in range(2):
                for l in range(2):
                    r, s = 2 * a + k, 2 * b + l
                    row = g[2 * k + l]
                    if r < ho and s < wo:
                        src = gy[o, r, s]
                        for m in range(n):
                            row[m] = src[m]
                    else:
                        for m in range(n):
                            row[m] = 0
            for k in range(2):                      # s = g A^T, row by row: (2, 2) -> (2, 4)
                g0, g1 = g[2 * k], g[2 * k + 1]
                r0, r1, r2, r3 = s_[4 * k], s_[4 * k + 1], s_[4 * k + 2], s_[4 * k + 3]
                for m in range(n):
                    r0[m] = g0[m]
                    r1[m] = g0[m] + g1[m]
                    r2[m] = g0[m] - g1[m]
                    r3[m] = -g1[m]
            col = (q - q0) * n
            for j in range(4):                      # gM = A s, column by column: -> (4, 4)
                e0, e1 = s_[j], s_[4 + j]
                v0 = gM[j, o, col : col + n]
                v1 = gM[4 + j, o, col : col + n]
                v2 = gM[8 + j, o, col : col + n]
                v3 = gM[12 + j, o, col : col + n]
                for m in range(n):
                    v0[m] = e0[m]
                    v1[m] = e0[m] + e1[m]
                    v2[m] = e0[m] - e1[m]
                    v3[m] = -e1[m]


# ----------------------------------------------------------------------------- conv2d

def _tile_chunks(tiles, bytes_per_tile):
    """[(q0, q1), ...] covering range(tiles), each chunk about CHUNK_BYTES."""
    step = max(1, min(tiles, CHUNK_BYTES // max(1, bytes_per_tile)))
    return [(q0, min(q0 + step, tiles)) for q0 in range(0, tiles, step)]


def _u(weight, dtype):
    """U (16, O, C), contiguous per xi, for the 16 BLAS products."""
    o, c = weight.shape[:2]
    return np.ascontiguousarray(winograd.transform_weight(weight).reshape(16, o, c), dtype=dtype)


def _transformed(x_chwn, padding, ho, wo, keep=False):
    """The input transform, one chunk of tiles at a time: yields (q0, q1, V (16, C, (q1-q0)*N)).
    One V buffer serves every chunk unless ``keep`` (then each chunk gets its own array)."""
    c, h, w, n = x_chwn.shape
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    chunks = _tile_chunks(th * tw, 16 * c * n * x_chwn.itemsize)
    step = chunks[0][1] - chunks[0][0] if chunks else 0
    V_buf = None if keep else np.empty(16 * c * step * n, x_chwn.dtype)
    for q0, q1 in chunks:
        width = (q1 - q0) * n
        V = np.empty((16, c, width), x_chwn.dtype) if keep else V_buf[: 16 * c * width].reshape(16, c, width)
        input_transform(x_chwn, padding[0], padding[1], tw, q0, V)
        yield q0, q1, V


def conv2d_forward(x_chwn, weight, bias, padding, keep=None):
    """y = conv2d(x, weight) + bias, 3x3, stride 1: x (C, H, W, N) -> y (O, Ho, Wo, N).

    ``keep``: a list, to which each chunk's (q0, q1, V) is appended for the weight gradient.
    """
    c, h, w, n = x_chwn.shape
    o = weight.shape[0]
    dtype = x_chwn.dtype
    ho, wo = h + 2 * padding[0] - 2, w + 2 * padding[1] - 2
    tw = (wo + 1) // 2
    U = _u(weight, dtype)                                               # (16, O, C)
    b = np.zeros(0, dtype) if bias is None else np.asarray(bias, dtype)
    y = np.empty((o, ho, wo, n), dtype)
    M_buf = None
    for q0, q1, V in _transformed(x_chwn, padding, ho, wo, keep is not None):
        if M_buf is None:                                               # sized by the first chunk
            M_buf = np.empty(16 * o * V.shape[2], dtype)
        M = np.matmul(U, V, out=M_buf[: 16 * o * V.shape[2]].reshape(16, o, V.shape[2]))
        output_transform(M, b, tw, q0, y)
        if keep is not None:
            keep.append((q0, q1, V))
    return y


def conv2d_backward_input(gy_chwn, weight, padding):
    """grad_x of a 3x3 stride-1 conv: the forward on grad_y with the flipped kernel,
    padding 2 - p (``winograd.flipped``). gy (O, Ho, Wo, N) -> (C, H, W, N)."""
    ph, pw = padding
    return conv2d_forward(gy_chwn, winograd.flipped(weight), None, (2 - ph, 2 - pw))


def conv2d_backward_weight(gy_chwn, x_chwn, weight_shape, padding, kept=None):
    """grad_w (O, C, 3, 3) from gy (O, Ho, Wo, N) and x (C, H, W, N): grad_M by the adjoint
    output transform, grad_U[xi] = sum over chunks of grad_M[xi] @ V[xi]^T, grad_w = G^T grad_U G.
    ``kept``: the forward's [(q0, q1, V), ...]; without it V is computed again."""
    o, ho, wo, n = gy_chwn.shape
    c = x_chwn.shape[0]
    dtype = np.result_type(gy_chwn, x_chwn)
    tw = (wo + 1) // 2
    grad_u = np.zeros((16, o, c), dtype)
    part = np.empty_like(grad_u)
    gM_buf = None
    for q0, q1, V in (kept if kept is not None else _transformed(x_chwn, padding, ho, wo)):
        width = V.shape[2]
        if gM_buf is None:                                              # sized by the first chunk
            gM_buf = np.empty(16 * o * width, dtype)
        gM = gM_buf[: 16 * o * width].reshape(16, o, width)
        output_gradient_transform(gy_chwn, tw, q0, gM)
        grad_u += np.matmul(gM, V.transpose(0, 2, 1), out=part)
    return winograd.transform_weight_adjoint(grad_u.reshape(4, 4, o, c)).astype(dtype, copy=False)
