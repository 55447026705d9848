"""Optimizers, parameter averaging and saving arrays."""
import numpy as np
import pytest

import tinydagan as td
from tinydagan import nn, optim


def param(values):
    return nn.Parameter(np.array(values, dtype=np.float64))


def test_adam_first_two_steps_by_hand():
    p = param([1.0, -2.0])
    opt = optim.Adam([p], lr=0.1, betas=(0.5, 0.9), eps=1e-8)
    g1, g2 = np.array([0.2, -0.4]), np.array([0.1, 0.3])
    p.grad = g1.copy()
    opt.step()
    # step 1: m = 0.5 g1, v = 0.1 g1^2, m_hat = g1, v_hat = g1^2 -> update = lr * sign(g1)
    p1 = np.array([1.0, -2.0]) - 0.1 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(p.data, p1, rtol=1e-12)
    np.testing.assert_allclose(p.data, [0.9, -1.9], atol=1e-7)
    p.grad = g2.copy()
    opt.step()
    m = 0.5 * (0.5 * g1) + 0.5 * g2
    v = 0.9 * (0.1 * g1 ** 2) + 0.1 * g2 ** 2
    update = 0.1 * (m / (1 - 0.25)) / (np.sqrt(v / (1 - 0.81)) + 1e-8)
    np.testing.assert_allclose(p.data, p1 - update, rtol=1e-12)


def test_sgd_momentum_by_hand_and_zero_grad():
    p = param([1.0])
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = np.array([1.0])
    opt.step()  # v = 1, p = 0.5
    p.grad = np.array([1.0])
    opt.step()  # v = 1.9, p = 0.5 - 0.95
    np.testing.assert_allclose(p.data, [-0.45])
    opt.zero_grad()
    assert p.grad is None


def test_adam_minimises_a_quadratic():
    p = param([3.0, -4.0])
    opt = optim.Adam([p], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((p - td.Tensor(np.array([1.0, 2.0]))) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, [1.0, 2.0], atol=1e-2)


def test_optimizer_state_dict_round_trip():
    p = param([1.0, 2.0])
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.array([0.5, -0.5])
    opt.step()
    q = param(p.data.copy())
    other = optim.Adam([q], lr=0.1)
    other.load_state_dict(opt.state_dict())
    p.grad = q.grad = np.array([0.1, 0.2])
    opt.step(), other.step()
    np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match="does not match"):
        other.load_state_dict({"step_count": np.array(1), "0.m": np.zeros(5)})


def test_ema_averages_and_swaps():
    layer = nn.Linear(2, 1, rng=np.random.default_rng(0))
    ema = optim.EMA(layer, decay=0.5)
    w0 = layer.weight.data.copy()
    layer.weight.data = w0 + 1.0
    ema.update()  # warm-up decay min(0.5, 2/11) = 2/11
    np.testing.assert_allclose(ema.shadow["weight"], w0 + 9 / 11, rtol=1e-6)
    for _ in range(20):
        ema.update()  # from t = 8 on the decay is 0.5
    np.testing.assert_allclose(ema.shadow["weight"], w0 + 1.0, rtol=1e-5)
    layer.weight.data = w0
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"], w0 + 0.5, rtol=1e-5)
    ema.swap_in()
    np.testing.assert_allclose(layer.weight.data, w0 + 0.5, rtol=1e-5)
    ema.swap_out()
    np.testing.assert_array_equal(layer.weight.data, w0)
    with pytest.raises(RuntimeError):
        ema.swap_out()


@pytest.mark.parametrize("bad", [dict(lr=0), dict(betas=(1.0, 0.9)), dict(eps=0)])
def test_adam_rejects_bad_hyperparameters(bad):
    with pytest.raises(ValueError, match="Adam"):
        optim.Adam([param([1.0])], **bad)


def test_save_npz_is_atomic_and_pickle_free(tmp_path):
    path = tmp_path / "sub" / "a.npz"
    td.save_npz(path, {"x": np.arange(3)})
    np.testing.assert_array_equal(td.load_npz(path)["x"], np.arange(3))
    assert [f.name for f in path.parent.iterdir()] == ["a.npz"]  # no temporary left behind
    with pytest.raises(ValueError):  # object arrays would need pickle
        td.save_npz(path, {"x": np.array([{"a": 1}], dtype=object)})
    np.testing.assert_array_equal(td.load_npz(path)["x"], np.arange(3))  # old file intact
    assert [f.name for f in path.parent.iterdir()] == ["a.npz"]
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a readable .npz array file: expected a zip "
                                         r"archive .* found one starting with b'not '"):
        td.load_npz(tmp_path / "junk.npz")        # not numpy's advice to unpickle it
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="found an empty file"):
        td.load_npz(tmp_path / "empty.npz")
    with pytest.raises(FileNotFoundError):
        td.load_npz(tmp_path / "missing.npz")
