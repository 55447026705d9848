"""The methods the paper compares (Table 3), as one table of objects.

Every method trains the same discriminator body (``models.py``), so the comparison is fair:
only the number of D outputs, the generator and the losses change. A method object says
all of that; the trainer and the comparison ask it and never test a method's name.

    Classifier        C, C_aug     K outputs, cross-entropy on real images
    VanillaGAN        VanillaGAN   C's step, on real images + samples of K per-class GANs
    UnconditionalGAN  GAN          1 output, real vs generated (the per-class GANs)
    SemiGAN           SemiGAN      K + 1 outputs, an unconditional G
    DAGAN             DAGAN(_aug)  2K outputs, a conditional G, eqs. 3-8 (docs/paper.md)

``format_method_table()`` prints the whole table from the objects (docs/methods.md shows
it). GAN is not compared by itself: it is the per-class GAN that Vanilla GAN trains first.

A GAN step updates D on a real batch and a generated batch, then G through the updated D,
reusing the same generated batch (as DCGAN does). Adding a method is one new entry in
``METHODS`` below (and a new class only if its losses are new).
"""
import contextlib
import os
from typing import NamedTuple, Optional

import numpy as np

from .. import losses, ops
from ..models import Discriminator, Generator, sample_noise
from ..tensor import no_grad

__all__ = ["Method", "ExtraImages", "Classifier", "VanillaGAN", "JointGAN", "UnconditionalGAN",
           "SemiGAN", "DAGAN", "METHODS", "get_method", "frozen", "format_method_table"]


class ExtraImages(NamedTuple):
    """Images a method adds to the labelled set before training (Vanilla GAN's samples),
    and the training time it spent making them (None: some of it is not known)."""
    x: np.ndarray              # (N, 3, S, S) float32
    y: np.ndarray              # (N,)
    train_seconds: Optional[float]


@contextlib.contextmanager
def frozen(module):
    """Don't compute gradients for ``module``'s weights (G's step backpropagates *through* D
    but must not spend time on D's weight gradients)."""
    params = module.parameters()
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad = True


class Method:
    """A plain classifier on the real batch; the other families change what differs.

    Attributes a method states:
        name         the name on the command line and in results
        augment      classic augmentation (random crop + flip) of the real batch
        generator    None, "unconditional" (G(z)) or "conditional" (G(z, y))
        classifier   whether D is scored as a K-class classifier
        steps_factor default steps as a multiple of a plain classifier's
        d_loss_name, g_loss_name, generator_name   words for the table
    """
    generator = None
    generator_name = None  # how the table names the generator, if not by ``generator``
    classifier = True
    d_loss_name, g_loss_name = "cross-entropy", "-"

    def __init__(self, name, augment=False, steps_factor=None):
        self.name, self.augment, self._steps_factor = name, augment, steps_factor

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, augment={self.augment})"

    @property
    def joint_generator(self):
        """True when a generator is trained jointly with the classifier (it then needs about
        twice the classifier's steps to catch up: ``steps_factor``)."""
        return self.generator is not None and self.classifier

    @property
    def steps_factor(self):
        """Default steps, as a multiple of a plain classifier's: the method's own, else 2 for
        a jointly trained generator and 1 for the others."""
        if self._steps_factor is not None:
            return self._steps_factor
        return 2 if self.joint_generator else 1

    def num_outputs(self, num_classes):
        """How many logits D has for K = ``num_classes`` classes."""
        return num_classes

    def build_models(self, cfg, num_classes, rng):
        """(D, G or None), with weights drawn from ``rng`` (D's first, then G's)."""
        D = Discriminator(self.num_outputs(num_classes), cfg.width, cfg.noise_std, cfg.dropout,
                          cfg.weight_norm, rng=rng)
        G = None
        if self.generator is not None:
            conditional = self.generator == "conditional"
            G = Generator(num_classes if conditional else 0, cfg.image_size, cfg.width, rng=rng)
        return D, G

    def extra_labelled(self, cfg, splits, out, fresh):
        """Images to add to the labelled set before training (``ExtraImages``), or None.
        Runs before the trainer is built (Vanilla GAN trains its per-class GANs here)."""
        return None

    def train_step(self, cfg, D, G, opt_d, opt_g, x, y, num_classes, rng):
        """One optimisation step on the real batch x (B, 3, S, S) float32, y (B,).
        Returns {loss name: float}."""
        opt_d.zero_grad()
        loss = losses.classifier_loss(D(x), y)
        loss.backward()
        opt_d.step()
        return {"L_C": loss.item()}

    def class_probabilities(self, logits, num_classes):
        """(N, outputs) logits -> (N, K) class probabilities (numpy) at test time."""
        with no_grad():
            return ops.softmax(logits, axis=1).data


class Classifier(Method):
    """C and C_aug: a K-way classifier trained with cross-entropy on real images."""


class VanillaGAN(Classifier):
    """C trained on the real images plus images drawn from K per-class GANs trained first
    (each an unconditional ``GAN`` on one class's labelled images)."""

    generator_name = "K unconditional, trained first"

    def extra_labelled(self, cfg, splits, out, fresh):
        """Train one GAN per class (``cfg.per_class_gan_steps`` steps each, in
        ``out_dir/gan_class<k>``), then draw ``cfg.gan_samples_per_class`` images from each.
        Returns ``ExtraImages`` of K * m images and the GANs' training time."""
        from .trainer import Trainer  # imported here: the trainer imports this table

        K = splits["train"].num_classes
        xs, ys, seconds = [], [], []
        for k in range(K):
            sub = cfg.replace(method="GAN", only_class=k, steps=cfg.per_class_gan_steps,
                              out_dir=os.path.join(cfg.out_dir, f"gan_class{k}"))
            trainer = Trainer(sub, splits, out, fresh=fresh)
            seconds.append(trainer.run()["train_seconds"])
            rng = np.random.default_rng([cfg.seed, k, 11])
            trainer.G.eval()
            xs.append(trainer.G.sample(cfg.gan_samples_per_class, rng, cfg.z_noise).data)
            ys.append(np.full(cfg.gan_samples_per_class, k, np.int64))
        total = None if None in seconds else sum(seconds)
        return ExtraImages(np.concatenate(xs), np.concatenate(ys), total)


class JointGAN(Method):
    """A GAN whose D and G are trained together: each step a D step, then a G step.
    Subclasses say the D loss and the G loss."""
    generator = "unconditional"

    def d_loss(self, cfg, logits_real, y_real, logits_fake, y_fake, num_classes):
        """-> (the loss Tensor D minimises, {name: float} to log)."""
        raise NotImplementedError

    def g_loss(self, logits_fake, y_fake, num_classes):
        """The loss G minimises, from D's logits on its images."""
        raise NotImplementedError

    def generator_loss(self, cfg, D, x_real, fake, y_fake, num_classes):
        """``cfg.g_loss``: the method's own G loss, or feature matching (any GAN)."""
        if cfg.g_loss == "feature_matching":
            with no_grad():
                f_real = D.features(x_real)
            return losses.feature_matching_loss(f_real, D.features(fake))
        return self.g_loss(D(fake), y_fake, num_classes)

    def train_step(self, cfg, D, G, opt_d, opt_g, x, y, num_classes, rng):
        batch = len(y)
        y_fake = rng.integers(0, num_classes, batch)
        z = sample_noise(batch, G.noise_dim, rng, cfg.z_noise)
        fake = G(z, y_fake if G.num_classes else None)              # (B, 3, S, S), in the graph

        # --- discriminator step: real batch and generated batch (G's graph cut by detach) ---
        opt_d.zero_grad()
        logits_real, logits_fake = D(x), D(fake.detach())
        d_loss, logged = self.d_loss(cfg, logits_real, y, logits_fake, y_fake, num_classes)
        d_loss.backward()
        opt_d.step()

        # --- generator step: through the updated D, whose weights stay fixed ---
        opt_g.zero_grad()
        with frozen(D):
            g_loss = self.generator_loss(cfg, D, x, fake, y_fake, num_classes)
            g_loss.backward()
        opt_g.step()
        return {**logged, "L_G": g_loss.item()}


class UnconditionalGAN(JointGAN):
    """One logit, real vs generated (Goodfellow et al. 2014, non-saturating G loss).
    Not a classifier: Vanilla GAN's per-class generators."""
    classifier = False
    d_loss_name, g_loss_name = "non-saturating GAN", "-log D(G(z))"

    def num_outputs(self, num_classes):
        return 1

    def d_loss(self, cfg, logits_real, y_real, logits_fake, y_fake, num_classes):
        loss = losses.gan_discriminator_loss(logits_real, logits_fake)
        return loss, {"L_D": loss.item()}

    def g_loss(self, logits_fake, y_fake, num_classes):
        return losses.gan_generator_loss(logits_fake)

    def class_probabilities(self, logits, num_classes):
        raise ValueError("a GAN's discriminator is not a classifier")


class SemiGAN(JointGAN):
    """Salimans et al. 2016: K real classes + one "generated" output (index K)."""
    d_loss_name, g_loss_name = "real -> y, generated -> K", "-log(1 - p(K | G(z)))"

    def num_outputs(self, num_classes):
        return num_classes + 1

    def d_loss(self, cfg, logits_real, y_real, logits_fake, y_fake, num_classes):
        loss = losses.semi_discriminator_loss(logits_real, y_real, logits_fake, num_classes)
        return loss, {"L_D": loss.item()}

    def g_loss(self, logits_fake, y_fake, num_classes):
        return losses.semi_generator_loss(logits_fake, num_classes)

    def class_probabilities(self, logits, num_classes):
        return losses.semi_class_probabilities(logits, num_classes)


class DAGAN(JointGAN):
    """Zhang & Wu 2019: 2K outputs (K real classes, K generated classes), a conditional G,
    D's loss L_D + lc_weight * L_c (eqs. 3, 6-8), G's loss eqs. 4-5, and the merged
    prediction p(i) + p(i + K) at test time."""
    generator = "conditional"
    d_loss_name, g_loss_name = "eq. 3 + lc_weight * eqs. 6-8", "eqs. 4-5: -log p(y | G(z, y))"

    def num_outputs(self, num_classes):
        return 2 * num_classes

    def d_loss(self, cfg, logits_real, y_real, logits_fake, y_fake, num_classes):
        l_d = losses.dagan_discriminator_loss(logits_real, y_real, logits_fake, y_fake, num_classes)
        l_c = losses.class_consistency_loss(logits_real, y_real, logits_fake, y_fake, num_classes)
        loss = l_d + cfg.lc_weight * l_c if cfg.lc_weight else l_d
        return loss, {"L_D": l_d.item(), "L_c": l_c.item()}

    def g_loss(self, logits_fake, y_fake, num_classes):
        return losses.dagan_generator_loss(logits_fake, y_fake, num_classes)

    def class_probabilities(self, logits, num_classes):
        return losses.dagan_class_probabilities(logits, num_classes)


# The table. Its order is the order of the command line's choices.
METHODS = {m.name: m for m in (
    Classifier("C"),
    Classifier("C_aug", augment=True),
    UnconditionalGAN("GAN"),
    # 80% of its labelled set generated at 50 per class: still rising on validation at 1 x
    VanillaGAN("VanillaGAN", steps_factor=2),
    SemiGAN("SemiGAN"),
    DAGAN("DAGAN"),
    # crop + flip on top of a jointly trained G: still rising on validation at 2 x (the
    # factors other than the defaults: docs/results.md, "steps, chosen on validation")
    DAGAN("DAGAN_aug", augment=True, steps_factor=3),
)}


def get_method(name):
    """The method object called ``name`` (a clear error for an unknown name)."""
    if isinstance(name, Method):
        return name
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; expected one of {tuple(METHODS)}")
    return METHODS[name]


def _cell(text):
    return text.replace("|", "\\|")  # a "|" inside a markdown table cell


def format_method_table():
    """The table of ``METHODS`` as markdown (what docs/methods.md shows)."""
    rows = ["| method | D outputs | generator | classic augmentation | classifier trained "
            "jointly with G | default steps | D loss | G loss |",
            "|---|---|---|---|---|---|---|---|"]
    for m in METHODS.values():
        n = m.num_outputs(10)  # written in terms of K
        outputs = {1: "1", 10: "K", 11: "K + 1", 20: "2K"}.get(n, f"{n} for K = 10")
        generator = m.generator_name or m.generator or "-"
        joint = ("yes" if m.joint_generator else "no") if m.classifier else "n/a (not a classifier)"
        rows.append(f"| {m.name} | {outputs} | {generator} | "
                    f"{'crop + flip' if m.augment else '-'} | "
                    f"{joint} | {m.steps_factor} x | "
                    f"{_cell(m.d_loss_name)} | {_cell(m.g_loss_name)} |")
    return "\n".join(rows) + "\n"
