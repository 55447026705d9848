"""Convolution (and LeakyReLU) kernels on plain numpy arrays (no autograd), each written twice.

- ``reference``: short numpy code, obviously correct (read it first). It ends with the
  stepping stone to the fast kernels: a conv as one matrix product, ``w2 @ im2col(x)``.
- ``numba``: Numba im2col / col2im around BLAS matmuls (``numba_conv.py``, whose docstring
  lists step by step how it differs from that stepping stone), and fused element-wise
  loops (``numba_elementwise.py``).

The interface, every kernel's name and parameters, is one table: ``interface.KERNELS``.
The functions of this module are made from it, one per row; each calls, at call time,
that kernel of the current backend::

    from tinydagan import kernels
    kernels.set_backend("reference")        # or: with kernels.use_backend("reference"): ...
    y = kernels.conv2d_forward(x, weight, bias, stride=(1, 1), padding=(1, 1))

The initial backend comes from the environment variable ``TINYDAGAN_BACKEND`` (default
``"numba"``). Layout is NCHW, names and formulas are PyTorch's; ``geometry.py`` holds the
output-size formulas and the argument checks. The layers in ``tinydagan.nn`` validate what
users pass them; the Numba conv kernels also check that the shapes they get fit together
(their loops do not check indices). Both backends accept float32 and float64, and inputs
of any memory layout. The numba backend returns batch-last arrays (NCHW shape,
``(C, H, W, N)`` memory; see ``numba_conv.py``), the reference backend plain NCHW.
"""
import inspect
import os
from contextlib import contextmanager
from typing import NamedTuple

from . import numba_conv, numba_elementwise, reference
from .interface import KERNELS


class Backend(NamedTuple):
    """One set of kernels: the module that defines the "conv" rows of the table, the one that
    defines the "elementwise" rows, and whether its kernels keep work for the backward (then
    the rows marked keeps_work also take the keyword ``saved``; see ``interface.py``)."""
    conv: object
    elementwise: object
    keeps_work: bool = False


BACKENDS = {"numba": Backend(numba_conv, numba_elementwise, keeps_work=True),
            "reference": Backend(reference, reference)}
_current = None  # the name of the backend the functions below call; set by set_backend

__all__ = ["Backend", "BACKENDS", "set_backend", "get_backend", "use_backend"] + [k.name for k in KERNELS]


def set_backend(name):
    """Select the kernels every later call uses: ``"numba"`` or ``"reference"``."""
    global _current
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; expected one of {sorted(BACKENDS)}")
    _current = name


def get_backend():
    """The name of the current backend."""
    return _current


@contextmanager
def use_backend(name):
    """``with use_backend("reference"): ...`` runs the block on that backend, then restores."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


set_backend(os.environ.get("TINYDAGAN_BACKEND", "numba"))


def _dispatcher(kernel):
    """The module-level function of one row of the table, with the reference's docstring and
    signature (plus the keyword ``saved`` where the row keeps work)."""
    def dispatch(*args, **kwargs):
        backend = BACKENDS[_current]
        if kernel.keeps_work and not backend.keeps_work:
            kwargs.pop("saved", None)            # nothing to keep: the reference never sees it
        return getattr(getattr(backend, kernel.family), kernel.name)(*args, **kwargs)

    definition = getattr(reference, kernel.name)
    signature = inspect.signature(definition)
    if kernel.keeps_work:
        saved = inspect.Parameter("saved", inspect.Parameter.KEYWORD_ONLY, default=None)
        signature = signature.replace(parameters=[*signature.parameters.values(), saved])
    dispatch.__name__ = dispatch.__qualname__ = kernel.name
    dispatch.__doc__, dispatch.__signature__ = definition.__doc__, signature
    return dispatch


for _kernel in KERNELS:
    globals()[_kernel.name] = _dispatcher(_kernel)
del _kernel
