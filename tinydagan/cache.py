"""Where tinydagan keeps things it can rebuild: compiled kernels, downscaled arrays.

Never beside the data (the data folder may be read-only) and never in the repo.
The folder is, in order: the ``TINYDAGAN_CACHE`` environment variable, then
``$XDG_CACHE_HOME/tinydagan``, then ``~/.cache/tinydagan``.

Importing this module also points Numba's on-disk kernel cache (``NUMBA_CACHE_DIR``)
at ``<cache>/numba`` unless the user set ``NUMBA_CACHE_DIR`` already, so that
``@njit(cache=True)`` kernels compile once per machine, not once per run.
It must therefore be imported before numba is.

A cache folder that cannot be used (a file is in the way, it is read-only, the
disk is full) is reported by :func:`unusable_message` in one line naming the
folder and ``TINYDAGAN_CACHE``, the way to move it.
"""
import os
from pathlib import Path

__all__ = ["CacheError", "cache_dir", "unusable_message"]


class CacheError(OSError):
    """The cache folder cannot be created; the message says which one and how to fix it."""


def unusable_message(folder, exc: OSError) -> str:
    """One line for every cache folder that cannot be created or written."""
    reason = exc.strerror or exc  # "Not a directory", "No space left on device", ...
    return (f"cache folder {folder} is not usable ({reason}); set TINYDAGAN_CACHE to a "
            f"writable folder with free space (everything in it can be rebuilt)")


def cache_dir(*parts: str) -> Path:
    """Return ``<cache root>/<parts...>``, creating it if needed (else :class:`CacheError`)."""
    root = os.environ.get("TINYDAGAN_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "tinydagan") if xdg else os.path.join(Path.home(), ".cache", "tinydagan")
    path = Path(root).expanduser().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a file where a folder of the path should be
        raise CacheError(unusable_message(path, exc)) from None
    return path


if "NUMBA_CACHE_DIR" not in os.environ:
    try:
        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir("numba"))
    except OSError:  # e.g. an unwritable home (CacheError): Numba then compiles in memory every run
        pass
