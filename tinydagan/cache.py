"""Where tinydagan keeps things it can rebuild: compiled kernels, downscaled arrays.

Never beside the data (the data folder may be read-only) and never in the repo.
The folder is, in order: the ``TINYDAGAN_CACHE`` environment variable, then
``$XDG_CACHE_HOME/tinydagan``, then ``~/.cache/tinydagan``.

Importing this module also points Numba's on-disk kernel cache (``NUMBA_CACHE_DIR``)
at ``<cache>/numba`` unless the user set ``NUMBA_CACHE_DIR`` already, so that
``@njit(cache=True)`` kernels compile once per machine, not once per run.
It must therefore be imported before numba is.
"""
import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """Return ``<cache root>/<parts...>``, creating it if needed."""
    root = os.environ.get("TINYDAGAN_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "tinydagan") if xdg else os.path.join(Path.home(), ".cache", "tinydagan")
    path = Path(root).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


if "NUMBA_CACHE_DIR" not in os.environ:
    try:
        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir("numba"))
    except OSError:  # an unwritable home: Numba then compiles in memory every run
        pass
