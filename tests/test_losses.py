"""The paper's losses against independent plain-numpy versions and by hand."""
import numpy as np
import pytest

import tinydagan as td
from tinydagan import losses

K = 3


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return dict(zr=rng.standard_normal((5, 2 * K)) * 3, yr=rng.integers(0, K, 5),
                zf=rng.standard_normal((4, 2 * K)) * 3, yf=rng.integers(0, K, 4))


def test_dagan_discriminator_loss_matches_numpy(batch):
    pr, pf = softmax(batch["zr"]), softmax(batch["zf"])
    expected = (-np.log(pr[np.arange(5), batch["yr"]]).mean()
                - np.log(pf[np.arange(4), batch["yf"] + K]).mean())
    got = losses.dagan_discriminator_loss(td.Tensor(batch["zr"]), batch["yr"], td.Tensor(batch["zf"]), batch["yf"], K)
    np.testing.assert_allclose(got.item(), expected, rtol=1e-12)


def test_class_consistency_loss_matches_numpy(batch):
    pr, pf = softmax(batch["zr"]), softmax(batch["zf"])
    r, f = np.arange(5), np.arange(4)
    l_data = -np.log(pr[r, batch["yr"]] + pr[r, batch["yr"] + K]).mean()
    l_gen = -np.log(pf[f, batch["yf"] + K] + pf[f, batch["yf"]]).mean()
    got = losses.class_consistency_loss(td.Tensor(batch["zr"]), batch["yr"], td.Tensor(batch["zf"]), batch["yf"], K)
    np.testing.assert_allclose(got.item(), l_data + l_gen, rtol=1e-12)


def test_generator_loss_and_probabilities_match_numpy(batch):
    pf = softmax(batch["zf"])
    got = losses.dagan_generator_loss(td.Tensor(batch["zf"]), batch["yf"], K)
    np.testing.assert_allclose(got.item(), -np.log(pf[np.arange(4), batch["yf"]]).mean(), rtol=1e-12)
    merged = losses.dagan_class_probabilities(batch["zr"], K)
    np.testing.assert_allclose(merged, softmax(batch["zr"])[:, :K] + softmax(batch["zr"])[:, K:], rtol=1e-12)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, rtol=1e-12)


def test_dagan_losses_by_hand_on_uniform_logits():
    z = td.Tensor(np.zeros((2, 2 * K)))
    y = np.array([0, 2])
    # uniform over 2K: each log p = -log(2K); each pair of classes: log(2 / 2K)
    np.testing.assert_allclose(losses.dagan_discriminator_loss(z, y, z, y, K).item(), 2 * np.log(2 * K))
    np.testing.assert_allclose(losses.class_consistency_loss(z, y, z, y, K).item(), 2 * np.log(K))
    np.testing.assert_allclose(losses.dagan_generator_loss(z, y, K).item(), np.log(2 * K))


def test_losses_are_stable_for_extreme_logits():
    z = np.zeros((1, 2 * K))
    z[0, 0] = 1e4
    got = losses.dagan_discriminator_loss(td.Tensor(z), np.array([0]), td.Tensor(z), np.array([0]), K).item()
    np.testing.assert_allclose(got, 1e4, rtol=1e-9)  # -log p(0) ~ 0, -log p(K) ~ 1e4
    assert np.isfinite(losses.class_consistency_loss(td.Tensor(z), np.array([1]), td.Tensor(z), np.array([1]), K).item())


def test_semi_gan_losses_match_numpy(batch):
    rng = np.random.default_rng(1)
    zr, zf = rng.standard_normal((5, K + 1)), rng.standard_normal((4, K + 1))
    pr, pf = softmax(zr), softmax(zf)
    expected = -np.log(pr[np.arange(5), batch["yr"]]).mean() - np.log(pf[:, K]).mean()
    np.testing.assert_allclose(losses.semi_discriminator_loss(td.Tensor(zr), batch["yr"], td.Tensor(zf), K).item(), expected)
    np.testing.assert_allclose(losses.semi_generator_loss(td.Tensor(zf), K).item(), -np.log(1 - pf[:, K]).mean())
    np.testing.assert_allclose(losses.semi_class_probabilities(zr, K).sum(axis=1), 1.0)


def test_vanilla_gan_losses_match_numpy():
    dr, df = np.array([[2.0], [-1.0]]), np.array([[0.5], [-30.0]])
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected_d = -np.log(sig(dr)).mean() - np.log(1 - sig(df)).mean()
    np.testing.assert_allclose(losses.gan_discriminator_loss(td.Tensor(dr), td.Tensor(df)).item(), expected_d)
    np.testing.assert_allclose(losses.gan_generator_loss(td.Tensor(df)).item(), -np.log(sig(df)).mean(), rtol=1e-10)


def test_feature_matching_and_classifier_loss():
    fr, ff = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(losses.feature_matching_loss(td.Tensor(fr), td.Tensor(ff)).item(), 1.0 + 4.0)
    z = np.random.default_rng(2).standard_normal((3, 4))
    y = np.array([0, 3, 1])
    np.testing.assert_allclose(losses.classifier_loss(td.Tensor(z), y).item(), -np.log(softmax(z)[np.arange(3), y]).mean())


@pytest.mark.parametrize("name", ["dagan_d", "consistency", "dagan_g", "semi_d", "semi_g", "gan_d", "gan_g", "fm", "c"])
def test_loss_gradcheck(name, batch):
    target = td.Tensor(np.random.default_rng(3).standard_normal((3, 2 * K)))
    zr, zf = td.Tensor(batch["zr"], requires_grad=True), td.Tensor(batch["zf"], requires_grad=True)
    yr, yf = batch["yr"], batch["yf"]
    fn, inputs = {
        "dagan_d": (lambda a, b: losses.dagan_discriminator_loss(a, yr, b, yf, K), [zr, zf]),
        "consistency": (lambda a, b: losses.class_consistency_loss(a, yr, b, yf, K), [zr, zf]),
        "dagan_g": (lambda b: losses.dagan_generator_loss(b, yf, K), [zf]),
        "semi_d": (lambda a, b: losses.semi_discriminator_loss(a[:, :K + 1], yr, b[:, :K + 1], K), [zr, zf]),
        "semi_g": (lambda b: losses.semi_generator_loss(b[:, :K + 1], K), [zf]),
        "gan_d": (lambda a, b: losses.gan_discriminator_loss(a[:, :1], b[:, :1]), [zr, zf]),
        "gan_g": (lambda b: losses.gan_generator_loss(b[:, :1]), [zf]),
        "fm": (lambda b: losses.feature_matching_loss(target, b), [zf]),
        "c": (lambda a: losses.classifier_loss(a, yr), [zr]),
    }[name]
    assert td.gradcheck(fn, inputs)


def test_wrong_shapes_raise():
    with pytest.raises(ValueError, match=r"expected logits \(N, 6\) and labels \(N,\)"):
        losses.dagan_generator_loss(td.Tensor(np.zeros((2, 5))), np.array([0, 1]), K)
