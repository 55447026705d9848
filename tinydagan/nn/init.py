"""Weight initialisation and weight normalisation, shared by Linear and the conv layers.

Default initialisation is PyTorch's: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
with fan_in = in_features (Linear) or in_channels * kH * kW (conv).

Weight normalisation (Salimans & Kingma 2016, used by the Improved-GAN discriminator that
the paper borrows) writes each output unit's weight vector as a direction times a length:

    w[o] = g[o] * v[o] / ||v[o]||

and trains v and g instead of w. ``weight_from_norm`` builds w from them inside the graph,
so gradients flow to v and g.
"""
import numpy as np

from .. import ops
from .module import Parameter

__all__ = ["uniform_fan_in", "weight_from_norm", "init_weight"]


def uniform_fan_in(shape, fan_in, rng, dtype=np.float32):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the given shape, drawn from ``rng``."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def init_weight(module, shape, fan_in, bias, weight_norm, rng, dtype, dim=0):
    """Create ``weight`` (or ``weight_v`` and ``weight_g``) and ``bias`` on ``module``.

    ``dim`` is the output-unit axis: 0 for Linear/Conv2d weights (out, ...).
    """
    rng = np.random.default_rng() if rng is None else rng
    w = uniform_fan_in(shape, fan_in, rng, dtype)
    module.weight_norm = bool(weight_norm)
    module.norm_dim = dim
    if weight_norm:
        module.weight_v = Parameter(w)
        module.weight_g = Parameter(_norm(w, dim))  # starts equal to the plain weight
    else:
        module.weight = Parameter(w)
    module.bias = Parameter(uniform_fan_in((shape[dim],), fan_in, rng, dtype)) if bias else None


def _norm(w, dim):
    axes = tuple(i for i in range(w.ndim) if i != dim)
    return np.sqrt((w * w).sum(axis=axes))


def weight_from_norm(v, g, dim=0):
    """w = g * v / ||v||, the norm taken over every axis but ``dim``, as a graph operation."""
    axes = tuple(i for i in range(v.ndim) if i != dim)
    shape = [1] * v.ndim
    shape[dim] = v.shape[dim]
    norm = ops.sum(v * v, axis=axes, keepdims=True) ** 0.5
    return v * (ops.reshape(g, shape) / norm)


def current_weight(module):
    """The layer's effective weight: the parameter itself, or g * v / ||v||."""
    if module.weight_norm:
        return weight_from_norm(module.weight_v, module.weight_g, module.norm_dim)
    return module.weight
