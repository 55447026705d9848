"""Classic augmentation on float NCHW batches: random crop after padding + flip.

This is the "C_aug" / "DAGAN_aug" augmentation of the paper's baselines::

    pad every image by ``padding`` pixels on each side (reflect or zeros)
    crop a random H x W window from the (H + 2p) x (W + 2p) padded image
    mirror left-right with probability 1/2 (off for digits: a flipped 2 is no digit)

The crop is vectorised: instead of a Python loop over images we build, for
every image, the row and column indices of its window and gather all windows
with one fancy-indexing expression. :func:`random_crop_reference` is the
obvious loop; it draws the same random numbers, and the tests check that both
give identical results.

Note: with mode "zeros" the padding value is 0.0, which is mid-grey for images
scaled to [-1, 1] (see :mod:`tinydagan.data.scale`).
"""
import numpy as np

from .errors import DatasetError

__all__ = ["MODES", "random_crop", "random_crop_reference", "random_flip", "augment_batch"]

MODES = ("reflect", "zeros")


def _check(x, padding, mode, rng):
    if x.ndim != 4:
        raise DatasetError(f"expected a batch (N, C, H, W), got shape {x.shape}")
    if mode not in MODES:
        raise DatasetError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(padding, (int, np.integer)) or padding < 0:
        raise DatasetError(f"padding must be a non-negative int, got {padding!r}")
    if mode == "reflect" and padding >= min(x.shape[2:]):
        raise DatasetError(f"reflect padding must be smaller than the image "
                           f"({x.shape[2]}x{x.shape[3]}), got {padding}")
    if not isinstance(rng, np.random.Generator):
        raise DatasetError("rng must be np.random.default_rng(seed)")


def _pad(x, padding, mode):
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return np.pad(x, widths, mode="reflect" if mode == "reflect" else "constant")


def random_crop(x: np.ndarray, padding: int, rng: np.random.Generator,
                mode: str = "reflect") -> np.ndarray:
    """(N, C, H, W) -> (N, C, H, W): each image shifted by up to ``padding`` pixels."""
    _check(x, padding, mode, rng)
    n, c, h, w = x.shape
    padded = _pad(x, padding, mode)                           # (N, C, H+2p, W+2p)
    top = rng.integers(0, 2 * padding + 1, size=n)            # (N,)
    left = rng.integers(0, 2 * padding + 1, size=n)           # (N,)
    rows = top[:, None] + np.arange(h)                        # (N, H)
    cols = left[:, None] + np.arange(w)                       # (N, W)
    return padded[np.arange(n)[:, None, None, None],          # (N, 1, 1, 1)
                  np.arange(c)[None, :, None, None],          # (1, C, 1, 1)
                  rows[:, None, :, None],                     # (N, 1, H, 1)
                  cols[:, None, None, :]]                     # (N, 1, 1, W) -> (N, C, H, W)


def random_crop_reference(x: np.ndarray, padding: int, rng: np.random.Generator,
                          mode: str = "reflect") -> np.ndarray:
    """Loop version of :func:`random_crop` (same random draws, same result)."""
    _check(x, padding, mode, rng)
    n, _, h, w = x.shape
    padded = _pad(x, padding, mode)
    top = rng.integers(0, 2 * padding + 1, size=n)
    left = rng.integers(0, 2 * padding + 1, size=n)
    out = np.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, top[i]:top[i] + h, left[i]:left[i] + w]
    return out


def random_flip(x: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H, W): each image mirrored left-right with probability p."""
    if x.ndim != 4:
        raise DatasetError(f"expected a batch (N, C, H, W), got shape {x.shape}")
    flip = rng.random(len(x)) < p                             # (N,) bool
    return np.where(flip[:, None, None, None], x[..., ::-1], x)


def augment_batch(x: np.ndarray, rng: np.random.Generator, padding=None,
                  mode: str = "reflect", flip: bool = True) -> np.ndarray:
    """Random crop (``padding`` defaults to H // 8: 4 at 32x32, 2 at 16x16), then flip.

    Use ``flip=False`` for digits (SVHN). Returns a new (N, C, H, W) array.
    """
    if padding is None:
        padding = max(1, x.shape[2] // 8) if x.ndim == 4 else 0
    out = random_crop(x, padding, rng, mode)
    return random_flip(out, rng) if flip else out
