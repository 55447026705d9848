"""Every size limit of the data layer, in one place.

Without a limit, a small or mistaken input can cost gigabytes: a 140 KB PNG
can declare 12000 x 12000 pixels (432 MB as RGB), a sparse file that claims
4 GB is read in full, a 2 MB ``.mat`` can inflate to 2 GB. With one, the
reader stops before doing the work, with one line that names the file, says
what it found and names the limit that refused it.

Each value is set well above what the official datasets need. If your own
data is larger, change the value here. Loaders read ``limits.MAX_...`` when
they check, not once at import, so a new value (or a test's ``monkeypatch``)
takes effect at once.
"""

__all__ = ["MAX_IMAGE_PIXELS", "MAX_DATA_FILE_BYTES", "MAX_CIFAR_BATCH_BYTES",
           "MAX_MAT_BYTES", "MAX_SHOW_SIZE"]

# Pixels (width x height) of one image in an image folder: a 50-megapixel photo, 150 MB as RGB.
MAX_IMAGE_PIXELS = 50_000_000

# Bytes of any data file opened (.mat, image, meta file); SVHN extra_32x32.mat is 1.3 GB.
MAX_DATA_FILE_BYTES = 2 * 2**30

# Bytes of one CIFAR-10 batch (.bin or python): 100,000 records of 3073 bytes, 10 official batches.
MAX_CIFAR_BATCH_BYTES = 100_000 * 3073

# Bytes one .mat may expand to: inflated elements, and arrays, each in total (SVHN extra: 1.7 GB).
MAX_MAT_BYTES = 2 * 2**30

# Largest --size of `data show` / `data info`, which load a whole split at it (CIFAR-10: 614 MB).
MAX_SHOW_SIZE = 64
