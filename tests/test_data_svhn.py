"""MAT v5 reader and SVHN loader, on files written here in the official layout."""
import struct
import zlib

import numpy as np
import pytest

from data_fixtures import (isolated_cache, mat_bytes, mat_matrix, svhn_variables,  # noqa: F401
                           write_svhn)
from tinydagan.data import DatasetError, load_svhn
from tinydagan.data.matfile import parse_mat
from tinydagan.data.svhn import svhn_arrays

HEADER_LE = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("code", ["u1", "i2", "u4", "f4", "f8", "i8"])
def test_numeric_round_trip(order, compress, code):
    a = (np.arange(24).reshape(2, 3, 4) * 3).astype(code)
    out = parse_mat(mat_bytes({"a": a, "scalar": np.array([[5.0]])}, order, compress))
    assert set(out) == {"a", "scalar"}
    assert out["a"].dtype == np.dtype(code) and out["a"].shape == (2, 3, 4)
    np.testing.assert_array_equal(out["a"], a)  # column-major order undone
    assert out["scalar"].tolist() == [[5.0]]


def test_double_class_stored_as_uint8():
    y = np.array([[1.0], [10.0], [3.0]])
    out = parse_mat(mat_bytes({"y": y}, stored={"y": "u1"}))
    assert out["y"].dtype == np.float64
    np.testing.assert_array_equal(out["y"], y)


@pytest.mark.parametrize("y_dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("order", ["<", ">"])
def test_svhn_round_trip_and_label_10_is_zero(tmp_path, isolated_cache, y_dtype, order):
    rng = np.random.default_rng(0)
    variables, (images, digits) = svhn_variables(rng, 30, y_dtype)
    (tmp_path / "svhn").mkdir()
    (tmp_path / "svhn" / "train_32x32.mat").write_bytes(mat_bytes(variables, order))
    data = load_svhn("train", root=tmp_path)
    assert (variables["y"] == 10).any() and (data.labels == 0).any()
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, digits)
    assert data.labels.dtype == np.int64 and data.images.shape == (30, 32, 32, 3)
    assert data.classes == tuple("0123456789")


def test_svhn_files_directly_in_root(tmp_path, isolated_cache):
    variables, _ = svhn_variables(np.random.default_rng(1), 5)
    (tmp_path / "test_32x32.mat").write_bytes(mat_bytes(variables))
    assert len(load_svhn("test", root=tmp_path)) == 5


def test_missing_svhn(tmp_path, isolated_cache):
    with pytest.raises(DatasetError, match=r"(?s)test_32x32\.mat not found.*TINYDAGAN_DATA.*"
                                           r"download svhn"):
        load_svhn("test", root=tmp_path)


def test_v73_hdf5_refused():
    data = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n" + b"\0" * 64
    with pytest.raises(DatasetError, match=r"v7\.3 \(HDF5\)"):
        parse_mat(data)


@pytest.mark.parametrize("data,match", [
    (b"", "not a MAT v5 file"),
    (b"hello world" * 20, "not a MAT v5 file"),
    (HEADER_LE[:100], "not a MAT v5 file"),
    (HEADER_LE[:126] + b"XX", "bad endian mark"),
])
def test_not_a_mat_file(data, match):
    with pytest.raises(DatasetError, match=match):
        parse_mat(data)


def test_truncated_file(tmp_path, isolated_cache):
    write_svhn(tmp_path, np.random.default_rng(2), compress=False)
    path = tmp_path / "svhn" / "train_32x32.mat"
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(DatasetError, match="truncated"):
        load_svhn("train", root=tmp_path)


def test_truncated_compressed_element():
    data = mat_bytes({"a": np.arange(1000.0)[:, None]})
    with pytest.raises(DatasetError):
        parse_mat(data[:-20])


def test_zlib_bomb_declaring_huge_size():
    tag = struct.pack("<II", 14, 2 ** 31)  # inner miMATRIX claims 2 GiB
    z = zlib.compress(tag + b"\0" * 16)
    data = HEADER_LE + struct.pack("<II", 15, len(z)) + z
    with pytest.raises(DatasetError, match="more than zlib can expand"):
        parse_mat(data)


@pytest.mark.parametrize("variables,match", [
    ({"images": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((2, 1))}, r"expected variables 'X' and 'y'"),
    ({"X": np.zeros((28, 28, 3, 2), np.uint8), "y": np.ones((2, 1))}, r"\(32, 32, 3, N\)"),
    ({"X": np.full((32, 32, 3, 2), 0.5), "y": np.ones((2, 1))}, r"'X' must hold pixel values, integers 0\.\.255"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((3, 1))}, r"'y' must have shape \(2, 1\)"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0.0], [3.0]])}, r"integers 1\.\.10"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[1.5], [3.0]])}, r"integers 1\.\.10"),
])
def test_wrong_svhn_variables(variables, match):
    with pytest.raises(DatasetError, match=match):
        svhn_arrays(parse_mat(mat_bytes(variables)), "f.mat")


@pytest.mark.parametrize("mx_class,kind", [(1, "cell"), (2, "struct"), (4, "char"), (5, "sparse")])
def test_non_numeric_classes_refused(mx_class, kind):
    element = mat_matrix("v", np.zeros((2, 2), np.uint8), mx_class=mx_class)
    with pytest.raises(DatasetError, match=f"'v' is a {kind} array"):
        parse_mat(HEADER_LE + element)


def test_declared_data_size_must_match_dimensions():
    element = bytearray(mat_matrix("v", np.zeros((2, 2), np.uint8)))
    dims_at = element.index(struct.pack("<2i", 2, 2))
    element[dims_at:dims_at + 8] = struct.pack("<2i", 100000, 100000)
    with pytest.raises(DatasetError, match=r"needs 10000000000 bytes of u1, found 4"):
        parse_mat(HEADER_LE + bytes(element))
