"""What any correct convolution kernel must satisfy, run on both backends.

The reference against the definitions (loop formulas, written here from scratch), the
im2col stepping stone against the reference, the adjoint identities, the Numba kernels
against the reference, and the interface every backend shares (the table in
``tinydagan/kernels/interface.py`` and its dispatchers). The Numba kernels' own
internals (chunks, kept columns, the bias row, ...) are tested in test_numba_kernels.py.
"""
import inspect

import numpy as np
import pytest

from tinydagan import kernels
from tinydagan.kernels import numba_conv, reference
from tinydagan.kernels.geometry import ConvGeometry
from tinydagan.kernels.interface import KERNELS

from conv_cases import CONV_CASES, TCONV_CASES, TOL, conv_out, make_conv, make_tconv, tconv_out
from layouts import LAYOUTS

BACKEND_NAMES = sorted(kernels.BACKENDS)


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


@pytest.mark.parametrize("h, k, s, p, op", [(4, 5, 2, 2, 1), (7, 3, 2, 0, 1), (5, 4, 1, 2, 0), (9, 3, 3, 1, 2),
                                            (1, 1, 1, 0, 0)])
def test_conv_geometry_output_sizes_are_pytorch_formulas(h, k, s, p, op):
    """The two formulas, and the reason for output_padding: a conv maps the transposed
    conv's output size back to its input size whenever 0 <= output_padding < stride."""
    geometry = ConvGeometry.of((k, k + 1), (s, s), (p, p))
    assert geometry.output_size(h, h + 2) == (conv_out(h, k, s, p), conv_out(h + 2, k + 1, s, p))
    ho, wo = geometry.transposed_output_size(h, h + 2, (op, op))
    assert (ho, wo) == (tconv_out(h, k, s, p, op), tconv_out(h + 2, k + 1, s, p, op))
    assert geometry.output_size(ho, wo) == (h, h + 2)
    assert ConvGeometry.of((1, 1), (1, 1), (0, 0)).is_pointwise and not geometry.is_pointwise


# ------------------------------------------------------------------ the stepping stone: im2col

@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_as_one_matrix_product_matches_the_loop_version(case):
    """w2 @ im2col(x) and its two other products give the reference's numbers."""
    x, weight, bias, grad_y, stride, padding = make_conv(case, np.float64)
    for b in (bias, None):
        np.testing.assert_allclose(reference.conv2d_forward_im2col(x, weight, b, stride, padding),
                                   reference.conv2d_forward(x, weight, b, stride, padding), **TOL[np.float64])
    got = reference.conv2d_backward_im2col(grad_y, x, weight, stride, padding)
    for g, want in zip(got, reference.conv2d_backward(grad_y, x, weight, stride, padding)):
        assert g.shape == want.shape
        np.testing.assert_allclose(g, want, **TOL[np.float64])


@pytest.mark.parametrize("case", CONV_CASES)
def test_reference_im2col_columns_are_windows_and_col2im_is_its_adjoint(case):
    x, weight, _, _, stride, padding = make_conv(case, np.float64)
    n, c, h, w = x.shape
    g = ConvGeometry.of(weight.shape[2:], stride, padding)
    ho, wo = g.output_size(h, w)
    cols = reference.im2col(x, g)
    assert cols.shape == (c * g.kh * g.kw, n * ho * wo)
    xp = np.pad(x, ((0, 0), (0, 0), (g.ph, g.ph), (g.pw, g.pw)))
    a, b = ho - 1, wo // 2                                      # column (n, a, b): one window
    window = xp[n - 1, :, a * g.sh : a * g.sh + g.kh, b * g.sw : b * g.sw + g.kw]
    np.testing.assert_array_equal(cols[:, ((n - 1) * ho + a) * wo + b], window.reshape(-1))
    rng = np.random.default_rng(1)
    g_cols = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(g_cols, cols), np.vdot(reference.col2im(g_cols, x.shape, g), x), rtol=1e-12)


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
    module = kernels.BACKENDS[backend].conv
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
    module = kernels.BACKENDS[backend].conv
    for case in (TCONV_CASES[1], TCONV_CASES[2]):
        x, weight, bias, grad_y, stride, padding, _ = make_tconv(case, np.float64)
        got = module.conv_transpose2d_backward(grad_y, x, weight, stride, padding, needs)
        want = (reference.conv_transpose2d_backward_input(grad_y, weight, x.shape, stride, padding),
                reference.conv_transpose2d_backward_weight(grad_y, x, weight.shape, stride, padding),
                reference.bias_backward(grad_y))
        assert_gradients(got, want, needs)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients(backend):
    module = kernels.BACKENDS[backend].conv
    for case in (CONV_CASES[1], CONV_CASES[2], CONV_CASES[-2]):
        x, weight, bias, grad_y, stride, padding = make_conv((0,) + case[1:], np.float64)
        assert module.conv2d_forward(x, weight, bias, stride, padding).shape == grad_y.shape
        gx, gw, gb = module.conv2d_backward(grad_y, x, weight, stride, padding)
        assert gx.shape == x.shape and not gw.any() and not gb.any()
    x, weight, bias, grad_y, stride, padding, out_pad = make_tconv((0,) + TCONV_CASES[1][1:], np.float64)
    assert module.conv_transpose2d_forward(x, weight, bias, stride, padding, out_pad).shape == grad_y.shape
    gx, gw, gb = module.conv_transpose2d_backward(grad_y, x, weight, stride, padding)
    assert gx.shape == x.shape and not gw.any() and not gb.any()


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


# ------------------------------------------------------------------ the interface and the backend switch

@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_every_backend_defines_the_interface_table(name):
    """Every row of interface.KERNELS, with exactly the table's parameters; a backend that
    keeps work takes ``saved`` as a keyword on the rows marked keeps_work, and only there."""
    backend = kernels.BACKENDS[name]
    for kernel in KERNELS:
        parameters = dict(inspect.signature(getattr(getattr(backend, kernel.family), kernel.name)).parameters)
        saved = parameters.pop("saved", None)
        assert str(inspect.Signature(list(parameters.values()))) == f"({kernel.parameters})", kernel.name
        if kernel.keeps_work and backend.keeps_work:
            assert saved is not None and saved.kind is inspect.Parameter.KEYWORD_ONLY and saved.default is None
        else:
            assert saved is None, kernel.name
        assert kernel.name in getattr(backend, kernel.family).__all__


def test_dispatchers_are_made_from_the_table_with_the_reference_docstrings():
    for kernel in KERNELS:
        dispatcher = getattr(kernels, kernel.name)
        assert kernel.name in kernels.__all__ and dispatcher.__name__ == kernel.name
        assert dispatcher.__doc__ == getattr(reference, kernel.name).__doc__
        assert ("saved" in inspect.signature(dispatcher).parameters) == kernel.keeps_work


def test_the_reference_never_sees_the_saved_dict():
    """The dispatcher passes ``saved`` only to a backend that keeps work in it."""
    x, weight, bias, grad_y, stride, padding = make_conv(CONV_CASES[1], np.float64)
    saved = {}
    with kernels.use_backend("reference"):
        y = kernels.conv2d_forward(x, weight, bias, stride, padding, saved=saved)
        kernels.conv2d_backward(grad_y, x, weight, stride, padding, saved=saved)
    assert saved == {}
    with kernels.use_backend("numba"):
        np.testing.assert_allclose(kernels.conv2d_forward(x, weight, bias, stride, padding, saved=saved), y,
                                   **TOL[np.float64])
    assert "cols" in saved


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
