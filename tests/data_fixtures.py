"""Tiny datasets written by the tests themselves, in the official on-disk formats.

Imported by the ``test_data_*.py`` and ``test_adversarial_data.py`` files (not
a conftest): writers for CIFAR-10 binary and python batches, MAT v5 files (SVHN
layout), image folders, a PNG header declaring any size, plus the
``isolated_cache`` fixture that points TINYDAGAN_CACHE at tmp_path.
"""
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A fresh cache folder per test, so tests never touch ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TINYDAGAN_CACHE", str(cache))
    monkeypatch.delenv("TINYDAGAN_DATA", raising=False)
    return cache


def random_images(rng, n, size=32):
    """(n, size, size, 3) uint8 noise and (n,) int64 labels with every class present."""
    images = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.int64)
    rng.shuffle(labels)
    return images, labels


# ---------------------------------------------------------------- CIFAR-10 binary
def cifar_bin_bytes(images, labels):
    """Records of 1 label byte + R, G, B planes: (N, 32, 32, 3) -> N * 3073 bytes."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # (N, 3072)
    return np.concatenate([labels.astype(np.uint8)[:, None], planes], axis=1).tobytes()


def write_cifar_bin(root, rng, per_batch=20, batches=(1, 2), test=20, blank_line=True):
    """Write root/cifar-10-batches-bin/ and return {"train": (x, y), "test": (x, y)}."""
    folder = Path(root) / "cifar-10-batches-bin"
    folder.mkdir(parents=True, exist_ok=True)
    train = [random_images(rng, per_batch) for _ in batches]
    for k, (x, y) in zip(batches, train):
        (folder / f"data_batch_{k}.bin").write_bytes(cifar_bin_bytes(x, y))
    xt, yt = random_images(rng, test)
    (folder / "test_batch.bin").write_bytes(cifar_bin_bytes(xt, yt))
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR_NAMES) + ("\n\n" if blank_line else "\n"))
    if not train:
        return {"test": (xt, yt)}
    return {"train": (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])),
            "test": (xt, yt)}


# ---------------------------------------------------------------- CIFAR-10 python
def cifar_py_bytes(images, labels, numpy1_names=False, bytes_keys=False):
    """A python batch as pickle protocol 2, like the official (Python 2) files.

    ``numpy1_names`` rewrites the reconstruct global to numpy 1.x's
    ``numpy.core.multiarray`` spelling, as files written by numpy 1.x have it.
    """
    key = (lambda s: s.encode()) if bytes_keys else (lambda s: s)
    batch = {key("batch_label"): "testing batch 1 of 1",
             key("labels"): [int(v) for v in labels],
             key("data"): images.transpose(0, 3, 1, 2).reshape(len(images), -1),
             key("filenames"): [f"img_{i}.png" for i in range(len(labels))]}
    data = pickle.dumps(batch, protocol=2)
    if numpy1_names:
        assert b"numpy._core.multiarray" in data
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return data


def write_cifar_py(root, rng, per_batch=20, batches=(1,), test=20):
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train = [random_images(rng, per_batch) for _ in batches]
    for k, (x, y) in zip(batches, train):
        (folder / f"data_batch_{k}").write_bytes(cifar_py_bytes(x, y))
    xt, yt = random_images(rng, test)
    (folder / "test_batch").write_bytes(cifar_py_bytes(xt, yt, numpy1_names=True))
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {"label_names": list(CIFAR_NAMES), "num_vis": 3072}, protocol=2))
    return {"train": (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])),
            "test": (xt, yt)}


# ---------------------------------------------------------------- MAT v5
MX_CLASS = {"f8": 6, "f4": 7, "i1": 8, "u1": 9, "i2": 10, "u2": 11, "i4": 12, "u4": 13,
            "i8": 14, "u8": 15}
MI_TYPE = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9,
           "i8": 12, "u8": 13}


def _element(order, mtype, payload):
    if len(payload) <= 4 and mtype != 14:  # small data element format
        return struct.pack(order + "I", (len(payload) << 16) | mtype) + payload.ljust(4, b"\0")
    pad = -len(payload) % 8
    return struct.pack(order + "II", mtype, len(payload)) + payload + b"\0" * pad


def mat_matrix(name, array, order="<", stored=None, mx_class=None):
    """One miMATRIX element. ``stored``: numpy code of the on-disk type (default: same)."""
    code = array.dtype.str[1:]
    stored = stored or code
    flags = struct.pack(order + "II", mx_class or MX_CLASS[code], 0)
    dims = struct.pack(order + f"{array.ndim}i", *array.shape)
    data = np.asarray(array, dtype=np.dtype(stored).newbyteorder(order)).tobytes(order="F")
    body = (_element(order, 6, flags) + _element(order, 5, dims)
            + _element(order, 1, name.encode()) + _element(order, MI_TYPE[stored], data))
    return _element(order, 14, body)


def mat_bytes(variables, order="<", compress=True, stored=None, classes=None):
    """A whole MAT v5 file holding ``variables`` (name -> numeric array).

    ``stored`` / ``classes``: {name: numpy code} of the on-disk type / the array
    class, when they should differ from the array's own dtype.
    """
    text = b"MATLAB 5.0 MAT-file, Platform: tinydagan tests".ljust(116, b" ")
    header = text + b"\0" * 8 + struct.pack(order + "H", 0x0100) + (b"IM" if order == "<" else b"MI")
    out = [header]
    for name, array in variables.items():
        mx_class = MX_CLASS[classes[name]] if classes and name in classes else None
        element = mat_matrix(name, array, order, (stored or {}).get(name), mx_class)
        if compress:
            z = zlib.compress(element)
            element = struct.pack(order + "II", 15, len(z)) + z
        out.append(element)
    return b"".join(out)


def svhn_variables(rng, n=20, y_dtype=np.uint8):
    """X (32, 32, 3, n) uint8 and y (n, 1) in 1..10, plus the expected (images, labels)."""
    images, digits = random_images(rng, n)
    y = np.where(digits == 0, 10, digits).astype(y_dtype)[:, None]
    return {"X": np.asfortranarray(images.transpose(1, 2, 3, 0)), "y": y}, (images, digits)


def write_svhn(root, rng, n=20, **kwargs):
    folder = Path(root) / "svhn"
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for split in ("train", "test"):
        variables, expected[split] = svhn_variables(rng, n)
        (folder / f"{split}_32x32.mat").write_bytes(mat_bytes(variables, **kwargs))
    return expected


# ---------------------------------------------------------------- image folder
def write_image_folder(root, rng, classes=("cat", "dog"), per_class=3, size=(40, 24)):
    """root/<class>/img_k.png (and one .jpg) of random colours; returns the root."""
    root = Path(root)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            suffix = ".jpg" if k == 0 else ".png"
            Image.fromarray(pixels).save(root / c / f"img_{k}{suffix}")
    return root


def png_declaring(width, height):
    """The bytes of an 8-bit greyscale PNG whose header declares ``width x height``
    pixels but holds only a few bytes of pixel data (enough for Image.open)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # depth 8, greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
