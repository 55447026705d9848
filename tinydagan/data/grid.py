"""A PNG grid of images, one row per class, to see what a subset looks like.

    make_grid(images, labels, classes)  -> PIL image
    save_grid(path, images, labels, classes)

Small images (16x16) are enlarged with NEAREST resampling so each pixel stays
a visible square (smoothing would hide what the network actually sees). The
class name is written at the left of its row.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import DatasetError
from ..serialization import atomic_write

__all__ = ["make_grid", "save_grid"]


def make_grid(images: np.ndarray, labels: np.ndarray, classes, scale=None,
              gap: int = 2) -> Image.Image:
    """Build the grid: row ``k`` holds the images with label ``k`` in given order.

    ``images`` (N, H, W, 3) uint8, ``labels`` (N,) ints. ``scale`` (an int)
    enlarges each image; the default makes tiles about 64 pixels wide.
    """
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise DatasetError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    if len(images) != len(labels):
        raise DatasetError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    _, h, w, _ = images.shape
    scale = scale or max(1, 64 // max(h, w))
    th, tw = h * scale, w * scale
    rows = [np.flatnonzero(labels == k) for k in range(len(classes))]
    cols = max([len(r) for r in rows] + [1])
    font = ImageFont.load_default()
    label_w = 8 + max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(str(c), font=font))
                      for c in classes)
    grid = Image.new("RGB", (label_w + cols * (tw + gap) + gap, len(classes) * (th + gap) + gap),
                     "white")
    draw = ImageDraw.Draw(grid)
    for k, idx in enumerate(rows):
        y = gap + k * (th + gap)
        draw.text((4, y + th // 2), str(classes[k]), fill="black", font=font, anchor="lm")
        for j, i in enumerate(idx):
            tile = Image.fromarray(images[i]).resize((tw, th), Image.Resampling.NEAREST)
            grid.paste(tile, (label_w + gap + j * (tw + gap), y))
    return grid


def save_grid(path, images: np.ndarray, labels: np.ndarray, classes, scale=None) -> None:
    """Write :func:`make_grid` as a PNG, atomically (temp file + rename)."""
    grid = make_grid(images, labels, classes, scale)
    atomic_write(path, lambda f: grid.save(f, format="PNG"))
