"""``load_dataset``: one entry point, any dataset, any size, cached on disk.

    split = load_dataset("cifar10", "train", size=16)
    split.images.shape   # (20000, 16, 16, 3) uint8 with the workspace copy
    split.labels.shape   # (20000,) int64

The first call reads the official files, downscales with Pillow
(:mod:`tinydagan.data.resize`) and saves the result in the cache
(:mod:`tinydagan.data.npz_cache`); later calls read the cached ``.npz``.
"""
from . import cifar10, svhn
from .errors import DatasetError
from .image_folder import list_image_folder, load_image_folder
from .npz_cache import cache_path, load_split, save_split, sources_checksum
from .resize import resize_images
from .split import Split

__all__ = ["DATASETS", "DEFAULT_SIZE", "PAPER_SIZE", "load_dataset", "source_files"]

DATASETS = ("cifar10", "svhn", "folder")
DEFAULT_SIZE = 16  # classroom default: trains in minutes on a laptop CPU
PAPER_SIZE = 32    # the paper's resolution


def source_files(name: str, split: str, root=None) -> list:
    """The files whose bytes determine ``load_dataset(name, split, ...)``."""
    if name == "cifar10":
        _fmt, files, meta = cifar10.split_files(split, root)
        return list(files) + ([meta] if meta else [])
    if name == "svhn":
        return [svhn.find_svhn_file(split, root)]
    if name == "folder":
        if root is None:
            raise DatasetError("dataset 'folder' needs root=<folder with one sub-folder per class>")
        return [p for p, _ in list_image_folder(root)[1]]
    raise DatasetError(f"unknown dataset {name!r}; expected one of {DATASETS}")


def _load_uncached(name: str, split: str, size, root) -> Split:
    if name == "folder":
        return load_image_folder(root, size or PAPER_SIZE)
    data = cifar10.load_cifar10(split, root) if name == "cifar10" else svhn.load_svhn(split, root)
    if size is None:
        return data
    return Split(resize_images(data.images, size), data.labels, data.classes)


def load_dataset(name: str, split: str = "train", size=None, root=None, cache: bool = True) -> Split:
    """Load ``split`` of dataset ``name`` at ``size x size`` (``None`` = native 32x32).

    ``name``: "cifar10", "svhn" or "folder" (then ``root`` is the image folder).
    With ``cache=True`` the result is stored in / read from the on-disk cache,
    keyed by dataset, split, size and a checksum of the source files.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {DATASETS}")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise DatasetError(f"size must be a positive int or None, got {size!r}")
    if not cache:
        return _load_uncached(name, split, size, root)
    key = sources_checksum(source_files(name, split, root))
    path = cache_path(name, split, size or "native", key)
    if path.is_file():
        return load_split(path)
    data = _load_uncached(name, split, size, root)
    save_split(path, data)
    return data
