"""``Module``: a layer or a network, holding Parameters, buffers and sub-Modules.

As in PyTorch, assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so
``parameters()`` and ``state_dict()`` find every weight without a hand-written list.
Buffers (``register_buffer``) are arrays that are saved but not trained, such as batch
norm's running statistics.
"""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Module", "Sequential", "ModuleList"]


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad`` is always True."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                               f"attributes")
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """Keep ``array`` (np.ndarray) in the state dict without training it."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ----- walking the tree -------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{name}.")

    def modules(self):
        return [m for _, m in self.named_modules()]

    def named_parameters(self):
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                yield prefix + name, p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                yield prefix + name, b

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    # ----- modes and gradients ----------------------------------------------------------
    def train(self, mode=True):
        """Training mode: noise, dropout and batch statistics on."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: noise and dropout off, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, dtype):
        """Convert every parameter and buffer to ``dtype`` in place (float64 for gradchecks)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for m in self.modules():
            for name, b in list(m._buffers.items()):
                m.register_buffer(name, b.astype(dtype))
        return self

    # ----- saving -----------------------------------------------------------------------
    def state_dict(self):
        """An ordered {name: np.ndarray copy} of every parameter and buffer."""
        state = OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into this module's parameters and buffers.

        Raises a KeyError listing missing and unexpected names (when ``strict``) and a
        ValueError naming the entry whose shape differs.
        """
        own = dict(self.named_parameters())
        buffers = {}
        for prefix, m in self.named_modules():
            for name in m._buffers:
                buffers[prefix + name] = (m, name)
        missing = [k for k in list(own) + list(buffers) if k not in state]
        unexpected = [k for k in state if k not in own and k not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, value in state.items():
            value = np.asarray(value)
            if name in own:
                target = own[name]
                if value.shape != target.shape:
                    raise ValueError(f"load_state_dict: '{name}' has shape {value.shape} in the "
                                     f"file but {target.shape} in the model")
                target.data = value.astype(target.dtype, copy=True)
            elif name in buffers:
                m, short = buffers[name]
                current = m._buffers[short]
                if value.shape != np.shape(current):
                    raise ValueError(f"load_state_dict: buffer '{name}' has shape {value.shape} "
                                     f"in the file but {np.shape(current)} in the model")
                m.register_buffer(short, value.astype(np.asarray(current).dtype, copy=True))

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_lines = repr(child).split("\n")
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules, registered as ``"0"``, ``"1"``, ... (so ``parameters()`` and
    ``state_dict()`` find them), for a network that calls its layers itself."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __iter__(self):
        return iter(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, i):
        return list(self._modules.values())[i]


class Sequential(ModuleList):
    """Apply the given modules one after another: ``Sequential(a, b, c)(x) = c(b(a(x)))``."""

    def __init__(self, *modules):
        super().__init__(modules)

    def forward(self, x):
        for m in self:
            x = m(x)
        return x
