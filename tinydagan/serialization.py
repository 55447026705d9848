"""Saving and loading named arrays as ``.npz`` files: atomically, and without pickle.

Writing goes to a temporary file in the same folder, then ``os.replace`` renames it over the
target: a crash mid-write leaves the old file (or none), never a half-written one.
Loading uses ``allow_pickle=False``, so a file can hold only plain arrays and cannot run
code.
"""
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save_npz", "load_npz"]


def save_npz(path, arrays, compress=False):
    """Write {name: array} to ``path`` (.npz) atomically."""
    path = os.fspath(path)
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in arrays.items():
        if value.dtype.hasobject:
            raise ValueError(f"save_npz: '{name}' is an object array, which only pickle could "
                             f"store; convert it to numbers or strings first")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_npz(path):
    """Read an ``.npz`` written by ``save_npz`` into a dict of arrays.

    Raises FileNotFoundError for a missing file and ValueError for anything that is not a
    readable, pickle-free ``.npz``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"{path} is not a readable .npz array file ({type(e).__name__}: {e})") from e
