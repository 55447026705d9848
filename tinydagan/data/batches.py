"""Mini-batches: one pass over a dataset, or an endless stream from a tiny one.

:func:`iterate_batches` is the classic epoch loop (shuffle with an explicit
generator, optionally drop the last short batch). :class:`InfiniteSampler`
serves GAN training, where the labelled set may hold fewer images than one
batch (10 classes x 5 images = 50 < 64): it concatenates fresh permutations
of the data as needed, so every image appears once per cycle and batches are
always full.
"""
import numpy as np

from .errors import DatasetError

__all__ = ["iterate_batches", "InfiniteSampler"]


def _check(x, y, batch_size):
    if len(x) != len(y):
        raise DatasetError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DatasetError(f"batch_size must be a positive int, got {batch_size!r}")


def iterate_batches(x: np.ndarray, y: np.ndarray, batch_size: int, rng=None,
                    shuffle: bool = True, drop_last: bool = False):
    """Yield ``(x[idx], y[idx])`` batches covering the data once.

    ``x``: (N, ...), ``y``: (N,). With ``shuffle=True`` an ``np.random.Generator``
    ``rng`` is required; with ``drop_last=True`` a final batch smaller than
    ``batch_size`` is skipped.
    """
    _check(x, y, batch_size)
    if shuffle:
        if not isinstance(rng, np.random.Generator):
            raise DatasetError("shuffle=True needs rng=np.random.default_rng(seed)")
        order = rng.permutation(len(y))
    else:
        order = np.arange(len(y))
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        if drop_last and len(idx) < batch_size:
            break
        yield x[idx], y[idx]


class InfiniteSampler:
    """Endless full batches from a (possibly tiny) labelled set.

    ``sampler.next()`` returns ``(x_batch, y_batch)`` of length ``batch_size``.
    Indices come from consecutive permutations of ``range(N)`` drawn from
    ``rng``, so each image is used once per cycle before any is repeated.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator):
        _check(x, y, batch_size)
        if len(y) == 0:
            raise DatasetError("InfiniteSampler needs at least one example, got 0")
        if not isinstance(rng, np.random.Generator):
            raise DatasetError("rng must be np.random.default_rng(seed)")
        self.x, self.y, self.batch_size, self.rng = x, y, batch_size, rng
        self._queue = np.zeros(0, dtype=np.int64)

    def next(self):
        """The next ``(x_batch, y_batch)``: shapes (batch_size, ...) and (batch_size,)."""
        while len(self._queue) < self.batch_size:
            self._queue = np.concatenate([self._queue, self.rng.permutation(len(self.y))])
        idx, self._queue = self._queue[:self.batch_size], self._queue[self.batch_size:]
        return self.x[idx], self.y[idx]

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()
