"""tinydagan: a minimal teaching library for GAN-based data augmentation (DAGAN)."""
from . import cache  # noqa: F401  (sets NUMBA_CACHE_DIR before any kernel imports numba)

__version__ = "0.1.0"
