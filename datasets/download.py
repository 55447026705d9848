"""Fetch a dataset into this folder: ``python datasets/download.py cifar10 [--from DIR]``.

A thin wrapper around ``python -m tinydagan.data download`` (see README.md here).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tinydagan.data import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["download", *sys.argv[1:]]))
