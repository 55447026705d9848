"""Exponential moving average of parameters (Polyak averaging), for evaluation weights.

After every optimizer step:  avg <- decay * avg + (1 - decay) * param.
GAN-trained classifiers are noisy step to step; the average is a smoother, usually better
model. ``swap_in()`` puts the averages into the model for evaluation, ``swap_out()`` puts
the trained weights back.
"""
import numpy as np

__all__ = ["EMA"]


class EMA:
    def __init__(self, module, decay=0.999):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA: decay must be in [0, 1), got {decay}")
        self.module, self.decay = module, decay
        self.names = [name for name, _ in module.named_parameters()]
        self.shadow = {name: p.data.copy() for name, p in module.named_parameters()}
        self._backup = None

    def update(self):
        for name, p in self.module.named_parameters():
            avg = self.shadow[name]
            avg *= self.decay
            avg += (1 - self.decay) * p.data

    def swap_in(self):
        """Load the averaged weights into the module (keeping the trained ones aside)."""
        if self._backup is not None:
            raise RuntimeError("EMA.swap_in called twice without swap_out")
        self._backup = {}
        for name, p in self.module.named_parameters():
            self._backup[name] = p.data
            p.data = self.shadow[name].copy()

    def swap_out(self):
        """Put the trained weights back."""
        if self._backup is None:
            raise RuntimeError("EMA.swap_out called without swap_in")
        for name, p in self.module.named_parameters():
            p.data = self._backup[name]
        self._backup = None

    def state_dict(self):
        return {name: value.copy() for name, value in self.shadow.items()}

    def load_state_dict(self, state):
        for name in self.names:
            if name not in state or np.shape(state[name]) != self.shadow[name].shape:
                raise ValueError(f"EMA.load_state_dict: entry '{name}' missing or of the wrong shape")
            self.shadow[name] = np.array(state[name], dtype=self.shadow[name].dtype)
