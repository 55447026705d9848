"""Opening data files without surprises: regular files only, size checked first.

``open(path)`` on a FIFO (named pipe) blocks until some other program writes
to it, which may be never; on a folder it fails with an OS message that does
not say what was expected. So every loader opens its files through
:func:`open_regular`:

1. open with ``O_NONBLOCK``, which returns at once even for a FIFO
   (the flag makes no difference when reading regular files);
2. ``fstat`` what was opened: anything but a regular file is refused;
3. compare the size with the caller's limit *before* reading any byte.

Checking the object we opened, not the name before opening it, means the
file cannot be swapped for another one between the check and the read.
:func:`require_folder` is the same idea for paths that must be folders.
"""
import os
import stat
from pathlib import Path

from .. import limits
from .errors import DatasetError

__all__ = ["describe_kind", "open_regular", "read_regular", "require_folder"]

_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")]


def describe_kind(mode: int) -> str:
    """``st_mode`` -> "a folder", "a FIFO (named pipe)", ... for error messages."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def open_regular(path, what: str, limit: str = "MAX_DATA_FILE_BYTES"):
    """Open ``path`` for binary reading if it is a regular file within a size limit.

    ``what`` names the expected file in messages ("CIFAR-10 batch", "image", ...);
    ``limit`` is the name of the constant in :mod:`tinydagan.limits` that
    bounds its size, so that a refusal says which limit to raise.
    Returns an open binary file object.
    """
    max_bytes = getattr(limits, limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open {what} ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise DatasetError(f"{path} is not a regular file: expected a {what}, "
                           f"found {describe_kind(st.st_mode)}")
    if st.st_size > max_bytes:
        os.close(fd)
        raise DatasetError(f"{path}: a {what} of {st.st_size:,} bytes is more than "
                           f"tinydagan.limits.{limit} = {max_bytes:,} bytes allows")
    return os.fdopen(fd, "rb")


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
