"""``Split``: what every loader returns, images + labels + class names.

Shapes and types are fixed for the whole library so that later code never has
to guess:

- ``images``: ``(N, H, W, 3)`` ``uint8`` RGB, channels last (the file layout);
  :func:`tinydagan.data.scale.to_float_nchw` turns it into the network layout.
- ``labels``: ``(N,)`` ``int64`` in ``0 .. len(classes) - 1``.
- ``classes``: tuple of class names, ``classes[k]`` is the name of label ``k``.
"""
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError

__all__ = ["Split"]


@dataclass(frozen=True)
class Split:
    """One split (train, test, ...) of a dataset, checked on construction."""

    images: np.ndarray   # (N, H, W, 3) uint8
    labels: np.ndarray   # (N,) int64
    classes: tuple

    def __post_init__(self):
        x, y = self.images, self.labels
        if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
            raise DatasetError(
                f"Split.images must be a uint8 array of shape (N, H, W, 3), "
                f"got {getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')}")
        if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != (x.shape[0],):
            raise DatasetError(
                f"Split.labels must be int64 of shape ({x.shape[0]},), "
                f"got {getattr(y, 'dtype', type(y))} {getattr(y, 'shape', '')}")
        object.__setattr__(self, "classes", tuple(self.classes))
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise DatasetError(
                f"labels must lie in 0..{len(self.classes) - 1} (one per class name), "
                f"found {int(y.min())}..{int(y.max())}")

    def __len__(self):
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)
