"""On-disk cache of prepared (downscaled) arrays, as ``.npz`` without pickle.

Decoding and resizing 50,000 images takes seconds; reading one ``.npz`` takes
milliseconds, so the second run starts instantly. The cache lives in
``tinydagan.cache.cache_dir("data")`` (``TINYDAGAN_CACHE`` overrides), never
beside the data, which may be read-only.

A cache file is named by everything that determines its content::

    <dataset>-<split>-<size>-<sha1 of the source files' bytes>.npz

so editing or replacing a source file gives a new name and a stale cache is
never read. Hashing 100 MB of source takes about a second, so the digest of
each file is remembered in ``checksums.json`` keyed by (path, size, mtime);
the file is hashed again only when one of those changes.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..serialization import atomic_write
from .errors import DatasetError
from .split import Split

__all__ = ["file_sha1", "sources_checksum", "cache_path", "save_split", "load_split"]


def file_sha1(path) -> str:
    """SHA-1 hex digest of a file's bytes, memoised by (path, size, mtime_ns)."""
    path = Path(path).resolve()
    st = path.stat()
    index_path = cache_dir("data") / "checksums.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    if key not in index:
        with open(path, "rb") as f:
            index[key] = hashlib.file_digest(f, "sha1").hexdigest()
        text = json.dumps(index, indent=0, sort_keys=True).encode()
        atomic_write(index_path, lambda f: f.write(text))
    return index[key]


def sources_checksum(paths) -> str:
    """One SHA-1 over the (name, content digest) of every source file, in order."""
    h = hashlib.sha1()
    for p in paths:
        h.update(Path(p).name.encode() + b"\0" + file_sha1(p).encode() + b"\n")
    return h.hexdigest()


def cache_path(dataset: str, split: str, size, checksum: str) -> Path:
    """``<cache>/data/<dataset>-<split>-<size>-<checksum[:16]>.npz``."""
    return cache_dir("data") / f"{dataset}-{split}-{size}-{checksum[:16]}.npz"


def save_split(path, split: Split) -> None:
    """Write a :class:`Split` as ``.npz`` (no pickle), atomically."""
    classes = np.array(split.classes, dtype=np.str_)
    atomic_write(path, lambda f: np.savez(f, images=split.images, labels=split.labels,
                                                classes=classes))


def load_split(path) -> Split:
    """Read a :func:`save_split` file with ``allow_pickle=False``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return Split(z["images"], z["labels"], tuple(str(c) for c in z["classes"]))
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"cache file {path} is unreadable ({exc}); delete it to rebuild") from None
