"""Fuzzing the three binary readers with random and mutated bytes.

Every case must end in one of two ways: the reader returns well-formed arrays
(a mutated pixel is still a valid file) or it raises ``DatasetError``. Any other
exception, a hang or a huge allocation is a bug. Cases per reader:
``SEEDS x CASES_PER_SEED`` = 120 x 3 = 360, so 1,080 cases in total, plus the
counts below checking that most cases really are rejected.
"""
import struct
import time
import zlib

import numpy as np
import pytest

from data_fixtures import cifar_bin_bytes, cifar_py_bytes, mat_bytes, mat_matrix, random_images, svhn_variables
from tinydagan.data import DatasetError
from tinydagan.data.cifar10 import parse_bin_records, parse_py_batch
from tinydagan.data.matfile import parse_mat
from tinydagan.data.safe_pickle import safe_loads
from tinydagan.data.svhn import svhn_arrays

SEEDS = range(120)
CASES_PER_SEED = 3


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation: flip bytes, truncate, splice a chunk, or write a big length."""
    data = bytearray(data)
    kind = rng.integers(5)
    if kind == 0:  # flip a few bytes
        for pos in rng.integers(0, len(data), size=rng.integers(1, 8)):
            data[pos] = int(rng.integers(256))
    elif kind == 1:  # truncate
        data = data[:rng.integers(0, len(data))]
    elif kind == 2:  # duplicate or delete a chunk
        a, b = sorted(rng.integers(0, len(data), size=2))
        data = data[:a] + data[a:b] * int(rng.integers(0, 3)) + data[b:]
    elif kind == 3:  # overwrite 4 bytes with a large or boundary integer (length fields)
        pos = int(rng.integers(0, max(1, len(data) - 4)))
        value = int(rng.choice([0, 1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 30, int(rng.integers(2 ** 32))]))
        data[pos:pos + 4] = value.to_bytes(4, "little")
    else:  # pure random bytes
        data = bytearray(rng.integers(0, 256, size=rng.integers(0, 3 * len(data) // 2 + 1),
                                      dtype=np.uint8).tobytes())
    return bytes(data)


def _valid_inputs():
    rng = np.random.default_rng(12345)
    x, y = random_images(rng, 2)
    variables, _ = svhn_variables(rng, 2, np.float64)
    raw_matrix = mat_matrix("X", variables["X"])  # for mutations *inside* the zlib stream
    return {"bin": cifar_bin_bytes(x, y), "pickle": cifar_py_bytes(x, y),
            "mat": mat_bytes(variables), "mat_raw": mat_bytes(variables, compress=False),
            "matrix": raw_matrix}


VALID = _valid_inputs()
HEADER = VALID["mat"][:128]


def _check_images(images, labels):
    assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (32, 32, 3)
    assert labels.dtype == np.int64 and labels.shape == (len(images),)
    assert labels.size == 0 or (labels.min() >= 0 and labels.max() <= 9)


def _read_bin(data):
    _check_images(*parse_bin_records(data))


def _read_pickle(data):
    _check_images(*parse_py_batch(safe_loads(data)))


def _read_mat(data):
    _check_images(*svhn_arrays(parse_mat(data)))


def _mat_cases(rng):
    """Mutate the compressed file, the uncompressed file, or the bytes before compression."""
    which = rng.integers(3)
    if which == 0:
        return _mutate(VALID["mat"], rng)
    if which == 1:
        return _mutate(VALID["mat_raw"], rng)
    inner = _mutate(VALID["matrix"], rng)
    z = zlib.compress(inner)
    return HEADER + struct.pack("<II", 15, len(z)) + z


READERS = {
    "bin": (_read_bin, lambda rng: _mutate(VALID["bin"], rng)),
    "pickle": (_read_pickle, lambda rng: _mutate(VALID["pickle"], rng)),
    "mat": (_read_mat, _mat_cases),
}


def test_valid_inputs_parse():
    _read_bin(VALID["bin"])
    _read_pickle(VALID["pickle"])
    _read_mat(VALID["mat"])
    _read_mat(VALID["mat_raw"])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reader", sorted(READERS))
def test_fuzz_ends_in_dataset_error_or_valid_arrays(reader, seed):
    read, make = READERS[reader]
    rng = np.random.default_rng([seed, len(reader)])
    for case in range(CASES_PER_SEED):
        data = make(rng)
        start = time.perf_counter()
        try:
            read(data)
        except DatasetError:
            pass
        except Exception as exc:  # noqa: BLE001  (this is the bug we are hunting)
            pytest.fail(f"{reader} seed {seed} case {case}: {type(exc).__name__}: {exc}\n"
                        f"input ({len(data)} bytes): {data[:200]!r}")
        assert time.perf_counter() - start < 1.0, f"{reader} seed {seed} case {case} too slow"


@pytest.mark.parametrize("reader", sorted(READERS))
def test_fuzz_mostly_rejects(reader):
    """Sanity check of the fuzzer itself: most mutated inputs are invalid."""
    read, make = READERS[reader]
    rng = np.random.default_rng(99)
    rejected = 0
    for _ in range(100):
        try:
            read(make(rng))
        except DatasetError:
            rejected += 1
    assert rejected >= 50


def _huge_inputs():
    """Files whose length fields claim far more memory than the file holds."""
    header = VALID["mat"][:128]
    bomb = zlib.compress(struct.pack("<II", 14, 2 ** 31) + b"\0" * 16)
    array_pickle = __import__("pickle").dumps(np.zeros(2, np.uint8), protocol=2)
    # _reconstruct(ndarray, (0,), b"b") then BUILD with shape (2,): enlarge either shape
    assert b"K\x00\x85" in array_pickle and b"K\x02\x85" in array_pickle
    return {
        "mat tag claims 4 GiB": header + struct.pack("<II", 14, 2 ** 32 - 1) + b"\0" * 64,
        "mat zlib claims 2 GiB": header + struct.pack("<II", 15, len(bomb)) + bomb,
        "pickle BINBYTES8 1 TiB": b"\x80\x04\x8e" + (2 ** 40).to_bytes(8, "little") + b"abc.",
        "pickle _reconstruct 1 GB": array_pickle.replace(b"K\x00\x85", b"J\x00\xca\x9a\x3b\x85", 1),
        "pickle array state 10^12": array_pickle.replace(b"K\x02\x85", b"J\x40\x42\x0f\x00J\x40\x42\x0f\x00\x86", 1),
    }


@pytest.mark.parametrize("case", sorted(_huge_inputs()))
def test_declared_sizes_never_allocated(case):
    import tracemalloc
    data = _huge_inputs()[case]
    read = _read_mat if case.startswith("mat") else _read_pickle
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError):
            read(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20, f"{case}: peak {peak / 2 ** 20:.0f} MiB"
