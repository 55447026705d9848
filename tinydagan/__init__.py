"""tinydagan: a minimal teaching library for GAN-based data augmentation (DAGAN).

    import tinydagan as td
    from tinydagan import nn, optim
    import tinydagan.functional as F
"""
from . import cache  # noqa: F401  (sets NUMBA_CACHE_DIR before any kernel imports numba)
from .memory import keep_freed_memory

keep_freed_memory()  # big arrays are reused, not page-faulted in every step (see memory.py)
from .gradcheck import GradcheckError, gradcheck
from .serialization import load_npz, save_npz
from .tensor import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from . import functional, nn, ops, optim  # noqa: E402  (need Tensor defined first)

__version__ = "0.1.0"

__all__ = ["Tensor", "Function", "tensor", "no_grad", "enable_grad", "is_grad_enabled",
           "gradcheck", "GradcheckError", "save_npz", "load_npz", "functional", "nn", "ops",
           "optim", "__version__"]
