"""Opening data files: :func:`tinydagan.files.open_regular` (regular files only,
so a FIFO cannot hang a loader) with the data layer's size limits
(:mod:`tinydagan.limits`) and its error type, ``DatasetError``.
:func:`require_folder` is the same idea for paths that must be folders.
"""
from pathlib import Path

from .. import files, limits
from ..files import describe_kind
from .errors import DatasetError

__all__ = ["describe_kind", "open_regular", "read_regular", "require_folder"]


def open_regular(path, what: str, limit: str = "MAX_DATA_FILE_BYTES"):
    """Open ``path`` for binary reading if it is a regular file within a size limit.

    ``what`` names the expected file in messages ("CIFAR-10 batch", "image", ...);
    ``limit`` is the name of the constant in :mod:`tinydagan.limits` that bounds its size
    (read when called, so a new value takes effect at once).
    """
    try:
        return files.open_regular(path, what, getattr(limits, limit), f"tinydagan.limits.{limit}",
                                  DatasetError)
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: cannot open {what} ({exc.strerror})") from None


def read_regular(path, what: str, limit: str = "MAX_DATA_FILE_BYTES") -> bytes:
    """All bytes of ``path``, through :func:`open_regular`."""
    with open_regular(path, what, limit) as f:
        return f.read()


def require_folder(path, what: str) -> Path:
    """Refuse a ``path`` that exists but is not a folder; return it as a ``Path``.

    A path that does not exist passes (the caller reports "not found" its own way).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DatasetError(f"{what} {path} is {describe_kind(path.stat().st_mode)}, "
                           f"expected a folder")
    return path
