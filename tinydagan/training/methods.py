"""The six methods of the paper's Table 3 (and the per-class GAN behind Vanilla GAN),
as one training step each. All share the same discriminator body (``models.py``), so the
comparison is fair: only the number of outputs and the losses change.

    method       D outputs   generator        one step
    C, C_aug     K           -                cross-entropy on a real batch
    GAN          1           unconditional    non-saturating GAN on one class's images
    VanillaGAN   K           -                C's step on real + per-class GAN samples
    SemiGAN      K + 1       unconditional    Salimans et al.: real -> y, fake -> K+1
    DAGAN(_aug)  2K          conditional      eq. 3 + lc_weight * eqs. 6-8, then G: eqs. 4-5

"_aug" methods apply random crop + flip to the real batch (``data.augment_batch``).
A GAN step updates D on a real batch and a generated batch, then updates G through D,
reusing the same generated batch (as DCGAN does).
"""
import contextlib

from .. import losses, ops
from ..models import Discriminator, Generator, sample_noise
from ..tensor import no_grad

__all__ = ["METHOD_TABLE", "d_outputs", "build_models", "train_step", "class_probabilities"]

# method -> (D outputs as a function of K, generator kind, classic augmentation)
METHOD_TABLE = {
    "C": (lambda k: k, None, False),
    "C_aug": (lambda k: k, None, True),
    "VanillaGAN": (lambda k: k, None, False),
    "GAN": (lambda k: 1, "unconditional", False),
    "SemiGAN": (lambda k: k + 1, "unconditional", False),
    "DAGAN": (lambda k: 2 * k, "conditional", False),
    "DAGAN_aug": (lambda k: 2 * k, "conditional", True),
}


def d_outputs(method, num_classes):
    return METHOD_TABLE[method][0](num_classes)


def build_models(cfg, num_classes, rng):
    """(D, G or None) for ``cfg.method``; weights drawn from ``rng``."""
    outputs, g_kind, _ = METHOD_TABLE[cfg.method]
    D = Discriminator(outputs(num_classes), cfg.width, cfg.noise_std, cfg.dropout,
                      cfg.weight_norm, rng=rng)
    G = None
    if g_kind is not None:
        G = Generator(num_classes if g_kind == "conditional" else 0, cfg.image_size, cfg.width,
                      rng=rng)
    return D, G


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


def _generator_loss(cfg, D, x_real, fake, y_fake, K):
    if cfg.g_loss == "feature_matching":
        with no_grad():
            f_real = D.features(x_real)
        return losses.feature_matching_loss(f_real, D.features(fake))
    if cfg.method.startswith("DAGAN"):
        return losses.dagan_generator_loss(D(fake), y_fake, K)
    if cfg.method == "SemiGAN":
        return losses.semi_generator_loss(D(fake), K)
    return losses.gan_generator_loss(D(fake))


def train_step(cfg, D, G, opt_d, opt_g, x, y, K, rng):
    """One optimisation step on the real batch (x (B, 3, S, S) float32, y (B,)).
    Returns {loss name: float}."""
    if G is None:  # C, C_aug, VanillaGAN: a classifier
        opt_d.zero_grad()
        loss = losses.classifier_loss(D(x), y)
        loss.backward()
        opt_d.step()
        return {"L_C": loss.item()}

    batch = len(y)
    y_fake = rng.integers(0, K, batch)
    z = sample_noise(batch, G.noise_dim, rng, cfg.z_noise)
    fake = G(z, y_fake if G.num_classes else None)                  # (B, 3, S, S), in the graph

    # --- discriminator step: real batch and generated batch (G's graph cut by detach) ---
    opt_d.zero_grad()
    logits_real, logits_fake = D(x), D(fake.detach())
    out = {}
    if cfg.method.startswith("DAGAN"):
        l_d = losses.dagan_discriminator_loss(logits_real, y, logits_fake, y_fake, K)
        l_c = losses.class_consistency_loss(logits_real, y, logits_fake, y_fake, K)
        d_loss = l_d + cfg.lc_weight * l_c if cfg.lc_weight else l_d
        out.update(L_D=l_d.item(), L_c=l_c.item())
    elif cfg.method == "SemiGAN":
        d_loss = losses.semi_discriminator_loss(logits_real, y, logits_fake, K)
        out["L_D"] = d_loss.item()
    else:
        d_loss = losses.gan_discriminator_loss(logits_real, logits_fake)
        out["L_D"] = d_loss.item()
    d_loss.backward()
    opt_d.step()

    # --- generator step: through the updated D, whose weights stay fixed ---
    opt_g.zero_grad()
    with frozen(D):
        g_loss = _generator_loss(cfg, D, x, fake, y_fake, K)
        g_loss.backward()
    opt_g.step()
    out["L_G"] = g_loss.item()
    return out


def class_probabilities(method, logits, K):
    """(N, outputs) logits -> (N, K) class probabilities for the method's classifier."""
    if method.startswith("DAGAN"):
        return losses.dagan_class_probabilities(logits, K)
    if method == "SemiGAN":
        return losses.semi_class_probabilities(logits, K)
    if method == "GAN":
        raise ValueError("a GAN's discriminator is not a classifier")
    with no_grad():
        return ops.softmax(logits, axis=1).data
