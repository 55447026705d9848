"""What a grader says when a student's result differs from the library's.

``compare(what, got, expected)`` raises ``Mismatch`` naming the first element that is off,
the expected and the received value, and a hint read off the whole array where one fits:

- got / expected is one constant everywhere: 0.5 -> "a factor of 2 is missing",
  2 -> "a factor of 2 too many", -1 -> "the sign is flipped", 0 -> "got zeros",
  any other constant -> "off by a constant factor";
- the shapes differ, the values are NaN or infinite, or nothing was returned.

For a gradient the grader may pass ``numeric``: a function of the element's index that
returns the central difference of the forward there (``tinydagan.gradcheck.central_difference``),
so the message shows what the derivative really is, not only what the library says.
"""
import numpy as np

from ..gradcheck import central_difference
from ..tensor import Tensor

__all__ = ["Mismatch", "compare", "ratio_hint", "numeric_gradient_at", "as_array", "Check"]


class Mismatch(AssertionError):
    """A student's result is wrong. ``str()`` is the message shown under the grade table."""

    def __init__(self, message, hint=None, takes_hints=True):
        super().__init__(message)
        self.message, self.hint = message, hint
        self.takes_hints = takes_hints    # False: a Check adds no hint of its own (e.g. not written yet)

    def __str__(self):
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")


class Check:
    """``with Check("a node used twice: y = x * x"):`` prefixes any Mismatch raised inside
    with what was being checked, and adds ``hint`` to it (after the generic hint)."""

    def __init__(self, description, hint=None):
        self.description, self.hint = description, hint

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, Mismatch):
            error.message = f"{self.description}\n  " + error.message.replace("\n", "\n  ")
            if error.takes_hints:
                error.hint = _join(error.hint, self.hint)
        return False


def _join(*hints):
    return " ".join(h for h in hints if h) or None


def as_array(value, what):
    """A Tensor's data, an array, or a number, as an ndarray; anything else is a Mismatch."""
    if isinstance(value, Tensor):
        return value.data
    if value is None:
        raise Mismatch(f"{what}: got None (is a 'return' missing?)")
    try:
        return np.asarray(value, dtype=float) if np.isscalar(value) else np.asarray(value)
    except (TypeError, ValueError):
        raise Mismatch(f"{what}: expected an array, got {type(value).__name__}") from None


def ratio_hint(got, expected):
    """A hint when ``got`` is ``expected`` times one constant (0.5, 2, -1, 0, ...), else None."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return None
    scale = np.abs(expected).max(initial=0.0)
    if scale == 0:
        return None
    if np.all(np.abs(got) <= 1e-12 * scale):
        return "got zeros everywhere: is the computation's result thrown away (or never added)?"
    where = np.abs(expected) > 1e-6 * scale
    ratios = got[where] / expected[where]
    c = float(np.median(ratios))
    off_ratio = np.abs(got[~where]) > 1e-6 * scale
    if np.any(off_ratio) or not np.allclose(ratios, c, rtol=2e-2, atol=1e-3):
        return None
    if abs(c - 0.5) < 0.05:
        return "got is half the expected value everywhere: a factor of 2 is missing."
    if abs(c - 2) < 0.2:
        return "got is twice the expected value everywhere: a factor of 2 too many (a contribution counted twice?)."
    if abs(c + 1) < 0.05:
        return "got is minus the expected value everywhere: the sign is flipped."
    return f"got is {c:.4g} times the expected value everywhere: a constant factor is wrong."


def compare(what, got, expected, rtol=1e-6, atol=1e-9, numeric=None, hint=None):
    """Raise ``Mismatch`` unless ``got`` equals ``expected`` within ``atol + rtol*|expected|``.

    what      names the value, e.g. "grad_a" or "running_var"
    numeric   optional: index -> the central-difference derivative at that element
    hint      optional: added after the generic hint
    """
    got = as_array(got, what)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise Mismatch(f"{what}: shape {got.shape}, expected {expected.shape}", hint)
    if expected.dtype.kind == "f" and got.dtype != expected.dtype:
        raise Mismatch(f"{what}: dtype {got.dtype}, expected {expected.dtype}",
                       "keep the inputs' dtype (a float64 constant or np.float64 scalar mixed "
                       "into float32 arrays promotes the result)." if expected.dtype == np.float32 else hint)
    if expected.dtype.kind == "b" or got.dtype.kind == "b":
        bad = got != expected
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~(np.abs(got - expected) <= atol + rtol * np.abs(expected))
    if not np.any(bad):
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
    at = f" at element {index}" if got.ndim else ""
    message = f"{what}{at}: expected {expected[index]:.6g}, got {got[index]:.6g}"
    if numeric is not None:
        message += f" (the central difference of the forward: {numeric(index):.6g})"
    if got.size > 1:
        message += f"; {int(bad.sum())} of {got.size} elements differ"
    generic = ("got NaN or infinity: an exp overflowed or a log got 0." if not np.all(np.isfinite(got))
               else ratio_hint(got, expected))
    raise Mismatch(message, _join(generic, hint))


def numeric_gradient_at(loss, array, eps=1e-6):
    """``index -> d loss() / d array[index]`` by central differences (``array`` float64,
    perturbed in place and restored; ``loss()`` recomputes the scalar from it)."""
    def at(index):
        flat = array.reshape(-1)
        if not np.shares_memory(flat, array):
            raise ValueError("numeric_gradient_at needs a contiguous array")
        j = int(np.ravel_multi_index(index, array.shape)) if array.ndim else 0
        return central_difference(loss, flat, j, eps)
    return at
