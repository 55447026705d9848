"""On-disk cache of prepared (downscaled) arrays, as ``.npz`` without pickle.

Decoding and resizing 50,000 images takes seconds; reading one ``.npz`` takes
milliseconds, so the second run starts instantly. The cache lives in
``tinydagan.cache.cache_dir("data")`` (``TINYDAGAN_CACHE`` overrides), never
beside the data, which may be read-only.

A cache file is named by a digest of *everything* that determines its arrays::

    <dataset>-<split>-<size>-<sha1 of the description>.npz

where the description (built by :func:`tinydagan.data.load.cache_description`)
is a small dict: dataset, split, size, resize filter, :data:`CACHE_VERSION`,
the class names and each file's label when they come from folder names, and
for each source file its path relative to the dataset folder
(``cat/img_0.png``, so the class folder counts) with the SHA-1 of its bytes.
Moving an image to another class, renaming a class folder, editing a file or
changing the filter all give a new name, so a stale cache is never read.

Hashing 100 MB of source takes about a second, so the digest of each file is
remembered in ``checksums.json`` keyed by (path, size, mtime); the file is
hashed again only when one of those changes. A damaged ``checksums.json`` is
ignored and rebuilt; a damaged ``.npz`` is reported by :func:`load_split`, and
``load_dataset`` then prints a note and recomputes it.
"""
import hashlib
import json
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..cache import CacheError, cache_dir, unusable_message
from ..serialization import atomic_write
from .errors import DatasetError
from .files import open_regular
from .split import Split

__all__ = ["CACHE_VERSION", "file_sha1", "cache_key", "cache_path", "save_split", "load_split"]

# Bump when a loader gives different arrays for the same files, so old caches are not read
# (2: the key covers paths, labels and classes; 16-bit PNGs scaled; exact .mat conversions).
CACHE_VERSION = 2

_SHA1 = re.compile(r"[0-9a-f]{40}")
# What a damaged .npz raises inside np.load: truncated or empty file, bad zip, bad member.
_DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def _data_cache() -> Path:
    """``<cache>/data``, or a :class:`DatasetError` saying why it cannot be used."""
    try:
        return cache_dir("data")
    except CacheError as exc:
        raise DatasetError(str(exc)) from None


def _write(path: Path, write) -> None:
    """``atomic_write`` into the cache; a full disk or read-only folder -> one clear error."""
    try:
        atomic_write(path, write)
    except OSError as exc:
        raise DatasetError(unusable_message(path.parent, exc)) from None


def _read_index(index_path: Path) -> dict:
    """``checksums.json`` as {key: sha1}; anything damaged in it is dropped (it is rebuilt)."""
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(index, dict):
        return {}
    return {k: v for k, v in index.items() if isinstance(v, str) and _SHA1.fullmatch(v)}


def file_sha1(path) -> str:
    """SHA-1 hex digest of a file's bytes, memoised by (path, size, mtime_ns)."""
    path = Path(path).resolve()
    with open_regular(path, "data file") as f:  # a FIFO would block the hash forever
        st = os.fstat(f.fileno())
        index_path = _data_cache() / "checksums.json"
        index = _read_index(index_path)
        key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
        if key in index:
            return index[key]
        index[key] = hashlib.file_digest(f, "sha1").hexdigest()
    text = json.dumps(index, indent=0, sort_keys=True).encode()
    _write(index_path, lambda g: g.write(text))
    return index[key]


def cache_key(description: dict) -> str:
    """SHA-1 of the description as canonical JSON (sorted keys), so equal facts -> equal key."""
    return hashlib.sha1(json.dumps(description, sort_keys=True).encode()).hexdigest()


def cache_path(dataset: str, split: str, size, key: str) -> Path:
    """``<cache>/data/<dataset>-<split>-<size>-<key[:16]>.npz``."""
    return _data_cache() / f"{dataset}-{split}-{size}-{key[:16]}.npz"


def save_split(path, split: Split) -> None:
    """Write a :class:`Split` as ``.npz`` (no pickle), atomically."""
    classes = np.array(split.classes, dtype=np.str_)
    _write(Path(path), lambda f: np.savez(f, images=split.images, labels=split.labels,
                                                classes=classes))


def load_split(path) -> Split:
    """Read a :func:`save_split` file with ``allow_pickle=False``.

    A truncated, empty or otherwise damaged file raises :class:`DatasetError`
    saying so (``load_dataset`` then recomputes it).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            return Split(z["images"], z["labels"], tuple(str(c) for c in z["classes"]))
    except _DAMAGED as exc:  # DatasetError (a ValueError) from Split included
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"cache file {path} is unreadable ({reason})") from None
