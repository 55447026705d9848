"""Downscaling (Pillow BOX) and the on-disk .npz cache keyed by source checksum."""
import os

import numpy as np
import pytest

from data_fixtures import isolated_cache, write_cifar_bin  # noqa: F401
from tinydagan.data import DatasetError, load_dataset, resize_images
from tinydagan.data import cifar10 as cifar10_module


def test_box_downscale_is_2x2_mean():
    x = np.random.default_rng(0).integers(0, 64, (3, 8, 8, 3)).astype(np.uint8) * 4
    small = resize_images(x, 4)
    assert small.shape == (3, 4, 4, 3) and small.dtype == np.uint8
    mean = x.reshape(3, 4, 2, 4, 2, 3).astype(np.float64).mean(axis=(2, 4))
    assert np.abs(small.astype(np.float64) - mean).max() <= 1.0


def test_resize_same_size_is_noop_and_checks_args():
    x = np.zeros((2, 4, 4, 3), np.uint8)
    assert resize_images(x, 4) is x
    with pytest.raises(DatasetError, match="positive int"):
        resize_images(x, 0)


def test_second_load_comes_from_cache(tmp_path, isolated_cache, monkeypatch):
    data_dir = tmp_path / "data"
    write_cifar_bin(data_dir, np.random.default_rng(1))
    first = load_dataset("cifar10", "train", size=16, root=data_dir)
    assert first.images.shape == (40, 16, 16, 3)
    files = list((isolated_cache / "data").glob("cifar10-train-16-*.npz"))
    assert len(files) == 1
    assert not list(data_dir.rglob("*.npz"))  # never beside the data

    def fail(*args, **kwargs):
        raise AssertionError("source files read again instead of the cache")
    monkeypatch.setattr(cifar10_module, "read_bin_batch", fail)
    second = load_dataset("cifar10", "train", size=16, root=data_dir)
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.classes == first.classes
    with np.load(files[0], allow_pickle=False) as z:  # no object arrays inside
        assert sorted(z.files) == ["classes", "images", "labels"]


def test_cache_key_changes_with_content_size_and_split(tmp_path, isolated_cache):
    data_dir = tmp_path / "data"
    write_cifar_bin(data_dir, np.random.default_rng(2))
    load_dataset("cifar10", "train", size=16, root=data_dir)
    load_dataset("cifar10", "train", size=8, root=data_dir)
    load_dataset("cifar10", "test", size=8, root=data_dir)
    path = data_dir / "cifar-10-batches-bin" / "data_batch_1.bin"
    raw = bytearray(path.read_bytes())
    raw[5] ^= 0xFF  # same size; also keep mtime identical to show content is hashed
    st = path.stat()
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    # memo is keyed by (path, size, mtime): drop it to force a re-hash as a new checkout would
    (isolated_cache / "data" / "checksums.json").unlink()
    changed = load_dataset("cifar10", "train", size=16, root=data_dir)
    names = sorted(p.name.rsplit("-", 1)[0] for p in (isolated_cache / "data").glob("*.npz"))
    assert names == ["cifar10-test-8", "cifar10-train-16", "cifar10-train-16", "cifar10-train-8"]
    assert changed.images.shape == (40, 16, 16, 3)


def test_no_temp_files_left_behind(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(3))
    load_dataset("cifar10", "test", size=16, root=tmp_path)
    assert not [p for p in (isolated_cache / "data").iterdir() if p.name.endswith(".tmp")]


def test_unknown_dataset_and_bad_size(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="positive int"):
        load_dataset("cifar10", size=-2, root=tmp_path)
