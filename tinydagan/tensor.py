"""The autograd engine: a ``Tensor`` that remembers how it was made, and ``backward()``.

How reverse-mode automatic differentiation works here, in four sentences:

1. Every operation is a ``Function`` with two static methods: ``forward(ctx, *arrays)``
   computes the result with numpy and stores on ``ctx`` whatever the gradient will need;
   ``backward(ctx, grad_output)`` turns the gradient of the loss with respect to the output
   into one gradient per input (the chain rule, one step).
2. ``Function.apply`` runs ``forward`` and, when any input requires a gradient, links the
   output Tensor to its inputs, so the Tensors form a graph (a DAG).
3. ``loss.backward()`` orders that graph topologically once (every node after all the nodes
   that use it: ``topological_order``) and walks it from the loss back to the leaves
   (``backpropagate``).
4. Gradients are *accumulated* with ``+=``: a Tensor used twice receives the sum of both
   contributions, and calling ``backward`` on two losses adds their gradients, as in PyTorch.
   ``optimizer.zero_grad()`` is what clears them.

Only leaves (Tensors created by the user, e.g. parameters) keep ``.grad``; gradients of
intermediate results live only during the backward walk.
"""
from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["Tensor", "Function", "Context", "no_grad", "enable_grad", "is_grad_enabled", "tensor",
           "topological_order", "backpropagate"]

_GRAD_ENABLED = True  # switched by no_grad(); the one piece of global state, as in PyTorch


def is_grad_enabled() -> bool:
    """True unless we are inside a ``no_grad()`` block."""
    return _GRAD_ENABLED


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, enabled
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


def no_grad():
    """Context manager: operations inside build no graph (evaluation, sampling, optimizer steps)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: turn graph building back on inside a ``no_grad()`` block."""
    return _grad_mode(True)


def _as_array(data, dtype=None) -> np.ndarray:
    """Convert ``data`` to a float ndarray: a float64 *array* stays float64 (for gradient
    checks); everything else, Python lists and numbers included, becomes float32."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.float64)) and data.dtype == np.float64:
        return np.asarray(data)  # (a 0-d op such as -x returns a numpy scalar, not an array)
    return np.asarray(data, dtype=np.float32)


class Context:
    """Scratch space a Function's forward fills for its backward."""

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """Base class of every differentiable operation.

    Subclasses implement ``forward(ctx, *inputs, **options)`` on numpy arrays and
    ``backward(ctx, grad_output)`` returning one gradient (or None) per positional input.
    Users call ``SomeFunction.apply(tensor, ...)``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs) -> "Tensor":
        ctx = Context()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        out = Tensor(cls.forward(ctx, *arrays, **kwargs))
        if is_grad_enabled() and any(ctx.needs_input_grad):
            out.requires_grad = True
            out._fn = cls
            out._ctx = ctx
            out._parents = args
        return out


class Tensor:
    """An n-dimensional array (``.data``, an ``np.ndarray``) that can track gradients.

    ``Tensor(data, requires_grad=False)``: float32 unless ``data`` is float64 (gradient
    checks run in float64). ``.grad`` is an ndarray of the same shape, or None.
    """

    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._fn = None  # the Function that made this Tensor (None for leaves)
        self._ctx = None
        self._parents = ()

    # ----- basic properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        return self._fn is None

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy)."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """A Tensor sharing the same data, cut from the graph."""
        return Tensor(self.data)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{grad})"

    # ----- backward ---------------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is d(loss)/d(self); it may be omitted only when ``self`` has one element.
        The walk itself is ``backpropagate`` below.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a Tensor that does not require grad "
                               "(was it computed inside no_grad(), or from constants only?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a single-element Tensor, "
                                   f"got shape {self.shape}; pass grad= of that shape")
            grad = np.ones_like(self.data)
        grad = _as_array(grad, self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): grad has shape {grad.shape}, expected {self.shape}")
        backpropagate(self, grad)

    # ----- operators (the ops live in tinydagan/ops; imported lazily to avoid a cycle) ----
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __pow__(self, exponent):
        return _ops().pow(self, exponent)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis, keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops().transpose(self, axes or None)

    @property
    def T(self):
        return _ops().transpose(self, None)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def relu(self):
        return _ops().relu(self)

    def tanh(self):
        return _ops().tanh(self)

    def sigmoid(self):
        return _ops().sigmoid(self)


# --- exercise: backward ---
def topological_order(root):
    """The nodes of the graph below ``root`` that require grad, each once, each BEFORE every
    node it was made from (root first, leaves last): a list of Tensors.

    A node's inputs are ``node._parents`` (Tensors, or constants to skip). The walk uses an
    explicit stack, not recursion: a deep graph would overflow Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if isinstance(parent, Tensor) and parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order[::-1]  # outputs first, leaves last


def backpropagate(root, grad):
    """The backward walk: d(root)/d(leaf) ADDED to ``leaf.grad`` for every leaf below root.

    grad: an array of root's shape, d(loss)/d(root). In ``topological_order(root)``, each node
    receives the sum of the gradients its consumers sent it (kept per node, by ``id``); a
    leaf adds that sum to its ``.grad`` (None counts as zero); any other node passes it to
    ``node._fn.backward(node._ctx, g)``, which returns one gradient (or None) per entry of
    ``node._parents``, and each parent that requires grad receives its own.
    """
    grads = {id(root): grad}
    for node in topological_order(root):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node.is_leaf:
            node.grad = g.copy() if node.grad is None else node.grad + g
            continue
        input_grads = node._fn.backward(node._ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, pg in zip(node._parents, input_grads):
            if pg is None or not (isinstance(parent, Tensor) and parent.requires_grad):
                continue
            if pg.shape != parent.shape:
                raise RuntimeError(f"{node._fn.__name__}.backward returned a gradient of shape "
                                   f"{pg.shape} for an input of shape {parent.shape}")
            key = id(parent)
            grads[key] = pg if key not in grads else grads[key] + pg
# --- end exercise ---


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Shorthand for ``Tensor(data, requires_grad, dtype)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _ops():
    from . import ops
    return ops
