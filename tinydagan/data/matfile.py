"""A small reader for MATLAB MAT-files, level 5 (what SVHN's ``*_32x32.mat`` are).

Layout of a level-5 file::

    128-byte header   116 bytes text "MATLAB 5.0 MAT-file ...", 8 bytes subsystem
                      offset, uint16 version 0x0100, 2 bytes endian mark:
                      b"IM" = little-endian file, b"MI" = big-endian file
    data elements     each starts with an 8-byte tag (uint32 type, uint32 nbytes),
                      then nbytes of data padded to a multiple of 8.
                      A "small" element packs a tag and <= 4 bytes of data into 8
                      bytes: the upper 16 bits of the first word are nbytes.

Top-level elements are ``miMATRIX`` (one variable) or ``miCOMPRESSED`` (a zlib
stream whose content is one ``miMATRIX`` element, not padded). A numeric
``miMATRIX`` holds four sub-elements: array flags (class in the low byte),
dimensions (int32), name (int8 text) and the real part. The real part may be
stored in a narrower type than the class (a double array of small integers is
often stored as uint8), and is in column-major (Fortran) order.

Only numeric, real, non-sparse arrays are read; cells, structs, sparse, complex
and MAT v7.3 (HDF5) files are refused with a :class:`DatasetError`. Every
declared length is checked against the bytes actually present before anything
is allocated, and zlib output is capped at the size its own tag declares, so a
hostile or truncated file can neither crash the reader nor exhaust memory.
Each element is small, but a file may hold many: all inflated elements
together, and all arrays together, are each capped at
:data:`tinydagan.limits.MAX_MAT_BYTES`, checked before the work is done.

Values stored in a narrower type are converted to the array's class only if
the conversion is exact: a uint8 array stored as int16 holding 300, or as
double holding 3.5, is refused rather than wrapped to 44 or cut to 3.
"""
import struct
import zlib
from math import prod

import numpy as np

from .. import limits
from .errors import DatasetError
from .files import read_regular

__all__ = ["MI_TYPES", "MX_CLASSES", "read_mat", "parse_mat"]

# Data types of elements (miINT8 ...) -> numpy dtype of the stored values.
MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
            12: "i8", 13: "u8"}
MI_MATRIX, MI_COMPRESSED, MI_UTF8 = 14, 15, 16
# Array classes (mxDOUBLE_CLASS ...) of numeric arrays -> numpy dtype of the result.
MX_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
              14: "i8", 15: "u8"}
_MX_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse"}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MAX_ZLIB_RATIO = 1100  # deflate cannot expand more than ~1032:1


def _read_tag(buf: bytes, pos: int, order: str, name: str):
    """Return ``(type, nbytes, data_start, next_pos)`` of the element at ``pos``."""
    if pos + 8 > len(buf):
        raise DatasetError(f"{name}: truncated: element tag at byte {pos} needs 8 bytes, "
                           f"{len(buf) - pos} left")
    first, nbytes = struct.unpack_from(order + "II", buf, pos)
    if first >> 16:  # small data element: data lives in the tag's second word
        mtype, nbytes = first & 0xFFFF, first >> 16
        if nbytes > 4:
            raise DatasetError(f"{name}: small element at byte {pos} claims {nbytes} bytes (max 4)")
        return mtype, nbytes, pos + 4, pos + 8
    start = pos + 8
    if nbytes > len(buf) - start:
        raise DatasetError(f"{name}: truncated: element at byte {pos} declares {nbytes} bytes, "
                           f"only {len(buf) - start} remain")
    padded = nbytes if first == MI_COMPRESSED else (nbytes + 7) // 8 * 8
    return first, nbytes, start, min(start + padded, len(buf))


def _decompress(payload: bytes, order: str, name: str, used: int) -> bytes:
    """Inflate one miCOMPRESSED payload; output capped by the inner tag's size.

    ``used``: bytes already inflated from this file's earlier elements; the
    total may not pass :data:`tinydagan.limits.MAX_MAT_BYTES`.
    """
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(payload, 8)
        if len(head) < 8:
            raise DatasetError(f"{name}: compressed element too short to hold a tag")
        first, nbytes = struct.unpack(order + "II", head)
        size = 8 if first >> 16 else 8 + nbytes
        if size > _MAX_ZLIB_RATIO * len(payload) + 64:
            raise DatasetError(f"{name}: compressed element of {len(payload)} bytes declares "
                               f"{nbytes} bytes inside, more than zlib can expand to")
        if used + size > limits.MAX_MAT_BYTES:
            raise DatasetError(f"{name}: compressed elements would inflate to {used + size:,} "
                               f"bytes in total, more than tinydagan.limits.MAX_MAT_BYTES = "
                               f"{limits.MAX_MAT_BYTES:,}")
        body = inflater.decompress(inflater.unconsumed_tail, size - 8)
    except zlib.error as exc:
        raise DatasetError(f"{name}: corrupt zlib data in a compressed element ({exc})") from None
    out = head + body
    if len(out) < size:
        raise DatasetError(f"{name}: compressed element inflates to {len(out)} bytes, "
                           f"its tag declares {size}")
    return out


def _convert_exactly(raw: np.ndarray, target, name: str, var: str) -> np.ndarray:
    """Stored values -> the array's class, refusing any value the class cannot hold exactly."""
    target = np.dtype(target)
    if np.can_cast(raw.dtype, target, casting="safe"):  # u1 -> f8, i2 -> i4, ...: always exact
        return raw.astype(target)
    with np.errstate(invalid="ignore", over="ignore"):  # lost values are found just below
        values = raw.astype(target)
        back = values.astype(raw.dtype)
    lost = back != raw  # 300 -> uint8 44 -> 44, 3.5 -> uint8 3 -> 3.0, NaN -> uint8 0 -> 0.0
    if raw.dtype.kind == "f" and target.kind == "f":
        lost &= ~(np.isnan(raw) & np.isnan(back))  # a NaN stays NaN in a float class
    if lost.any():
        i = int(np.flatnonzero(lost)[0])
        raise DatasetError(f"{name}: variable {var!r}: stored {raw.dtype.name} value {raw[i]} "
                           f"(element {i}) does not fit its class {target.name} exactly")
    return values


def _parse_matrix(buf: bytes, start: int, end: int, order: str, name: str, used: int):
    """Parse the sub-elements of one miMATRIX in ``buf[start:end]``: (var name, array).

    ``used``: bytes of the arrays already built from this file (capped in total).
    """
    body = memoryview(buf)[start:end]  # a view: SVHN's arrays are 200+ MB, avoid copies
    parts, pos = [], 0
    while pos < len(body) and len(parts) < 5:
        mtype, nbytes, dstart, pos = _read_tag(body, pos, order, name)
        parts.append((mtype, body[dstart:dstart + nbytes]))
    if len(parts) < 3:
        raise DatasetError(f"{name}: matrix element has {len(parts)} sub-elements, "
                           f"expected flags, dimensions, name and data")
    (ftype, flags), (dtype_, dims_raw), (ntype, raw_name) = parts[:3]
    if ftype != 6 or len(flags) != 8:
        raise DatasetError(f"{name}: matrix flags must be 8 bytes of miUINT32, "
                           f"found type {ftype} with {len(flags)} bytes")
    word = struct.unpack(order + "I", flags[:4])[0]
    mx_class, is_complex = word & 0xFF, bool(word & 0x800)
    if ntype not in (1, 2, MI_UTF8):
        raise DatasetError(f"{name}: variable name must be miINT8 text, found type {ntype}")
    var = bytes(raw_name).decode("latin1")
    if dtype_ != 5 or len(dims_raw) % 4 or not 8 <= len(dims_raw) <= 4 * 32:
        raise DatasetError(f"{name}: variable {var!r}: dimensions must be 2 to 32 int32 values")
    dims = struct.unpack(order + f"{len(dims_raw) // 4}i", dims_raw)
    if min(dims) < 0:
        raise DatasetError(f"{name}: variable {var!r} has negative dimensions {dims}")
    if mx_class not in MX_CLASSES:
        kind = _MX_NAMES.get(mx_class, f"class {mx_class}")
        raise DatasetError(f"{name}: variable {var!r} is a {kind} array; only numeric "
                           f"arrays are supported")
    if is_complex:
        raise DatasetError(f"{name}: variable {var!r} is complex; only real arrays are supported")
    if len(parts) < 4:
        raise DatasetError(f"{name}: variable {var!r} has no data element")
    stype, data = parts[3]
    if stype not in MI_TYPES:
        raise DatasetError(f"{name}: variable {var!r}: unknown data type {stype}")
    stored = np.dtype(MI_TYPES[stype]).newbyteorder(order)
    count = prod(dims)
    if count * stored.itemsize != len(data):
        raise DatasetError(f"{name}: variable {var!r} of shape {dims} needs "
                           f"{count * stored.itemsize} bytes of {MI_TYPES[stype]}, "
                           f"found {len(data)}")
    need = count * np.dtype(MX_CLASSES[mx_class]).itemsize  # e.g. 8x the data for u1 -> f8
    if used + need > limits.MAX_MAT_BYTES:
        raise DatasetError(f"{name}: variable {var!r} of shape {dims} brings the arrays to "
                           f"{used + need:,} bytes in total, more than "
                           f"tinydagan.limits.MAX_MAT_BYTES = {limits.MAX_MAT_BYTES:,}")
    values = _convert_exactly(np.frombuffer(data, dtype=stored), MX_CLASSES[mx_class], name, var)
    return var, values.reshape(dims, order="F")


def _describe(raw) -> str:
    """Bytes for an error message: as text in quotes if printable, else as hex."""
    text = bytes(raw).decode("latin1")
    return f"'{text}'" if text.isprintable() and text.isascii() else f"bytes {bytes(raw).hex(' ')}"


def parse_mat(buf: bytes, name: str = "<bytes>") -> dict:
    """Parse a whole MAT v5 file held in ``buf``; return ``{variable name: array}``."""
    if len(buf) >= 8 and buf[:8] == _HDF5_MAGIC or buf[512:520] == _HDF5_MAGIC \
            or buf[:10] == b"MATLAB 7.3":
        raise DatasetError(f"{name}: this is a MATLAB v7.3 (HDF5) file, which this reader "
                           f"does not support; re-save it with save(..., '-v7') or use the "
                           f"official SVHN files (MAT v5)")
    if len(buf) < 128:
        raise DatasetError(f"{name}: not a MAT v5 file: expected a 128-byte header, "
                           f"the file has only {len(buf)} bytes")
    if not buf.startswith(b"MATLAB 5.0"):
        raise DatasetError(f"{name}: not a MAT v5 file: expected a header starting with the "
                           f"text 'MATLAB 5.0', found {_describe(buf[:10])}")
    mark = buf[126:128]
    if mark not in (b"IM", b"MI"):
        raise DatasetError(f"{name}: bad endian mark {_describe(mark)} at bytes 126-127 "
                           f"(expected the letters IM or MI)")
    order = "<" if mark == b"IM" else ">"
    variables, pos = {}, 128
    inflated = built = 0  # bytes so far, each total capped at limits.MAX_MAT_BYTES
    while pos < len(buf):
        if len(buf) - pos < 8 and not any(buf[pos:]):
            break  # trailing padding
        mtype, nbytes, start, pos = _read_tag(buf, pos, order, name)
        if mtype == MI_COMPRESSED:
            inner = _decompress(buf[start:start + nbytes], order, name, inflated)
            inflated += len(inner)
            itype, inbytes, istart, _ = _read_tag(inner, 0, order, name)
            if itype != MI_MATRIX:
                raise DatasetError(f"{name}: compressed element holds type {itype}, "
                                   f"expected miMATRIX (14)")
            mtype, buf_, start, end = MI_MATRIX, inner, istart, istart + inbytes
        elif mtype == MI_MATRIX:
            buf_, end = buf, start + nbytes
        else:
            raise DatasetError(f"{name}: top-level element of type {mtype} at byte {start - 8}, "
                               f"expected miMATRIX (14) or miCOMPRESSED (15)")
        if end > start:  # an empty miMATRIX is legal and holds nothing
            var, array = _parse_matrix(buf_, start, end, order, name, built)
            variables[var] = array
            built += array.nbytes
    return variables


def read_mat(path) -> dict:
    """Read a MAT v5 file from disk; see :func:`parse_mat`."""
    return parse_mat(read_regular(path, "MAT file"), str(path))
