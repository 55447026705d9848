"""A restricted unpickler for the CIFAR-10 python batches.

``pickle.load`` runs whatever the file tells it to: a pickle can name any
importable function and have it called (``os.system`` is the classic). The
CIFAR-10 python files need only a dict of lists, strings, bytes and one numpy
array per file, so :func:`safe_load` allows exactly the globals that build
those and refuses every other name *before* anything is called:

=========================================  ====================================
global named in the file                   what we hand back
=========================================  ====================================
``numpy._core.multiarray._reconstruct``    a wrapper that only builds an empty
``numpy.core.multiarray._reconstruct``     ``ndarray`` (numpy 1.x files use the
                                           ``numpy.core`` name)
``numpy.ndarray``                          a marker, not the class: it can only
                                           be passed to ``_reconstruct``
``numpy.dtype``                            a wrapper accepting plain numeric
                                           codes (``"u1"``, ``"<i8"``, ...)
``_codecs.encode``                         a wrapper for ``(str, "latin1")``,
                                           how protocol 2 stores ``bytes``
=========================================  ====================================

Before unpickling, the opcodes are scanned with :mod:`pickletools` so that a
length field claiming more bytes than the file holds is caught *before* the C
unpickler allocates it (otherwise a 20-byte file could ask for 8 GiB).
"""
import io
import pickle
import pickletools

import numpy as np
from numpy._core.multiarray import _reconstruct as _np_reconstruct

from .errors import DatasetError

__all__ = ["safe_load", "safe_loads", "ALLOWED_GLOBALS"]

# Plain numeric dtypes an image/label array may use. Object and structured
# dtypes are refused: nothing else is needed and they widen what setstate does.
_DTYPE_CODES = {f"{order}{kind}{size}" for order in ("", "<", ">", "|", "=")
                for kind, sizes in (("u", "1248"), ("i", "1248"), ("f", "48"), ("b", "1"))
                for size in sizes}


class _NdarrayMarker:
    """Stands in for ``numpy.ndarray``: can be passed to ``_reconstruct``, not called."""


def _safe_reconstruct(subtype, shape, dtype_code):
    # numpy writes _reconstruct(ndarray, (0,), b"b"): an empty array filled later by BUILD.
    if subtype is not _NdarrayMarker:
        raise DatasetError(f"refused: _reconstruct of {subtype!r}, expected numpy.ndarray")
    if not isinstance(shape, tuple) or shape not in ((0,), (0, 0)):
        raise DatasetError(f"refused: _reconstruct with shape {shape!r}, expected (0,)")
    return _np_reconstruct(np.ndarray, shape, b"b")


def _safe_dtype(code, align=False, copy=True):
    if isinstance(code, bytes):
        code = code.decode("latin1")
    if not isinstance(code, str) or code not in _DTYPE_CODES:
        raise DatasetError(f"refused: numpy dtype {code!r}, expected a plain numeric code "
                           f"like 'u1' or '<i8'")
    return np.dtype(code)


def _safe_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DatasetError(f"refused: _codecs.encode(..., {encoding!r}), expected latin1")
    return text.encode("latin1")


ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _safe_reconstruct,
    ("numpy", "ndarray"): _NdarrayMarker,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _safe_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise DatasetError(
                f"refused to load global {module}.{name}: this pickle asks for code outside "
                f"the dict/list/bytes/numpy-array types a CIFAR-10 batch contains") from None

    def persistent_load(self, pid):
        raise DatasetError("refused: persistent ids are not used by CIFAR-10 batches")


def _prescan(data: bytes, name: str) -> None:
    """Walk the opcodes once without executing any: catches truncated lengths and
    refused globals before the real unpickler allocates or calls anything."""
    stream = io.BytesIO(data)
    try:
        for op, arg, _pos in pickletools.genops(stream):
            if op.name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                if (module, attr) not in ALLOWED_GLOBALS:
                    raise DatasetError(f"{name}: refused to load global {module}.{attr}: only "
                                       f"numpy array reconstruction is allowed")
    except DatasetError:
        raise
    except Exception as exc:  # pickletools raises ValueError and friends on garbage
        raise DatasetError(f"{name}: not a valid pickle ({type(exc).__name__}: {exc})") from None


def safe_loads(data: bytes, name: str = "<bytes>"):
    """Unpickle ``data`` allowing only the globals in :data:`ALLOWED_GLOBALS`.

    Python 2 strings are decoded as latin1 (as numpy recommends for old pickles),
    so keys may come back as ``str`` or ``bytes``. Any failure becomes a
    :class:`DatasetError` naming ``name``.
    """
    _prescan(data, name)
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except DatasetError as exc:
        raise DatasetError(f"{name}: {exc}") from None
    except Exception as exc:  # a malformed stream can fail in many ways; all mean "bad file"
        raise DatasetError(f"{name}: could not unpickle ({type(exc).__name__}: {exc})") from None


def safe_load(path) -> object:
    """Read a file and :func:`safe_loads` it."""
    with open(path, "rb") as f:
        return safe_loads(f.read(), name=str(path))
