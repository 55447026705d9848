"""Base class of the optimizers: holds the parameters and their per-parameter state."""
import numpy as np

__all__ = ["Optimizer"]


class Optimizer:
    def __init__(self, params):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.state = [dict() for _ in self.params]  # e.g. momentum buffers, one dict per param
        self.step_count = 0

    def zero_grad(self):
        """Clear the accumulated gradients before the next backward()."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def state_dict(self):
        """{name: array}: the step count and every state buffer, for checkpoints."""
        out = {"step_count": np.array(self.step_count)}
        for i, s in enumerate(self.state):
            for key, value in s.items():
                out[f"{i}.{key}"] = value
        return out

    def load_state_dict(self, state):
        self.step_count = int(state["step_count"])
        self.state = [dict() for _ in self.params]
        for name, value in state.items():
            if name == "step_count":
                continue
            i, key = name.split(".", 1)
            i = int(i)
            if i >= len(self.params) or np.shape(value) != self.params[i].shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: entry '{name}' with "
                                 f"shape {np.shape(value)} does not match the parameters")
            self.state[i][key] = np.array(value, dtype=self.params[i].dtype)
