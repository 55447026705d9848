"""The images one run sees: the labelled subset, the validation split and the test set.

``data_seed`` alone decides which images these are (the weights' ``seed`` never does), so
runs of different methods with the same ``data_seed`` see exactly the same images.
"""
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from .. import data as tdata

__all__ = ["RunData", "check_class_sizes", "folder_test_per_class", "load_splits", "prepare_data",
           "splits_fingerprint"]


def folder_test_per_class(counts):
    """Images per class an image folder holds out as its test split: a fifth of its smallest
    class (at least 1), the same number from every class, so that the test split is balanced
    even when the classes are not."""
    return max(1, int(min(counts)) // 5)


def load_splits(cfg):
    """{"train": Split, "test": Split} at ``cfg.image_size`` (cached on disk after the first run)."""
    if cfg.dataset == "folder":  # a user's own images: hold a test set out of them
        full = tdata.load_dataset("folder", size=cfg.image_size, root=cfg.data_root)
        counts = np.bincount(full.labels, minlength=full.num_classes)
        test_per_class = folder_test_per_class(counts)
        if counts.min() <= test_per_class:  # a class of 1 image: it would all go to the test set
            raise ValueError(
                f"class '{full.classes[int(counts.argmin())]}' of the image folder has only "
                f"{counts.min()} image(s); {test_per_class} per class are held out as the test "
                f"set, so each class needs at least {test_per_class} + --per-class "
                f"{cfg.per_class} + --val-per-class {cfg.val_per_class} images")
        xtr, ytr, xte, yte = tdata.train_val_split(full.images, full.labels, test_per_class,
                                                   np.random.default_rng(12345))
        return {"train": tdata.Split(xtr, ytr, full.classes), "test": tdata.Split(xte, yte, full.classes)}
    return {split: tdata.load_dataset(cfg.dataset, split, size=cfg.image_size, root=cfg.data_root)
            for split in ("train", "test")}


def check_class_sizes(train, per_class, val_per_class):
    """Refuse (ValueError) a ``per_class`` + ``val_per_class`` that the smallest class of the
    ``train`` Split cannot give."""
    counts = np.bincount(train.labels, minlength=train.num_classes)
    if counts.min() < per_class + val_per_class:
        raise ValueError(
            f"--per-class {per_class} + --val-per-class {val_per_class} = "
            f"{per_class + val_per_class} training images per class are needed, but "
            f"class '{train.classes[int(counts.argmin())]}' has only {counts.min()}")


@dataclass
class RunData:
    """Float NCHW images in [-1, 1] and int labels.

    train_x, train_y   what the sampler draws batches from: the labelled subset (one class
                       only for a per-class GAN), plus any extra labelled images
    val_x, val_y       held out of the training pool, to choose the step (never the test set)
    test_x, test_y     the test set, scored once at the end
    """
    classes: tuple
    train_x: np.ndarray   # (M, 3, S, S)
    train_y: np.ndarray   # (M,)
    val_x: np.ndarray     # (K * val_per_class, 3, S, S)
    val_y: np.ndarray
    test_x: np.ndarray    # (N_test, 3, S, S)
    test_y: np.ndarray

    @property
    def num_classes(self):
        return len(self.classes)

    def fingerprint(self):
        """A SHA-256 hex digest of every image, label and class name above: a checkpoint
        records it, so that a run never resumes on other images (another $TINYDAGAN_DATA,
        replaced files) with the same settings."""
        h = hashlib.sha256(json.dumps(list(self.classes)).encode())
        for a in (self.train_x, self.train_y, self.val_x, self.val_y, self.test_x, self.test_y):
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.data)
        return h.hexdigest()


def splits_fingerprint(splits):
    """A SHA-256 hex digest of the train and test splits as loaded (images, labels, class
    names): a run's result.json records it, so that a grid never reports a result computed
    on other images (another $TINYDAGAN_DATA, replaced files) as finished."""
    h = hashlib.sha256()
    for name in ("train", "test"):
        split = splits[name]
        h.update(json.dumps([name, list(split.classes)]).encode())
        for a in (split.images, split.labels):
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.data)
    return h.hexdigest()


def prepare_data(cfg, splits, extra_labelled=None):
    """Draw the run's images from ``splits`` with ``np.random.default_rng(cfg.data_seed)``:
    first ``cfg.val_per_class`` validation images per class out of the training split, then
    ``cfg.per_class`` labelled images per class out of the rest.
    ``extra_labelled``: (x float NCHW, y) added to the labelled set (Vanilla GAN's samples)."""
    train = splits["train"]
    classes, K = train.classes, train.num_classes
    check_class_sizes(train, cfg.per_class, cfg.val_per_class)
    data_rng = np.random.default_rng(cfg.data_seed)
    pool_x, pool_y, val_x, val_y = tdata.train_val_split(train.images, train.labels,
                                                         cfg.val_per_class, data_rng, K)
    lab_x, lab_y = tdata.class_balanced_subset(pool_x, pool_y, cfg.per_class, data_rng, K)
    x, y = tdata.to_float_nchw(lab_x), lab_y                             # (K*n, 3, S, S)
    if cfg.only_class is not None:  # a per-class GAN sees only its class
        if cfg.only_class >= K:
            raise ValueError(f"--only-class must be a class index below {K}, got {cfg.only_class}")
        keep = y == cfg.only_class
        x, y = x[keep], y[keep]
    if extra_labelled is not None:
        x, y = np.concatenate([x, extra_labelled[0]]), np.concatenate([y, extra_labelled[1]])
    test = splits["test"]
    return RunData(classes, x, y, tdata.to_float_nchw(val_x), val_y,
                   tdata.to_float_nchw(test.images), test.labels)
