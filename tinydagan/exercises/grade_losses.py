"""Graders of the loss tasks: stable log-probabilities, and the paper's DAGAN losses.

References: ``tinydagan/losses.py``. A DAGAN loss is a sum of two terms, one on the real
batch's logits and one on the generated batch's, so each term is checked on its own
through the gradient it sends to its own logits; then the value is checked.
"""
import numpy as np

from .. import ops
from ..losses import (class_consistency_loss, dagan_class_probabilities, dagan_discriminator_loss,
                      dagan_generator_loss, log_prob, log_prob_either)
from ..tensor import Tensor
from .checks import Check, Mismatch, compare

__all__ = ["grade_log_prob", "grade_dagan_losses"]

K = 3
STABLE = "compute z_i - logsumexp(z), never log(softmax(z)): exp overflows and softmax underflows."


def _scalar(value, what):
    if not isinstance(value, Tensor):
        raise Mismatch(f"{what} returned {type(value).__name__}, expected a Tensor",
                       "build it from Tensor ops (ops.mean, ops.logsumexp, indexing) so the gradient flows.")
    return value


def _value_and_grads(fn, arrays, upstream=None):
    """fn(*Tensors made from arrays) -> (value, [grad of each]) after a backward pass."""
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = _scalar(fn(*tensors), "the function")
    (out if upstream is None else out * upstream).sum().backward()
    return out.data, [t.grad for t in tensors]


def _logits(seed, n, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2 * K)) * scale, rng.integers(0, K, n)


def grade_log_prob(student):
    z, y = _logits(50, 5)
    other = (y + K) % (2 * K)
    huge = np.array([[1000.0, 0.0, -1000.0, 5.0, 2.0, 1.0], [-1000.0, -990.0, 3.0, 0.0, 1.0, 2.0]])
    w = np.random.default_rng(51).standard_normal(len(y))
    for name, fn, ref, args in (("log_prob", student.log_prob, log_prob, (y,)),
                                ("log_prob_either", student.log_prob_either, log_prob_either, (y, other))):
        with Check(f"{name}(logits (5, {2 * K}), ...)",
                   hint="log p(i | x) = z_i - logsumexp(z)" if name == "log_prob" else
                   "log[p(a) + p(b)] = logsumexp over the two logits (z_a, z_b) minus logsumexp(z)."):
            got, got_grads = _value_and_grads(lambda t: fn(t, *args), [z], w)
            want, want_grads = _value_and_grads(lambda t: ref(t, *args), [z], w)
            compare("value", got, want)
            if got_grads[0] is None:
                raise Mismatch("no gradient reached the logits", "use Tensor ops on logits, not numpy on .data.")
            compare("logits.grad", got_grads[0], want_grads[0])
        args = (np.array([0, 1]),) if name == "log_prob" else (np.array([0, 1]), np.array([2, 0]))
        with Check(f"{name} on huge logits (+-1000)", hint=STABLE):
            compare("value", fn(Tensor(huge), *args), ref(Tensor(huge), *args).data)


def _check_terms(student_fn, reference_fn, zr, zf, terms, alternatives=()):
    """Check a two-batch loss: the gradient reaching each batch's logits (its term), then the value.

    terms: (description of the real-batch term, of the generated-batch term)
    alternatives: [(hint, fn)]: slips to recognise by their gradients
    """
    got, got_grads = _value_and_grads(student_fn, [zr, zf])
    want, want_grads = _value_and_grads(reference_fn, [zr, zf])
    for index, (term, which) in enumerate(zip(terms, ("logits_real", "logits_fake"))):
        with Check(f"the term {term} (the gradient it sends to {which})"):
            if got_grads[index] is None:
                raise Mismatch(f"no gradient reached {which}", "use Tensor ops on the logits, not numpy on .data.")
            for hint, alternative in alternatives:
                alt_grads = _value_and_grads(alternative, [zr, zf])[1]
                if np.allclose(got_grads[index], alt_grads[index]) and not np.allclose(alt_grads[index], want_grads[index]):
                    raise Mismatch(f"{which}.grad is that of a different term (a common slip)", hint)
            compare(f"{which}.grad", got_grads[index], want_grads[index])
    with Check("the value", hint="both gradients are right, so the value is off by a constant."):
        compare("loss", got, want)


def grade_dagan_losses(student):
    (zr, yr), (zf, yf) = _logits(60, 5), _logits(61, 4)
    mean = ops.mean
    classes = "real images belong in class y (index y), generated ones in class y + K."
    with Check("dagan_discriminator_loss (eq. 3), K = 3"):
        _check_terms(lambda a, b: student.dagan_discriminator_loss(a, yr, b, yf, K),
                     lambda a, b: dagan_discriminator_loss(a, yr, b, yf, K),
                     zr, zf, ("- E log p(y | x) on real images", "- E log p(y+K | G(z, y)) on generated images"),
                     [(classes, lambda a, b: -mean(log_prob(a, yr + K)) - mean(log_prob(b, yf))),
                      (classes, lambda a, b: -mean(log_prob(a, yr + K)) - mean(log_prob(b, yf + K))),
                      (classes, lambda a, b: -mean(log_prob(a, yr)) - mean(log_prob(b, yf)))])
    either = ("each term is the log of the SUM p(y) + p(y+K) (log_prob_either): it asks only whether "
              "the class is right, real or generated.")
    with Check("class_consistency_loss (eqs. 6-8), K = 3"):
        _check_terms(lambda a, b: student.class_consistency_loss(a, yr, b, yf, K),
                     lambda a, b: class_consistency_loss(a, yr, b, yf, K),
                     zr, zf, ("L_data = - E log[p(y | x) + p(y+K | x)]", "L_gen = - E log[p(y+K | G) + p(y | G)]"),
                     [(either, lambda a, b: -mean(log_prob(a, yr)) - mean(log_prob(b, yf))),
                      (either, lambda a, b: -mean(log_prob(a, yr + K)) - mean(log_prob(b, yf + K))),
                      ("a log of a sum is not a sum of logs: log[p(y) + p(y+K)] is log_prob_either.",
                       lambda a, b: -(mean(log_prob(a, yr) + log_prob(a, yr + K))
                                      + mean(log_prob(b, yf + K) + log_prob(b, yf))))])
    with Check("dagan_generator_loss (eqs. 4-5), K = 3"):
        got, got_grads = _value_and_grads(lambda b: student.dagan_generator_loss(b, yf, K), [zf])
        want, want_grads = _value_and_grads(lambda b: dagan_generator_loss(b, yf, K), [zf])
        if np.allclose(got, -ops.mean(log_prob(Tensor(zf), yf + K)).data):
            raise Mismatch("got L_G = -E log p(y+K | G(z, y))", "G wants its image of class y taken for a "
                           "REAL image of class y: index y, not y + K.")
        if got_grads[0] is None:
            raise Mismatch("no gradient reached logits_fake", "use Tensor ops on the logits, not numpy on .data.")
        compare("logits_fake.grad", got_grads[0], want_grads[0])
        compare("loss", got, want)
    with Check("dagan_class_probabilities (the merged prediction: class i scores p(i) + p(i+K))"):
        for logits in (zr, Tensor(zr), np.array([[1000.0, 0, 0, 0, 0, 999.0]])):
            got = student.dagan_class_probabilities(logits, K)
            want = dagan_class_probabilities(logits, K)
            z = logits.data if isinstance(logits, Tensor) else logits
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            if isinstance(got, np.ndarray) and got.shape == want.shape and np.allclose(got, p[:, :K]):
                raise Mismatch("got p(i) only", "add the generated-class probability: p(i) + p(i+K).")
            compare("probabilities", got, want, hint="softmax over all 2K logits, then add the two halves; "
                    "subtract each row's maximum before exp.")
