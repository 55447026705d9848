"""Opening files without surprises: regular files only, size checked first.

``open(path)`` on a FIFO (named pipe) blocks until some other program writes
to it, which may be never; on a folder it fails with an OS message that does
not say what was expected. So every file tinydagan reads (data files, the
cache, checkpoints, results) is opened through :func:`open_regular`:

1. open with ``O_NONBLOCK``, which returns at once even for a FIFO
   (the flag makes no difference when reading regular files);
2. ``fstat`` what was opened: anything but a regular file is refused;
3. compare the size with the caller's limit *before* reading any byte.

Checking the object we opened, not the name before opening it, means the
file cannot be swapped for another one between the check and the read.
The data layer adds its size limits and its error type on top
(:mod:`tinydagan.data.files`).
"""
import os
import stat

__all__ = ["describe_kind", "open_regular"]

_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")]


def describe_kind(mode: int) -> str:
    """``st_mode`` -> "a folder", "a FIFO (named pipe)", ... for error messages."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def open_regular(path, what="file", max_bytes=None, limit_name=None, error=ValueError, text=False):
    """Open ``path`` for reading (binary, or UTF-8 text if ``text``) if it is a regular file
    of at most ``max_bytes`` bytes; otherwise raise ``error`` with one line naming the file.

    ``what`` names the expected file in messages ("CIFAR-10 batch", "checkpoint", ...),
    ``limit_name`` the setting that bounds its size, so that a refusal says what to raise.
    A missing file is FileNotFoundError, as with ``open``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{path}: cannot open {what} ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path} is not a regular file: expected a {what}, "
                        f"found {describe_kind(st.st_mode)}")
        if max_bytes is not None and st.st_size > max_bytes:
            raise error(f"{path}: a {what} of {st.st_size:,} bytes is more than "
                        f"{limit_name} = {max_bytes:,} bytes allows")
        os.set_blocking(fd, True)
        return open(fd, "r" if text else "rb", encoding="utf-8" if text else None)
    except BaseException:
        os.close(fd)
        raise
