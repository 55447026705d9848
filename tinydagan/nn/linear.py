"""``Linear``: y = x W^T + b."""
import numpy as np

from .. import functional as F
from .init import current_weight, init_weight
from .module import Module

__all__ = ["Linear"]


class Linear(Module):
    """(N, in_features) -> (N, out_features). Weight (out_features, in_features).

    ``weight_norm=True`` trains ``weight_v`` and ``weight_g`` instead (see ``init.py``).
    """

    def __init__(self, in_features, out_features, bias=True, weight_norm=False, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        init_weight(self, (out_features, in_features), in_features, bias, weight_norm, rng, dtype)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r}: expected input (N, {self.in_features}), got shape {x.shape}")
        return F.linear(x, current_weight(self), self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}"
                + (", weight_norm=True" if self.weight_norm else ""))
