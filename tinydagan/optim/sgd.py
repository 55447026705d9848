"""Stochastic gradient descent with (optional) momentum, as in PyTorch:

    v <- momentum * v + grad        p <- p - lr * v
"""
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        if lr <= 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: need lr > 0, momentum >= 0, weight_decay >= 0; got "
                             f"{lr}, {momentum}, {weight_decay}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    def step(self):
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = state.get("momentum")
                v = g.copy() if v is None else self.momentum * v + g
                state["momentum"] = v
                g = v
            p.data -= (self.lr * g).astype(p.dtype, copy=False)
