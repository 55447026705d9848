"""Convolution layers: ``Conv2d``, ``ConvTranspose2d`` and ``NIN``.

Output sizes are PyTorch's formulas (dilation 1), written once in ``ConvGeometry``
(tinydagan/kernels/geometry.py); the layers' ``output_size`` methods ask it.

A transposed convolution with kernel 5, stride 2, padding 2, output_padding 1 exactly
doubles the size (4 -> 8 -> 16 -> 32), which is how the DAGAN generator grows its images.
"""
import numpy as np

from .. import functional as F
from ..kernels.geometry import ConvGeometry, check_conv_arguments
from .init import current_weight, init_weight
from .module import Module

__all__ = ["Conv2d", "ConvTranspose2d", "NIN"]


def _check_input(layer, x, channels):
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{layer!r}: expected input (N, {channels}, H, W), got shape {x.shape}")


class Conv2d(Module):
    """(N, in_channels, H, W) -> (N, out_channels, H_out, W_out); weight (out, in, kH, kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 weight_norm=False, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = F.pair(kernel_size, "kernel_size")
        self.stride, self.padding = F.pair(stride, "stride"), F.pair(padding, "padding")
        check_conv_arguments(type(self).__name__, self.kernel_size, self.stride, self.padding)
        kh, kw = self.kernel_size
        init_weight(self, (out_channels, in_channels, kh, kw), in_channels * kh * kw, bias,
                    weight_norm, rng, dtype)

    def output_size(self, h, w):
        """(H_out, W_out) for an (h, w) input."""
        return ConvGeometry.of(self.kernel_size, self.stride, self.padding).output_size(h, w)

    def forward(self, x):
        _check_input(self, x, self.in_channels)
        return F.conv2d(x, current_weight(self), self.bias, self.stride, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + (", weight_norm=True" if self.weight_norm else ""))


class NIN(Conv2d):
    """Network-in-Network layer: a 1x1 convolution, i.e. the same small fully connected
    layer applied to the channel vector at every pixel. (N, in, H, W) -> (N, out, H, W)."""

    def __init__(self, in_channels, out_channels, bias=True, weight_norm=False, rng=None,
                 dtype=np.float32):
        super().__init__(in_channels, out_channels, 1, 1, 0, bias, weight_norm, rng, dtype)


class ConvTranspose2d(Module):
    """(N, in_channels, H, W) -> (N, out_channels, H_out, W_out); weight (in, out, kH, kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = F.pair(kernel_size, "kernel_size")
        self.stride, self.padding = F.pair(stride, "stride"), F.pair(padding, "padding")
        self.output_padding = F.pair(output_padding, "output_padding")
        check_conv_arguments("ConvTranspose2d", self.kernel_size, self.stride, self.padding, self.output_padding)
        kh, kw = self.kernel_size
        # PyTorch computes fan_in from weight.shape[1] * kH * kW for transposed convs
        init_weight(self, (in_channels, out_channels, kh, kw), out_channels * kh * kw, bias,
                    False, rng, dtype, dim=1)

    def output_size(self, h, w):
        """(H_out, W_out) for an (h, w) input."""
        geometry = ConvGeometry.of(self.kernel_size, self.stride, self.padding)
        return geometry.transposed_output_size(h, w, self.output_padding)

    def forward(self, x):
        _check_input(self, x, self.in_channels)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}")
