"""Tutorial 01: automatic differentiation with tinydagan's Tensor.

Run:  python tutorials/01_autograd.py          (a few seconds; needs no dataset)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

What you will see
1. A Tensor is a numpy array plus the memory of how it was made.
2. A tiny graph, its backward pass, and the gradients checked by hand.
3. A node used twice receives the SUM of both gradient contributions (accumulation).
4. ``no_grad()``: computations that build no graph (evaluation, sampling).
5. Writing your own differentiable ``Function`` and checking it with ``gradcheck``,
   including what the failure message looks like when the backward is wrong.
"""
# %% Setup
import numpy as np

import tinydagan as td
from tinydagan import Function, Tensor, gradcheck, no_grad

np.set_printoptions(precision=4, suppress=True)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


# %% 1. Tensors
section("1. Tensors")
a = Tensor(np.array([[1, 2], [3, 4]], dtype=np.float32), requires_grad=True)  # (2, 2)
b = td.tensor([[0.5, 0.5], [0.5, 0.5]])     # a Python list of floats becomes float32 ...
i = td.tensor(np.arange(4))                  # ... so do integers ...
d = td.tensor(np.array([0.5, 0.25]))         # ... but a float64 ndarray stays float64
print("a =", a)
print("a.shape =", a.shape, " a.dtype =", a.dtype, " a.is_leaf =", a.is_leaf)
print("b.dtype =", b.dtype, "(a list of floats: float32, the training dtype)")
print("i.dtype =", i.dtype, "(integers: float32 too)")
print("d.dtype =", d.dtype, "(float64 data stays float64: gradient checks need it)")
print("a.data is a plain numpy array:", type(a.data).__name__)

# %% 2. A tiny graph and backward()
section("2. A tiny graph and backward()")
# f(x, w, c) = sum(tanh(x * w + c))  -- one neuron's pre-activation, squashed, summed
x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)  # float64 so the check below is exact
w = Tensor(np.array([1.5, 0.5, -0.25]), requires_grad=True)
c = Tensor(np.array(0.1), requires_grad=True)               # broadcast over the 3 elements
h = x * w + c                                               # (3,)  interior node
y = h.tanh()                                                # (3,)
f = y.sum()                                                 # ()    the scalar "loss"
print("h =", h.data, " h.is_leaf =", h.is_leaf, "(h remembers it came from Add)")
print("f =", f.item())
f.backward()
# Chain rule by hand: df/dh = 1 - tanh(h)^2;  dh/dx = w;  dh/dw = x;  dh/dc = 1 (summed)
dfdh = 1 - np.tanh(h.data) ** 2
print("x.grad =", x.grad, "  by hand:", dfdh * w.data)
print("w.grad =", w.grad, "  by hand:", dfdh * x.data)
print("c.grad =", c.grad, "          by hand:", dfdh.sum(),
      "(c was broadcast, so its gradient is summed)")
assert np.allclose(x.grad, dfdh * w.data) and np.allclose(c.grad, dfdh.sum())
print("h.grad =", h.grad, "(interior nodes keep no .grad; only leaves do)")

# %% 3. Accumulation: a node used twice
section("3. Accumulation: a node used twice")
# g(u) = u*u + u  uses u three times; dg/du = 2u + 1. The engine must ADD the contributions.
u = Tensor(np.array([3.0]), requires_grad=True)
g = (u * u + u).sum()
g.backward()
print("g = u*u + u at u = 3: du =", u.grad, " expected 2u + 1 =", 2 * 3.0 + 1)
assert np.allclose(u.grad, 7.0)
# Calling backward on a second loss ADDS to .grad (as in PyTorch): that is why every training
# step starts with optimizer.zero_grad().
(u * 10).sum().backward()
print("after a second backward of 10*u: u.grad =", u.grad, "= 7 + 10 (accumulated, not replaced)")
u.grad = None  # what zero_grad() does for each parameter
print("after clearing: u.grad =", u.grad)

# %% 4. no_grad(): no graph, no gradients
section("4. no_grad(): no graph, no gradients")
with no_grad():
    z = x * w + c
print("inside no_grad: z.requires_grad =", z.requires_grad, " z.is_leaf =", z.is_leaf)
try:
    z.sum().backward()
except RuntimeError as err:
    print("z.sum().backward() raises RuntimeError:", err)
print("Use no_grad() for evaluation and for drawing samples from the generator: it saves the")
print("memory of every intermediate array the backward pass would need.")


# %% 5. Your own Function, checked with gradcheck
section("5. Your own Function, checked with gradcheck")


class Softplus(Function):
    """softplus(x) = log(1 + e^x), written stably as max(x, 0) + log1p(e^-|x|).
    d softplus / dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + np.exp(-x))   # chain rule: upstream gradient * local derivative


class BrokenSoftplus(Softplus):
    """The same forward with a deliberately wrong backward (forgot the chain rule's
    upstream factor and used e^x instead of sigmoid(x))."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return np.exp(x)


rng = np.random.default_rng(0)
x64 = Tensor(rng.standard_normal((2, 3)), requires_grad=True)   # float64: see gradcheck.py
print("Softplus forward:", Softplus.apply(x64).data.round(4).tolist())
ok = gradcheck(lambda t: Softplus.apply(t), [x64])
print("gradcheck(Softplus) ->", ok)
print("gradcheck compares backward() with central differences (f(x+eps) - f(x-eps)) / 2eps,")
print("element by element, in float64.")
try:
    gradcheck(lambda t: BrokenSoftplus.apply(t), [x64])
except td.GradcheckError as err:
    print("gradcheck(BrokenSoftplus) raises GradcheckError:")
    print("   ", err)
else:
    raise SystemExit("expected the broken backward to fail gradcheck")
print("The message names the input, the element, and both values: start debugging there.")

# %% Summary
section("Summary")
print("""- A Tensor wraps an ndarray; operations on Tensors that require grad record a graph.
- backward() walks the graph once in topological order and applies each Function's backward.
- Gradients ACCUMULATE (+=): a node used twice gets both contributions, and two backward()
  calls add up, which is why optimizers call zero_grad() before each step.
- no_grad() switches graph building off (evaluation, sampling).
- A new op is a Function with forward(ctx, ...) / backward(ctx, grad_output); gradcheck in
  float64 tells you exactly where a wrong backward disagrees with finite differences.""")
section("Exercises")
print("""1. (10 min) Write a Function for x**3 and gradcheck it. Then return 3*x instead of
   3*x**2 in backward: which element does gradcheck report first, and why that one?
2. (5 min) In section 3, replace `u * u + u` by `(u * u).sum() + u.sum()` and predict u.grad
   before you run it.
3. (5 min) Run gradcheck on float32 inputs (Tensor(..., dtype=np.float32)). What happens,
   and why does gradcheck insist on float64 (see tinydagan/gradcheck.py)?
4. (10 min) Read topological_order in tinydagan/tensor.py: what would go wrong if a node's
   backward ran before ALL the nodes that use it had sent their gradients?
Graded, with `python -m tinydagan.exercises new my_work` then `grade my_work`: the tasks
elementwise_backward, unbroadcast, matmul_backward, reductions and backward (about 80 min).""")
