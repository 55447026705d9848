"""A restricted unpickler for the CIFAR-10 python batches.

``pickle.load`` runs whatever the file tells it to: a pickle can name any
importable function and have it called (``os.system`` is the classic). The
CIFAR-10 python files need only a dict of lists, strings, bytes and one numpy
array per file, so :func:`safe_loads` resolves exactly the names that build
those, each to a harmless stand-in, and refuses every other name:

=========================================  ========================================
global named in the file                   what the unpickler gets instead
=========================================  ========================================
``numpy._core.multiarray._reconstruct``    ``_ArrayProxy``: records the state the
``numpy.core.multiarray._reconstruct``     file gives and checks it (numpy 1.x
                                           files use the ``numpy.core`` name)
``numpy.ndarray``                          a marker; only usable as the first
                                           argument of ``_reconstruct``
``numpy.dtype``                            ``_DtypeProxy``: plain numeric codes only
``_codecs.encode``                         ``str.encode`` for ``"latin1"`` only
                                           (how protocol 2 stores ``bytes``)
=========================================  ========================================

numpy's own ``__setstate__`` is never handed data from the file: the proxies
validate shape, dtype and byte count, then build the array with
``np.frombuffer``. After loading, proxies are replaced by the real arrays.

Before unpickling, the opcodes are scanned with :mod:`pickletools` so that a
length field claiming more bytes than the file holds is caught *before* the C
unpickler allocates it (otherwise a 20-byte file could ask for 8 GiB).
"""
import io
import pickle
import pickletools
import warnings
from math import prod

import numpy as np

from .errors import DatasetError
from .files import read_regular

__all__ = ["safe_load", "safe_loads", "ALLOWED_GLOBALS"]

# Plain numeric dtypes an image/label array may use; object/structured are refused.
_DTYPE_CODES = {f"{kind}{size}" for kind, sizes in (("u", "1248"), ("i", "1248"),
                                                    ("f", "48"), ("b", "1")) for size in sizes}


def _text(value):
    return value.decode("latin1") if isinstance(value, bytes) else value


class _NdarrayMarker:
    """Stands in for ``numpy.ndarray``: can be passed to ``_reconstruct``, not called."""


class _DtypeProxy:
    """``numpy.dtype(code, align, copy)`` followed by BUILD with its pickled state."""

    def __init__(self, code, align=False, copy=True):
        code = _text(code)
        if not isinstance(code, str) or code.lstrip("<>|=") not in _DTYPE_CODES:
            raise DatasetError(f"refused: numpy dtype {code!r}, expected a plain numeric "
                               f"code like 'u1' or 'i8'")
        self.dtype = np.dtype(code)

    def __setstate__(self, state):
        # numpy writes (3, byteorder, None, None, None, -1, -1, 0): no sub-array, no fields.
        if not isinstance(state, tuple) or not 5 <= len(state) <= 9 \
                or _text(state[1]) not in ("<", ">", "|", "=") or any(s is not None for s in state[2:5]):
            raise DatasetError(f"refused: unexpected numpy dtype state {state!r:.80}")
        if _text(state[1]) in "<>" and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(_text(state[1]))


class _ArrayProxy:
    """``_reconstruct(ndarray, (0,), b"b")`` followed by BUILD with the array's state."""

    def __init__(self, subtype, shape, code):
        if subtype is not _NdarrayMarker or shape != (0,):
            raise DatasetError(f"refused: _reconstruct({subtype!r:.40}, {shape!r:.40}), "
                               f"expected (numpy.ndarray, (0,))")
        self.array = None

    def __setstate__(self, state):
        # (version, shape, dtype, is_fortran, raw bytes); very old files omit version
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise DatasetError("refused: numpy array state must be (shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state
        raw = raw.encode("latin1") if isinstance(raw, str) else raw
        if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape) \
                or len(shape) > 32 or not isinstance(dtype, _DtypeProxy) or not isinstance(raw, bytes):
            raise DatasetError("refused: malformed numpy array state")
        need = prod(shape) * dtype.dtype.itemsize
        if need != len(raw):
            raise DatasetError(f"numpy array of shape {shape} needs {need} bytes, found {len(raw)}")
        flat = np.frombuffer(raw, dtype=dtype.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C").copy()


def _encode_latin1(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DatasetError(f"refused: _codecs.encode(..., {encoding!r:.20}), expected latin1")
    return text.encode("latin1")


ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _ArrayProxy,
    ("numpy.core.multiarray", "_reconstruct"): _ArrayProxy,
    ("numpy", "ndarray"): _NdarrayMarker,
    ("numpy", "dtype"): _DtypeProxy,
    ("_codecs", "encode"): _encode_latin1,
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
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            if op.name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                if (module, attr) not in ALLOWED_GLOBALS:
                    raise DatasetError(f"{name}: refused to load global {module}.{attr}: only "
                                       f"numpy array reconstruction is allowed")
    except DatasetError:
        raise
    except Exception as exc:  # pickletools raises ValueError and friends on garbage
        raise DatasetError(f"{name}: not a valid pickle ({type(exc).__name__}: {exc})") from None


def _unwrap(obj, seen):
    """Replace proxies by the arrays/dtypes they built, inside dicts, lists and tuples."""
    if isinstance(obj, _ArrayProxy):
        if obj.array is None:
            raise DatasetError("numpy array was reconstructed but never filled (no BUILD)")
        return obj.array
    if isinstance(obj, _DtypeProxy):
        return obj.dtype
    if id(obj) in seen:  # shared or self-referencing containers: visit once
        return obj
    seen.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [_unwrap(v, seen) for v in obj]
    elif isinstance(obj, dict):
        items = [(_unwrap(k, seen), _unwrap(v, seen)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
    elif isinstance(obj, tuple):
        return tuple(_unwrap(v, seen) for v in obj)
    return obj


def safe_loads(data: bytes, name: str = "<bytes>"):
    """Unpickle ``data`` allowing only the globals in :data:`ALLOWED_GLOBALS`.

    Python 2 strings are decoded as latin1 (as numpy recommends for old pickles),
    so keys may come back as ``str`` or ``bytes``. Any failure becomes a
    :class:`DatasetError` naming ``name``.
    """
    with warnings.catch_warnings():  # e.g. "invalid escape sequence" in a garbled STRING
        warnings.simplefilter("ignore")
        _prescan(data, name)
        try:
            obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
            return _unwrap(obj, set())
        except DatasetError as exc:
            raise DatasetError(f"{name}: {exc}") from None
        except Exception as exc:  # a malformed stream fails in many ways; all mean "bad file"
            raise DatasetError(f"{name}: could not unpickle ({type(exc).__name__}: {exc})") from None


def safe_load(path) -> object:
    """Read a file (a regular file within :data:`tinydagan.limits.MAX_CIFAR_BATCH_BYTES`)
    and :func:`safe_loads` it."""
    data = read_regular(path, "CIFAR-10 python batch", "MAX_CIFAR_BATCH_BYTES")
    return safe_loads(data, name=str(path))
