"""Checks on the real CIFAR-10 copy (TINYDAGAN_DATA); skipped with a reason when absent."""
import os

import numpy as np
import pytest

from tinydagan.data import class_balanced_subset, load_cifar10, load_dataset

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def root():
    path = os.environ.get("TINYDAGAN_DATA")
    if not path:
        pytest.skip("real CIFAR-10 copy not available: TINYDAGAN_DATA not set")
    if not os.path.isdir(os.path.join(path, "cifar-10-batches-bin")):
        pytest.skip(f"TINYDAGAN_DATA={path} has no cifar-10-batches-bin/ folder")
    return path


def test_real_cifar10_counts(root):
    train, test = load_cifar10("train", root), load_cifar10("test", root)
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"
    assert train.images.shape[1:] == (32, 32, 3) and len(train) % 10_000 == 0
    assert len(test) == 10_000
    # the workspace copy and the official release are both balanced per batch
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert np.bincount(train.labels).tolist() == [len(train) // 10] * 10
    assert 60 < test.images.mean() < 200  # real photos, not zeros or noise


def test_real_cifar10_downscaled_and_cached(root, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path))
    small = load_dataset("cifar10", "test", size=16, root=root)
    again = load_dataset("cifar10", "test", size=16, root=root)
    assert small.images.shape == (10_000, 16, 16, 3)
    np.testing.assert_array_equal(small.images, again.images)
    x, y = class_balanced_subset(small.images, small.labels, 50, np.random.default_rng(0))
    assert x.shape == (500, 16, 16, 3) and np.bincount(y).tolist() == [50] * 10
