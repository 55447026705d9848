"""The paper's two networks (Table 2 of Zhang & Wu 2019), defined once.

Both are parametrised by ``image_size`` (32: the paper; 16: the classroom default) and a
``width`` multiplier on every hidden channel count (1.0: the paper; 0.5: classroom).

Generator G(z, y)  (shapes for image_size=32, width=1, K=10)
    input z (N, 100) and one-hot y (N, K), concatenated           # (N, 110)
    Linear -> 512 x 4 x 4, BatchNorm, ReLU                         # (N, 512, 4, 4)
    repeat: concat label maps, ConvTranspose2d 5x5 stride 2        # (N, 522, 4, 4) -> (N, 256, 8, 8)
            (BatchNorm + ReLU, or Tanh after the last)             # ... -> (N, 3, 32, 32)
    At image_size=16 there is one transposed convolution fewer (4 -> 8 -> 16).
    With num_classes=0 the generator is unconditional (Vanilla GAN, Semi GAN).

Discriminator D(x)  (image_size=32, width=1)
    GaussianNoise (training only)                                  # (N, 3, 32, 32)
    conv3x3 96, conv3x3 96, conv3x3 96 stride 2, Dropout           # (N, 96, 16, 16)
    conv3x3 192, conv3x3 192, conv3x3 192 stride 2, Dropout        # (N, 192, 8, 8)
    conv3x3 192 (no padding), NIN 192, NIN 192                     # (N, 192, 6, 6)
    global average pooling                                         # (N, 192)
    Linear -> num_outputs                                          # (N, 2K) for DAGAN
    LeakyReLU(0.2) after every conv and NIN.

Choices the paper does not state (docs/paper.md) follow Salimans et al. 2016 ("Improved
Techniques for Training GANs"), whose CIFAR-10 discriminator this is, and a PyTorch run of
the same recipe made before this library (docs/methods.md): input noise std 0.2 (Salimans:
0.15), dropout 0.5 after each stride-2 block, LeakyReLU slope 0.2, batch norm in G,
optional weight normalisation in D (off by default: it slows each step and that PyTorch
run did not use it).
The number of D outputs depends on the method: K (C), K+1 (Semi GAN), 2K (DAGAN), 1 (GAN).
"""
import numpy as np

from . import nn, ops
from .tensor import Tensor

__all__ = ["Generator", "Discriminator", "one_hot", "NOISE_DIM"]

NOISE_DIM = 100


def one_hot(labels, num_classes, dtype=np.float32):
    """(N,) ints -> (N, num_classes) one-hot rows."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    out = np.zeros((labels.shape[0], num_classes), dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def _channels(width, base):
    return max(1, int(round(base * width)))


class Generator(nn.Module):
    """G(z, y): (N, noise_dim) noise and (N,) labels -> (N, 3, image_size, image_size) in [-1, 1]."""

    def __init__(self, num_classes=10, image_size=32, width=1.0, noise_dim=NOISE_DIM,
                 batch_norm=True, rng=None):
        super().__init__()
        if image_size not in (16, 32):
            raise ValueError(f"Generator: image_size must be 16 or 32, got {image_size}")
        rng = np.random.default_rng() if rng is None else rng
        self.num_classes, self.image_size, self.noise_dim = num_classes, image_size, noise_dim
        n_up = {16: 2, 32: 3}[image_size]  # each transposed conv doubles: 4 -> 8 -> 16 (-> 32)
        widths = [_channels(width, 512 // 2 ** i) for i in range(n_up)] + [3]
        self.widths = widths
        self.fc = nn.Linear(noise_dim + num_classes, widths[0] * 16, rng=rng)
        self.fc_bn = nn.BatchNorm1d(widths[0] * 16) if batch_norm else None
        self.ups = nn.ModuleList(                                      # up-sampling: x2 each
            nn.ConvTranspose2d(widths[i] + num_classes, widths[i + 1], 5, stride=2, padding=2,
                               output_padding=1, rng=rng) for i in range(n_up))
        # batch norm after every transposed conv but the last (which ends in tanh)
        self.bns = nn.ModuleList(nn.BatchNorm2d(widths[i + 1]) for i in range(n_up - 1)
                                 if batch_norm)

    def _with_label_maps(self, h, y_onehot):
        """Concatenate the one-hot label as K constant feature maps.  (N, C, H, W) -> (N, C+K, H, W)"""
        if self.num_classes == 0:
            return h
        n, _, height, width = h.shape
        maps = np.broadcast_to(y_onehot[:, :, None, None], (n, self.num_classes, height, width))
        return ops.concatenate([h, maps.astype(h.dtype)], axis=1)

    def forward(self, z, labels=None):
        z = z if isinstance(z, Tensor) else Tensor(z)
        if z.ndim != 2 or z.shape[1] != self.noise_dim:
            raise ValueError(f"Generator: expected noise (N, {self.noise_dim}), got shape {z.shape}")
        if self.num_classes:
            if labels is None or np.shape(labels) != (z.shape[0],):
                raise ValueError(f"Generator: expected labels (N,) = ({z.shape[0]},), got "
                                 f"{None if labels is None else np.shape(labels)}")
            y = one_hot(labels, self.num_classes, z.dtype)
            h = ops.concatenate([z, y], axis=1)                       # (N, 100 + K)
        else:
            y, h = None, z
        h = self.fc(h)                                                 # (N, 16 * C0)
        if self.fc_bn is not None:
            h = self.fc_bn(h)
        h = ops.relu(h).reshape(z.shape[0], self.widths[0], 4, 4)      # (N, C0, 4, 4)
        for i, up in enumerate(self.ups):
            h = up(self._with_label_maps(h, y))                        # (N, C_{i+1}, 2H, 2W)
            if i == len(self.ups) - 1:
                return ops.tanh(h)                                     # (N, 3, S, S)
            h = ops.relu(self.bns[i](h) if len(self.bns) else h)

    def sample(self, n, rng, noise="uniform", labels=None):
        """Draw n images (labels (n,) for a conditional G) with z from ``rng``; no graph."""
        from .tensor import no_grad
        z = sample_noise(n, self.noise_dim, rng, noise)
        with no_grad():
            return self.forward(z, labels)


def sample_noise(n, noise_dim, rng, kind="uniform"):
    """z for the generator: U(0, 1) (the default; see docs/methods.md), U(-1, 1) or N(0, I)."""
    if kind == "uniform":
        return rng.random((n, noise_dim), dtype=np.float32)
    if kind == "uniform_signed":
        return rng.uniform(-1, 1, (n, noise_dim)).astype(np.float32)
    if kind == "normal":
        return rng.standard_normal((n, noise_dim), dtype=np.float32)
    raise ValueError(f"unknown noise kind {kind!r}; expected 'uniform', 'uniform_signed' or 'normal'")


class Discriminator(nn.Module):
    """D(x): (N, 3, S, S) images -> (N, num_outputs) logits. ``features(x)`` -> (N, 192w)."""

    def __init__(self, num_outputs, width=1.0, noise_std=0.2, dropout=0.5, weight_norm=False,
                 slope=0.2, rng=None):
        super().__init__()
        rng = np.random.default_rng() if rng is None else rng
        c1, c2 = _channels(width, 96), _channels(width, 192)
        self.num_outputs, self.feature_dim = num_outputs, c2

        def conv(cin, cout, k=3, stride=1, padding=1):  # every conv is followed by LeakyReLU
            return (nn.Conv2d(cin, cout, k, stride, padding, weight_norm=weight_norm, rng=rng),
                    nn.LeakyReLU(slope))

        def nin(c):
            return nn.NIN(c, c, weight_norm=weight_norm, rng=rng), nn.LeakyReLU(slope)

        self.noise = nn.GaussianNoise(noise_std, rng=rng)
        self.convs = nn.Sequential(
            *conv(3, c1), *conv(c1, c1), *conv(c1, c1, stride=2),        # (N, c1, S/2, S/2)
            nn.Dropout(dropout, rng=rng),
            *conv(c1, c2), *conv(c2, c2), *conv(c2, c2, stride=2),       # (N, c2, S/4, S/4)
            nn.Dropout(dropout, rng=rng),
            *conv(c2, c2, padding=0), *nin(c2), *nin(c2),                # (N, c2, S/4-2, S/4-2)
        )
        self.pool = nn.GlobalAvgPool2d()
        self.fc = nn.Linear(c2, num_outputs, weight_norm=weight_norm, rng=rng)

    def features(self, x):
        """The penultimate layer: global-average-pooled maps.  -> (N, 192 * width)"""
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"Discriminator: expected images (N, 3, H, W), got shape {x.shape}")
        return self.pool(self.convs(self.noise(x)))                    # (N, C2)

    def forward(self, x):
        return self.fc(self.features(x))                               # (N, num_outputs)
