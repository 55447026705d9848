"""Downscaling images with Pillow's antialiased resize.

We use ``Image.Resampling.BOX``: each output pixel is the plain average of the
input pixels its box covers. For the usual 32 -> 16 case that is exactly the
mean of a 2x2 block, so nothing is invented and no ringing appears (LANCZOS
would sharpen slightly and can overshoot at edges). Going *up* in size, BOX
behaves like nearest-neighbour; use it for display only.

16x16 is the classroom default (4x fewer pixels than the paper's 32x32, so the
networks train in minutes on a laptop CPU); 32x32 reproduces the paper.
"""
import numpy as np
from PIL import Image

from .errors import DatasetError

__all__ = ["RESAMPLE", "resize_image", "resize_images", "center_square"]

RESAMPLE = Image.Resampling.BOX


def center_square(img: Image.Image) -> Image.Image:
    """Crop the largest centred square (so resizing never distorts the aspect ratio)."""
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.crop((left, top, left + s, top + s))


def resize_image(img: Image.Image, size: int) -> np.ndarray:
    """PIL image of any size/mode -> (size, size, 3) uint8, centre-cropped to square."""
    img = center_square(img.convert("RGB"))
    if img.size != (size, size):
        img = img.resize((size, size), RESAMPLE)
    return np.asarray(img, dtype=np.uint8)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size, 3) uint8 with BOX resampling.

    Returns ``images`` itself when it already has the requested size.
    """
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise DatasetError(f"size must be a positive int, got {size!r}")
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise DatasetError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(image).resize((size, size), RESAMPLE))
    return out
