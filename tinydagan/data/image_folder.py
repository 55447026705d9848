"""ImageFolder: a user's own small dataset laid out as ``root/<class_name>/<image>``.

Class names are the sub-folder names in sorted order (label ``k`` is the
``k``-th name); images are the ``.png``, ``.jpg`` and ``.jpeg`` files inside
(case-insensitive), sorted by name so the order is the same on every machine.
Each image is converted to RGB, centre-cropped to a square and resized to
``size x size`` (see :mod:`tinydagan.data.resize`).
"""
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DatasetError
from .resize import resize_image
from .split import Split

__all__ = ["IMAGE_SUFFIXES", "list_image_folder", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def list_image_folder(root):
    """Return ``(classes, [(path, label), ...])`` without reading any pixels."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist (expected root/<class>/<image>.png)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"image folder {root} has no class sub-folders "
                           f"(expected root/<class_name>/*.png|jpg|jpeg)")
    items = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"class folder {root / name} has no .png/.jpg/.jpeg images")
        items += [(p, label) for p in files]
    return tuple(classes), items


def load_image_folder(root, size: int = 32) -> Split:
    """Load every image under ``root`` as (N, size, size, 3) uint8 with int64 labels."""
    classes, items = list_image_folder(root)
    images = np.empty((len(items), size, size, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        try:
            with Image.open(path) as img:
                images[i] = resize_image(img, size)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DatasetError(f"cannot read image {path}: {exc}") from None
    labels = np.array([label for _, label in items], dtype=np.int64)
    return Split(images, labels, classes)
