"""Batch normalisation layers (Ioffe & Szegedy 2015)."""
import numpy as np

from .. import functional as F
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    expected_ndim = None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype))

    def forward(self, x):
        if x.ndim != self.expected_ndim or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected a {self.expected_ndim}-d input with "
                             f"{self.num_features} channels on axis 1, got shape {x.shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Normalise each feature of (N, C) over the batch."""
    expected_ndim = 2


class BatchNorm2d(_BatchNorm):
    """Normalise each channel of (N, C, H, W) over the batch and all pixels."""
    expected_ndim = 4
