"""Random crop after padding + random flip, vectorised vs loop reference."""
import numpy as np
import pytest

from tinydagan.data import DatasetError, augment_batch, random_crop, random_flip
from tinydagan.data.augment import random_crop_reference


def _batch(n=6, c=3, h=8, w=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)


@pytest.mark.parametrize("mode", ["reflect", "zeros"])
@pytest.mark.parametrize("padding", [0, 1, 3])
def test_vectorised_crop_matches_loop(mode, padding):
    x = _batch()
    fast = random_crop(x, padding, np.random.default_rng(1), mode)
    slow = random_crop_reference(x, padding, np.random.default_rng(1), mode)
    assert fast.shape == x.shape and fast.dtype == x.dtype
    np.testing.assert_array_equal(fast, slow)


def test_zero_padding_zero_shift_is_identity():
    x = _batch()
    np.testing.assert_array_equal(random_crop(x, 0, np.random.default_rng(2)), x)


def test_crop_is_a_shift_with_zero_fill():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) + 1
    seen = set()
    for seed in range(40):
        out = random_crop(x, 1, np.random.default_rng(seed), mode="zeros")[0, 0]
        # every output is x shifted by (dy, dx) in {-1, 0, 1}^2 with zeros shifted in
        match = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                 if np.array_equal(out, np.roll(np.pad(x[0, 0], 1), (dy, dx), (0, 1))[1:-1, 1:-1])]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) == 9  # all shifts occur


def test_reflect_padding_must_be_smaller_than_image():
    with pytest.raises(DatasetError, match="reflect padding must be smaller"):
        random_crop(_batch(h=4, w=4), 4, np.random.default_rng(0))


def test_flip_mirrors_about_half():
    x = _batch(n=400, h=2, w=5)
    out = random_flip(x, np.random.default_rng(3))
    flipped = np.array([np.array_equal(o, a[..., ::-1]) and not np.array_equal(o, a)
                        for o, a in zip(out, x)])
    unchanged = np.array([np.array_equal(o, a) for o, a in zip(out, x)])
    assert (flipped | unchanged).all()
    assert 150 < flipped.sum() < 250


def test_augment_without_flip_for_digits_and_explicit_rng():
    x = _batch(n=50)
    a = augment_batch(x, np.random.default_rng(4), flip=False)
    b = augment_batch(x, np.random.default_rng(4), flip=False)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, random_crop(x, 1, np.random.default_rng(4)))  # padding 8//8
    with pytest.raises(DatasetError, match="default_rng"):
        augment_batch(x, None)
