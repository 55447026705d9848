"""Where the data lives: the *data root*.

The root is, in order of precedence:

1. an explicit ``root=`` argument,
2. the ``TINYDAGAN_DATA`` environment variable,
3. the ``datasets/`` folder at the top of the repository.

Each dataset then has its own sub-folder (``cifar-10-batches-bin``,
``svhn``, ...). A missing folder is reported with the two ways to fix it.
"""
import os
from pathlib import Path


__all__ = ["REPO_DATASETS", "data_root", "missing_data_message"]

# tinydagan/data/paths.py -> repo/datasets
REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def data_root(root=None) -> Path:
    """Return the data root as a ``Path`` (not checked for existence)."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    env = os.environ.get("TINYDAGAN_DATA")
    if env:
        return Path(env).expanduser()
    return REPO_DATASETS


def missing_data_message(what: str, looked_in, dataset: str) -> str:
    """One message for every "data not found" case: what, where, how to fix."""
    places = ", ".join(str(p) for p in looked_in)
    return (f"{what} not found (looked in: {places}). Either point TINYDAGAN_DATA at a "
            f"folder holding it (export TINYDAGAN_DATA=/path/to/data; or --data-root DIR / --root DIR "
            f"on the command line, root=... in Python), "
            f"or fetch it with: python -m tinydagan.data download {dataset} "
            f"[--root DIR] [--from LOCAL_COPY]")
