"""``load_dataset``: one entry point, any dataset, any size, cached on disk.

    split = load_dataset("cifar10", "train", size=16)
    split.images.shape   # (20000, 16, 16, 3) uint8 with the workspace copy
    split.labels.shape   # (20000,) int64

The first call reads the official files, downscales with Pillow
(:mod:`tinydagan.data.resize`) and saves the result in the cache
(:mod:`tinydagan.data.npz_cache`); later calls read the cached ``.npz``.
A damaged cache file is not an error: a one-line note goes to stderr and the
arrays are computed again.
"""
import sys
from pathlib import Path

from . import cifar10, resize, svhn
from .errors import DatasetError
from .image_folder import list_image_folder, load_image_folder
from .npz_cache import CACHE_VERSION, cache_key, cache_path, file_sha1, load_split, save_split
from .resize import resize_images
from .split import Split

__all__ = ["DATASETS", "DEFAULT_SIZE", "PAPER_SIZE", "load_dataset", "cache_description"]

DATASETS = ("cifar10", "svhn", "folder")
DEFAULT_SIZE = 16  # classroom default: trains in minutes on a laptop CPU
PAPER_SIZE = 32    # the paper's resolution


def _sources(name: str, split: str, root):
    """``(facts, files)``: what besides file bytes decides the arrays, and
    ``[(name relative to the dataset folder, path), ...]`` of the files read."""
    if name == "cifar10":
        fmt, files, meta = cifar10.split_files(split, root)
        files = list(files) + ([meta] if meta else [])
        return {"format": fmt}, [(p.name, p) for p in files]
    if name == "svhn":
        path = svhn.find_svhn_file(split, root)
        return {"classes": list(svhn.CLASSES)}, [(path.name, path)]
    if root is None:
        raise DatasetError("dataset 'folder' needs root=<folder with one sub-folder per class>")
    classes, items = list_image_folder(root)  # labels come from the folder names
    return ({"classes": list(classes), "labels": [label for _, label in items]},
            [(p.relative_to(Path(root)).as_posix(), p) for p, _ in items])  # "cat/img_0.png"


def cache_description(name: str, split: str, size, root=None) -> dict:
    """Everything that determines ``load_dataset(name, split, size, root)``'s arrays.

    Its :func:`~tinydagan.data.npz_cache.cache_key` names the cache file.
    """
    facts, files = _sources(name, split, root)
    return {"cache_version": CACHE_VERSION, "dataset": name, "split": split, "size": size,
            "resample": resize.RESAMPLE.name, **facts,
            "files": [[relative, file_sha1(path)] for relative, path in files]}


def _load_uncached(name: str, split: str, size, root) -> Split:
    if name == "folder":
        return load_image_folder(root, size)
    data = cifar10.load_cifar10(split, root) if name == "cifar10" else svhn.load_svhn(split, root)
    if size is None:
        return data
    return Split(resize_images(data.images, size), data.labels, data.classes)


def load_dataset(name: str, split: str = "train", size=None, root=None, cache: bool = True) -> Split:
    """Load ``split`` of dataset ``name`` at ``size x size`` (``None`` = native 32x32).

    ``name``: "cifar10", "svhn" or "folder" (then ``root`` is the image folder,
    whose one split is "train"; ``size=None`` means 32). With ``cache=True``
    the result is stored in / read from the on-disk cache, keyed by
    :func:`cache_description`.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {DATASETS}")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise DatasetError(f"size must be a positive int or None, got {size!r}")
    if name == "folder":
        if split != "train":
            raise DatasetError(f"dataset 'folder' has one split, 'train' (training holds out "
                               f"its own test images per class), got split {split!r}")
        size = size or PAPER_SIZE
    if not cache:
        return _load_uncached(name, split, size, root)
    key = cache_key(cache_description(name, split, size, root))
    path = cache_path(name, split, size or "native", key)
    if path.is_file():
        try:
            return load_split(path)
        except DatasetError as exc:  # truncated, empty, ...: it can be rebuilt
            print(f"note: {exc}; recomputing it", file=sys.stderr)
    data = _load_uncached(name, split, size, root)
    save_split(path, data)
    return data
