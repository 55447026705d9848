"""The Numba kernels' own machinery: how ``numba_conv.py`` differs from the reference's
im2col stepping stone (the numbered steps of its docstring), each step tested against the
reference, and the fused element-wise kernels' layout fallbacks. What every kernel must
satisfy, on both backends, is in test_kernel_definitions.py.
"""
import numpy as np
import pytest

from tinydagan import kernels
from tinydagan.kernels import numba_conv, reference
from tinydagan.kernels.geometry import ConvGeometry

from conv_cases import CONV_CASES, TCONV_CASES, TOL, conv_out, make_conv, make_tconv
from layouts import LAYOUTS, batch_last, is_batch_last


# ------------------------------------------------------------------ 1. batch-last layout

@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3], CONV_CASES[12]])
def test_numba_im2col_is_the_reference_im2col_with_batch_last_columns(case):
    """Columns (a, b, n) instead of (n, a, b); the numbers themselves are the same copies."""
    x, weight, _, _, stride, padding = make_conv(case, np.float64)
    n, c, h, w = x.shape
    geometry = ConvGeometry.of(weight.shape[2:], stride, padding)
    ho, wo = geometry.output_size(h, w)
    cols = np.full((c * geometry.kh * geometry.kw, ho * wo * n), np.nan)
    numba_conv.im2col(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), geometry, wo, 0, cols)
    want = reference.im2col(x, geometry).reshape(-1, n, ho * wo).transpose(0, 2, 1).reshape(cols.shape)
    np.testing.assert_array_equal(cols, want)


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


# ------------------------------------------------------------------ 2. im2col / col2im without a padded copy

@pytest.mark.parametrize("sizes", [(3, 3, 1, 1, 1, 1), (3, 3, 2, 2, 1, 1), (3, 2, 2, 1, 2, 0),
                                   (2, 3, 1, 2, 0, 2), (3, 3, 1, 1, 0, 0)])
def test_im2col_fills_every_entry_and_col2im_is_its_adjoint(sizes):
    """One chunk in the middle of the output pixels (q0 > 0), buffers full of NaN: im2col
    writes every entry of cols (the border as zeros, without a padded copy of x), equal to
    a slice of the padded input; col2im adds back exactly what <cols, im2col(x)> says."""
    geometry = ConvGeometry(*sizes)
    kh, kw, sh, sw, ph, pw = sizes
    rng = np.random.default_rng(0)
    c, h, w, n = 2, 5, 6, 3
    x = rng.standard_normal((c, h, w, n))                                         # (C, H, W, N)
    ho, wo = conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw)
    q0, q1 = 2, ho * wo - 1                                                       # pixels 2 .. P-2
    cols = np.full((c * kh * kw, (q1 - q0) * n), np.nan)
    numba_conv.im2col(x, geometry, wo, q0, cols)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    want = np.stack([xp[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
                     for i in range(kh) for j in range(kw)], axis=1)              # (C, kH*kW, Ho, Wo, N)
    want = want.reshape(c * kh * kw, ho * wo, n)[:, q0:q1].reshape(cols.shape)
    np.testing.assert_array_equal(cols, want)
    g = rng.standard_normal(cols.shape)
    gx = np.zeros_like(x)
    numba_conv.col2im(g, geometry, wo, q0, gx)
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


# ------------------------------------------------------------------ 3. chunks (8. the transposed conv's, shared)

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
    numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved=saved)
    got = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (True, True, True), saved=saved)
    for g, w in zip(got, reference.conv2d_backward(grad_y, x, weight, stride, padding)):
        np.testing.assert_allclose(g, w)


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


# ------------------------------------------------------------------ 4. the bias row, 5. kept columns, 6. the 1x1 path

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
    y = numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved=saved)
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
    got = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (True, True, True), saved=saved)
    assert "cols" not in saved
    want = reference.conv2d_backward(grad_y, x, weight, stride, padding)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOL[np.float64])
    # a second backward over the same graph (two losses) recomputes the cols
    again = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (False, True, True), saved=saved)
    np.testing.assert_allclose(again[1], want[1], **TOL[np.float64])
    np.testing.assert_allclose(again[2], want[2], **TOL[np.float64])


def test_numba_kept_cols_are_per_chunk(monkeypatch):
    x, weight, bias, grad_y, stride, padding = make_conv((5, 3, 6, 6, 4, 3, 3, (1, 1), (1, 1)), np.float64)
    monkeypatch.setattr(numba_conv, "CHUNK_BYTES", 16 * (3 * 3 * 3 + 1) * 5 * 8)   # 16 output pixels per chunk
                                                                                  # (+1: the bias row)
    saved = {}
    numba_conv.conv2d_forward(x, weight, bias, stride, padding, saved=saved)
    assert [(q0, q1) for q0, q1, _ in saved["cols"]] == [(0, 16), (16, 32), (32, 36)]
    assert all(np.all(cols[-1] == 1) for _, _, cols in saved["cols"])  # every chunk has its bias row
    _, gw, gb = numba_conv.conv2d_backward(grad_y, x, weight, stride, padding, (False, True, True), saved=saved)
    np.testing.assert_allclose(gw, reference.conv2d_backward_weight(grad_y, x, weight.shape, stride, padding))
    np.testing.assert_allclose(gb, reference.bias_backward(grad_y))


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


# ------------------------------------------------------------------ 7. the input gradient as a conv of grad_y

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


# ------------------------------------------------------------------ shape checks, element-wise fallbacks

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


def test_leaky_relu_backward_with_different_layouts_falls_back_correctly():
    from tinydagan.kernels import numba_elementwise
    rng = np.random.default_rng(2)
    a = LAYOUTS["batch-last"](rng.standard_normal((3, 4, 5, 6)).astype(np.float32))
    g = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)          # plain NCHW
    np.testing.assert_allclose(numba_elementwise.leaky_relu_backward(g, a, 0.2), np.where(a > 0, g, 0.2 * g),
                               rtol=1e-6)
