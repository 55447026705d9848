"""The losses of the paper (Zhang & Wu 2019) and of the methods it compares, term by term.

Notation. K classes. The DAGAN discriminator D outputs 2K logits z; p = softmax(z).
Index y in [0, K) means "a REAL image of class y"; index y + K means "a GENERATED image of
class y" (the paper's block layout; the paper counts from 1, we count from 0).
Every log-probability is computed as  log p(i | x) = z_i - logsumexp(z),  which never
overflows, and a log of a sum of two probabilities as
log[p(i) + p(j)] = logsumexp(z_i, z_j) - logsumexp(z).

Each function takes logits as a Tensor (N, outputs) and labels as an int array (N,),
and returns the batch mean (a scalar Tensor), matching the expectations E[...] below.
"""
import numpy as np

from . import ops
from .tensor import Tensor

__all__ = [
    "check_logits", "log_prob", "log_prob_either",
    "dagan_discriminator_loss", "class_consistency_loss", "dagan_generator_loss",
    "feature_matching_loss", "dagan_class_probabilities",
    "semi_discriminator_loss", "semi_generator_loss", "semi_class_probabilities",
    "gan_discriminator_loss", "gan_generator_loss", "classifier_loss",
]


def check_logits(logits, labels, outputs, name):
    """labels as an int array, after checking logits (N, outputs) and labels (N,); else a ValueError."""
    labels = np.asarray(labels)
    if logits.ndim != 2 or logits.shape[1] != outputs or labels.shape != (logits.shape[0],):
        raise ValueError(f"{name}: expected logits (N, {outputs}) and labels (N,), got "
                         f"{logits.shape} and {labels.shape}")
    return labels


# --- exercise: log_prob ---
def log_prob(logits, index):
    """log p(index[n] | x_n) = z[n, index[n]] - logsumexp(z[n]).  -> (N,)

    logits z: a Tensor (N, M); index: ints (N,) in [0, M). Never log(softmax(z)): exp
    overflows for large logits and softmax underflows to 0 for small ones.
    """
    n = np.arange(logits.shape[0])
    return logits[n, np.asarray(index)] - ops.logsumexp(logits, axis=1)


def log_prob_either(logits, index_a, index_b):
    """log[p(a_n | x_n) + p(b_n | x_n)] = logsumexp(z[n, a_n], z[n, b_n]) - logsumexp(z[n]).  -> (N,)

    logits z: a Tensor (N, M); index_a, index_b: ints (N,) in [0, M). The two picked
    logits side by side form an (N, 2) Tensor whose logsumexp over axis 1 is the first term.
    """
    n = np.arange(logits.shape[0])
    pair = ops.concatenate([logits[n, np.asarray(index_a)].reshape(-1, 1),
                            logits[n, np.asarray(index_b)].reshape(-1, 1)], axis=1)
    return ops.logsumexp(pair, axis=1) - ops.logsumexp(logits, axis=1)
# --- end exercise ---


# ----- DAGAN ---------------------------------------------------------------------------------
# --- exercise: dagan_losses ---
def dagan_discriminator_loss(logits_real, y_real, logits_fake, y_fake, num_classes):
    """Eq. 3:  L_D = - E_{(x,y)~data} log p(y | x)  -  E_{z,y} log p(y+K | G(z, y)).

    Real images must land in their real class y, generated ones in the "fake y" class y+K.
    logits_real (N, 2K), y_real ints (N,) in [0, K); logits_fake (M, 2K), y_fake (M,);
    -> a scalar Tensor, the batch means (``log_prob``).
    """
    K = num_classes
    y_real = check_logits(logits_real, y_real, 2 * K, "dagan_discriminator_loss (real)")
    y_fake = check_logits(logits_fake, y_fake, 2 * K, "dagan_discriminator_loss (fake)")
    real_term = -ops.mean(log_prob(logits_real, y_real))
    fake_term = -ops.mean(log_prob(logits_fake, y_fake + K))
    return real_term + fake_term


def class_consistency_loss(logits_real, y_real, logits_fake, y_fake, num_classes):
    """Eqs. 6-8: whatever the source, D must recognise the class.

        L_c    = L_data + L_gen
        L_data = - E_{(x,y)~data} log[ p(y | x) + p(y+K | x) ]
        L_gen  = - E_{z,y}       log[ p(y+K | G(z,y)) + p(y | G(z,y)) ]

    Shapes as in ``dagan_discriminator_loss``; each log of a sum is ``log_prob_either``.
    """
    K = num_classes
    y_real = check_logits(logits_real, y_real, 2 * K, "class_consistency_loss (real)")
    y_fake = check_logits(logits_fake, y_fake, 2 * K, "class_consistency_loss (fake)")
    l_data = -ops.mean(log_prob_either(logits_real, y_real, y_real + K))
    l_gen = -ops.mean(log_prob_either(logits_fake, y_fake + K, y_fake))
    return l_data + l_gen


def dagan_generator_loss(logits_fake, y_fake, num_classes):
    """Eqs. 4-5 (as restated in docs/paper.md): G wants its image of class y taken for a REAL
    image of class y:   L_G = - E_{z,y} log p(y | G(z, y)).

    logits_fake (M, 2K), y_fake ints (M,) in [0, K) -> a scalar Tensor."""
    y_fake = check_logits(logits_fake, y_fake, 2 * num_classes, "dagan_generator_loss")
    return -ops.mean(log_prob(logits_fake, y_fake))
# --- end exercise ---


def feature_matching_loss(features_real, features_fake):
    """Salimans et al. 2016:  || E_x f(x) - E_z f(G(z)) ||^2,  f = D's penultimate features
    (N, F). The real features are a target: no gradient flows into them."""
    target = features_real.detach() if isinstance(features_real, Tensor) else Tensor(features_real)
    diff = ops.mean(target, axis=0) - ops.mean(features_fake, axis=0)
    return ops.sum(diff * diff)


# --- exercise: dagan_losses ---
def dagan_class_probabilities(logits, num_classes):
    """Test-time classifier (the merged prediction): class i scores p(i) + p(i+K), p = softmax(z).

    logits: a Tensor or an array (N, 2K) -> an array (N, K), rows summing to 1. The softmax
    subtracts each row's maximum before exp (no overflow).
    """
    z = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p[:, :num_classes] + p[:, num_classes:]
# --- end exercise ---


# ----- Semi-supervised GAN (Salimans et al. 2016), K+1 outputs --------------------------------
def semi_discriminator_loss(logits_real, y_real, logits_fake, num_classes):
    """L_D = - E_{(x,y)~data} log p(y | x)  -  E_z log p(K+1 | G(z)),  "fake" is index K."""
    K = num_classes
    y_real = check_logits(logits_real, y_real, K + 1, "semi_discriminator_loss (real)")
    fake = np.full(logits_fake.shape[0], K)
    check_logits(logits_fake, fake, K + 1, "semi_discriminator_loss (fake)")
    return -ops.mean(log_prob(logits_real, y_real)) - ops.mean(log_prob(logits_fake, fake))


def semi_generator_loss(logits_fake, num_classes):
    """Non-saturating:  L_G = - E_z log[1 - p(K+1 | G(z))] = - E_z log sum_{i<K} p(i | G(z))."""
    K = num_classes
    check_logits(logits_fake, np.zeros(logits_fake.shape[0], int), K + 1, "semi_generator_loss")
    real_part = ops.logsumexp(logits_fake[:, :K], axis=1)
    return -ops.mean(real_part - ops.logsumexp(logits_fake, axis=1))


def semi_class_probabilities(logits, num_classes):
    """Classify with the K real classes only: softmax over the first K logits -> (N, K)."""
    z = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    z = z[:, :num_classes]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


# ----- Vanilla GAN (one logit, non-saturating) -------------------------------------------------
def _softplus(x):
    """log(1 + e^x) = logsumexp(0, x), stable for large |x|.  (N, 1) -> (N,)"""
    return ops.logsumexp(ops.concatenate([np.zeros(x.shape, x.dtype), x], axis=1), axis=1)


def gan_discriminator_loss(logits_real, logits_fake):
    """L_D = - E_x log sigmoid(d(x)) - E_z log(1 - sigmoid(d(G(z))))
           =   E_x softplus(-d(x))    + E_z softplus(d(G(z)))."""
    return ops.mean(_softplus(-logits_real)) + ops.mean(_softplus(logits_fake))


def gan_generator_loss(logits_fake):
    """Non-saturating (Goodfellow et al. 2014):  L_G = - E_z log sigmoid(d(G(z)))."""
    return ops.mean(_softplus(-logits_fake))


# ----- Plain classifier ---------------------------------------------------------------------------
def classifier_loss(logits, labels):
    """C's loss: cross-entropy  - E_{(x,y)} log p(y | x)  over K outputs."""
    labels = check_logits(logits, labels, logits.shape[1], "classifier_loss")
    return -ops.mean(log_prob(logits, labels))
