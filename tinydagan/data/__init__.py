"""Datasets for tinydagan: files on disk -> uint8 arrays -> float32 batches.

Modules, one concept each:

- ``paths``        where the data lives (root=, $TINYDAGAN_DATA, datasets/)
- ``split``        ``Split(images (N,H,W,3) uint8, labels (N,) int64, classes)``
- ``files``        open regular files only, size checked first (limits: ``tinydagan.limits``)
- ``cifar10``      CIFAR-10 binary and python batches
- ``safe_pickle``  restricted unpickler for the python batches
- ``matfile``      MAT v5 reader; ``svhn`` on top of it
- ``image_file``   one PNG/JPEG: allowed decoders only, pixel limit, 16-bit -> 8-bit RGB
- ``image_folder`` root/<class>/*.png for your own images
- ``resize``       Pillow BOX downscaling; ``npz_cache`` on-disk cache; ``load`` ties them
- ``subsets``      class-balanced subsets and validation hold-out (``data_seed``)
- ``scale``        uint8 NHWC <-> float32 NCHW in [-1, 1]
- ``batches``      batch iterator and infinite sampler
- ``augment``      random crop + flip on float NCHW batches
- ``grid``         PNG preview, one row per class
- ``download``     fetch/verify/unpack; ``commands`` the command line
"""
from .augment import augment_batch, random_crop, random_flip
from .batches import InfiniteSampler, iterate_batches
from .cifar10 import load_cifar10
from .commands import main
from . import download  # the module; download.download(name, ...) fetches
from .errors import DatasetError
from .grid import make_grid, save_grid
from .image_folder import load_image_folder
from .load import DATASETS, DEFAULT_SIZE, PAPER_SIZE, load_dataset
from .matfile import read_mat
from .paths import data_root
from .resize import resize_images
from .scale import to_float_nchw, to_uint8_nhwc
from .split import Split
from .subsets import class_balanced_indices, class_balanced_subset, train_val_split
from .svhn import load_svhn

__all__ = ["DatasetError", "Split", "data_root", "load_cifar10", "load_svhn",
           "load_image_folder", "read_mat", "load_dataset", "DATASETS", "DEFAULT_SIZE",
           "PAPER_SIZE", "resize_images", "class_balanced_indices", "class_balanced_subset",
           "train_val_split", "to_float_nchw", "to_uint8_nhwc", "iterate_batches",
           "InfiniteSampler", "random_crop", "random_flip", "augment_batch", "make_grid",
           "save_grid", "download", "main"]
# note: ``download`` above is the module tinydagan.data.download (not shadowed by a function)
