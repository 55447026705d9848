"""Pixels <-> network inputs: uint8 NHWC in [0, 255] <-> float32 NCHW in [-1, 1].

The generator ends in ``tanh``, whose outputs lie in [-1, 1], so real images
are mapped to the same range::

    x_float = x_uint8 / 127.5 - 1          (0 -> -1, 255 -> +1)
    x_uint8 = round((x_float + 1) * 127.5)  clipped to 0..255

and moved from the file layout (N, H, W, C) to the layout of the layers
(N, C, H, W).
"""
import numpy as np

from .errors import DatasetError

__all__ = ["to_float_nchw", "to_uint8_nhwc"]


def to_float_nchw(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, C, H, W) float32 in [-1, 1]."""
    if x.dtype != np.uint8 or x.ndim != 4:
        raise DatasetError(f"expected uint8 images (N, H, W, C), got {x.dtype} {x.shape}")
    out = x.transpose(0, 3, 1, 2).astype(np.float32)  # (N, C, H, W)
    out /= np.float32(127.5)
    out -= np.float32(1.0)
    return out


def to_uint8_nhwc(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) float in [-1, 1] -> (N, H, W, C) uint8 (values outside are clipped)."""
    if x.ndim != 4 or not np.issubdtype(x.dtype, np.floating):
        raise DatasetError(f"expected float images (N, C, H, W), got {x.dtype} {x.shape}")
    pixels = np.rint((np.clip(x, -1.0, 1.0) + 1.0) * 127.5)
    return np.ascontiguousarray(pixels.astype(np.uint8).transpose(0, 2, 3, 1))
