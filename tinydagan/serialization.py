"""Writing files atomically, and saving / loading named arrays (``.npz``) without pickle.

Every file tinydagan writes (checkpoints, models, JSON results, markdown summaries, PNGs,
the data cache, extracted downloads) goes through ``atomic_write`` (a download in progress
is the one exception: it is a ``.part`` file, renamed only once its checksum is verified): the bytes go to a temporary file in the same
folder, then ``os.replace`` renames it over the target. A crash or Ctrl-C mid-write leaves
the old file (or none), never a half-written one.
Loading uses ``allow_pickle=False``, so an ``.npz`` can hold only plain arrays and cannot
run code.
"""
import json
import os
import uuid
import zipfile

import numpy as np

__all__ = ["atomic_write", "write_json", "write_text", "save_npz", "load_npz"]


def atomic_write(path, write):
    """Call ``write(f)`` on a binary file open on a temporary name beside ``path``, then
    rename it to ``path`` (creating the folder if needed)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # a unique name in the same folder (os.replace cannot cross file systems);
    # open(..., "xb") gives normal permissions (umask), unlike tempfile's 0600
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text(path, text):
    """Write a str to ``path`` (UTF-8), atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path, obj):
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    write_text(path, json.dumps(obj, indent=1))


def save_npz(path, arrays, compress=False):
    """Write {name: array} to ``path`` (.npz) atomically."""
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in arrays.items():
        if value.dtype.hasobject:
            raise ValueError(f"save_npz: '{name}' is an object array, which only pickle could "
                             f"store; convert it to numbers or strings first")
    atomic_write(path, lambda f: (np.savez_compressed if compress else np.savez)(f, **arrays))


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
