"""A synthetic image folder for the tutorials that need images but no download (07, 08).

``root/<shape>/NNN.png``: 32x32 RGB, one shape (circle, square or triangle) in a random
bright colour, size and place on a random dark background. The layout is that of any image
folder (``root/<class>/*.png``, tinydagan/data/image_folder.py), so the same code reads it
and your own photos.
"""
import os

from PIL import Image, ImageDraw

__all__ = ["SHAPES", "write_shapes_folder"]

SHAPES = ("circle", "square", "triangle")


def write_shapes_folder(root, per_class, rng, size=32):
    """Write ``per_class`` images of each shape under ``root`` (drawn with ``rng``, an
    ``np.random.Generator``); returns ``root``."""
    for name in SHAPES:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            background = tuple(int(v) for v in rng.integers(0, 90, 3))
            colour = tuple(int(v) for v in rng.integers(120, 256, 3))
            img = Image.new("RGB", (size, size), background)
            draw = ImageDraw.Draw(img)
            r = int(rng.integers(size // 5, size * 3 // 8))            # half the shape's size
            cx, cy = (int(v) for v in rng.integers(r + 1, size - r - 1, 2))
            if name == "circle":
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
            elif name == "square":
                draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
            img.save(os.path.join(root, name, f"{i:03d}.png"))
    return root
