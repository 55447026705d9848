"""Parameter-free layers: activations and global average pooling."""
from .. import functional as F
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GlobalAvgPool2d", "Flatten"]


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """max(x, 0) + negative_slope * min(x, 0); Improved-GAN's D uses slope 0.2."""

    def __init__(self, negative_slope=0.2):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C), the mean of each map."""

    def forward(self, x):
        return F.global_avg_pool2d(x)


class Flatten(Module):
    """(N, ...) -> (N, prod(...))."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)
