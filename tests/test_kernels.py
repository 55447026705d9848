"""Convolution kernels: the reference against the definition, Numba against the reference.

Shapes are tiny so the suite is also quick with NUMBA_DISABLE_JIT=1 (Numba kernels run as
Python loops then).
"""
import numpy as np
import pytest

from tinydagan import kernels
from tinydagan.kernels import numba_conv, reference

from layouts import batch_last, is_batch_last

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


# ------------------------------------------------------------------ the reference vs the definition

def conv2d_loops(x, weight, bias, stride, padding):
    """conv2d written straight from its sum formula, one output element at a time."""
    n_, c_, h, w = x.shape
    o_, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    y = np.zeros((n_, o_, conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw)))
    for n, o, a, b in np.ndindex(*y.shape):
        total = bias[o]
        for c, i, j in np.ndindex(c_, kh, kw):
            row, col = a * sh - ph + i, b * sw - pw + j
            if 0 <= row < h and 0 <= col < w:
                total += weight[o, c, i, j] * x[n, c, row, col]
        y[n, o, a, b] = total
    return y


def conv_transpose2d_loops(x, weight, bias, stride, padding, output_padding):
    """Transposed conv from its scatter formula: every input pixel paints a weighted kernel."""
    n_, cin, h, w = x.shape
    _, cout, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    ho, wo = tconv_out(h, kh, sh, ph, oph), tconv_out(w, kw, sw, pw, opw)
    y = np.zeros((n_, cout, ho, wo)) + bias[None, :, None, None]
    for n, c, a, b, d, i, j in np.ndindex(n_, cin, h, w, cout, kh, kw):
        row, col = a * sh - ph + i, b * sw - pw + j
        if 0 <= row < ho and 0 <= col < wo:
            y[n, d, row, col] += x[n, c, a, b] * weight[c, d, i, j]
    return y


@pytest.mark.parametrize("case", CONV_CASES[:4])
def test_reference_conv2d_matches_sum_formula(case):
    x, weight, bias, _, stride, padding = make_conv(case, np.float64)
    np.testing.assert_allclose(reference.conv2d_forward(x, weight, bias, stride, padding),
                               conv2d_loops(x, weight, bias, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", TCONV_CASES[:4])
def test_reference_conv_transpose2d_matches_scatter_formula(case):
    x, weight, bias, _, stride, padding, out_pad = make_tconv(case, np.float64)
    np.testing.assert_allclose(
        reference.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad),
        conv_transpose2d_loops(x, weight, bias, stride, padding, out_pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", TCONV_CASES)
def test_conv_transpose2d_output_shape_is_pytorch_formula(case):
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv(case, np.float64)
    for backend in (reference, numba_conv):
        y = backend.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad)
        assert y.shape == grad_y.shape
        # and a conv2d with the same stride / padding maps that size back to the input's
        assert backend.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding).shape == x.shape


# ------------------------------------------------------------------ adjoint identities
# For a linear map A, <A x, g> == <x, A^T g>. conv2d is linear in x and in w, so its
# input / weight gradients must satisfy these identities exactly (up to rounding).

@pytest.mark.parametrize("backend", [reference, numba_conv], ids=["reference", "numba"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_adjoint_identities(backend, case):
    x, weight, _, grad_y, stride, padding = make_conv(case, np.float64)
    y = backend.conv2d_forward(x, weight, None, stride, padding)
    lhs = np.vdot(y, grad_y)
    gx = backend.conv2d_backward_input(grad_y, weight, x.shape, stride, padding)
    gw = backend.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding)
    np.testing.assert_allclose(np.vdot(x, gx), lhs, rtol=1e-10)
    np.testing.assert_allclose(np.vdot(weight, gw), lhs, rtol=1e-10)


@pytest.mark.parametrize("backend", [reference, numba_conv], ids=["reference", "numba"])
@pytest.mark.parametrize("case", TCONV_CASES)
def test_conv_transpose2d_adjoint_identities(backend, case):
    x, weight, _, grad_y, stride, padding, out_pad = make_tconv(case, np.float64)
    y = backend.conv_transpose2d_forward(x, weight, None, stride, padding, out_pad)
    lhs = np.vdot(y, grad_y)
    gx = backend.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding)
    gw = backend.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding)
    np.testing.assert_allclose(np.vdot(x, gx), lhs, rtol=1e-10)
    np.testing.assert_allclose(np.vdot(weight, gw), lhs, rtol=1e-10)


@pytest.mark.parametrize("backend", [reference, numba_conv], ids=["reference", "numba"])
def test_bias_backward_is_the_adjoint_of_adding_a_bias(backend):
    _, _, bias, grad_y, _, _ = make_conv(CONV_CASES[1], np.float64)
    np.testing.assert_allclose(np.vdot(bias, backend.bias_backward(grad_y)),
                               np.vdot(np.broadcast_to(bias[None, :, None, None], grad_y.shape), grad_y))


# ------------------------------------------------------------------ Numba vs reference

def assert_same(fast, ref, dtype):
    assert fast.shape == ref.shape and fast.dtype == ref.dtype == dtype
    np.testing.assert_allclose(fast, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES)
def test_numba_conv2d_matches_reference(case, dtype):
    x, weight, bias, grad_y, stride, padding = make_conv(case, dtype)
    for b in (bias, None):
        assert_same(numba_conv.conv2d_forward(x, weight, b, stride, padding),
                    reference.conv2d_forward(x, weight, b, stride, padding), dtype)
    assert_same(numba_conv.conv2d_backward_input(grad_y, weight, x.shape, stride, padding),
                reference.conv2d_backward_input(grad_y, weight, x.shape, stride, padding), dtype)
    assert_same(numba_conv.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding), dtype)
    assert_same(numba_conv.bias_backward(grad_y), reference.bias_backward(grad_y), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TCONV_CASES)
def test_numba_conv_transpose2d_matches_reference(case, dtype):
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv(case, dtype)
    for b in (bias, None):
        assert_same(numba_conv.conv_transpose2d_forward(x, weight, b, stride, padding, out_pad),
                    reference.conv_transpose2d_forward(x, weight, b, stride, padding, out_pad), dtype)
    assert_same(numba_conv.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding),
                reference.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding), dtype)
    assert_same(numba_conv.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                reference.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding), dtype)


@pytest.mark.parametrize("padding", [(1, 1), (0, 0)], ids=["padded", "unpadded"])
@pytest.mark.parametrize("pixels_per_chunk", [1, 5, 7, 100])
@pytest.mark.parametrize("out_channels", [4, 3], ids=["O>C", "O=C"])
def test_numba_chunking_does_not_change_results(monkeypatch, pixels_per_chunk, padding, out_channels):
    """The output pixels are processed in chunks (5 per chunk: the last of 36 or 16 pixels
    is alone; 7: a chunk starts in the middle of a row; 100: one chunk for all). With O = C
    and padding, the input gradient is a chunked conv of grad_y instead of col2im."""
    x, weight, bias, grad_y, stride, padding = make_conv((5, 3, 6, 6, out_channels, 3, 3, (1, 1), padding),
                                                         np.float64)
    # C*kH*kW rows (+1: the forward's bias row), N images; the 27-row cols of the backward
    # get the same number of pixels per chunk (floor(p * 28 / 27) = p for p < 27)
    cols_bytes_per_pixel = (3 * 3 * 3 + 1) * 5 * 8
    monkeypatch.setattr(numba_conv, "CHUNK_BYTES", pixels_per_chunk * cols_bytes_per_pixel)
    np.testing.assert_allclose(numba_conv.conv2d_forward(x, weight, bias, stride, padding),
                               reference.conv2d_forward(x, weight, bias, stride, padding))
    np.testing.assert_allclose(numba_conv.conv2d_backward_input(grad_y, weight, x.shape, stride, padding),
                               reference.conv2d_backward_input(grad_y, weight, x.shape, stride, padding))
    np.testing.assert_allclose(numba_conv.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                               reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding))
    saved = {}                                           # kept cols with the bias row, per chunk
    numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved)
    got = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (True, True, True), saved)
    for g, w in zip(got, reference.conv2d_backward(grad_y, x, weight, stride, padding)):
        np.testing.assert_allclose(g, w)


def test_numba_accepts_non_contiguous_inputs():
    x, weight, bias, grad_y, stride, padding = make_conv(CONV_CASES[2], np.float64)
    xt = np.asfortranarray(x)
    wt = weight[:, ::-1].copy()[:, ::-1]  # a negative-stride view
    np.testing.assert_allclose(numba_conv.conv2d_forward(xt, wt, bias, stride, padding),
                               reference.conv2d_forward(x, weight, bias, stride, padding))
    np.testing.assert_allclose(numba_conv.conv2d_backward_weight(np.asfortranarray(grad_y), xt, weight.shape,
                                                                 stride, padding),
                               reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding))
    np.testing.assert_allclose(numba_conv.bias_backward(np.asfortranarray(grad_y)), reference.bias_backward(grad_y))


NEEDS = [(True, True, True), (True, False, False), (False, True, False), (False, False, True),
         (False, True, True)]


def assert_gradients(got, want, needs):
    """(grad_x, grad_w, grad_b) equal to want where needed, None elsewhere."""
    for need, g, w in zip(needs, got, want):
        if need:
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, **TOL[np.float64])
        else:
            assert g is None


@pytest.mark.parametrize("needs", NEEDS, ids=lambda n: "".join("xwb"[i] for i in range(3) if n[i]))
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_conv2d_backward_in_one_call_matches_the_three_kernels(backend, needs):
    """What the autograd layer calls: the three gradients at once, None where not needed."""
    module = kernels.BACKENDS[backend]
    for case in (CONV_CASES[1], CONV_CASES[3], CONV_CASES[4]):
        x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
        got = module.conv2d_backward(grad_y, x, weight, stride, padding, needs)
        want = (reference.conv2d_backward_input(grad_y, weight, x.shape, stride, padding),
                reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                reference.bias_backward(grad_y))
        assert_gradients(got, want, needs)


@pytest.mark.parametrize("needs", NEEDS, ids=lambda n: "".join("xwb"[i] for i in range(3) if n[i]))
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_conv_transpose2d_backward_in_one_call_matches_the_three_kernels(backend, needs):
    module = kernels.BACKENDS[backend]
    for case in (TCONV_CASES[1], TCONV_CASES[2]):
        x, weight, bias, grad_y, stride, padding, _ = make_tconv(case, np.float64)
        got = module.conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs)
        want = (reference.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding),
                reference.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                reference.bias_backward(grad_y))
        assert_gradients(got, want, needs)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[4]], ids=["3x3", "1x1"])
def test_numba_returns_batch_last_views_and_reads_any_layout(case):
    """Outputs are (C, H, W, N) in memory with the NCHW shape; inputs may be stored either way
    (or Fortran-ordered) and give the same numbers."""
    x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
    y = numba_conv.conv2d_forward(x, weight, bias, stride, padding)
    gx, gw, gb = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding)
    assert is_batch_last(y) and is_batch_last(gx) and gw.flags.c_contiguous
    assert y.shape == (x.shape[0], weight.shape[0]) + y.shape[2:] and gx.shape == x.shape
    for layout in (batch_last, np.asfortranarray):
        x2, gy2 = layout(x), layout(grad_y)
        if x.shape[0] > 1:                       # (with N = 1 batch-last is C-contiguous)
            assert not x2.flags.c_contiguous
        np.testing.assert_array_equal(numba_conv.conv2d_forward(x2, weight, bias, stride, padding), y)
        for a, b in zip(numba_conv.conv2d_backward(gy2, x2, weight, stride, padding), (gx, gw, gb)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_numba_conv_transpose2d_output_is_batch_last():
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv(TCONV_CASES[1], np.float32)
    y = numba_conv.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad)
    gx, _, _ = numba_conv.conv_transpose2d_backward(grad_y, x, weight, stride, padding)
    assert is_batch_last(y) and is_batch_last(gx)


@pytest.mark.parametrize("pixels_per_chunk", [1, 3])
def test_numba_transposed_backward_shares_one_im2col_per_chunk(monkeypatch, pixels_per_chunk):
    """grad_x and grad_w of a transposed conv come from the same chunked im2col of grad_y."""
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv((5, 3, 4, 4, 2, 5, 5, (2, 2), (2, 2), (1, 1)),
                                                                   np.float64)
    cols_bytes_per_pixel = (2 * 5 * 5) * 5 * 8                          # of x's 4x4 pixels
    monkeypatch.setattr(numba_conv, "CHUNK_BYTES", pixels_per_chunk * cols_bytes_per_pixel)
    gx, gw, gb = numba_conv.conv_transpose2d_backward(grad_y, x, weight, stride, padding)
    np.testing.assert_allclose(gx, reference.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding))
    np.testing.assert_allclose(gw, reference.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding))
    np.testing.assert_allclose(gb, reference.bias_backward(grad_y))
    np.testing.assert_allclose(numba_conv.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad),
                               reference.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad))


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("budget", ["default", "zero"])
@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3], CONV_CASES[4]], ids=["pad", "stride", "1x1"])
def test_numba_forward_keeps_cols_for_the_weight_gradient(monkeypatch, case, budget, with_bias):
    """With a ``saved`` dict the forward keeps its im2col matrix (when under the budget, and
    not for a 1x1 conv, whose cols is x itself); the backward uses it once, then drops it.
    With a bias the cols have one more row, all ones, and grad_b comes out of the weight
    gradient's product; without one (or without kept cols) grad_b is a sum of grad_y.
    The gradients are the same either way."""
    if budget == "zero":
        monkeypatch.setattr(numba_conv, "SAVE_COLS_BYTES", 0)
    x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
    bias = bias if with_bias else None
    saved = {}
    y = numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved)
    expect_cols = budget == "default" and weight.shape[2:] != (1, 1)
    assert ("cols" in saved) == expect_cols
    if expect_cols:                                      # [(q0, q1, cols of output pixels q0:q1)]
        k, p = weight[0].size, y.shape[2] * y.shape[3]
        assert [(q0, q1) for q0, q1, _ in saved["cols"]] == [(0, p)]
        cols = saved["cols"][0][2]
        assert cols.shape == (k + with_bias, p * x.shape[0])
        if with_bias:
            assert np.all(cols[k] == 1)                  # the bias row
    np.testing.assert_allclose(y, reference.conv2d_forward(x, weight, bias, stride, padding), **TOL[np.float64])
    got = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (True, True, True), saved)
    assert "cols" not in saved
    want = reference.conv2d_backward(grad_y, x, weight, stride, padding)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOL[np.float64])
    # a second backward over the same graph (two losses) recomputes the cols
    again = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (False, True, True), saved)
    np.testing.assert_allclose(again[1], want[1], **TOL[np.float64])
    np.testing.assert_allclose(again[2], want[2], **TOL[np.float64])


def test_numba_kept_cols_are_per_chunk(monkeypatch):
    x, weight, bias, grad_y, stride, padding = make_conv((5, 3, 6, 6, 4, 3, 3, (1, 1), (1, 1)), np.float64)
    monkeypatch.setattr(numba_conv, "CHUNK_BYTES", 16 * (3 * 3 * 3 + 1) * 5 * 8)   # 16 output pixels per chunk
                                                                                  # (+1: the bias row)
    saved = {}
    numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved)
    assert [(q0, q1) for q0, q1, _ in saved["cols"]] == [(0, 16), (16, 32), (32, 36)]
    assert all(np.all(cols[-1] == 1) for _, _, cols in saved["cols"])  # every chunk has its bias row
    _, gw, gb = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (False, True, True), saved)
    np.testing.assert_allclose(gw, reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding))
    np.testing.assert_allclose(gb, reference.bias_backward(grad_y))


def test_reference_ignores_the_saved_dict():
    x, weight, bias, grad_y, stride, padding = make_conv(CONV_CASES[1], np.float64)
    saved = {}
    reference.conv2d_forward(x, weight, bias, stride, padding, saved)
    assert saved == {}


def test_conv_layer_keeps_cols_only_when_the_weight_gradient_is_needed():
    from tinydagan import Tensor, no_grad
    from tinydagan.ops.conv import Conv2dFunction

    x, weight, bias, grad_y, stride, padding = make_conv(CONV_CASES[1], np.float64)
    with kernels.use_backend("numba"):
        w = Tensor(weight, requires_grad=True)
        y = Conv2dFunction.apply(Tensor(x), w, Tensor(bias), stride, padding)
        assert "cols" in y._ctx.kernel_saved
        frozen = Conv2dFunction.apply(Tensor(x, requires_grad=True), Tensor(weight), None, stride, padding)
        assert frozen._ctx.kernel_saved is None            # only grad_x wanted: nothing kept
        with no_grad():
            assert Conv2dFunction.apply(Tensor(x), w, None, stride, padding)._ctx is None
        y.backward(grad_y)
        np.testing.assert_allclose(w.grad, reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                                   **TOL[np.float64])
        assert "cols" not in y._ctx.kernel_saved           # used once, then freed


LAYOUTS = {
    "C": lambda a: a,
    "batch-last": batch_last,
    "fortran": np.asfortranarray,
    "gappy view": lambda a: np.concatenate([a, a], axis=3)[:, :, :, ::2],   # not contiguous at all
}


@pytest.mark.parametrize("slope", [0.2, 0.0, 1.0, 1.5, -0.3])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_kernels_match_the_definition(dtype, layout, slope):
    from tinydagan.kernels import numba_elementwise
    rng = np.random.default_rng(1)
    a = LAYOUTS[layout](rng.standard_normal((3, 4, 5, 6)).astype(dtype))
    g = LAYOUTS[layout](rng.standard_normal((3, 4, 5, 6)).astype(dtype))
    a[0, 0, 0, :2] = 0                                   # a == 0 takes the slope side
    want_y = np.where(a > 0, a, slope * a)
    want_g = np.where(a > 0, g, slope * g)
    for module in (reference, numba_elementwise):
        y = module.leaky_relu_forward(a, slope)
        assert y.dtype == dtype and y.shape == a.shape
        np.testing.assert_allclose(y, want_y, rtol=1e-6)
        grad = module.leaky_relu_backward(g, a, slope)
        assert grad.dtype == dtype
        np.testing.assert_allclose(grad, want_g, rtol=1e-6)
    if layout == "batch-last":                        # the fused kernel keeps the layout
        assert numba_elementwise.leaky_relu_forward(a, slope).strides == a.strides


def test_leaky_relu_backward_with_different_layouts_falls_back_correctly():
    from tinydagan.kernels import numba_elementwise
    rng = np.random.default_rng(2)
    a = LAYOUTS["batch-last"](rng.standard_normal((3, 4, 5, 6)).astype(np.float32))
    g = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)          # plain NCHW
    np.testing.assert_allclose(numba_elementwise.leaky_relu_backward(g, a, 0.2), np.where(a > 0, g, 0.2 * g),
                               rtol=1e-6)


def test_numba_kernels_reject_inconsistent_shapes_instead_of_crashing():
    """The Numba loops do not check indices: a grad_y of the wrong shape must be a ValueError
    (naming the expected shape), not a read or write outside the arrays."""
    x, weight, bias, grad_y, stride, padding = make_conv(CONV_CASES[2], np.float32)
    wrong = grad_y[:, :, :-1]
    with pytest.raises(ValueError, match=r"expected grad_y of shape \(2, 5, 4, 4\)"):
        numba_conv.conv2d_backward(wrong, x, weight, stride, padding)
    with pytest.raises(ValueError, match="grad_y"):
        numba_conv.conv2d_backward_input(wrong, weight, x.shape, stride, padding)
    with pytest.raises(ValueError, match="grad_y"):
        numba_conv.conv2d_backward_weight(wrong, x, weight.shape, stride, padding)
    with pytest.raises(ValueError, match="channels"):
        numba_conv.conv2d_forward(x[:, :2], weight, bias, stride, padding)
    with pytest.raises(ValueError, match="does not fit"):
        numba_conv.conv2d_forward(x[:, :, :1, :1], weight, bias, stride, (0, 0))
    with pytest.raises(ValueError, match="padding >= 0"):
        numba_conv.conv2d_forward(x, weight, bias, stride, (-1, 0))
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv(TCONV_CASES[1], np.float32)
    with pytest.raises(ValueError, match="expected x of shape"):
        numba_conv.conv_transpose2d_backward(grad_y[:, :, 3:], x, weight, stride, padding)
    with pytest.raises(ValueError, match="output_padding < stride"):
        numba_conv.conv_transpose2d_forward(x, weight, bias, stride, padding, (2, 2))
    with pytest.raises(ValueError, match="Cin"):
        numba_conv.conv_transpose2d_forward(x[:, :1], weight, bias, stride, padding, out_pad)


# ------------------------------------------------------------------ backend switch

def test_backend_switch_dispatches_at_call_time(monkeypatch):
    calls = []
    monkeypatch.setattr(reference, "bias_backward", lambda g: calls.append("reference"))
    monkeypatch.setattr(numba_conv, "bias_backward", lambda g: calls.append("numba"))
    before = kernels.get_backend()
    with kernels.use_backend("reference"):
        assert kernels.get_backend() == "reference"
        kernels.bias_backward(None)
        with kernels.use_backend("numba"):
            kernels.bias_backward(None)
        kernels.bias_backward(None)
    assert kernels.get_backend() == before
    assert calls == ["reference", "numba", "reference"]


def test_use_backend_restores_after_an_error():
    before = kernels.get_backend()
    with pytest.raises(ZeroDivisionError):
        with kernels.use_backend("reference"):
            1 / 0
    assert kernels.get_backend() == before


def test_unknown_backend_is_a_value_error_listing_the_valid_names():
    before = kernels.get_backend()
    with pytest.raises(ValueError, match=r"'cuda'.*\['numba', 'reference'\]"):
        kernels.set_backend("cuda")
    assert kernels.get_backend() == before


def test_backends_agree_through_the_dispatcher():
    x, weight, bias, _, stride, padding = make_conv(CONV_CASES[1], np.float64)
    results = []
    for name in ("reference", "numba"):
        with kernels.use_backend(name):
            results.append(kernels.conv2d_forward(x, weight, bias, stride, padding))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


# ------------------------------------------------------------------ optional: PyTorch

@pytest.mark.torch
@pytest.mark.parametrize("case", TCONV_CASES)
def test_conv_transpose2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv(case, np.float64)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    ty = torch.nn.functional.conv_transpose2d(tx, tw, torch.tensor(bias), stride, padding, out_pad)
    ty.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(kernels.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad),
                               ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(kernels.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding),
                               tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(kernels.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                               tw.grad.numpy(), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, torch.tensor(bias), stride, padding)
    ty.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(kernels.conv2d_forward(x, weight, bias, stride, padding),
                               ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(kernels.conv2d_backward_input(grad_y, weight, x.shape, stride, padding),
                               tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(kernels.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                               tw.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("geometry", [(3, 3, 1, 1, 1, 1), (3, 3, 2, 2, 1, 1), (3, 2, 2, 1, 2, 0),
                                      (2, 3, 1, 2, 0, 2), (3, 3, 1, 1, 0, 0)])
def test_im2col_fills_every_entry_and_col2im_is_its_adjoint(geometry):
    """One chunk in the middle of the output pixels (q0 > 0), buffers full of NaN: im2col
    writes every entry of cols (the border as zeros, without a padded copy of x), equal to
    a slice of the padded input; col2im adds back exactly what <cols, im2col(x)> says."""
    kh, kw, sh, sw, ph, pw = geometry
    rng = np.random.default_rng(0)
    c, h, w, n = 2, 5, 6, 3
    x = rng.standard_normal((c, h, w, n))                                         # (C, H, W, N)
    ho, wo = conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw)
    q0, q1 = 2, ho * wo - 1                                                       # pixels 2 .. P-2
    cols = np.full((c * kh * kw, (q1 - q0) * n), np.nan)
    numba_conv.im2col(x, kh, kw, sh, sw, ph, pw, wo, q0, cols)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    want = np.stack([xp[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
                     for i in range(kh) for j in range(kw)], axis=1)              # (C, kH*kW, Ho, Wo, N)
    want = want.reshape(c * kh * kw, ho * wo, n)[:, q0:q1].reshape(cols.shape)
    np.testing.assert_array_equal(cols, want)
    g = rng.standard_normal(cols.shape)
    gx = np.zeros_like(x)
    numba_conv.col2im(g, kh, kw, sh, sw, ph, pw, wo, q0, gx)
    # adjoint: <g, im2col(e)> = <col2im(g), e> for every unit vector e, i.e. for all of x:
    np.testing.assert_allclose(np.sum(g * cols), np.sum(gx * x), rtol=1e-12)
    gx_ref = np.zeros_like(xp)
    g5 = np.full((c, kh * kw, ho * wo, n), 0.0)
    g5[:, :, q0:q1] = g.reshape(c, kh * kw, q1 - q0, n)
    g5 = g5.reshape(c, kh, kw, ho, wo, n)
    for i in range(kh):
        for j in range(kw):
            gx_ref[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw] += g5[:, i, j]
    np.testing.assert_allclose(gx, gx_ref[:, ph : ph + h, pw : pw + w], rtol=1e-12)


@pytest.mark.parametrize("case, by_conv", [(CONV_CASES[-2], True), (CONV_CASES[-1], True),
                                           (CONV_CASES[1], False), (CONV_CASES[2], False)])
def test_numba_input_gradient_of_a_same_conv_is_a_conv_of_grad_y(monkeypatch, case, by_conv):
    """Stride 1, output as large as the input, O <= C: grad_x is computed as a convolution of
    grad_y with the flipped kernel (no col2im at all); otherwise by col2im. Same numbers."""
    x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
    want = reference.conv2d_backward_input(grad_y, weight, x.shape, stride, padding)
    calls = []
    real_col2im = numba_conv.col2im
    monkeypatch.setattr(numba_conv, "col2im", lambda *a: calls.append(1) or real_col2im(*a))
    got = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (True, False, False))[0]
    np.testing.assert_allclose(got, want, **TOL[np.float64])
    assert is_batch_last(got)
    assert (not calls) == by_conv


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients(backend):
    module = kernels.BACKENDS[backend]
    for case in (CONV_CASES[1], CONV_CASES[2], CONV_CASES[-2]):
        x, weight, bias, grad_y, stride, padding = make_conv((0,) + case[1:], np.float64)
        assert module.conv2d_forward(x, weight, bias, stride, padding).shape == grad_y.shape
        gx, gw, gb = module.conv2d_backward(grad_y, x, weight, stride, padding)
        assert gx.shape == x.shape and not gw.any() and not gb.any()
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv((0,) + TCONV_CASES[1][1:], np.float64)
    assert module.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad).shape == grad_y.shape
    gx, gw, gb = module.conv_transpose2d_backward(grad_y, x, weight, stride, padding)
    assert gx.shape == x.shape and not gw.any() and not gb.any()
