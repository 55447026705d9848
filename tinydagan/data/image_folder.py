"""ImageFolder: a user's own small dataset laid out as ``root/<class_name>/<image>``.

Class names are the sub-folder names in sorted order (label ``k`` is the
``k``-th name); images are the ``.png``, ``.jpg`` and ``.jpeg`` files inside
(case-insensitive), sorted by name so the order is the same on every machine.
Hidden entries (names starting with ".", such as the ``._x.png`` files macOS
leaves beside copied images) are skipped, like hidden class folders.
Each image is opened by :func:`tinydagan.data.image_file.open_image` (PNG or
JPEG content only, a pixel limit, 16-bit scaled to 8-bit RGB), centre-cropped
to a square and resized to ``size x size`` (see :mod:`tinydagan.data.resize`).
An entry named like an image that is not a regular file (a FIFO, a folder) is
an error, not skipped.
"""

import numpy as np

from .errors import DatasetError
from .files import require_folder
from .image_file import open_image
from .resize import resize_image
from .split import Split

__all__ = ["IMAGE_SUFFIXES", "list_image_folder", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def list_image_folder(root):
    """Return ``(classes, [(path, label), ...])`` without reading any pixels."""
    root = require_folder(root, "image folder")
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist (expected root/<class>/<image>.png)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"image folder {root} has no class sub-folders "
                           f"(expected root/<class_name>/*.png|jpg|jpeg)")
    items = []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        if not files:
            raise DatasetError(f"class folder {root / name} has no .png/.jpg/.jpeg images")
        items += [(p, label) for p in files]
    return tuple(classes), items


def load_image_folder(root, size: int = 32) -> Split:
    """Load every image under ``root`` as (N, size, size, 3) uint8 with int64 labels."""
    classes, items = list_image_folder(root)
    images = np.empty((len(items), size, size, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        images[i] = resize_image(open_image(path), size)
    labels = np.array([label for _, label in items], dtype=np.int64)
    return Split(images, labels, classes)
