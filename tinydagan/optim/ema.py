"""Exponential moving average of parameters (Polyak averaging), for evaluation weights.

After the t-th optimizer step (t = 1, 2, ...):

    d_t = min(decay, (1 + t) / (10 + t))          # warm-up
    avg <- d_t * avg + (1 - d_t) * param

GAN-trained classifiers are noisy step to step; the average is a smoother, usually better
model. Without the warm-up, the average of a short run would still be mostly the random
initial weights (0.999^200 = 82% of it after 200 steps); with it, early updates move the
average quickly and the decay reaches ``decay`` after about 10 / (1 - decay) steps
(the same schedule as TensorFlow's ExponentialMovingAverage with num_updates).

Evaluating with the averages::

    with ema.applied():          # the module holds the averaged weights inside the block
        accuracy = evaluate(D, ...)
                                 # ... and its trained weights again after it

``swap_in()`` / ``swap_out()`` are the two halves of that block.
"""
from contextlib import contextmanager

import numpy as np

__all__ = ["EMA"]


class EMA:
    def __init__(self, module, decay=0.999):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA: decay must be in [0, 1), got {decay}")
        self.module, self.decay = module, decay
        self.names = [name for name, _ in module.named_parameters()]
        self.num_updates = 0
        self.shadow = {name: p.data.copy() for name, p in module.named_parameters()}
        self._backup = None

    def update(self):
        self.num_updates += 1
        t = self.num_updates
        d = min(self.decay, (1 + t) / (10 + t))
        for name, p in self.module.named_parameters():
            avg = self.shadow[name]
            avg *= d
            avg += (1 - d) * p.data

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

    @contextmanager
    def applied(self, weights=None):
        """``with ema.applied(): ...`` runs the block with the averaged weights (or the given
        {name: array} ``weights``, e.g. a saved best step's) in the module, then puts the
        trained weights back, also if the block raises."""
        self.swap_in()
        try:
            if weights is not None:
                for name, p in self.module.named_parameters():
                    if name not in weights or np.shape(weights[name]) != p.shape:
                        raise ValueError(f"EMA.applied: weights '{name}' missing or of the "
                                         f"wrong shape (expected {p.shape})")
                    p.data = weights[name].copy()
            yield self.module
        finally:
            self.swap_out()

    def state_dict(self):
        state = {name: value.copy() for name, value in self.shadow.items()}
        state["num_updates"] = np.array(self.num_updates)
        return state

    def weights(self):
        """A copy of the averaged weights, {parameter name: array}."""
        return {name: value.copy() for name, value in self.shadow.items()}

    def load_state_dict(self, state):
        if "num_updates" not in state:
            raise ValueError("EMA.load_state_dict: entry 'num_updates' missing")
        self.num_updates = int(state["num_updates"])
        for name in self.names:
            if name not in state or np.shape(state[name]) != self.shadow[name].shape:
                raise ValueError(f"EMA.load_state_dict: entry '{name}' missing or of the wrong shape")
            self.shadow[name] = np.array(state[name], dtype=self.shadow[name].dtype)
