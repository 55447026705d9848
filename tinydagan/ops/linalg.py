"""Matrix multiplication. For C = A @ B:  dA = dC @ B^T  and  dB = A^T @ dC."""
import numpy as np

from ..tensor import Function
from .elementwise import unbroadcast

__all__ = ["MatMul"]


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul: both operands need at least 2 dimensions, got shapes "
                             f"{a.shape} and {b.shape}")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb
