"""Writing files atomically, and saving / loading named arrays (``.npz``) without pickle.

Every file tinydagan writes (checkpoints, models, JSON results, markdown summaries, PNGs,
the data cache, extracted downloads) goes through ``atomic_write`` (a download in progress
is the one exception: it is a ``.part`` file, renamed only once its checksum is verified):
the bytes go to a temporary file ``.<name>.<pid>.<hex>.tmp`` in the same folder, then
``os.replace`` renames it over the target. A crash, a full disk or Ctrl-C mid-write leaves
the old file (or none), never a half-written one; only ``kill -9`` can leave the temporary
file behind, and ``prepare_folder`` removes such leftovers when the next run starts there.
Loading uses ``allow_pickle=False``, so an ``.npz`` can hold only plain arrays and cannot
run code, and opens regular files only (a FIFO where a file is expected would block forever).
"""
import contextlib
import json
import os
import re
import signal
import threading
import uuid
import zipfile

import numpy as np

from .files import open_regular

__all__ = ["atomic_write", "write_json", "write_text", "save_npz", "load_npz",
           "prepare_folder"]

# The temporary name of a write in progress: .<name>.<pid>.<8 hex digits>.tmp
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")


def _temporary_path(path):
    """A unique name beside ``path`` (``os.replace`` cannot cross file systems)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write(path, write):
    """Call ``write(f)`` on a binary file open on a temporary name beside ``path``, then
    rename it to ``path`` (creating the folder if needed). On any failure (an OSError such
    as a full disk, Ctrl-C, a bug in ``write``) the temporary file is removed and the error
    propagates as itself; an OSError's message then names ``path``."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temporary_path(path)
    try:
        # open(..., "xb") gives normal permissions (umask), unlike tempfile's 0600
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):  # never let the clean-up hide the real error
            os.remove(tmp)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, f"could not write {path}: {error.strerror}; the "
                                       f"previous file, if any, is unchanged") from error
        raise


def write_text(path, text):
    """Write a str to ``path`` (UTF-8), atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path, obj):
    """Write ``obj`` as indented, strict JSON to ``path``, atomically. NaN and infinity
    are refused (JSON has no such numbers; write None for "no value")."""
    try:
        text = json.dumps(obj, indent=1, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"cannot write {path}: {e} (NaN or infinity; use None)") from e
    write_text(path, text)


@contextlib.contextmanager
def _ctrl_c_held_back():
    """Run the block with Ctrl-C (SIGINT) noted instead of raised, then deliver it to the
    handler that was there before (Python's raises KeyboardInterrupt). Only the main thread
    can change signal handlers, and only it receives KeyboardInterrupt; a handler set outside
    Python (getsignal gives None) could not be put back. In those cases the block runs as
    it is."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pressed:
            signal.raise_signal(signal.SIGINT)


def _write_npz(f, arrays, compress):
    """The ``.npz`` format (one ``.npy`` per array in a zip) as ``np.savez`` writes it, with
    Ctrl-C held back until the zip is complete. An interrupt inside zipfile leaves a half-made
    object whose clean-up fails with a second error: while a member is being opened,
    ``np.savez``'s ``close`` in a ``finally`` replaces the interrupt with a ValueError; inside
    ``ZipFile(...)`` itself, the half-built object prints a traceback when it is collected.
    Finishing first costs a fraction of a second, and ``atomic_write`` still discards the
    temporary file, so the old file stays. Other errors (a full disk) propagate as
    themselves."""
    with _ctrl_c_held_back():
        zf = zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
        try:
            for name, value in arrays.items():
                with zf.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, value, allow_pickle=False)
        except BaseException:
            with contextlib.suppress(Exception):  # the temporary file is deleted anyway
                zf.close()
            raise
        zf.close()


def save_npz(path, arrays, compress=False):
    """Write {name: array} to ``path`` (.npz) atomically."""
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in arrays.items():
        if value.dtype.hasobject:
            raise ValueError(f"save_npz: '{name}' is an object array, which only pickle could "
                             f"store; convert it to numbers or strings first")
    atomic_write(path, lambda f: _write_npz(f, arrays, compress))


def load_npz(path):
    """Read an ``.npz`` written by ``save_npz`` into a dict of arrays.

    Raises FileNotFoundError for a missing file and ValueError for anything that is not a
    readable, pickle-free ``.npz`` in a regular file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    with open_regular(path, ".npz file") as f:
        head = f.read(4)
        if head[:2] != b"PK":             # numpy would take other bytes for a pickle and say so
            raise ValueError(f"{path} is not a readable .npz array file: expected a zip "
                             f"archive (starting with b'PK'), found "
                             f"{'an empty file' if not head else f'one starting with {head!r}'}")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ValueError(f"{path} is not a readable .npz array file "
                             f"({type(e).__name__}: {e})") from e


def prepare_folder(folder):
    """Make ``folder`` ready for a run's files, before anything is computed: create it,
    check that a file can be written in it (ValueError otherwise: a file in the way, no
    permission, a full disk), and remove the temporary files of writes that ``kill -9``
    interrupted (a process that is still running keeps its own)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"cannot write to the output folder {folder}: it is a file "
                         f"(choose another --out)")
    probe = _temporary_path(os.path.join(folder, "write-check"))
    try:
        os.makedirs(folder, exist_ok=True)
        with open(probe, "xb") as f:
            f.write(b"tinydagan")
    except OSError as e:
        raise ValueError(f"cannot write to the output folder {folder}: {e.strerror or e} "
                         f"(choose another --out)") from e
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe)
    for name in os.listdir(folder):
        match = _TEMPORARY.match(name)
        if match and not _running(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))


def _running(pid):
    """Whether another process ``pid`` exists (our own pid: no write of ours is under way)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
