"""Command line: ``python -m tinydagan.data {download,show,info} ...``.

    python -m tinydagan.data download cifar10 [--root DIR] [--from DIR]
    python -m tinydagan.data show cifar10 --per-class 8 --size 16 --out grid.png
    python -m tinydagan.data info cifar10

:func:`main` takes ``argv`` and returns an exit code (0 ok, 1 data error,
2 usage error), so ``tinydagan.cli`` can call it as a sub-command. Every
problem is one ``error:`` line: a ``--size`` above
:data:`tinydagan.limits.MAX_SHOW_SIZE` is a usage error; a file given where a
folder is expected (or the reverse) and ``--split`` with an image folder
(which has only "train") are data errors.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from .. import limits
from .download import SOURCES, download
from .errors import DatasetError
from .grid import save_grid
from .load import DATASETS, DEFAULT_SIZE, load_dataset
from .paths import data_root
from .subsets import class_balanced_subset

__all__ = ["build_parser", "main"]

ROOT_HELP = ("data root (default: $TINYDAGAN_DATA, else datasets/ in the repo); "
             "for 'folder', the image folder")


def _size(text: str) -> int:
    """``--size``: an int in 1..MAX_SHOW_SIZE (the whole split is loaded at that size)."""
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= size <= limits.MAX_SHOW_SIZE:
        raise argparse.ArgumentTypeError(f"must be 1..{limits.MAX_SHOW_SIZE} "
                                         f"(tinydagan.limits.MAX_SHOW_SIZE), got {size}")
    return size


def build_parser(prog: str = "python -m tinydagan.data") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Datasets for tinydagan: download, inspect, preview.",
        epilog="Data root: --root, else the TINYDAGAN_DATA environment variable, "
               "else datasets/ in the repository.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("download", help="fetch (or copy with --from) and verify a dataset",
                       description="Download the official files, verify MD5, unpack safely; "
                                   "an interrupted download resumes when run again.")
    d.add_argument("dataset", choices=sorted(SOURCES))
    d.add_argument("--root", help="where to put the data (default: the data root)")
    d.add_argument("--from", dest="source", metavar="DIR",
                   help="install from a local copy (folder or archive) instead of the network")
    d.add_argument("--keep-archive", action="store_true",
                   help="keep the .tar.gz after unpacking (default: delete it)")

    s = sub.add_parser("show", help="write a PNG grid of a class-balanced subset",
                       description="One row per class, --per-class images each.")
    s.add_argument("dataset", choices=DATASETS)
    s.add_argument("--root", help=ROOT_HELP)
    s.add_argument("--split", default="train",
                   help="train or test (default: train); an image folder has only train")
    s.add_argument("--per-class", type=int, default=8, help="images per class (default: 8)")
    s.add_argument("--size", type=_size, default=DEFAULT_SIZE,
                   help=f"image size in pixels, at most {limits.MAX_SHOW_SIZE} "
                        f"(default: {DEFAULT_SIZE}; the paper uses 32)")
    s.add_argument("--data-seed", type=int, default=0, help="which images (default: 0)")
    s.add_argument("--out", default="grid.png", help="PNG file to write (default: grid.png)")

    i = sub.add_parser("info", help="print shapes and per-class counts")
    i.add_argument("dataset", choices=DATASETS)
    i.add_argument("--root", help=ROOT_HELP)
    i.add_argument("--split", default="train",
                   help="train or test (default: train); an image folder has only train")
    i.add_argument("--size", type=_size, default=None,
                   help=f"image size, at most {limits.MAX_SHOW_SIZE} (default: native)")
    return parser


def _show(args, out) -> None:
    if Path(args.out).is_dir():  # checked before the (slow) load
        raise DatasetError(f"--out {args.out} is a folder, expected a .png file name")
    data = load_dataset(args.dataset, args.split, args.size, args.root)
    x, y = class_balanced_subset(data.images, data.labels, args.per_class,
                                 np.random.default_rng(args.data_seed), data.num_classes)
    order = np.argsort(y, kind="stable")
    try:
        save_grid(args.out, x[order], y[order], data.classes)
    except OSError as exc:  # a read-only folder, a file where a folder should be, ...
        raise DatasetError(f"--out {args.out}: cannot write it ({exc.strerror or exc})") from None
    out.write(f"wrote {args.out}: {data.num_classes} classes x {args.per_class} images, "
              f"{args.size}x{args.size}, {args.split} split, data_seed={args.data_seed}\n")


def _info(args, out) -> None:
    data = load_dataset(args.dataset, args.split, args.size, args.root)
    counts = np.bincount(data.labels, minlength=data.num_classes)
    out.write(f"{args.dataset} {args.split}: images {data.images.shape} {data.images.dtype}, "
              f"labels {data.labels.shape} {data.labels.dtype}\n")
    for name, count in zip(data.classes, counts):
        out.write(f"  {name:12s} {count}\n")


def main(argv=None, out=None) -> int:
    """Run the command line; return the exit code instead of exiting."""
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        if args.command == "download":
            path = download(args.dataset, args.root, args.source, args.keep_archive)
            out.write(f"{args.dataset} ready in {path}\n"
                      f"(set TINYDAGAN_DATA={data_root(args.root)} if that is not the default)\n")
        elif args.command == "show":
            _show(args, out)
        else:
            _info(args, out)
    except DatasetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0
