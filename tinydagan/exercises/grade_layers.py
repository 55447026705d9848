"""Graders of the layer tasks: global average pooling, Gaussian noise, batch norm, dropout,
and one Adam step.

References: the library's functions (``tinydagan/functional.py``, ``tinydagan/optim/adam.py``).
The layers that draw random numbers are compared draw for draw: the same seed must give
the same numbers, so a run is reproducible from its seed.
"""
import numpy as np

from .. import functional as F
from ..optim.adam import adam_update
from ..tensor import Tensor
from .checks import Check, Mismatch, compare

__all__ = ["grade_global_avg_pool2d", "grade_gaussian_noise", "grade_batch_norm", "grade_dropout", "grade_adam"]


def _tensor(value, what):
    if not isinstance(value, Tensor):
        raise Mismatch(f"{what} returned {type(value).__name__}, expected a Tensor",
                       "build the result from Tensor ops so that the gradient flows.")
    return value


def _gradient(fn, data, w):
    """x.grad after fn(x) for a fresh x = Tensor(data), backward with upstream w."""
    x = Tensor(data.copy(), requires_grad=True)
    (_tensor(fn(x), "the function") * w).sum().backward()
    return x.grad


def _no_gradient(name):
    return Mismatch(f"no gradient reached {name}", "use Tensor ops on the Tensor itself, not numpy on its .data.")


def grade_global_avg_pool2d(student):
    rng = np.random.default_rng(20)
    x32 = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    with Check("global_avg_pool2d on float32 x (2, 3, 4, 5)"):
        compare("y", _tensor(student.global_avg_pool2d(Tensor(x32)), "global_avg_pool2d"),
                F.global_avg_pool2d(Tensor(x32)).data, rtol=1e-6)
    data, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3))
    with Check("the gradient of global_avg_pool2d (float64)", hint="each pixel of a map receives grad / (H*W)."):
        got = _gradient(student.global_avg_pool2d, data, w)
        want = _gradient(F.global_avg_pool2d, data, w)
        if got is None:
            raise _no_gradient("x")
        compare("x.grad", got, want)


def _is_identity(layer, data, what):
    """layer(x, rng) must return x unchanged and draw nothing from rng."""
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    compare("y", _tensor(layer(Tensor(data), rng), what), data)
    if rng.bit_generator.state != state:
        raise Mismatch(f"{what} drew random numbers", "when it is the identity, the layer returns x and draws "
                       "nothing, so that evaluation leaves the generator's stream alone.")


def grade_gaussian_noise(student):
    rng = np.random.default_rng(21)
    data = rng.standard_normal((64, 50))
    for training, std in ((False, 0.3), (True, 0.0)):
        with Check(f"gaussian_noise(x, std={std}, training={training})"):
            _is_identity(lambda x, r: student.gaussian_noise(x, std, training, r), data, "gaussian_noise")
    for dtype in (np.float32, np.float64):
        x = data.astype(dtype)
        with Check(f"gaussian_noise(x {dtype.__name__}, std=0.3, training=True, rng=default_rng(1))"):
            got = _tensor(student.gaussian_noise(Tensor(x), 0.3, True, np.random.default_rng(1)), "gaussian_noise")
            want = F.gaussian_noise(Tensor(x), 0.3, True, np.random.default_rng(1)).data
            if got.shape == want.shape and not np.allclose(got.data, want, rtol=1e-6, atol=1e-7):
                noise = np.asarray(got.data, dtype=np.float64) - x
                if abs(noise.mean()) < 0.03 and abs(noise.std() - 0.3) < 0.03:
                    raise Mismatch("the noise has mean 0 and std 0.3 but is not the library's draw",
                                   "draw it as rng.standard_normal(x.shape, dtype=np.float32) in x's dtype, "
                                   "then multiply by std: then one seed gives one run.")
                if abs(noise.std() - 0.09) < 0.01:
                    raise Mismatch("the noise's standard deviation is 0.09 = 0.3**2", "std is the standard "
                                   "deviation (scale N(0, 1) by std), not the variance.")
            compare("y", got, want)
    w = rng.standard_normal(data.shape)
    with Check("the gradient of gaussian_noise", hint="noise is added: the gradient passes through unchanged."):
        got = _gradient(lambda x: student.gaussian_noise(x, 0.3, True, np.random.default_rng(2)), data, w)
        if got is None:
            raise _no_gradient("x")
        compare("x.grad", got, w)


def grade_dropout(student):
    rng = np.random.default_rng(22)
    data = rng.standard_normal((64, 50)) + 3.0
    for training, p in ((False, 0.5), (True, 0.0)):
        with Check(f"dropout(x, p={p}, training={training})"):
            _is_identity(lambda x, r: student.dropout(x, p, training, r), data, "dropout")
    for dtype, p in ((np.float32, 0.5), (np.float64, 0.25)):
        x = data.astype(dtype)
        with Check(f"dropout(x {dtype.__name__}, p={p}, training=True, rng=default_rng(3))"):
            got = _tensor(student.dropout(Tensor(x), p, True, np.random.default_rng(3)), "dropout")
            want = F.dropout(Tensor(x), p, True, np.random.default_rng(3)).data
            if got.shape == want.shape and not np.allclose(got.data, want):
                kept = got.data != 0
                zeros = 1 - kept.mean()
                if kept.any() and np.allclose(got.data[kept], x[kept]):
                    raise Mismatch("the kept elements are unchanged", "inverted dropout scales the kept "
                                   "elements by 1/(1-p), so that evaluation needs no rescaling.")
                if abs(zeros - (1 - p)) < 0.05 and abs(p - 0.5) > 0.1:
                    raise Mismatch(f"{zeros:.0%} of the elements are zero, expected about {p:.0%}",
                                   "p is the probability of zeroing an element.")
                if abs(zeros - p) < 0.05:
                    raise Mismatch("the right fraction is zeroed, but not the library's elements",
                                   "draw the mask as rng.random(x.shape, dtype=np.float32) >= p (one draw, "
                                   "in x's shape): then one seed gives one run.")
            compare("y", got, want)
    w = rng.standard_normal(data.shape)
    with Check("the gradient of dropout", hint="the gradient is multiplied by the same mask (0 or 1/(1-p))."):
        got = _gradient(lambda x: student.dropout(x, 0.5, True, np.random.default_rng(4)), data, w)
        want = _gradient(lambda x: F.dropout(x, 0.5, True, np.random.default_rng(4)), data, w)
        if got is None:
            raise _no_gradient("x")
        compare("x.grad", got, want)


def _batch_norm_case(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    return (rng.normal(2.0, 3.0, shape), rng.standard_normal(c) + 1.0, rng.standard_normal(c),
            rng.standard_normal(shape), rng.random(c), rng.random(c) + 0.5)


def _run_batch_norm(fn, x_data, w_data, b_data, upstream, running, training, affine=True):
    """One call and backward; -> (y, x.grad, weight.grad, bias.grad, running_mean, running_var)."""
    x = Tensor(x_data.copy(), requires_grad=True)
    weight = Tensor(w_data.copy(), requires_grad=True) if affine else None
    bias = Tensor(b_data.copy(), requires_grad=True) if affine else None
    running_mean, running_var = (None, None) if running is None else (running[0].copy(), running[1].copy())
    y = _tensor(fn(x, running_mean, running_var, weight, bias, training, 0.1, 1e-5), "batch_norm")
    (y * upstream).sum().backward()
    grads = [t.grad if t is not None else None for t in (x, weight, bias)]
    return (y.data, *grads, running_mean, running_var)


def grade_batch_norm(student):
    for shape, seed in (((4, 3, 2, 2), 30), ((6, 4), 31)):
        x, w, b, upstream, rm, rv = _batch_norm_case(shape, seed)
        for training in (True, False):
            what = f"batch_norm(x {shape}, running stats, weight, bias, training={training})"
            with Check(what, hint="y = (x - mean) / sqrt(var + eps) * weight + bias, with the batch's mean and "
                                  "BIASED variance (divide by the count) over every axis but axis 1."
                       if training else "evaluation normalises with running_mean and running_var."):
                got = _run_batch_norm(student.batch_norm, x, w, b, upstream, (rm, rv), training)
                want = _run_batch_norm(F.batch_norm, x, w, b, upstream, (rm, rv), training)
                compare("y", got[0], want[0])
            with Check(f"{what}: running_mean and running_var afterwards",
                       hint="update the arrays in place: running = (1 - momentum) * running + momentum * "
                            "batch statistic, with the UNBIASED variance (times count / (count - 1))."
                       if training else "evaluation leaves the running statistics alone."):
                compare("running_mean", got[4], want[4])
                compare("running_var", got[5], want[5])
            with Check(f"{what}: the gradients",
                       hint="the output is right, its gradient is not: compute mean and variance with "
                            "Tensor ops (ops.mean on x), not with numpy on x.data."):
                for name, g, e in zip(("x.grad", "weight.grad", "bias.grad"), got[1:4], want[1:4]):
                    if g is None:
                        raise _no_gradient(name.split(".")[0])
                    compare(name, g, e)
    x, w, b, upstream, rm, rv = _batch_norm_case((4, 3, 2, 2), 32)
    with Check("batch_norm in training without running statistics (None) and without weight and bias"):
        got = _run_batch_norm(student.batch_norm, x, w, b, upstream, None, True, affine=False)
        want = _run_batch_norm(F.batch_norm, x, w, b, upstream, None, True, affine=False)
        compare("y", got[0], want[0])
        compare("x.grad", got[1], want[1])


def _adam_variants(p, g, m, v, t, lr, beta1, beta2, eps):
    """What common slips compute instead of Adam's step: {hint: new p}."""
    m1, v1 = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m1 / (1 - beta1 ** t), v1 / (1 - beta2 ** t)
    return {"the bias corrections are missing: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t).":
            p - lr * m1 / (np.sqrt(v1) + eps),
            "eps goes outside the square root: sqrt(v_hat) + eps.": p - lr * m_hat / np.sqrt(v_hat + eps),
            "the step is - lr * m_hat / (sqrt(v_hat) + eps): a minus sign, since Adam descends.":
            p + lr * m_hat / (np.sqrt(v_hat) + eps)}


def grade_adam(student):
    rng = np.random.default_rng(40)
    settings = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-4)
    p0 = rng.standard_normal((3, 4))
    got = dict(param=p0.copy(), m=np.zeros_like(p0), v=np.zeros_like(p0))   # updated in place
    want = {name: array.copy() for name, array in got.items()}
    for t in (1, 2, 3):
        g = rng.standard_normal(p0.shape)
        before = {name: array.copy() for name, array in got.items()}
        with Check(f"adam_update, step t={t}, lr=0.01, betas (0.9, 0.999), eps=1e-4"):
            student.adam_update(got["param"], g.copy(), got["m"], got["v"], t, **settings)
            adam_update(want["param"], g.copy(), want["m"], want["v"], t, **settings)
            for name in ("m", "v", "param"):
                if np.array_equal(got[name], before[name]):
                    raise Mismatch(f"{name} did not change", f"update {name} in place ({name} *= ..., {name} += "
                                   f"..., {name} -= ...): the optimizer keeps these arrays; a new array "
                                   f"or a return value is lost.")
            compare("m", got["m"], want["m"])
            compare("v", got["v"], want["v"])
            for hint, variant in _adam_variants(before["param"], g, before["m"], before["v"], t, **settings).items():
                if np.allclose(got["param"], variant, rtol=1e-9) and not np.allclose(variant, want["param"], rtol=1e-9):
                    raise Mismatch("param is not Adam's step", hint)
            compare("param", got["param"], want["param"])
