"""``TrainConfig``: every setting of a training run, in one place, saved with its results.

Each setting's help text is stored with it (``dataclasses.field(metadata={"help": ...})``);
the command line reads it from there (``tinydagan train --help``).

Two seeds, kept apart on purpose (which images form a 50-per-class subset moves accuracy by
several points, more than most gaps between methods):
    seed       weights, noise z, dropout, input noise, augmentation, batch order
    data_seed  which n images per class form the labelled subset (and the validation split)
Comparing methods on the same ``data_seed`` compares them on the same images.
"""
import dataclasses
import json
import math
import numbers
import typing
from dataclasses import dataclass
from typing import Optional

from .methods import METHODS

__all__ = ["TrainConfig", "flag", "MAX_WIDTH", "MAX_BATCH_SIZE"]

# Upper bounds of two settings, to refuse a typo before it asks for more memory than any
# laptop has: width 4 is four times the paper's channels (16x its weights); a batch of 4096
# 32x32 images at width 1 already needs tens of GB of activations.
MAX_WIDTH = 4.0
MAX_BATCH_SIZE = 4096

# The allowed range of each float setting (every one must also be finite).
_FLOAT_RANGES = {
    "width": (lambda v: 0 < v <= MAX_WIDTH, f"in (0, {MAX_WIDTH}]"),
    "lr": (lambda v: v > 0, "> 0"),
    "beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "lc_weight": (lambda v: v >= 0, ">= 0"),
    "noise_std": (lambda v: v >= 0, ">= 0"),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "collapse_ratio": (lambda v: 0 <= v < 1, "in [0, 1) (0 turns the check off)"),
}
# What a value of each declared type may be (a bool is not accepted as a number).
_KINDS = {int: (numbers.Integral, "an integer"), float: (numbers.Real, "a number"),
          bool: (bool, "true or false"), str: (str, "a string")}


def flag(name):
    """The command-line flag of a setting: ``per_class`` -> ``--per-class``, ``out_dir`` ->
    ``--out``."""
    return "--out" if name == "out_dir" else "--" + name.replace("_", "-")


def _setting(default, help):
    """A field with its default and its help text (``field.metadata["help"]``)."""
    return dataclasses.field(default=default, metadata={"help": help})


def _type_problems(field, value):
    """[] if ``value`` has the field's declared type (``Optional[...]``: None too)."""
    declared = typing.get_args(field.type) or (field.type,)   # Optional[int] -> (int, NoneType)
    if value is None and type(None) in declared:
        return []
    kind, words = _KINDS[declared[0]]
    if isinstance(value, kind) and (declared[0] is bool or not isinstance(value, bool)):
        return []
    return [f"{flag(field.name)} must be {words}, got {value!r}"]


@dataclass
class TrainConfig:
    method: str = _setting("DAGAN",
        "which method to train (table in docs/methods.md; GAN = one unconditional GAN)")
    dataset: str = _setting("cifar10",
        "cifar10, svhn, or folder (your own images: --data-root DIR with one sub-folder per "
        "class)")
    data_root: Optional[str] = _setting(None,
        "where the data is (default: $TINYDAGAN_DATA, then datasets/ in the repo)")
    image_size: int = _setting(16, "16 (classroom, fast) or 32 (the paper)")
    width: float = _setting(0.5, "channel multiplier of both networks (1.0 = the paper's widths; "
                                 f"at most {MAX_WIDTH})")
    per_class: int = _setting(50, "labelled training images per class")
    val_per_class: int = _setting(100,
        "images per class held out of the training pool to pick the best step (never the test "
        "set)")
    steps: int = _setting(3000, "optimisation steps")
    batch_size: int = _setting(64, f"images per batch (real and generated each; at most "
                                   f"{MAX_BATCH_SIZE})")
    lr: float = _setting(3e-4, "Adam learning rate")
    beta1: float = _setting(0.5, "Adam beta1")
    lc_weight: float = _setting(1.0,
        "weight of the class-consistency loss L_c in D's loss (DAGAN)")
    g_loss: str = _setting("dagan", "generator loss: dagan (-log p(y|G(z,y))) or feature_matching")
    noise_std: float = _setting(0.2, "std of D's Gaussian input-noise layer")
    dropout: float = _setting(0.5, "dropout probability in D")
    crop_padding: Optional[int] = _setting(None,
        "the _aug methods: pixels the random crop may shift an image by (None: image_size // 8, "
        "i.e. 2 at 16x16 and 4 at 32x32; 0: flips only)")
    weight_norm: bool = _setting(False, "weight normalisation in D")
    z_noise: str = _setting("uniform",
        "distribution of z: uniform (U(0,1)), uniform_signed (U(-1,1)) or normal")
    ema_decay: float = _setting(0.999,
        "decay of the moving average of D's weights used for evaluation")
    seed: int = _setting(0, "seed of the weights, noise and batch order")
    data_seed: int = _setting(0, "seed that picks the labelled subset and the validation images")
    eval_every: int = _setting(250, "steps between validation evaluations")
    checkpoint_every: int = _setting(250,
        "steps between checkpoints (a restarted run resumes from the last one)")
    log_every: int = _setting(50, "steps between progress lines")
    sample_every: int = _setting(1000, "steps between sample-grid PNGs (GAN methods)")
    collapse_ratio: float = _setting(0.05,
        "stop if generated images vary less than this fraction of real ones")
    collapse_after: int = _setting(500,
        "first step at which the collapse check runs (an untrained generator varies little)")
    only_class: Optional[int] = _setting(None, "GAN: train on this class only")
    per_class_gan_steps: int = _setting(1500, "VanillaGAN: steps of each per-class GAN")
    gan_samples_per_class: int = _setting(200, "VanillaGAN: generated images added per class")
    out_dir: str = _setting("runs/run", "output folder (checkpoint, samples, result.json)")

    def __post_init__(self):
        """Refuse every bad setting at once, each named by its command-line flag."""
        problems = [p for f in dataclasses.fields(self)
                    for p in _type_problems(f, getattr(self, f.name))]
        if problems:  # the range checks below need values of the right type
            raise ValueError("invalid training configuration: " + "; ".join(problems))
        if self.method not in METHODS:
            problems.append(f"--method must be one of {tuple(METHODS)}, got {self.method!r}")
        if self.image_size not in (16, 32):
            problems.append(f"--image-size must be 16 or 32, got {self.image_size}")
        for name in ("per_class", "steps", "batch_size", "eval_every", "checkpoint_every",
                     "log_every", "sample_every", "per_class_gan_steps"):
            if getattr(self, name) < 1:
                problems.append(f"{flag(name)} must be >= 1, got {getattr(self, name)}")
        for name in ("val_per_class", "gan_samples_per_class", "seed", "data_seed",
                     "collapse_after"):
            if getattr(self, name) < 0:
                problems.append(f"{flag(name)} must be >= 0, got {getattr(self, name)}")
        if self.only_class is not None and self.only_class < 0:
            problems.append(f"--only-class must be >= 0, got {self.only_class}")
        if self.crop_padding is not None and not 0 <= self.crop_padding < self.image_size:
            problems.append(f"--crop-padding must be in 0..{self.image_size - 1} (smaller than "
                            f"the image), got {self.crop_padding}")
        if self.batch_size > MAX_BATCH_SIZE:
            problems.append(f"--batch-size must be <= {MAX_BATCH_SIZE}, got {self.batch_size}")
        for name, (allowed, text) in _FLOAT_RANGES.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and allowed(value)):
                problems.append(f"{flag(name)} must be finite and {text}, got {value}")
        if self.g_loss not in ("dagan", "feature_matching"):
            problems.append(f"--g-loss must be 'dagan' or 'feature_matching', got {self.g_loss!r}")
        if self.z_noise not in ("uniform", "uniform_signed", "normal"):
            problems.append(f"--z-noise must be uniform, uniform_signed or normal, got "
                            f"{self.z_noise!r}")
        if problems:
            raise ValueError("invalid training configuration: " + "; ".join(problems))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def identity(self):
        """The settings a checkpoint must share to be resumed: all but where the run is
        written, how often it logs, and ``steps`` (a finished run can be extended: with a
        constant learning rate, N steps then M more are exactly N + M steps)."""
        skip = {"out_dir", "log_every", "sample_every", "checkpoint_every", "steps"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}
