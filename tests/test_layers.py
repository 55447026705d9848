"""Functional ops and layers: gradient checks in float64 on both kernel backends,
output shapes against PyTorch's formulas, train/eval behaviour, state dicts, bad input."""
import numpy as np
import pytest

import tinydagan as td
import tinydagan.functional as F
from tinydagan import kernels, nn

from layouts import batch_last, is_batch_last


@pytest.fixture(params=["reference", "numba"])
def backend(request):
    with kernels.use_backend(request.param):
        yield request.param


def t(shape, seed=0, requires_grad=True):
    return td.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)


@pytest.mark.parametrize("kernel, stride, padding", [((3, 3), 1, 1), ((3, 2), 2, 0), ((1, 1), 1, 0), ((2, 3), 2, 2)])
def test_conv2d_gradcheck(backend, kernel, stride, padding):
    x, w, b = t((2, 3, 5, 6), 1), t((4, 3) + kernel, 2), t((4,), 3)
    assert td.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding), [x, w, b])


@pytest.mark.parametrize("kernel, stride, padding, output_padding", [
    ((3, 3), 1, 1, 0), ((5, 5), 2, 2, 1), ((3, 2), 2, 0, 1), ((2, 2), 2, 1, 0)])
def test_conv_transpose2d_gradcheck(backend, kernel, stride, padding, output_padding):
    x, w, b = t((2, 3, 3, 4), 4), t((3, 2) + kernel, 5), t((2,), 6)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding)  # noqa: E731
    assert td.gradcheck(fn, [x, w, b])


def test_functional_gradchecks():
    x, w, b = t((4, 5), 1), t((3, 5), 2), t((3,), 3)
    assert td.gradcheck(F.linear, [x, w, b])
    assert td.gradcheck(F.global_avg_pool2d, [t((2, 3, 4, 5), 4)])
    assert td.gradcheck(lambda a: F.leaky_relu(a, 0.1), [t((3, 4), 5)])
    targets = np.array([0, 2, 1, 2])
    assert td.gradcheck(lambda z: F.cross_entropy(z, targets), [t((4, 3), 6)])
    rm, rv = np.zeros(3), np.ones(3)
    assert td.gradcheck(lambda a, g, b: F.batch_norm(a, rm.copy(), rv.copy(), g, b, True),
                        [t((4, 3, 2, 2), 7), t((3,), 8), t((3,), 9)])
    fixed_mask = lambda a: F.dropout(a, 0.3, True, np.random.default_rng(0))  # noqa: E731
    assert td.gradcheck(fixed_mask, [t((5, 4), 10)])


def test_cross_entropy_value_by_hand():
    logits = td.Tensor(np.array([[2.0, 0.0], [0.0, 0.0]]))
    expected = (-np.log(np.exp(2) / (np.exp(2) + 1)) + np.log(2)) / 2
    np.testing.assert_allclose(F.cross_entropy(logits, np.array([0, 1])).item(), expected)
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 2\)"):
        F.cross_entropy(logits, np.array([0, 2]))


# ----- layers -------------------------------------------------------------------------------
def _layers(rng):
    return [
        (nn.Linear(5, 3, rng=rng), (4, 5)),
        (nn.Linear(5, 3, weight_norm=True, rng=rng), (4, 5)),
        (nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, rng=rng), (2, 3, 5, 5)),
        (nn.Conv2d(3, 4, 3, padding=1, weight_norm=True, rng=rng), (2, 3, 4, 4)),
        (nn.NIN(3, 2, rng=rng), (2, 3, 3, 3)),
        (nn.ConvTranspose2d(3, 2, 5, stride=2, padding=2, output_padding=1, rng=rng), (2, 3, 2, 2)),
        (nn.BatchNorm1d(3), (6, 3)),
        (nn.BatchNorm2d(3), (4, 3, 2, 2)),
        (nn.LeakyReLU(0.2), (3, 4)),
        (nn.GlobalAvgPool2d(), (2, 3, 2, 2)),
        (nn.Sequential(nn.Conv2d(2, 3, 3, rng=rng), nn.ReLU(), nn.GlobalAvgPool2d(), nn.Linear(3, 2, rng=rng)),
         (2, 2, 4, 4)),
    ]


@pytest.mark.parametrize("index", range(11))
def test_layer_gradcheck_inputs_and_parameters(backend, index):
    layer, shape = _layers(np.random.default_rng(index))[index]
    layer.to(np.float64)
    x = t(shape, index)
    assert td.gradcheck(layer, [x])  # d(out)/d(input)
    copies = [td.Tensor(p.data.copy(), requires_grad=True) for p in layer.parameters()]
    if copies:  # d(out)/d(each parameter)
        assert td.gradcheck(lambda *ps: _with_params(layer, ps, x), copies)


def _with_params(layer, values, x):
    """Evaluate ``layer(x)`` with its parameters replaced by the Tensors ``values``."""
    names = [n for n, _ in layer.named_parameters()]
    saved = {}
    for name, v in zip(names, values):
        owner = layer
        *path, leaf = name.split(".")
        for part in path:
            owner = owner._modules[part]
        saved[name] = (owner, leaf, owner._parameters[leaf])
        object.__setattr__(owner, leaf, v)
    try:
        return layer(x.detach())
    finally:
        for owner, leaf, p in saved.values():
            object.__setattr__(owner, leaf, p)


@pytest.mark.parametrize("h, k, s, p, op", [(32, 5, 2, 2, 1), (4, 5, 2, 2, 1), (7, 3, 2, 0, 1), (5, 4, 1, 2, 0)])
def test_transposed_conv_output_size_formula(h, k, s, p, op):
    layer = nn.ConvTranspose2d(2, 3, k, stride=s, padding=p, output_padding=op, rng=np.random.default_rng(0))
    out = layer(t((1, 2, h, h + 1), requires_grad=False))
    assert out.shape[2:] == ((h - 1) * s - 2 * p + k + op, h * s - 2 * p + k + op)
    assert out.shape[2:] == layer.output_size(h, h + 1)


@pytest.mark.parametrize("h, k, s, p", [(32, 3, 1, 1), (32, 3, 2, 1), (7, 3, 2, 0), (6, (3, 1), 1, 2)])
def test_conv_output_size_formula(h, k, s, p):
    layer = nn.Conv2d(2, 3, k, stride=s, padding=p, rng=np.random.default_rng(0))
    kh, kw = F.pair(k)
    out = layer(t((1, 2, h, h), requires_grad=False))
    assert out.shape == (1, 3, (h + 2 * p - kh) // s + 1, (h + 2 * p - kw) // s + 1)


def test_batchnorm_train_vs_eval():
    bn = nn.BatchNorm2d(3, momentum=0.5)
    x = td.Tensor(np.random.default_rng(0).normal(3.0, 2.0, (8, 3, 4, 4)))
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    batch_mean = x.data.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean, 0.5 * batch_mean, rtol=1e-5)
    n = 8 * 16
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.data.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-4)
    bn.eval()
    y_eval = bn(x).data
    expected = (x.data - bn.running_mean.reshape(1, 3, 1, 1)) / np.sqrt(bn.running_var.reshape(1, 3, 1, 1) + bn.eps)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-4, atol=1e-5)


def test_gaussian_noise_and_dropout_only_in_training():
    x = td.Tensor(np.ones((200, 50)))
    noise = nn.GaussianNoise(0.3, rng=np.random.default_rng(0))
    y = noise(x).data
    assert abs(y.std() - 0.3) < 0.01 and abs(y.mean() - 1) < 0.01
    drop = nn.Dropout(0.5, rng=np.random.default_rng(1))
    d = drop(x).data
    assert set(np.unique(d)) == {0.0, 2.0} and abs((d == 0).mean() - 0.5) < 0.02
    for layer in (noise, drop):
        layer.eval()
        np.testing.assert_array_equal(layer(x).data, x.data)
    same = nn.GaussianNoise(0.3, rng=np.random.default_rng(0))(x).data
    np.testing.assert_array_equal(same, y)  # the explicit rng makes it reproducible


def test_weight_norm_matches_plain_weight_at_init_and_trains_v_and_g():
    rng = np.random.default_rng(0)
    layer = nn.Conv2d(3, 4, 3, weight_norm=True, rng=rng)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight_v", "weight_g", "bias"]
    w = nn.init.current_weight(layer).data
    np.testing.assert_allclose(w, layer.weight_v.data, rtol=1e-5)
    norms = np.sqrt((w ** 2).sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(norms, np.abs(layer.weight_g.data), rtol=1e-5)


def test_module_registry_modes_and_state_dict_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, rng=rng), nn.BatchNorm2d(4), nn.LeakyReLU(),
                        nn.GlobalAvgPool2d(), nn.Linear(4, 2, rng=rng))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert net.num_parameters() == 4 * 3 * 9 + 4 + 4 + 4 + 8 + 2
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    x = t((2, 3, 5, 5), requires_grad=False)
    net(x)  # moves the running statistics
    state = net.state_dict()
    assert "1.running_mean" in state
    td.save_npz(tmp_path / "net.npz", state)
    other = nn.Sequential(nn.Conv2d(3, 4, 3, rng=rng), nn.BatchNorm2d(4), nn.LeakyReLU(),
                          nn.GlobalAvgPool2d(), nn.Linear(4, 2, rng=rng))
    other.load_state_dict(td.load_npz(tmp_path / "net.npz"))
    net.eval(), other.eval()
    np.testing.assert_array_equal(net(x).data, other(x).data)


def test_load_state_dict_errors():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    state = layer.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['bias'\].*unexpected keys \['extra'\]"):
        layer.load_state_dict({"weight": state["weight"], "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'weight' has shape \(2, 4\) in the file but \(2, 3\)"):
        layer.load_state_dict({"weight": np.zeros((2, 4)), "bias": state["bias"]})


@pytest.mark.parametrize("make, shape, message", [
    (lambda r: nn.Conv2d(3, 4, 3, rng=r), (2, 5, 8, 8), r"Conv2d\(3, 4.*expected input \(N, 3, H, W\), got shape \(2, 5, 8, 8\)"),
    (lambda r: nn.Conv2d(3, 4, 3, rng=r), (3, 8, 8), r"expected input \(N, 3, H, W\), got shape \(3, 8, 8\)"),
    (lambda r: nn.ConvTranspose2d(4, 2, 5, 2, 2, 1, rng=r), (2, 3, 4, 4), r"ConvTranspose2d\(4, 2.*got shape"),
    (lambda r: nn.Linear(5, 2, rng=r), (2, 4), r"Linear\(in_features=5.*expected input \(N, 5\)"),
    (lambda r: nn.BatchNorm2d(3), (2, 3, 4), r"BatchNorm2d\(3.*expected a 4-d input"),
])
def test_wrong_input_raises_clear_value_error(make, shape, message):
    layer = make(np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        layer(t(shape, requires_grad=False))


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(3, 4, 3, padding=-1), lambda: nn.Conv2d(3, 4, 3, stride=0),
    lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), lambda: nn.Dropout(1.0),
    lambda: nn.GaussianNoise(-0.1),
])
def test_bad_layer_arguments_raise(make):
    with pytest.raises(ValueError):
        make()


def test_functional_conv_rejects_bad_shapes():
    with pytest.raises(ValueError, match="input has 2 channels but the weight"):
        F.conv2d(t((1, 2, 5, 5)), t((3, 4, 3, 3)))
    with pytest.raises(ValueError, match="padding >= 0"):
        F.conv2d(t((1, 2, 5, 5)), t((3, 2, 3, 3)), padding=-1)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.conv2d(t((1, 2, 2, 2)), t((3, 2, 3, 3)))


@pytest.mark.parametrize("make", [
    lambda: nn.ReLU(), lambda: nn.Tanh(), lambda: nn.Sigmoid(), lambda: nn.Flatten(),
    lambda: nn.GaussianNoise(0.3, rng=np.random.default_rng(0)),  # a fresh rng per call:
    lambda: nn.Dropout(0.4, rng=np.random.default_rng(0)),        # the same noise each time
])
def test_parameter_free_and_stochastic_layers_gradcheck(make):
    assert td.gradcheck(lambda x: make()(x), [t((3, 2, 2, 2), 11)])


def test_concatenate_and_dropout_keep_the_memory_layout_of_their_input():
    """A batch-last activation stays batch-last through a concatenate (label maps) and a
    dropout, so the next numba conv needs no layout copy; the values do not depend on it."""
    rng = np.random.default_rng(0)
    plain = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    maps = rng.standard_normal((4, 2, 5, 5)).astype(np.float32)
    for a, expect_batch_last in ((plain, False), (batch_last(plain), True)):
        x = td.Tensor(a, requires_grad=True)
        y = td.ops.concatenate([x, td.Tensor(maps)], axis=1)
        assert is_batch_last(y.data) == expect_batch_last and y.data.flags.c_contiguous != expect_batch_last
        np.testing.assert_array_equal(y.data, np.concatenate([plain, maps], axis=1))
        d = F.dropout(x, 0.5, True, np.random.default_rng(3))
        assert is_batch_last(d.data) == expect_batch_last
        keep = np.random.default_rng(3).random(plain.shape, dtype=np.float32) >= 0.5  # shape order
        np.testing.assert_array_equal(d.data, plain * keep * np.float32(2))
        d.sum().backward()
        np.testing.assert_array_equal(x.grad, keep * np.float32(2))


def test_generator_gives_its_transposed_convs_batch_last_inputs_with_numba():
    from tinydagan.models import Generator
    with kernels.use_backend("numba"):
        G = Generator(10, 16, 0.5, rng=np.random.default_rng(0))
        seen = []

        def recording(forward):
            def forward_and_record(x):
                seen.append(is_batch_last(x.data))
                return forward(x)
            return forward_and_record

        for up in G.ups:
            up.forward = recording(up.forward)
        G(np.random.default_rng(1).random((3, 100), dtype=np.float32), np.array([0, 4, 9]))
    # the first input comes from the linear layer (plain NCHW); the others follow a conv
    assert seen == [False] + [True] * (len(G.ups) - 1)
