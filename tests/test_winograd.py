"""F(2x2, 3x3) Winograd convolution: the numpy reference against the loop definition, the
Numba version against the reference, and where the Numba backend takes it."""
import numpy as np
import pytest

import tinydagan as td
from tinydagan import nn
from tinydagan.kernels import numba_conv, numba_winograd, reference, winograd
from tinydagan.kernels.geometry import ConvGeometry

# (N, C, O, H, W, padding): odd and even outputs (tiles sticking out), 'same' and 'valid',
# padding 2 (the input gradient of a 'valid' conv), a 1x1 output
SHAPES = [(2, 3, 4, 5, 7, 1), (2, 3, 4, 6, 6, 0), (3, 5, 2, 8, 8, 1), (2, 2, 2, 3, 3, 0),
          (4, 2, 3, 5, 4, 2), (1, 1, 1, 4, 4, 1)]


def chwn(a):
    """NCHW -> a batch-last (C, H, W, N) array, as the Numba kernels take and return."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0))


def nchw(a):
    return a.transpose(3, 0, 1, 2)


def case(shape, seed=0, dtype=np.float64):
    n, c, o, h, w, p = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c, 3, 3)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    y = reference.conv2d_forward(x, weight, bias, (1, 1), (p, p))
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    return x, weight, bias, (p, p), y, grad_y


def test_the_1d_identity_four_multiplications_for_two_outputs():
    rng = np.random.default_rng(0)
    d, g = rng.standard_normal(4), rng.standard_normal(3)
    direct = np.array([d[0:3] @ g, d[1:4] @ g])               # 6 multiplications
    m = (winograd.G @ g) * (winograd.BT @ d)                  # 4 multiplications
    np.testing.assert_allclose(winograd.AT @ m, direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_reference_winograd_equals_the_loop_definition(shape):
    x, weight, bias, padding, y, grad_y = case(shape)
    np.testing.assert_allclose(winograd.conv2d_forward(x, weight, bias, padding), y, atol=1e-12)
    np.testing.assert_allclose(
        winograd.conv2d_backward_input(grad_y, weight, x.shape, padding),
        reference.conv2d_backward_input(grad_y, weight, x.shape, (1, 1), padding), atol=1e-12)
    np.testing.assert_allclose(
        winograd.conv2d_backward_weight(grad_y, x, padding),
        reference.conv2d_backward_weight(grad_y, x, weight.shape, (1, 1), padding), atol=1e-12)


def test_weight_transform_and_its_adjoint():
    """<U(w), g> = <w, U^T(g)>: the weight gradient's last step is the transform's adjoint."""
    rng = np.random.default_rng(1)
    w, g = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((4, 4, 3, 2))
    lhs = np.sum(winograd.transform_weight(w) * g)
    rhs = np.sum(w * winograd.transform_weight_adjoint(g))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_reference_refuses_other_kernels():
    with pytest.raises(ValueError, match="needs a 3x3 kernel, got 5x5"):
        winograd.conv2d_forward(np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 5, 5)), None, (0, 0))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("chunk_bytes", [None, 1])  # one chunk, or one tile per chunk
def test_numba_winograd_equals_the_reference(shape, chunk_bytes, monkeypatch):
    if chunk_bytes is not None:
        monkeypatch.setattr(numba_winograd, "CHUNK_BYTES", chunk_bytes)
    x, weight, bias, padding, y, grad_y = case(shape)
    kept = []
    y_fast = numba_winograd.conv2d_forward(chwn(x), weight, bias, padding, kept)
    np.testing.assert_allclose(nchw(y_fast), y, atol=1e-12)
    expected_w = reference.conv2d_backward_weight(grad_y, x, weight.shape, (1, 1), padding)
    for kept_v in (kept, None):  # the forward's V, or V computed again
        grad_w = numba_winograd.conv2d_backward_weight(chwn(grad_y), chwn(x), weight.shape, padding, kept_v)
        np.testing.assert_allclose(grad_w, expected_w, atol=1e-12)
    if padding[0] <= 2:
        grad_x = numba_winograd.conv2d_backward_input(chwn(grad_y), weight, padding)
        np.testing.assert_allclose(
            nchw(grad_x), reference.conv2d_backward_input(grad_y, weight, x.shape, (1, 1), padding),
            atol=1e-12)


def test_numba_winograd_in_float32_is_close_to_float64():
    x, weight, bias, padding, y, _ = case((4, 8, 6, 8, 8, 1))
    y32 = numba_winograd.conv2d_forward(chwn(x.astype(np.float32)), weight.astype(np.float32),
                                        bias.astype(np.float32), padding)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(nchw(y32), y, rtol=1e-4, atol=1e-4 * np.abs(y).max())


def test_the_adjoint_identity_of_the_fast_input_gradient():
    """<conv(x), g> = <x, conv^T(g)> with both sides computed by numba_winograd."""
    x, weight, _, padding, _, grad_y = case((2, 3, 4, 6, 6, 1), seed=3)
    y = nchw(numba_winograd.conv2d_forward(chwn(x), weight, None, padding))
    grad_x = nchw(numba_winograd.conv2d_backward_input(chwn(grad_y), weight, padding))
    np.testing.assert_allclose(np.sum(y * grad_y), np.sum(x * grad_x), rtol=1e-12)


def test_which_convs_the_numba_backend_runs_as_winograd():
    def g(k, s, p):
        return ConvGeometry(k, k, s, s, p, p)

    deep = numba_conv.WINOGRAD_MIN_CHANNELS
    assert numba_conv.uses_winograd(g(3, 1, 1), 16, 16, deep)                # the 32x32 networks' D
    assert numba_conv.uses_winograd(g(3, 1, 0), 16, 16, deep)
    assert not numba_conv.uses_winograd(g(3, 1, 1), 16, 16, deep - 1)        # too shallow
    assert not numba_conv.uses_winograd(g(3, 1, 1), 4, 4, deep)              # too small
    assert not numba_conv.uses_winograd(g(3, 2, 1), 16, 16, deep)            # stride 2
    assert not numba_conv.uses_winograd(g(5, 1, 2), 16, 16, deep)            # 5x5
    assert not numba_conv.uses_winograd(g(3, 1, 3), 16, 16, deep)            # padding 3


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Every 3x3 stride-1 conv takes the Winograd path, however small."""
    monkeypatch.setattr(numba_conv, "WINOGRAD_MIN_PIXELS", 1)
    monkeypatch.setattr(numba_conv, "WINOGRAD_MIN_CHANNELS", 1)


def test_the_numba_backend_takes_the_winograd_path_and_keeps_v(winograd_everywhere):
    x, weight, bias, padding, y, grad_y = case((2, 3, 4, 6, 6, 1), seed=4)
    saved = {}
    y_fast = numba_conv.conv2d_forward(x, weight, bias, (1, 1), padding, saved=saved)
    assert "winograd" in saved and "cols" not in saved
    np.testing.assert_allclose(y_fast, y, atol=1e-12)
    grads = numba_conv.conv2d_backward(grad_y, x, weight, (1, 1), padding, saved=saved)
    expected = reference.conv2d_backward(grad_y, x, weight, (1, 1), padding)
    assert saved == {}  # the kept V were used once, then dropped
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_a_conv_layer_on_the_winograd_path_passes_gradcheck(winograd_everywhere):
    rng = np.random.default_rng(5)
    layer = nn.Conv2d(2, 3, 3, padding=1, rng=rng).to(np.float64)
    x = td.Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    assert td.gradcheck(lambda x, w, b: td.functional.conv2d(x, w, b, padding=1),
                        [x, layer.weight, layer.bias])


def test_winograd_path_edge_cases(winograd_everywhere):
    """A wrong bias is refused, an empty batch works, kept V of another dtype is not used."""
    x, weight, bias, padding, y, grad_y = case((2, 3, 4, 6, 6, 1), seed=6)
    with pytest.raises(ValueError, match=r"expected a bias of shape \(4,\), got \(2,\)"):
        numba_conv.conv2d_forward(x, weight, bias[:2], (1, 1), padding)
    empty = numba_conv.conv2d_forward(x[:0], weight, bias, (1, 1), padding)
    assert empty.shape == (0, 4, 6, 6)
    saved = {}
    numba_conv.conv2d_forward(x.astype(np.float32), weight.astype(np.float32), None, (1, 1),
                              padding, saved=saved)
    _, grad_w, _ = numba_conv.conv2d_backward(grad_y, x, weight, (1, 1), padding, saved=saved)
    np.testing.assert_allclose(
        grad_w, reference.conv2d_backward_weight(grad_y, x, weight.shape, (1, 1), padding), atol=1e-12)
    saved = {}
    numba_conv.conv2d_forward(x, weight, None, (1, 1), padding, saved=saved)
    numba_conv.conv2d_backward(grad_y, x, weight, (1, 1), padding, (True, False, True), saved=saved)
    assert saved == {}  # no weight gradient asked for: the kept V are freed all the same
