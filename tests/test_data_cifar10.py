"""CIFAR-10 loaders (binary and python batches), data root resolution, restricted unpickler."""
import pickle

import numpy as np
import pytest

from data_fixtures import (CIFAR_NAMES, cifar_bin_bytes, cifar_py_bytes, isolated_cache,  # noqa: F401
                           random_images, write_cifar_bin, write_cifar_py)
from tinydagan.data import DatasetError, data_root, load_cifar10
from tinydagan.data.cifar10 import parse_bin_records, read_bin_batch
from tinydagan.data.paths import REPO_DATASETS
from tinydagan.data.safe_pickle import safe_loads


@pytest.mark.parametrize("split", ["train", "test"])
def test_binary_batches_round_trip(tmp_path, isolated_cache, split):
    expected = write_cifar_bin(tmp_path, np.random.default_rng(0), per_batch=20, batches=(1, 3))
    data = load_cifar10(split, root=tmp_path)
    x, y = expected[split]
    assert data.images.dtype == np.uint8 and data.images.shape == x.shape
    np.testing.assert_array_equal(data.images, x)
    np.testing.assert_array_equal(data.labels, y)
    assert data.labels.dtype == np.int64
    assert data.classes == CIFAR_NAMES  # blank trailing line skipped


def test_record_layout_is_label_then_rgb_planes():
    record = np.zeros(3073, np.uint8)
    record[0] = 7
    record[1 + 0 * 1024 + 2 * 32 + 5] = 11   # red,   row 2, col 5
    record[1 + 1 * 1024 + 2 * 32 + 5] = 22   # green
    record[1 + 2 * 1024 + 2 * 32 + 5] = 33   # blue
    x, y = parse_bin_records(record.tobytes())
    assert y.tolist() == [7]
    assert x[0, 2, 5].tolist() == [11, 22, 33]
    assert x.sum() == 66


def test_root_may_be_the_batches_folder_itself(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(1))
    assert len(load_cifar10("test", root=tmp_path / "cifar-10-batches-bin")) == 20


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYDAGAN_DATA", raising=False)
    assert data_root() == REPO_DATASETS
    assert REPO_DATASETS.name == "datasets"
    monkeypatch.setenv("TINYDAGAN_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"


def test_env_var_is_used_by_loader(tmp_path, monkeypatch, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(2), test=30)
    monkeypatch.setenv("TINYDAGAN_DATA", str(tmp_path))
    assert len(load_cifar10("test")) == 30


def test_missing_folder_tells_how_to_fix(tmp_path, isolated_cache):
    with pytest.raises(DatasetError) as err:
        load_cifar10("train", root=tmp_path / "nowhere")
    message = str(err.value)
    assert "TINYDAGAN_DATA" in message
    assert "python -m tinydagan.data download cifar10" in message
    assert "nowhere" in message


def test_bad_split_name(tmp_path):
    with pytest.raises(DatasetError, match="'train' or 'test'"):
        load_cifar10("valid", root=tmp_path)


def test_size_not_multiple_of_3073(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(3))
    path = tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match=r"multiple of 3073 bytes.*found 61450 bytes"):
        load_cifar10("train", root=tmp_path)


def test_label_out_of_range(tmp_path):
    x, y = random_images(np.random.default_rng(4), 5)
    y[3] = 10
    path = tmp_path / "test_batch.bin"
    path.write_bytes(cifar_bin_bytes(x, y))
    with pytest.raises(DatasetError, match=r"0\.\.9, record 3 has label 10"):
        read_bin_batch(path)


def test_no_training_batches(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(5), batches=())
    with pytest.raises(DatasetError, match="no data_batch"):
        load_cifar10("train", root=tmp_path)


@pytest.mark.parametrize("split", ["train", "test"])
def test_python_batches_round_trip(tmp_path, isolated_cache, split):
    expected = write_cifar_py(tmp_path, np.random.default_rng(6))
    data = load_cifar10(split, root=tmp_path)  # test_batch uses numpy 1.x global names
    np.testing.assert_array_equal(data.images, expected[split][0])
    np.testing.assert_array_equal(data.labels, expected[split][1])
    assert data.classes == CIFAR_NAMES


def test_binary_preferred_over_python(tmp_path, isolated_cache):
    write_cifar_py(tmp_path, np.random.default_rng(7), test=11)
    write_cifar_bin(tmp_path, np.random.default_rng(8), test=13)
    assert len(load_cifar10("test", root=tmp_path)) == 13


@pytest.mark.parametrize("numpy1_names", [False, True])
@pytest.mark.parametrize("bytes_keys", [False, True])
def test_safe_loads_reads_numpy_pickles(numpy1_names, bytes_keys):
    x, y = random_images(np.random.default_rng(9), 4)
    obj = safe_loads(cifar_py_bytes(x, y, numpy1_names, bytes_keys))
    data = obj[b"data" if bytes_keys else "data"]
    assert data.dtype == np.uint8 and data.shape == (4, 3072)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))  # would create a file if executed


def test_safe_loads_refuses_code_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    for protocol in (0, 2, 4, 5):
        data = pickle.dumps({"data": _Evil(str(target))}, protocol=protocol)
        with pytest.raises(DatasetError, match=r"refused to load global .*open"):
            safe_loads(data)
    assert not target.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(np.zeros(3, dtype=object), protocol=2),           # object dtype
    pickle.dumps(np.zeros(2, dtype=[("a", "u1")]), protocol=2),    # structured dtype
    b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.",
])
def test_safe_loads_refuses_other_numpy_and_os(payload):
    with pytest.raises(DatasetError, match="refused"):
        safe_loads(payload)


def test_huge_declared_length_is_caught_before_allocating():
    # BINBYTES8 claiming 2**40 bytes followed by 3 bytes: must fail fast, not allocate 1 TiB
    data = b"\x80\x04\x8e" + (2 ** 40).to_bytes(8, "little") + b"abc."
    with pytest.raises(DatasetError, match="not a valid pickle"):
        safe_loads(data)


def test_python_batch_with_wrong_contents(tmp_path, isolated_cache):
    write_cifar_py(tmp_path, np.random.default_rng(10))
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(
        pickle.dumps({"data": [1, 2, 3], "labels": [0]}, protocol=2))
    with pytest.raises(DatasetError, match=r"'data' must be a uint8 array \(N, 3072\), found list"):
        load_cifar10("test", root=tmp_path)
