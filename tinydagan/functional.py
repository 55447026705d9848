"""Stateless neural-network functions, PyTorch style: ``import tinydagan.functional as F``.

Layout is NCHW throughout: a batch of images is (N, C, H, W). The convolutions' output
sizes are computed, and their arguments checked, in one place: ``ConvGeometry`` and the
checks of ``tinydagan/kernels/geometry.py``.
"""
import numpy as np

from . import ops
from .kernels.geometry import check_conv2d_shapes, check_conv_transpose2d_shapes
from .ops.conv import Conv2dFunction, ConvTranspose2dFunction
from .tensor import Tensor

__all__ = ["conv2d", "conv_transpose2d", "linear", "global_avg_pool2d", "relu", "leaky_relu",
           "tanh", "sigmoid", "log_softmax", "softmax", "logsumexp", "cross_entropy",
           "batch_norm", "dropout", "gaussian_noise", "pair"]

relu, tanh, sigmoid = ops.relu, ops.tanh, ops.sigmoid
log_softmax, softmax, logsumexp = ops.log_softmax, ops.softmax, ops.logsumexp


def pair(value, name="argument"):
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-d convolution (cross-correlation, as in every deep-learning library).

    x (N, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,) -> (N, C_out, H_out, W_out),
    H_out = (H + 2*padding - kH) // stride + 1.
    """
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    check_conv2d_shapes("conv2d", x.shape, weight.shape, stride, padding, names=("input", "output"))
    return Conv2dFunction.apply(x, weight, bias, stride, padding)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution (the gradient of conv2d with respect to its input).

    x (N, C_in, H, W), weight (C_in, C_out, kH, kW), bias (C_out,) -> (N, C_out, H_out, W_out),
    H_out = (H - 1)*stride - 2*padding + kH + output_padding.
    """
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    output_padding = pair(output_padding, "output_padding")
    check_conv_transpose2d_shapes("conv_transpose2d", x.shape, weight.shape, stride, padding, output_padding,
                                  names=("input", "output"))
    return ConvTranspose2dFunction.apply(x, weight, bias, stride, padding, output_padding)


def linear(x, weight, bias=None):
    """y = x W^T + b.  x (N, in), weight (out, in), bias (out,) -> (N, out)."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features, weight {weight.shape} "
                         f"expects {weight.shape[1]} (input shape {x.shape})")
    y = ops.matmul(x, ops.transpose(weight))
    return y if bias is None else y + bias


# --- exercise: global_avg_pool2d ---
def global_avg_pool2d(x):
    """(N, C, H, W) -> (N, C): the mean of each feature map (NIN's classifier head).

    y[n, c] = (1 / (H*W)) sum_{h,w} x[n, c, h, w], from Tensor ops (so autograd gives the
    backward: each pixel receives grad / (H*W)).
    """
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected (N, C, H, W), got shape {x.shape}")
    return ops.mean(x, axis=(2, 3))
# --- end exercise ---


def leaky_relu(x, negative_slope=0.2):
    """max(x, 0) + negative_slope * min(x, 0)."""
    return ops.leaky_relu(x, negative_slope)


def cross_entropy(logits, targets):
    """Mean of -log softmax(logits)[n, targets[n]].  logits (N, K), targets (N,) ints in [0, K)."""
    targets = np.asarray(targets)
    if logits.ndim != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy: expected logits (N, K) and targets (N,), got "
                         f"{logits.shape} and {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[1]}), got "
                         f"values from {targets.min()} to {targets.max()}")
    log_p = log_softmax(logits, axis=1)
    return -ops.mean(log_p[np.arange(len(targets)), targets])


# --- exercise: batch_norm ---
def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=True,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but the channel axis 1.

    Training: normalise with the batch's mean and (biased) variance, and move the running
    statistics (numpy arrays, updated in place) towards them:
        running = (1 - momentum) * running + momentum * batch_stat   (unbiased variance)
    Evaluation: normalise with the running statistics.
    y = (x - mean) / sqrt(var + eps) * weight + bias, weight and bias of shape (C,).

    x: a Tensor (N, C) or (N, C, H, W); running_mean, running_var: arrays (C,), or None
    (then nothing is tracked); weight, bias: Tensors (C,) or None. -> y, x's shape. In
    training the statistics are Tensor ops on x, so autograd gives the backward through
    them; the unbiased variance is var * count / (count - 1), count = x.size // C.
    """
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean = ops.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = ops.mean(centred * centred, axis=axes, keepdims=True)
        count = x.size // x.shape[1]
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.data.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * var.data.reshape(-1) * count / max(count - 1, 1)
        x_hat = centred / (var + eps) ** 0.5
    else:
        mean = running_mean.reshape(shape).astype(x.dtype)
        inv_std = (1.0 / np.sqrt(running_var + eps)).reshape(shape).astype(x.dtype)
        x_hat = (x - mean) * inv_std
    if weight is not None:
        x_hat = x_hat * ops.reshape(weight, shape)
    if bias is not None:
        x_hat = x_hat + ops.reshape(bias, shape)
    return x_hat
# --- end exercise ---


# --- exercise: dropout ---
def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout),
    so evaluation needs no rescaling. Identity when ``training`` is False or p == 0.

    x: a Tensor of any shape; rng: the np.random.Generator to draw from. -> x * mask, mask
    0 or 1/(1-p), in x's dtype, drawn as ``rng.random(x.shape, dtype=np.float32) >= p``
    (keep): one draw in x's shape, so that a seed gives one run. The identity returns x
    itself and draws nothing.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    if rng is None:
        raise ValueError("dropout: pass the np.random.Generator to draw the mask from (rng=...)")
    keep = rng.random(x.shape, dtype=np.float32) >= p          # (same shape as x) bool
    # 0 or 1/(1-p), in x's dtype, stored in x's memory layout (batch-last after a numba
    # conv): then x * mask and its gradient g * mask keep that layout too, and the next
    # conv reads them without a copy. The mask is drawn in shape order either way.
    scale = x.dtype.type(1 / (1 - p))
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    mask = np.multiply(keep, scale, out=np.empty_like(data))
    return x * mask
# --- end exercise ---


# --- exercise: gaussian_noise ---
def gaussian_noise(x, std, training=True, rng=None):
    """x + N(0, std^2) noise in training; identity in evaluation or when std == 0.

    x: a Tensor of any shape; rng: the np.random.Generator to draw from. The noise is
    ``rng.standard_normal(x.shape, dtype=np.float32)`` in x's dtype, times std: one draw
    in x's shape, so that a seed gives one run. The identity returns x itself and draws
    nothing.
    """
    if std < 0:
        raise ValueError(f"gaussian_noise: std must be >= 0, got {std}")
    if not training or std == 0:
        return x
    if rng is None:
        raise ValueError("gaussian_noise: pass the np.random.Generator to draw from (rng=...)")
    noise = rng.standard_normal(x.shape, dtype=np.float32).astype(x.dtype, copy=False)
    return x + noise * x.dtype.type(std)
# --- end exercise ---
