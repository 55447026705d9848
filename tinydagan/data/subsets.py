"""Class-balanced subsets: exactly ``per_class`` images of every class.

The paper trains with n labelled images per class (50 to 1000). Which images
form the subset is decided by a ``data_seed`` kept separate from the model
seed, so two runs can share the same images while initialising differently::

    rng = np.random.default_rng(data_seed)
    x_small, y_small = class_balanced_subset(x, y, per_class=50, rng=rng)

The algorithm is deterministic given the generator: classes are visited in
order 0, 1, 2, ...; for each, ``rng.permutation`` of that class's indices (in
file order) is drawn and its first ``per_class`` entries are kept. NumPy's
``default_rng`` (PCG64) gives the same stream on every machine, so the same
seed selects the same images everywhere. The kept indices are returned sorted,
i.e. in file order.

Experiments choose their stopping step on a *validation* set held out from the
training pool (:func:`train_val_split`), never on the test set.
"""
import numpy as np

from .errors import DatasetError

__all__ = ["class_balanced_indices", "class_balanced_subset", "train_val_split"]


def _num_classes(y: np.ndarray, num_classes) -> int:
    if y.ndim != 1:
        raise DatasetError(f"labels must be 1-D (N,), got shape {y.shape}")
    if num_classes is None:
        return int(y.max()) + 1 if y.size else 0
    return int(num_classes)


def class_balanced_indices(y: np.ndarray, per_class: int, rng: np.random.Generator,
                           num_classes=None) -> np.ndarray:
    """Indices (per_class * C,) int64, sorted, with exactly ``per_class`` of each class.

    ``y``: (N,) integer labels. ``num_classes`` defaults to ``y.max() + 1``.
    """
    if not isinstance(rng, np.random.Generator):
        raise DatasetError(f"rng must be a numpy Generator (np.random.default_rng(data_seed)), "
                           f"got {type(rng).__name__}")
    if not isinstance(per_class, (int, np.integer)) or per_class < 0:
        raise DatasetError(f"per_class must be a non-negative int, got {per_class!r}")
    y = np.asarray(y)
    chosen = []
    for c in range(_num_classes(y, num_classes)):
        members = np.flatnonzero(y == c)
        if per_class > len(members):
            raise DatasetError(f"per_class={per_class} but class {c} has only "
                               f"{len(members)} images")
        chosen.append(members[rng.permutation(len(members))[:per_class]])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def class_balanced_subset(x: np.ndarray, y: np.ndarray, per_class: int,
                          rng: np.random.Generator, num_classes=None):
    """``(x[idx], y[idx])`` for :func:`class_balanced_indices`; x is (N, ...), y (N,)."""
    if len(x) != len(y):
        raise DatasetError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    idx = class_balanced_indices(y, per_class, rng, num_classes)
    return x[idx], y[idx]


def train_val_split(x: np.ndarray, y: np.ndarray, val_per_class: int,
                    rng: np.random.Generator, num_classes=None):
    """Hold out ``val_per_class`` images of each class as a validation set.

    Returns ``(x_train, y_train, x_val, y_val)``: disjoint, together all of ``x``.
    Take the labelled training subset from ``x_train`` afterwards, so that the
    validation images are never trained on.
    """
    if len(x) != len(y):
        raise DatasetError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    val = class_balanced_indices(y, val_per_class, rng, num_classes)
    keep = np.ones(len(y), dtype=bool)
    keep[val] = False
    return x[keep], y[keep], x[val], y[val]
