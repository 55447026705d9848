"""Opening one image file of an image folder: PNG or JPEG only, size checked, 8-bit RGB out.

Three things Pillow would otherwise decide for us:

1. *Which decoder.* ``Image.open`` picks a decoder from the file's content,
   not its name: a PostScript file named ``cat.png`` would be handed to
   Ghostscript, a TIFF to libtiff. We pass ``formats=ALLOWED_FORMATS`` so only
   the PNG and JPEG decoders ever see the bytes, and a refused file is named
   with what it really is (from its first bytes, :func:`sniff_format`).
2. *How many pixels.* The header is read first; ``img.size`` is checked
   against :data:`tinydagan.limits.MAX_IMAGE_PIXELS` before any pixel is
   decoded (a 140 KB PNG can declare 12000 x 12000 pixels).
3. *Bit depth.* A 16-bit greyscale PNG opens in mode ``I;16`` with values
   0..65535, and ``convert("RGB")`` would clip every value above 255 to 255
   (a white image). We rescale by the bit depth first::

       v8 = round(v16 / 257)        (65535 / 255 = 257 exactly, so 0 -> 0, 65535 -> 255)

   (16-bit RGB PNGs are already reduced to 8 bits by Pillow's decoder.)
"""
import warnings

import numpy as np
from PIL import Image

from .. import limits
from .errors import DatasetError
from .files import open_regular

__all__ = ["ALLOWED_FORMATS", "sniff_format", "open_image"]

ALLOWED_FORMATS = ("PNG", "JPEG")  # what .png / .jpg / .jpeg promise
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # greyscale, 0..65535

# First bytes -> format, for naming what a refused file really is.
_SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
               (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
               (b"%!PS", "PostScript"), (b"\xc5\xd0\xd3\xc6", "PostScript (binary EPS)"),
               (b"%PDF", "PDF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"qoif", "QOI")]


def sniff_format(head: bytes) -> str:
    """The format a file's first 16 bytes announce ("PostScript", "GIF", ...), or a description."""
    if not head:
        return "an empty file"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return name
    return f"unknown content (first bytes {head[:8].hex(' ')})"


def _unidentified_message(path, found: str) -> str:
    """Why neither the PNG nor the JPEG decoder accepted the file at ``path``."""
    if found in ALLOWED_FORMATS:  # the right signature, but a header Pillow cannot parse
        return f"cannot read image {path}: its {found} header is damaged"
    return f"refused image {path}: expected PNG or JPEG, found {found}"


def _to_rgb(img: Image.Image, path) -> Image.Image:
    """Any PNG/JPEG mode -> RGB, 16-bit greyscale rescaled by its bit depth first."""
    if img.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(img)  # (H, W) uint16 (or int32 for mode I)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise DatasetError(f"cannot read image {path}: 16-bit values must lie in 0..65535, "
                               f"found {values.min()}..{values.max()}")
        img = Image.fromarray(np.rint(values / 257.0).astype(np.uint8))  # mode L
    return img.convert("RGB")


def open_image(path) -> Image.Image:
    """Decode the PNG or JPEG at ``path`` into an RGB image (8 bits per channel)."""
    with open_regular(path, "PNG or JPEG image") as f:
        head = f.read(16)
        f.seek(0)
        try:
            with warnings.catch_warnings():  # our MAX_IMAGE_PIXELS (below) is lower than Pillow's
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(f, formats=list(ALLOWED_FORMATS))
        except Image.UnidentifiedImageError:
            raise DatasetError(_unidentified_message(path, sniff_format(head))) from None
        except Image.DecompressionBombError as exc:  # beyond even Pillow's own limit
            raise DatasetError(f"refused image {path}: more than tinydagan.limits.MAX_IMAGE_PIXELS"
                               f" = {limits.MAX_IMAGE_PIXELS:,} pixels ({exc})") from None
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read image {path}: {exc}") from None
        with img:
            width, height = img.size  # from the header: nothing decoded yet
            if width * height > limits.MAX_IMAGE_PIXELS:
                raise DatasetError(f"refused image {path}: {width}x{height} = {width * height:,} "
                                   f"pixels is more than tinydagan.limits.MAX_IMAGE_PIXELS = "
                                   f"{limits.MAX_IMAGE_PIXELS:,}; shrink it first")
            try:
                img.load()  # decode the pixels
            except (OSError, ValueError, SyntaxError) as exc:  # truncated, corrupt, ...
                raise DatasetError(f"cannot read image {path}: {exc}") from None
            return _to_rgb(img, path)
