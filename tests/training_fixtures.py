"""A tiny, *learnable* CIFAR-10-format dataset for the training tests.

Class k's images are noise around a colour and a stripe position of their own, so a
classifier can learn them in a few dozen steps (random noise labels could not be learnt,
and a test that training works would prove nothing).
"""
from pathlib import Path

import numpy as np
import pytest

from data_fixtures import CIFAR_NAMES, cifar_bin_bytes


def learnable_images(rng, n, size=32):
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    hues = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                     [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [0, 0, 128]], float)
    x = rng.normal(0, 40, (n, size, size, 3)) + hues[labels][:, None, None, :]
    for i, k in enumerate(labels):  # a bright horizontal stripe whose row depends on the class
        x[i, 3 * k:3 * k + 3, :, :] = 255
    return np.clip(x, 0, 255).astype(np.uint8), labels.astype(np.int64)


def write_learnable_cifar(root, seed=0, train=400, test=200):
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-bin"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data_batch_1.bin").write_bytes(cifar_bin_bytes(*learnable_images(rng, train)))
    (folder / "test_batch.bin").write_bytes(cifar_bin_bytes(*learnable_images(rng, test)))
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR_NAMES) + "\n")
    return Path(root)


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """Data root of a learnable fixture; the cache goes to tmp_path, never ~/.cache."""
    monkeypatch.setenv("TINYDAGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYDAGAN_DATA", raising=False)
    return write_learnable_cifar(tmp_path / "data")
