"""SVHN (Street View House Numbers), cropped-digits format ``*_32x32.mat``.

Each official file is a MATLAB v5 MAT-file with two variables:

- ``X``: uint8, shape (32, 32, 3, N) = (row, column, RGB, image)
- ``y``: shape (N, 1), labels 1..10 where **10 means the digit 0**

We return images (N, 32, 32, 3) uint8 and labels (N,) int64 in 0..9, so label
``k`` is digit ``k``. The files live in ``<root>/svhn/`` (where the download
command puts them) or directly in ``<root>/``.

A re-saved file may hold ``X`` as double or int16: its values are converted to
uint8 only if every one is an integer in 0..255 (exactly what a pixel can
be); anything else is refused, never wrapped or rounded.
"""
import numpy as np

from .errors import DatasetError
from .files import require_folder
from .matfile import read_mat
from .paths import data_root, missing_data_message
from .split import Split

__all__ = ["CLASSES", "FILES", "SUBDIR", "exact_uint8", "svhn_arrays", "find_svhn_file",
           "load_svhn"]

CLASSES = tuple(str(d) for d in range(10))
FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
SUBDIR = "svhn"


def exact_uint8(x: np.ndarray, what: str) -> np.ndarray:
    """Any numeric array whose values are all integers 0..255 -> uint8 (same values); else refuse."""
    if x.dtype == np.uint8:
        return x
    bad = ~(np.isfinite(x) & (x == np.round(x)) & (x >= 0) & (x <= 255))
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), x.shape)
        raise DatasetError(f"{what} must hold pixel values, integers 0..255; found {x.dtype} "
                           f"value {x[i]} at index {tuple(int(k) for k in i)}")
    return x.astype(np.uint8)


def svhn_arrays(variables: dict, name: str = "<mat>"):
    """Check the ``X`` / ``y`` variables of an SVHN file; return (images, labels).

    ``images`` (N, 32, 32, 3) uint8, ``labels`` (N,) int64 in 0..9.
    """
    if "X" not in variables or "y" not in variables:
        raise DatasetError(f"{name}: expected variables 'X' and 'y', found "
                           f"{sorted(variables) or 'none'}")
    x, y = variables["X"], variables["y"]
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise DatasetError(f"{name}: 'X' must have shape (32, 32, 3, N), found {x.dtype} {x.shape}")
    x = exact_uint8(x, f"{name}: 'X'")
    n = x.shape[3]
    if y.shape not in ((n, 1), (1, n)):
        raise DatasetError(f"{name}: 'y' must have shape ({n}, 1) to match X, found {y.shape}")
    y = y.reshape(-1)
    if y.size and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))
                   or y.min() < 1 or y.max() > 10):
        raise DatasetError(f"{name}: labels in 'y' must be integers 1..10 (10 = digit 0), "
                           f"found values {y.min()}..{y.max()}")
    labels = y.astype(np.int64) % 10  # 10 -> 0, 1..9 unchanged
    images = np.ascontiguousarray(x.transpose(3, 0, 1, 2))  # (N, 32, 32, 3)
    return images, labels


def find_svhn_file(split: str, root=None):
    """Path of the ``.mat`` file for ``split`` under the data root."""
    if split not in FILES:
        raise DatasetError(f"SVHN split must be one of {sorted(FILES)}, got {split!r}")
    base = require_folder(data_root(root), "data root")
    places = [base / SUBDIR / FILES[split], base / FILES[split]]
    for path in places:
        if path.exists():  # not is_file(): a FIFO here is reported when read, not skipped
            return path
    raise DatasetError(missing_data_message(f"SVHN {FILES[split]}", places, "svhn"))


def load_svhn(split: str = "train", root=None) -> Split:
    """Load SVHN ``split`` ("train", "test" or "extra") as a :class:`Split`."""
    path = find_svhn_file(split, root)
    images, labels = svhn_arrays(read_mat(path), str(path))
    return Split(images, labels, CLASSES)
