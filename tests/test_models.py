"""The paper's networks (Table 2): shapes at 32x32 and 16x16, layer order, gradients."""
import numpy as np
import pytest

import tinydagan as td
from tinydagan import nn
from tinydagan.models import Discriminator, Generator, one_hot, sample_noise


def test_paper_generator_and_discriminator_shapes_at_32():
    rng = np.random.default_rng(0)
    G = Generator(10, 32, 1.0, rng=rng)
    assert [up.in_channels for up in G.ups] == [522, 266, 138]      # label maps concatenated
    assert [up.out_channels for up in G.ups] == [256, 128, 3]
    assert G.fc.out_features == 8192
    x = G.sample(4, rng, labels=np.array([0, 1, 2, 9]))
    assert x.shape == (4, 3, 32, 32) and np.abs(x.data).max() <= 1
    D = Discriminator(20, 1.0, rng=rng)
    convs = [m for m in D.convs if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192, 192]
    assert [type(c).__name__ for c in convs[-2:]] == ["NIN", "NIN"]
    assert D(x).shape == (4, 20) and D.features(x).shape == (4, 192)


def test_every_conv_and_nin_of_D_is_followed_by_leaky_relu():
    D = Discriminator(20, 0.125, slope=0.3, rng=np.random.default_rng(0))
    layers = list(D.convs)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            assert isinstance(layers[i + 1], nn.LeakyReLU) and layers[i + 1].negative_slope == 0.3
    kinds = [type(m).__name__ for m in layers if not isinstance(m, nn.LeakyReLU)]
    assert kinds == ["Conv2d"] * 3 + ["Dropout"] + ["Conv2d"] * 3 + ["Dropout"] + \
        ["Conv2d", "NIN", "NIN"]
    assert sum(isinstance(m, nn.LeakyReLU) for m in layers) == 9


def test_generator_layers_are_registered_in_module_lists():
    G = Generator(10, 32, 0.25, rng=np.random.default_rng(0))
    names = [name for name, _ in G.named_parameters()]
    assert [n for n in names if n.startswith("ups.")] == [
        f"ups.{i}.{p}" for i in range(3) for p in ("weight", "bias")]
    assert len(G.bns) == 2  # batch norm after every transposed conv but the last
    assert len(Generator(10, 32, 0.25, batch_norm=False, rng=np.random.default_rng(0)).bns) == 0


def test_classroom_networks_at_16_with_half_width():
    rng = np.random.default_rng(0)
    G = Generator(10, 16, 0.5, rng=rng)
    assert len(G.ups) == 2 and G.widths == [256, 128, 3]               # one transposed conv fewer
    x = G.sample(3, rng, labels=np.array([1, 2, 3]))
    assert x.shape == (3, 3, 16, 16)
    D = Discriminator(11, 0.5, rng=rng)
    assert D(x).shape == (3, 11) and D.features(x).shape == (3, 96)


def test_generator_gradcheck_through_the_label_maps():
    rng = np.random.default_rng(1)
    G = Generator(3, 16, 0.02, noise_dim=4, batch_norm=False, rng=rng).to(np.float64)
    z = td.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert td.gradcheck(lambda z: G(z, np.array([0, 2])), [z])


def test_discriminator_is_deterministic_in_eval_mode_and_noisy_in_training():
    rng = np.random.default_rng(2)
    D = Discriminator(20, 0.125, rng=rng)
    x = td.Tensor(rng.uniform(-1, 1, (2, 3, 16, 16)).astype(np.float32))
    D.eval()
    np.testing.assert_array_equal(D(x).data, D(x).data)
    D.train()
    assert not np.array_equal(D(x).data, D(x).data)


def test_bad_inputs_are_named():
    rng = np.random.default_rng(3)
    G = Generator(10, 16, 0.125, rng=rng)
    with pytest.raises(ValueError, match=r"Generator: expected noise \(N, 100\)"):
        G(np.zeros((2, 99), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"expected labels \(N,\) = \(2,\)"):
        G(np.zeros((2, 100), np.float32), np.array([0]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        one_hot(np.array([10]), 10)
    with pytest.raises(ValueError, match="image_size must be 16 or 32"):
        Generator(10, 64)
    with pytest.raises(ValueError, match=r"Discriminator: expected images \(N, 3, H, W\)"):
        Discriminator(20, 0.125, rng=rng)(np.zeros((2, 1, 16, 16), np.float32))
    with pytest.raises(ValueError, match="unknown noise kind"):
        sample_noise(2, 3, rng, "cauchy")
