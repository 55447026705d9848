"""Matrix multiplication. For C = A @ B:  dA = dC @ B^T  and  dB = A^T @ dC."""
import numpy as np

from ..tensor import Function
from .elementwise import unbroadcast

__all__ = ["matmul_backward", "MatMul"]


# --- exercise: matmul_backward ---
def matmul_backward(grad, a, b, needs=(True, True)):
    """(grad_a, grad_b) of c = a @ b:  grad_a = grad @ b^T,  grad_b = a^T @ grad.

    a (..., n, k), b (..., k, m), grad (..., n, m) with the broadcast batch axes of c; the
    transpose swaps the last two axes only (``np.swapaxes(x, -1, -2)``), and each gradient is
    unbroadcast to its input's shape (a batch axis one input lacks is summed). An entry is
    None where ``needs`` is False.
    """
    grad_a = unbroadcast(grad @ np.swapaxes(b, -1, -2), a.shape) if needs[0] else None
    grad_b = unbroadcast(np.swapaxes(a, -1, -2) @ grad, b.shape) if needs[1] else None
    return grad_a, grad_b
# --- end exercise ---


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
        return matmul_backward(g, *ctx.saved_tensors, ctx.needs_input_grad)
