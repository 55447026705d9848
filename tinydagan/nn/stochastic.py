"""Layers that draw random numbers in training mode and are the identity in eval mode.

Each takes an explicit ``np.random.Generator`` so that a run is reproducible from its seed
(and so that a checkpoint can save the generator's state).
"""
import numpy as np

from .. import functional as F
from .module import Module

__all__ = ["GaussianNoise", "Dropout"]


class GaussianNoise(Module):
    """x + N(0, std^2) in training; x in evaluation. The DAGAN discriminator's first layer."""

    def __init__(self, std, rng=None):
        super().__init__()
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std = std
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, x):
        return F.gaussian_noise(x, self.std, self.training, self.rng)

    def extra_repr(self):
        return f"std={self.std}"


class Dropout(Module):
    """Inverted dropout: zero with probability p, scale survivors by 1/(1-p); eval: identity."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"
