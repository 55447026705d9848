"""Fetch the official archives, verify them, and unpack them safely.

    python -m tinydagan.data download cifar10 [--root DIR]
    python -m tinydagan.data download svhn    [--root DIR]
    python -m tinydagan.data download cifar10 --from /path/to/local/copy

Four things can go wrong with a download, and each is handled here:

1. *Interrupted*: bytes go to ``<file>.part``; running the command again asks
   the server for the rest (HTTP ``Range: bytes=<have>-``). A server that
   ignores the range answers 200 with the whole file, and we restart cleanly.
2. *Corrupted*: the MD5 of the finished file must match the official value
   (:data:`SOURCES`), else the ``.part`` is deleted and an error says so.
3. *Hostile archive*: a tar member may be named ``../../.bashrc``, be a link
   or a device. :func:`safe_extract` checks every member first and refuses
   the whole archive if any is not a regular file or folder inside the target.
4. *No network*: one line says so and how to use a local copy instead.

Only a verified ``.part`` is renamed to its final name (``os.replace``), so a
file with the final name is always complete. An unpacked CIFAR-10 folder has
no MD5 per file, so it counts as complete only when every official file is
there with its exact size (:func:`cifar10_incomplete`); an emptied or cut
batch is downloaded again, not reported as done.
"""
import hashlib
import http.client
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from . import cifar10, svhn
from .errors import DatasetError
from .files import describe_kind, require_folder
from ..serialization import atomic_write
from .paths import data_root

__all__ = ["Remote", "SOURCES", "CIFAR10_FILES", "md5sum", "fetch", "safe_extract", "download",
           "copy_from", "verify_cifar10_folder", "cifar10_incomplete"]


@dataclass(frozen=True)
class Remote:
    """One official file: where to get it, its MD5 and size, whether to unpack it."""

    filename: str
    url: str
    md5: str
    size: int
    subdir: str = ""       # folder under the data root for the file (or its contents)
    extract: bool = False  # a .tar.gz to unpack into the data root


SOURCES = {
    "cifar10": [Remote("cifar-10-binary.tar.gz",
                       "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                       "c32a1d4ab5d03f1284b67883e8d87530", 170_052_171, extract=True)],
    "svhn": [Remote("train_32x32.mat", "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
                    "e26dedcc434d2e4c54c9b2d4a06d8373", 182_040_794, subdir=svhn.SUBDIR),
             Remote("test_32x32.mat", "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
                    "eb5a983be6a315427106f1b164d9cef3", 64_275_384, subdir=svhn.SUBDIR)],
}


# The unpacked official CIFAR-10 binary release: each batch holds 10,000 records (30,730,000 bytes).
CIFAR10_FILES = {name: 10_000 * cifar10.RECORD_BYTES
                 for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]}


def md5sum(path) -> str:
    """MD5 hex digest of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def _no_network(url: str, reason, name: str) -> DatasetError:
    host = urllib.request.urlparse(url).netloc or url
    return DatasetError(
        f"cannot reach {host} (no network? {reason}). Use a local copy instead: "
        f"export TINYDAGAN_DATA=/path/to/data, or copy and verify one with "
        f"python -m tinydagan.data download {name} --from DIR")


class _Progress:
    """A single updating line: ``name  12.0/162.2 MB  7%``."""

    def __init__(self, name, total, out):
        self.name, self.total, self.out, self.last = name, total, out, 0.0

    def __call__(self, done, final=False):
        now = time.monotonic()
        if not final and now - self.last < 0.25:
            return
        self.last = now
        total = f"/{self.total / 1e6:.1f}" if self.total else ""
        pct = f"  {100 * done // self.total:3d}%" if self.total else ""
        self.out.write(f"\r{self.name}  {done / 1e6:.1f}{total} MB{pct}")
        if final:
            self.out.write("\n")
        self.out.flush()


def fetch(url: str, dest, md5: str, name: str = "dataset", out=sys.stderr,
          timeout: float = 30.0, chunk: int = 1 << 16) -> Path:
    """Download ``url`` to ``dest`` via ``dest.part``, resuming, then verify ``md5``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # we already have every byte: fall through to the check
            response = None
        else:
            raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _no_network(url, getattr(exc, "reason", exc), name) from None
    if response is not None:
        with response:
            resumed = have and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")
            if not resumed:
                have = 0  # server ignored the range (or no .part): start from scratch
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            progress = _Progress(dest.name, total, out)
            done = have
            try:
                with open(part, "ab" if resumed else "wb") as f:
                    while block := response.read(chunk):
                        f.write(block)
                        done += len(block)
                        progress(done)
            except (OSError, http.client.HTTPException) as exc:  # reset, a cut chunked body, ...
                progress(done, final=True)
                raise DatasetError(f"download of {url} interrupted after {done} bytes ({exc}); "
                                   f"run the same command again to resume") from None
            progress(done, final=True)
            if total is not None and done < total:
                raise DatasetError(f"download of {url} interrupted after {done} of {total} bytes; "
                                   f"run the same command again to resume")
    found = md5sum(part)
    if found != md5:
        part.unlink()
        raise DatasetError(f"{dest.name}: MD5 mismatch: expected {md5}, found {found}; the "
                           f"partial file was deleted, run the command again to restart")
    part.replace(dest)
    return dest


def safe_extract(archive, target) -> list:
    """Unpack a tar archive into ``target``, refusing unsafe members; return member names.

    Every member is checked *before* anything is written: only regular files
    and folders whose path stays inside ``target`` are allowed (no absolute
    paths, no ``..``, no symlinks, hard links, devices or fifos).
    """
    target = Path(target).resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                parts = PurePosixPath(m.name).parts
                kind = ("symlink" if m.issym() else "hard link" if m.islnk() else
                        "device" if m.ischr() or m.isblk() else "fifo" if m.isfifo() else "")
                if kind or not (m.isfile() or m.isdir()):
                    raise DatasetError(f"{archive}: refusing member {m.name!r}: it is a "
                                       f"{kind or 'special file'}; only regular files and "
                                       f"folders are allowed")
                if m.name.startswith(("/", "\\")) or ".." in parts or \
                        not (target / m.name).resolve().is_relative_to(target):
                    raise DatasetError(f"{archive}: refusing member {m.name!r}: its path "
                                       f"leaves the target folder {target}")
            for m in members:
                dest = target / m.name
                if m.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                src = tar.extractfile(m)
                atomic_write(dest, lambda f: shutil.copyfileobj(src, f))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive}: not a readable tar archive ({exc})") from None
    return [m.name for m in members]


def verify_cifar10_folder(folder, out=sys.stderr) -> list:
    """Check the record structure of every CIFAR-10 ``.bin`` in ``folder``; return them.

    The official page gives an MD5 only for the archive, not for each ``.bin``,
    so a folder copy is checked by structure: size a multiple of 3073 bytes and
    labels in 0..9, plus 10 class names in ``batches.meta.txt``.
    """
    folder = Path(folder)
    bins = sorted(folder.glob("data_batch_*.bin")) + [folder / "test_batch.bin"]
    if not bins[-1].is_file() or len(bins) < 2:
        raise DatasetError(f"{folder}: expected data_batch_*.bin and test_batch.bin")
    for path in bins:
        _images, labels = cifar10.read_bin_batch(path)
        out.write(f"  {path.name}: {len(labels)} records, labels "
                  f"{labels.min()}..{labels.max()}, {np.bincount(labels, minlength=10).min()}+ "
                  f"per class\n")
    names = cifar10.read_meta_txt(folder / "batches.meta.txt")
    if len(names) != 10:
        raise DatasetError(f"{folder / 'batches.meta.txt'}: expected 10 class names, "
                           f"found {len(names)}")
    out.write("  note: the official release publishes an MD5 for the archive only, not for "
              "the .bin files, so their record structure was checked instead\n")
    return bins + [folder / "batches.meta.txt"]


def cifar10_incomplete(folder) -> str:
    """Why ``folder`` is not a complete official CIFAR-10 binary folder ("" if it is).

    Checks that each batch has its exact size and ``batches.meta.txt`` its 10
    names; the labels are checked again whenever a batch is loaded.
    """
    folder = Path(folder)
    for name, size in CIFAR10_FILES.items():
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        if path.stat().st_size != size:
            return f"{path} has {path.stat().st_size:,} bytes, expected {size:,}"
    try:
        names = cifar10.read_meta_txt(folder / "batches.meta.txt")
    except DatasetError as exc:
        return str(exc)
    if len(names) != 10:
        return f"{folder / 'batches.meta.txt'} has {len(names)} class names, expected 10"
    return ""


def _copy_file(src: Path, dest: Path) -> None:
    if src.resolve() != dest.resolve():
        with open(src, "rb") as f:
            atomic_write(dest, lambda g: shutil.copyfileobj(f, g))


def _install_archive(archive: Path, remote: Remote, root: Path, out) -> None:
    found = md5sum(archive)
    if found != remote.md5:
        raise DatasetError(f"{archive}: MD5 mismatch: expected {remote.md5}, found {found}")
    out.write(f"{archive.name}: MD5 ok, unpacking into {root}\n")
    safe_extract(archive, root)


def copy_from(name: str, source, root=None, out=sys.stderr) -> Path:
    """Install dataset ``name`` from a local copy at ``source`` (folder or archive)."""
    source, root = Path(source), require_folder(data_root(root), "data root")
    if not source.exists():
        raise DatasetError(f"--from {source}: no such file or folder")
    if not (source.is_file() or source.is_dir()):
        raise DatasetError(f"--from {source} is {describe_kind(source.stat().st_mode)}, expected "
                           f"an archive, a .mat file or a folder holding them")
    if name == "cifar10":
        remote = SOURCES["cifar10"][0]
        archive = source if source.is_file() else source / remote.filename
        if archive.is_file():
            _install_archive(archive, remote, root, out)
            return root / cifar10.BIN_DIR
        folder = source if (source / "test_batch.bin").is_file() else source / cifar10.BIN_DIR
        if not (folder / "test_batch.bin").is_file():
            raise DatasetError(f"--from {source}: expected {remote.filename}, a "
                               f"{cifar10.BIN_DIR}/ folder or its parent")
        files = verify_cifar10_folder(folder, out)
        for path in files:
            _copy_file(path, root / cifar10.BIN_DIR / path.name)
        out.write(f"copied {len(files)} files to {root / cifar10.BIN_DIR}\n")
        return root / cifar10.BIN_DIR
    for remote in _sources(name):
        candidates = [source] if source.is_file() else \
            [source / remote.filename, source / remote.subdir / remote.filename]
        src = next((p for p in candidates if p.is_file() and p.name == remote.filename), None)
        if src is None:
            raise DatasetError(f"--from {source}: {remote.filename} not found")
        found = md5sum(src)
        if found != remote.md5:
            raise DatasetError(f"{src}: MD5 mismatch: expected {remote.md5}, found {found}")
        _copy_file(src, root / remote.subdir / remote.filename)
        out.write(f"{remote.filename}: MD5 ok, copied to {root / remote.subdir}\n")
    return root / svhn.SUBDIR


def _sources(name: str):
    if name not in SOURCES:
        raise DatasetError(f"unknown dataset {name!r}; can download {sorted(SOURCES)}")
    return SOURCES[name]


def download(name: str, root=None, source=None, keep_archive: bool = False,
             out=sys.stderr) -> Path:
    """Download (or with ``source``, copy) dataset ``name`` into the data root."""
    remotes = _sources(name)
    try:
        if source is not None:
            return copy_from(name, source, root, out)
        return _download(name, remotes, require_folder(data_root(root), "data root"),
                         keep_archive, out)
    except OSError as exc:  # a read-only or full data root, a folder where a file should go, ...
        raise DatasetError(f"{exc.filename or data_root(root)}: {exc.strerror or exc} "
                           f"(while installing {name})") from None


def _download(name: str, remotes, root: Path, keep_archive: bool, out) -> Path:
    for remote in remotes:
        final = root / remote.subdir / remote.filename
        if remote.extract:
            problem = cifar10_incomplete(root / cifar10.BIN_DIR)
            if not problem:
                out.write(f"{root / cifar10.BIN_DIR} already complete (every file has its "
                          f"official size), nothing to do\n")
                continue
            if (root / cifar10.BIN_DIR).exists():
                out.write(f"{root / cifar10.BIN_DIR} is incomplete ({problem}); fetching again\n")
            if not final.is_file() or md5sum(final) != remote.md5:
                fetch(remote.url, final, remote.md5, name, out)
            _install_archive(final, remote, root, out)
            if not keep_archive:
                final.unlink()
        elif final.is_file() and md5sum(final) == remote.md5:
            out.write(f"{final} already present, MD5 ok\n")
        else:
            fetch(remote.url, final, remote.md5, name, out)
            out.write(f"{final}: MD5 ok\n")
    return root / (cifar10.BIN_DIR if name == "cifar10" else svhn.SUBDIR)
