"""CIFAR-10 loaders: the official binary batches and the python (pickle) batches.

Binary layout (``cifar-10-batches-bin/``), no header, no padding, records of
3073 bytes::

    byte 0          label 0..9
    bytes 1..1024   red   32x32, row-major
    bytes 1025..    green 32x32
    bytes 2049..    blue  32x32

so ``records.reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32)`` is NCHW and a
transpose ``(0, 2, 3, 1)`` gives the ``(N, 32, 32, 3)`` images we return.
``batches.meta.txt`` holds the class names, one per line (blank lines skipped).

Python layout (``cifar-10-batches-py/``): each batch is a pickled dict with
``data`` (N, 3072) uint8 in the same channel-major order and ``labels`` (a list
of N ints); ``batches.meta`` holds ``label_names``. These are read with
:mod:`tinydagan.data.safe_pickle`, never with plain ``pickle.load``.

Training uses whichever ``data_batch_1`` .. ``data_batch_5`` are present (the
workspace copy has 2 of 5), the test split is ``test_batch``.

Before a batch is read, its size is checked: a regular file (not a FIFO), at
most :data:`tinydagan.limits.MAX_CIFAR_BATCH_BYTES`, and for the binary
layout a positive multiple of 3073 bytes; so a sparse multi-gigabyte file is
refused without reading it.
"""
import os
import re
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .files import open_regular, read_regular, require_folder
from .paths import data_root, missing_data_message
from .safe_pickle import safe_load
from .split import Split

__all__ = ["CLASSES", "RECORD_BYTES", "BIN_DIR", "PY_DIR", "parse_bin_records",
           "read_bin_batch", "read_meta_txt", "parse_py_batch", "read_py_batch",
           "find_cifar10", "split_files", "load_cifar10"]

CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
RECORD_BYTES = 1 + 3 * 32 * 32  # 3073
BIN_DIR = "cifar-10-batches-bin"
PY_DIR = "cifar-10-batches-py"


def _chw_rows_to_nhwc(rows: np.ndarray) -> np.ndarray:
    """(N, 3072) channel-major rows -> (N, 32, 32, 3) contiguous uint8."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _check_labels(labels: np.ndarray, num_classes: int, name: str) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(np.flatnonzero((labels < 0) | (labels >= num_classes))[0])
        raise DatasetError(f"{name}: labels must be in 0..{num_classes - 1}, "
                           f"record {bad} has label {int(labels[bad])}")
    return labels.astype(np.int64)


def parse_bin_records(data, name: str = "<bytes>", num_classes: int = 10):
    """Parse the bytes of one binary batch into ``(images, labels)``.

    ``data``: bytes or a 1-D uint8 array. Returns ``images`` (N, 32, 32, 3)
    uint8 and ``labels`` (N,) int64.
    """
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise DatasetError(f"{name}: size must be a positive multiple of {RECORD_BYTES} bytes "
                           f"(1 label + 3x32x32 pixels per record), found {raw.size} bytes")
    records = raw.reshape(-1, RECORD_BYTES)
    labels = _check_labels(records[:, 0], num_classes, name)
    return _chw_rows_to_nhwc(records[:, 1:]), labels


def read_bin_batch(path, num_classes: int = 10):
    """Read one ``data_batch_k.bin`` / ``test_batch.bin``: (N,32,32,3) uint8, (N,) int64."""
    with open_regular(path, "CIFAR-10 batch", "MAX_CIFAR_BATCH_BYTES") as f:
        size = os.fstat(f.fileno()).st_size  # checked before reading anything
        if size == 0 or size % RECORD_BYTES:
            raise DatasetError(f"{path}: size must be a positive multiple of {RECORD_BYTES} bytes "
                               f"(1 label + 3x32x32 pixels per record), found {size} bytes")
        data = f.read()
    return parse_bin_records(data, str(path), num_classes)


def read_meta_txt(path) -> tuple:
    """Class names from ``batches.meta.txt``, one per line, blank lines skipped."""
    try:
        text = read_regular(path, "class-name file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: cannot read class names ({exc})") from None
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise DatasetError(f"{path}: expected one class name per line, found none")
    return names


def _get(d, key):
    """Python-2 pickles may give ``b"data"`` or ``"data"`` keys: accept both."""
    if key in d:
        return d[key]
    return d.get(key.encode("latin1"))


def parse_py_batch(obj, name: str = "<pickle>", num_classes: int = 10):
    """Check an unpickled python batch dict and return ``(images, labels)``."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{name}: expected a dict with 'data' and 'labels', "
                           f"found {type(obj).__name__}")
    data, labels = _get(obj, "data"), _get(obj, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetError(f"{name}: 'data' must be a uint8 array (N, 3072), found {found}")
    if isinstance(labels, np.ndarray) and labels.ndim == 1:
        labels = labels.tolist()
    if not isinstance(labels, list) or len(labels) != len(data):
        found = f"{type(labels).__name__} of length {len(labels)}" if isinstance(labels, list) \
            else type(labels).__name__
        raise DatasetError(f"{name}: 'labels' must be a list of {len(data)} ints, found {found}")
    for i, v in enumerate(labels):  # checked in Python: a huge int would overflow int64
        if type(v) is not int or not 0 <= v < num_classes:
            raise DatasetError(f"{name}: labels must be ints in 0..{num_classes - 1}, "
                               f"record {i} has label {v!r:.40}")
    y = np.array(labels, dtype=np.int64).reshape(-1)
    return _chw_rows_to_nhwc(data), _check_labels(y, num_classes, name)


def read_py_batch(path, num_classes: int = 10):
    """Read one python batch through the restricted unpickler."""
    return parse_py_batch(safe_load(path), str(path), num_classes)


def _read_py_meta(path) -> tuple:
    meta = safe_load(path)
    names = _get(meta, "label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, (str, bytes)) for n in names):
        raise DatasetError(f"{path}: expected a dict with a non-empty 'label_names' list")
    return tuple(n.decode("latin1") if isinstance(n, bytes) else n for n in names)


def find_cifar10(root=None):
    """Return ``(folder, "bin" | "py")``: the binary layout is preferred.

    ``root`` may be the data root (holding ``cifar-10-batches-bin``) or the
    batches folder itself.
    """
    base = require_folder(data_root(root), "data root")
    candidates = [(base / BIN_DIR, "bin"), (base / PY_DIR, "py")]
    candidates += [(base, "bin"), (base, "py")]
    for folder, fmt in candidates:
        test = folder / ("test_batch.bin" if fmt == "bin" else "test_batch")
        if test.exists():  # not is_file(): a FIFO here is reported when read, not skipped
            return folder, fmt
    raise DatasetError(missing_data_message(
        f"CIFAR-10 ({BIN_DIR}/ or {PY_DIR}/ with test_batch)",
        [base / BIN_DIR, base / PY_DIR], "cifar10"))


def _train_files(folder: Path, fmt: str):
    pattern = re.compile(r"data_batch_(\d+)" + (r"\.bin" if fmt == "bin" else "") + "$")
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name)))
    if not found:
        raise DatasetError(f"{folder}: no data_batch_*{'.bin' if fmt == 'bin' else ''} "
                           f"training files found")
    return [p for _, p in found]


def split_files(split: str = "train", root=None):
    """Return ``(format, batch files, meta file or None)`` for ``split``.

    These are exactly the files :func:`load_cifar10` reads (the on-disk cache
    checksums them).
    """
    if split not in ("train", "test"):
        raise DatasetError(f"CIFAR-10 split must be 'train' or 'test', got {split!r}")
    folder, fmt = find_cifar10(root)
    meta = folder / ("batches.meta.txt" if fmt == "bin" else "batches.meta")
    test = folder / ("test_batch.bin" if fmt == "bin" else "test_batch")
    files = _train_files(folder, fmt) if split == "train" else [test]
    return fmt, files, (meta if meta.exists() else None)


def load_cifar10(split: str = "train", root=None) -> Split:
    """Load CIFAR-10 ``split`` ("train" or "test") as a :class:`Split` of 32x32 images.

    Class names come from the meta file when present, else :data:`CLASSES`.
    """
    fmt, files, meta = split_files(split, root)
    if fmt == "bin":
        classes = read_meta_txt(meta) if meta else CLASSES
        parts = [read_bin_batch(p, len(classes)) for p in files]
    else:
        classes = _read_py_meta(meta) if meta else CLASSES
        parts = [read_py_batch(p, len(classes)) for p in files]
    images = np.concatenate([x for x, _ in parts])  # (N, 32, 32, 3)
    labels = np.concatenate([y for _, y in parts])  # (N,)
    return Split(images, labels, classes)
