"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 stride-1 convolution with 2.25x fewer
multiplications (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks").
This file is the readable reference, in numpy; ``numba_winograd.py`` is the fast version,
and the tests compare the two (and this one with the loop definition in ``reference.py``).

The idea, in one dimension first: two outputs of a 3-tap filter g over 4 inputs d,

    y0 = d0 g0 + d1 g1 + d2 g2          (6 multiplications done directly)
    y1 = d1 g0 + d2 g1 + d3 g2

can be computed with 4 multiplications, m = (G g) * (B^T d) element by element, y = A^T m:

    B^T = [[1, 0, -1, 0],      G = [[1,    0,    0  ],      A^T = [[1, 1,  1,  0],
           [0, 1,  1, 0],           [1/2,  1/2,  1/2],             [0, 1, -1, -1]]
           [0,-1,  1, 0],           [1/2, -1/2,  1/2],
           [0, 1,  0,-1]]           [0,    0,    1  ]]

In two dimensions the same matrices are applied along both axes: a 4x4 input tile d gives a
2x2 output tile with 16 multiplications instead of 36,

    Y = A^T [ (G g G^T) * (B^T d B) ] A                    (* element by element)

Over channels the element-wise product becomes a sum over c, i.e. one matrix product per
tile position xi = (i, j) of the 4x4 transformed tiles:

    U[xi] = (G w[o, c] G^T)[xi]           (O, C)       the transformed weights
    V[xi] = (B^T d[c, tile] B)[xi]        (C, P)       the transformed input tiles, P tiles
    M[xi] = U[xi] @ V[xi]                 (O, P)       16 matrix products, each C-deep
    y[o, tile] = A^T M[:, o, tile] A      (2x2 outputs per tile)

The im2col product is (O, 9C) @ (9C, P*4): 36*O*C multiplications per 2x2 outputs
against 16*O*C here. Output tiles start at every second pixel; at the right and bottom
edges of an odd-sized output a tile sticks out, and its extra outputs are dropped.

The gradients are the same three steps run backwards (each step is linear):

    grad_x: a stride-1 conv's input gradient is a conv of grad_y with the kernel flipped
            and its in/out channels swapped, padding kH - 1 - p: the same algorithm.
    grad_w: grad_M[xi] = (A grad_y_tile A^T)[xi],  grad_U[xi] = grad_M[xi] @ V[xi]^T,
            grad_w[o, c] = G^T grad_U[:, o, c] G.

Arrays here are NCHW; weights (O, C, 3, 3).
"""
import numpy as np

from .geometry import check_conv2d_shapes

__all__ = ["BT", "G", "AT", "transform_weight", "transform_weight_adjoint", "input_tiles",
           "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "flipped"]

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def transform_weight(weight):
    """U = G w G^T per (o, c): weight (O, C, 3, 3) -> (4, 4, O, C)."""
    g = G.astype(weight.dtype)
    return (g @ weight @ g.T).transpose(2, 3, 0, 1)             # (O, C, 4, 4) -> (4, 4, O, C)


def transform_weight_adjoint(grad_u):
    """The adjoint of ``transform_weight``: grad_w = G^T grad_U G.  (4, 4, O, C) -> (O, C, 3, 3)."""
    g = G.astype(grad_u.dtype)
    return g.T @ grad_u.transpose(2, 3, 0, 1) @ g


def _tiles(ho, wo):
    """Tiles per axis: one per two output rows (columns), the last one possibly half outside."""
    return (ho + 1) // 2, (wo + 1) // 2


def input_tiles(x, padding, ho, wo):
    """The 4x4 input tiles, overlapping by two: x (N, C, H, W) -> d (N, C, th, tw, 4, 4).

    Tile (a, b) is x_pad[:, :, 2a : 2a + 4, 2b : 2b + 4], x_pad being x with ``padding``
    zeros around it (and more at the bottom / right where the last tile sticks out)."""
    ph, pw = padding
    th, tw = _tiles(ho, wo)
    n, c, h, w = x.shape
    xp = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    rows, cols = min(h, 2 * th + 2 - ph), min(w, 2 * tw + 2 - pw)
    xp[:, :, ph : ph + rows, pw : pw + cols] = x[:, :, :rows, :cols]
    d = np.empty((n, c, th, tw, 4, 4), x.dtype)
    for a in range(th):
        for b in range(tw):
            d[:, :, a, b] = xp[:, :, 2 * a : 2 * a + 4, 2 * b : 2 * b + 4]
    return d


def conv2d_forward(x, weight, bias, padding):
    """y = conv2d(x, weight) + bias for a 3x3 kernel, stride 1, by F(2x2, 3x3).

    x (N, C, H, W), weight (O, C, 3, 3), bias (O,) or None -> y (N, O, Ho, Wo),
    Ho = H + 2*ph - 2 (the conv2d formula with k = 3, s = 1).
    """
    g = check_conv2d_shapes("winograd.conv2d_forward", x.shape, weight.shape, (1, 1), padding)
    if (g.kh, g.kw) != (3, 3):
        raise ValueError(f"winograd.conv2d_forward: F(2x2, 3x3) needs a 3x3 kernel, got {g.kh}x{g.kw}")
    n, _, h, w = x.shape
    ho, wo = g.output_size(h, w)
    th, tw = _tiles(ho, wo)
    V = np.einsum("ik,nctukl,jl->ijnctu", BT, input_tiles(x, padding, ho, wo), BT)  # (4, 4, N, C, th, tw)
    U = transform_weight(weight)                                                   # (4, 4, O, C)
    M = np.einsum("ijoc,ijnctu->ijnotu", U, V)          # the 16 products, summed over c
    tiles = np.einsum("ki,ijnotu,lj->notukl", AT, M, AT)                           # (N, O, th, tw, 2, 2)
    y = tiles.transpose(0, 1, 2, 4, 3, 5).reshape(n, -1, 2 * th, 2 * tw)[:, :, :ho, :wo]
    if bias is not None:
        y = y + bias[None, :, None, None]
    return y.astype(np.result_type(x, weight), copy=False)


def flipped(weight):
    """The kernel of a stride-1 conv's input gradient: w[o, c, i, j] -> w'[c, o, 2 - i, 2 - j]."""
    return weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def conv2d_backward_input(grad_y, weight, x_shape, padding):
    """grad_x of a 3x3 stride-1 conv: grad_y convolved with ``flipped(weight)``, padding 2 - p."""
    ph, pw = padding
    grad_x = conv2d_forward(grad_y, flipped(weight), None, (2 - ph, 2 - pw))
    if grad_x.shape != tuple(x_shape):
        raise ValueError(f"winograd.conv2d_backward_input: grad_y {grad_y.shape} gives grad_x "
                         f"{grad_x.shape}, not x's shape {tuple(x_shape)}")
    return grad_x


def conv2d_backward_weight(grad_y, x, padding):
    """grad_w of a 3x3 stride-1 conv, the forward's three steps run backwards (see above).

    grad_y (N, O, Ho, Wo), x (N, C, H, W) -> grad_w (O, C, 3, 3)."""
    n, o, ho, wo = grad_y.shape
    th, tw = _tiles(ho, wo)
    V = np.einsum("ik,nctukl,jl->ijnctu", BT, input_tiles(x, padding, ho, wo), BT)
    gy = np.zeros((n, o, 2 * th, 2 * tw), grad_y.dtype)
    gy[:, :, :ho, :wo] = grad_y                       # outputs of the overhanging tiles: none
    gy_tiles = gy.reshape(n, o, th, 2, tw, 2).transpose(0, 1, 2, 4, 3, 5)     # (N, O, th, tw, 2, 2)
    grad_m = np.einsum("ki,notukl,lj->ijnotu", AT, gy_tiles, AT)              # adjoint of y = A^T M A
    grad_u = np.einsum("ijnotu,ijnctu->ijoc", grad_m, V)                      # adjoint of M = U V
    return transform_weight_adjoint(grad_u).astype(np.result_type(grad_y, x), copy=False)
