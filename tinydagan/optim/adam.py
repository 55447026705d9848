"""Adam (Kingma & Ba 2015): per parameter, running means of the gradient and of its square,
bias-corrected, set the step (the formulas: ``adam_update`` below).

DCGAN and Improved-GAN train with lr 2e-4..3e-4 and beta1 = 0.5.
"""
import numpy as np

from .optimizer import Optimizer

__all__ = ["adam_update", "Adam"]


# --- exercise: adam ---
def adam_update(param, grad, m, v, t, lr, beta1, beta2, eps):
    """One Adam step for one parameter, updating the arrays ``param``, ``m`` and ``v`` in place.

        m <- beta1 * m + (1 - beta1) * grad
        v <- beta2 * v + (1 - beta2) * grad^2
        param <- param - lr * m_hat / (sqrt(v_hat) + eps),
                 m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)

    param, grad, m, v: arrays of one shape (m and v start at zero); t: the step number,
    1 for the first step. Returns nothing.
    """
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1 ** t)
    denom = np.sqrt(v / (1 - beta2 ** t)) + eps
    param -= (step_size * m / denom).astype(param.dtype, copy=False)
# --- end exercise ---


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params)
        if lr <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps <= 0:
            raise ValueError(f"Adam: need lr > 0, betas in [0, 1), eps > 0; got lr={lr}, "
                             f"betas={betas}, eps={eps}")
        self.lr, self.betas, self.eps = lr, tuple(betas), eps

    def step(self):
        self.step_count += 1
        beta1, beta2 = self.betas
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            if "m" not in state:
                state["m"] = np.zeros_like(p.data)
                state["v"] = np.zeros_like(p.data)
            adam_update(p.data, p.grad, state["m"], state["v"], self.step_count, self.lr, beta1, beta2, self.eps)
