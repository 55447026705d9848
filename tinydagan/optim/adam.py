"""Adam (Kingma & Ba 2015). For each parameter, with t the step number:

    m <- beta1 * m + (1 - beta1) * g            (first moment: a running mean of g)
    v <- beta2 * v + (1 - beta2) * g^2          (second moment)
    m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     (bias corrections)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)

DCGAN and Improved-GAN train with lr 2e-4..3e-4 and beta1 = 0.5.
"""
import numpy as np

from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params)
        if lr <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps <= 0:
            raise ValueError(f"Adam: need lr > 0, betas in [0, 1), eps > 0; got lr={lr}, "
                             f"betas={betas}, eps={eps}")
        self.lr, self.betas, self.eps = lr, tuple(betas), eps

    def step(self):
        self.step_count += 1
        t = self.step_count
        beta1, beta2 = self.betas
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = p.grad
            if "m" not in state:
                state["m"] = np.zeros_like(p.data)
                state["v"] = np.zeros_like(p.data)
            m, v = state["m"], state["v"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            step_size = self.lr / (1 - beta1 ** t)
            denom = np.sqrt(v / (1 - beta2 ** t)) + self.eps
            p.data -= (step_size * m / denom).astype(p.dtype, copy=False)
