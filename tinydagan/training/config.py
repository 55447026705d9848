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
from dataclasses import dataclass
from typing import Optional

from .methods import METHODS

__all__ = ["TrainConfig"]


def _setting(default, help):
    """A field with its default and its help text (``field.metadata["help"]``)."""
    return dataclasses.field(default=default, metadata={"help": help})


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
    width: float = _setting(0.5, "channel multiplier of both networks (1.0 = the paper's widths)")
    per_class: int = _setting(50, "labelled training images per class")
    val_per_class: int = _setting(100,
        "images per class held out of the training pool to pick the best step (never the test "
        "set)")
    steps: int = _setting(3000, "optimisation steps")
    batch_size: int = _setting(64, "images per batch (real and generated each)")
    lr: float = _setting(3e-4, "Adam learning rate")
    beta1: float = _setting(0.5, "Adam beta1")
    lc_weight: float = _setting(1.0,
        "weight of the class-consistency loss L_c in D's loss (DAGAN)")
    g_loss: str = _setting("dagan", "generator loss: dagan (-log p(y|G(z,y))) or feature_matching")
    noise_std: float = _setting(0.2, "std of D's Gaussian input-noise layer")
    dropout: float = _setting(0.5, "dropout probability in D")
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
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {tuple(METHODS)}, got {self.method!r}")
        if self.image_size not in (16, 32):
            problems.append(f"image_size must be 16 or 32, got {self.image_size}")
        for name in ("per_class", "steps", "batch_size", "eval_every", "checkpoint_every",
                     "log_every", "sample_every", "per_class_gan_steps"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.val_per_class < 0 or self.gan_samples_per_class < 0:
            problems.append("val_per_class and gan_samples_per_class must be >= 0")
        if not (self.width > 0 and self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.ema_decay < 1):
            problems.append(f"need width > 0, lr > 0, beta1 and ema_decay in [0, 1); got "
                            f"{self.width}, {self.lr}, {self.beta1}, {self.ema_decay}")
        if self.g_loss not in ("dagan", "feature_matching"):
            problems.append(f"g_loss must be 'dagan' or 'feature_matching', got {self.g_loss!r}")
        if self.z_noise not in ("uniform", "uniform_signed", "normal"):
            problems.append(f"z_noise must be uniform, uniform_signed or normal, got {self.z_noise!r}")
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
