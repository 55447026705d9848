"""``TrainConfig``: every setting of a training run, in one place, saved with its results.

Two seeds, kept apart on purpose (issue 4's first lesson):
    seed       weights, noise z, dropout, input noise, augmentation, batch order
    data_seed  which n images per class form the labelled subset (and the validation split)
Comparing methods on the same ``data_seed`` compares them on the same images.
"""
import dataclasses
import json
from dataclasses import dataclass

__all__ = ["TrainConfig", "METHODS"]

METHODS = ("C", "C_aug", "GAN", "VanillaGAN", "SemiGAN", "DAGAN", "DAGAN_aug")


@dataclass
class TrainConfig:
    method: str = "DAGAN"
    dataset: str = "cifar10"          # cifar10 | svhn | folder (then data_root is the folder)
    data_root: str = None             # None: $TINYDAGAN_DATA, then datasets/
    image_size: int = 16              # 16 (classroom) or 32 (paper)
    width: float = 0.5                # channel multiplier (1.0 = paper)
    per_class: int = 50               # labelled images per class
    val_per_class: int = 100          # held out of the training pool to choose the step
    steps: int = 3000                 # optimisation steps (one D step + one G step for GANs)
    batch_size: int = 64
    lr: float = 3e-4
    beta1: float = 0.5
    lc_weight: float = 1.0            # D loss = L_D + lc_weight * L_c (DAGAN)
    g_loss: str = "dagan"             # dagan | feature_matching
    noise_std: float = 0.2            # D's Gaussian input-noise layer
    dropout: float = 0.5
    weight_norm: bool = False
    z_noise: str = "uniform"          # uniform (U(0,1)) | uniform_signed | normal
    ema_decay: float = 0.999
    seed: int = 0
    data_seed: int = 0
    eval_every: int = 250             # validation accuracy (and best-step tracking)
    checkpoint_every: int = 250
    log_every: int = 50
    sample_every: int = 1000          # sample grid PNG (GAN methods)
    collapse_ratio: float = 0.05      # stop if generated diversity < ratio * real diversity
    collapse_after: int = 500         # ... checked from this step on (an untrained G varies little)
    only_class: int = None            # GAN: train on this class only (Vanilla GAN's per-class GANs)
    per_class_gan_steps: int = 1500   # VanillaGAN: steps of each per-class GAN
    gan_samples_per_class: int = 200  # VanillaGAN: generated images added per class
    out_dir: str = "runs/run"

    def __post_init__(self):
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {METHODS}, got {self.method!r}")
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
