"""Graders of the autograd tasks: element-wise backwards, unbroadcast, matmul, reductions,
logsumexp, log_softmax, and the backward graph walk.

Each grader gets ``student`` (the task file's functions, called with the library's
solution hidden) and compares them with the library's functions, imported here as the
reference, on small float64 inputs from explicit seeds. Gradients are also shown against
the central difference of the forward (``numeric=``).
"""
import numpy as np

from .. import ops
from ..ops.elementwise import (div_backward, exp_backward, log_backward, mul_backward,
                               sigmoid_backward, tanh_backward, unbroadcast)
from ..ops.linalg import matmul_backward
from ..ops.reduce import (expand_reduced, logsumexp_backward, logsumexp_forward, max_backward,
                          max_forward, mean_backward, sum_backward)
from ..tensor import Tensor, backpropagate, topological_order
from .checks import Check, Mismatch, compare, numeric_gradient_at

__all__ = ["grade_elementwise_backward", "grade_unbroadcast", "grade_matmul_backward",
           "grade_reductions", "grade_logsumexp", "grade_log_softmax", "grade_backward"]


def _pair(result, name, names=("grad_a", "grad_b")):
    """A function that returns two arrays returns them as a tuple."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise Mismatch(f"{name} must return a pair ({', '.join(names)}), got {type(result).__name__}")
    return result


def _binary(student_fn, reference_fn, forward, name, a, b, rng):
    """Check a binary backward on one pair of inputs, both gradients, against the reference."""
    g = rng.standard_normal(np.broadcast_shapes(a.shape, b.shape))
    want_a, want_b = reference_fn(g, a, b)
    got_a, got_b = _pair(student_fn(g.copy(), a.copy(), b.copy()), name)
    loss = lambda: float(np.sum(g * forward(a, b)))  # noqa: E731  (L = sum(grad * f(a, b)))
    broadcast = "an input was broadcast: unbroadcast(grad, np.shape(input)) sums it back to that shape."
    with Check(f"{name}(grad, a, b) with a {a.shape}, b {b.shape}",
               hint=broadcast if a.shape != b.shape else None):
        compare("grad_a", got_a, want_a, numeric=numeric_gradient_at(loss, a))
        compare("grad_b", got_b, want_b, numeric=numeric_gradient_at(loss, b))


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def grade_elementwise_backward(student):
    rng = np.random.default_rng(0)
    for shape_a, shape_b in [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1))]:
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        _binary(student.mul_backward, mul_backward, np.multiply, "mul_backward", a, b, rng)
        b = np.abs(b) + 0.5
        _binary(student.div_backward, div_backward, np.divide, "div_backward", a, b, rng)

    a = rng.standard_normal((3, 5))
    # (name, student's, reference, forward, input, does the backward take the forward's output?)
    unary = [("exp_backward", student.exp_backward, exp_backward, np.exp, a, True),
             ("log_backward", student.log_backward, log_backward, np.log, np.abs(a) + 0.5, False),
             ("tanh_backward", student.tanh_backward, tanh_backward, np.tanh, a, True),
             ("sigmoid_backward", student.sigmoid_backward, sigmoid_backward, _sigmoid, a, True)]
    for name, got_fn, want_fn, forward, x, takes_out in unary:
        g = rng.standard_normal(x.shape)
        argument = forward(x) if takes_out else x
        loss = lambda: float(np.sum(g * forward(x)))  # noqa: E731
        with Check(f"{name}(grad, {'out' if takes_out else 'a'})",
                   hint="out is the forward's result: write the derivative in terms of it." if takes_out else None):
            want = want_fn(g, argument)
            compare("grad_a", got_fn(g.copy(), argument.copy()), want, numeric=numeric_gradient_at(loss, x))


def grade_unbroadcast(student):
    rng = np.random.default_rng(1)
    cases = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)),
             ((2, 3, 4), (1, 1, 4)), ((3, 4), (1, 1)), ((2, 3, 4), ()), ((5,), (1,))]
    for grad_shape, shape in cases:
        grad = rng.standard_normal(grad_shape)
        with Check(f"unbroadcast(grad {grad_shape}, shape {shape})",
                   hint="first sum the leading axes numpy added, then (keepdims=True) every axis "
                        "where shape has 1 and grad does not."):
            compare("result", student.unbroadcast(grad.copy(), shape), unbroadcast(grad, shape))


def grade_matmul_backward(student):
    rng = np.random.default_rng(2)
    for shape_a, shape_b in [((3, 4), (4, 5)), ((1, 3), (3, 2)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5))]:
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        g = rng.standard_normal(np.broadcast_shapes(shape_a[:-2], shape_b[:-2]) + (shape_a[-2], shape_b[-1]))
        want_a, want_b = matmul_backward(g, a, b)
        got_a, got_b = _pair(student.matmul_backward(g.copy(), a.copy(), b.copy()), "matmul_backward")
        loss = lambda: float(np.sum(g * (a @ b)))  # noqa: E731
        with Check(f"matmul_backward(grad, a, b) with a {shape_a}, b {shape_b}",
                   hint="dA = dC @ B^T and dB = A^T @ dC, transposing the last two axes "
                        "(np.swapaxes(x, -1, -2)); a batch axis one input lacks is summed by unbroadcast."):
            compare("grad_a", got_a, want_a, numeric=numeric_gradient_at(loss, a))
            compare("grad_b", got_b, want_b, numeric=numeric_gradient_at(loss, b))


REDUCTION_CASES = [((2, 3, 4), (1,), False), ((2, 3, 4), (1,), True), ((2, 3, 4), (0, 2), False),
                   ((2, 3, 4), (0, 1, 2), False), ((3, 5), (1,), True)]


def _reduced_shape(shape, axes, keepdims):
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


def grade_reductions(student):
    rng = np.random.default_rng(3)
    for shape, axes, keepdims in REDUCTION_CASES:
        call = f"(shape {shape}, axes {axes}, keepdims={keepdims})"
        g = rng.standard_normal(_reduced_shape(shape, axes, keepdims))
        with Check(f"expand_reduced(grad {g.shape}, axes {axes}, keepdims={keepdims})",
                   hint="put the reduced axes back as size-1 axes (np.expand_dims), unless keepdims kept them."):
            compare("result", student.expand_reduced(g.copy(), axes, keepdims), expand_reduced(g, axes, keepdims))
        a = rng.standard_normal(shape)
        with Check(f"sum_backward{call}", hint="every element of the sum receives the output's gradient."):
            loss = lambda: float(np.sum(g * a.sum(axis=axes, keepdims=keepdims)))  # noqa: E731
            compare("grad_a", student.sum_backward(g.copy(), shape, axes, keepdims),
                    sum_backward(g, shape, axes, keepdims), numeric=numeric_gradient_at(loss, a))
        with Check(f"mean_backward{call}",
                   hint="each element receives the gradient divided by the number of elements averaged."):
            loss = lambda: float(np.sum(g * a.mean(axis=axes, keepdims=keepdims)))  # noqa: E731
            compare("grad_a", student.mean_backward(g.copy(), shape, axes, keepdims),
                    mean_backward(g, shape, axes, keepdims), numeric=numeric_gradient_at(loss, a))
        with Check(f"max_forward(a, axes {axes}, keepdims={keepdims}) and max_backward"):
            want_out, want_share = max_forward(a, axes, keepdims)
            got = _pair(student.max_forward(a.copy(), axes, keepdims), "max_forward", ("out", "share"))
            compare("out", got[0], want_out)
            compare("share", got[1], want_share)
            loss = lambda: float(np.sum(g * a.max(axis=axes, keepdims=keepdims)))  # noqa: E731
            compare("grad_a", student.max_backward(g.copy(), want_share.copy(), axes, keepdims),
                    max_backward(g, want_share, axes, keepdims), numeric=numeric_gradient_at(loss, a))
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    with Check("max_forward with ties: a = [[1, 3, 3], [2, 0, 2]], axes (1,)",
               hint="tied maxima split the gradient evenly: share = mask / (number of maxima)."):
        got = _pair(student.max_forward(ties.copy(), (1,), False), "max_forward", ("out", "share"))
        compare("share", got[1], max_forward(ties, (1,), False)[1])


def grade_logsumexp(student):
    rng = np.random.default_rng(4)
    for shape, axes, keepdims in REDUCTION_CASES:
        a = rng.standard_normal(shape) * 3
        g = rng.standard_normal(_reduced_shape(shape, axes, keepdims))
        with Check(f"logsumexp_forward(a {shape}, axes {axes}, keepdims={keepdims})"):
            want_out, want_softmax = logsumexp_forward(a, axes, keepdims)
            got = _pair(student.logsumexp_forward(a.copy(), axes, keepdims), "logsumexp_forward", ("out", "softmax"))
            compare("out", got[0], want_out)
            compare("softmax", got[1], want_softmax)
        with Check(f"logsumexp_backward(grad, softmax, axes {axes}, keepdims={keepdims})",
                   hint="d logsumexp(a) / da = softmax(a) along the reduced axes."):
            loss = lambda: float(np.sum(g * logsumexp_forward(a, axes, keepdims)[0]))  # noqa: E731
            compare("grad_a", student.logsumexp_backward(g.copy(), want_softmax.copy(), axes, keepdims),
                    logsumexp_backward(g, want_softmax, axes, keepdims), numeric=numeric_gradient_at(loss, a))
    huge = np.array([[1000.0, 1000.0, -5.0], [-1000.0, 0.0, 3.0]])
    with Check("logsumexp_forward on huge logits [[1000, 1000, -5], [-1000, 0, 3]], axes (1,)",
               hint="exp(1000) overflows: subtract the maximum m first, m + log(sum(exp(a - m)))."):
        want_out, want_softmax = logsumexp_forward(huge, (1,), False)
        got = _pair(student.logsumexp_forward(huge.copy(), (1,), False), "logsumexp_forward", ("out", "softmax"))
        compare("out", got[0], want_out)
        compare("softmax", got[1], want_softmax)


def grade_log_softmax(student):
    rng = np.random.default_rng(5)
    for shape, axis in [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1)]:
        data, w = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
        x, x_ref = Tensor(data.copy(), requires_grad=True), Tensor(data.copy(), requires_grad=True)
        with Check(f"log_softmax(x {shape}, axis={axis})"):
            got = student.log_softmax(x, axis=axis)
            if not isinstance(got, Tensor):
                raise Mismatch(f"log_softmax returned {type(got).__name__}, expected a Tensor",
                               "build it from Tensor ops (sub, logsumexp) so the gradient flows.")
            want = ops.log_softmax(x_ref, axis=axis)
            compare("value", got, want.data)
            (got * w).sum().backward()
            (want * w).sum().backward()
            if x.grad is None:
                raise Mismatch("no gradient reached x", "use Tensor ops on x, not numpy on x.data.")
            loss = lambda: float(np.sum(w * ops.log_softmax(Tensor(data), axis=axis).data))  # noqa: E731
            compare("x.grad", x.grad, x_ref.grad, numeric=numeric_gradient_at(loss, data))
    huge = np.array([[1000.0, 0.0, -1000.0]])
    with Check("log_softmax on huge logits [[1000, 0, -1000]]",
               hint="log(softmax) underflows to log(0): compute a - logsumexp(a, keepdims=True)."):
        compare("value", student.log_softmax(Tensor(huge), axis=-1), ops.log_softmax(Tensor(huge), axis=-1).data)


# ----------------------------------------------------------------- the backward graph walk

def _leaves(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _chain(x, w):
    return ops.tanh(x * w).sum()


def _used_twice(x, w):
    return (x * x * w).sum()             # x is both inputs of one Mul: two contributions


def _diamond(x, w):
    u = x * w                             # u feeds two branches that meet again
    return (ops.exp(u) + u * 3.0 + ops.tanh(u) * u).sum()


GRAPHS = [
    ("a chain: loss = tanh(x * w).sum()", _chain, None),
    ("x used twice: loss = (x * x * w).sum()", _used_twice,
     "a Tensor used twice must receive the sum of both contributions: accumulate (+=), never overwrite."),
    ("a diamond: u = x * w used by three branches", _diamond,
     "a node's backward may run only after every node that uses it has sent its gradient: "
     "walk the graph in topological order, accumulating per node."),
]


def _leaf_grads(run, build, seed):
    x, w = _leaves(seed, (3, 4), (3, 4))
    loss = build(x, w)
    run(loss, np.ones_like(loss.data))
    return x.grad, w.grad


def grade_backward(student):
    with Check("topological_order(root) on the diamond graph",
               hint="return each node requiring grad once, root first, every node before the nodes it was made from."):
        x, w = _leaves(9, (2,), (2,))
        loss = _diamond(x, w)
        order = student.topological_order(loss)
        expected = topological_order(loss)
        if not isinstance(order, (list, tuple)):
            raise Mismatch(f"topological_order returned {type(order).__name__}, expected a list of Tensors")
        if len(order) != len(expected) or {id(n) for n in order} != {id(n) for n in expected}:
            raise Mismatch(f"got {len(order)} nodes ({len({id(n) for n in order})} different), expected "
                           f"the {len(expected)} nodes that require grad")
        if order[0] is not loss:
            raise Mismatch("the root (the loss) must come first")
        position = {id(n): i for i, n in enumerate(order)}
        for node in order:
            for parent in node._parents:
                if isinstance(parent, Tensor) and parent.requires_grad and position[id(parent)] < position[id(node)]:
                    raise Mismatch(f"an input of a {node._fn.__name__} node comes before that node")

    for number, (description, build, hint) in enumerate(GRAPHS):
        with Check(f"backpropagate(loss, 1) on {description}", hint=hint):
            got_x, got_w = _leaf_grads(student.backpropagate, build, number)
            want_x, want_w = _leaf_grads(backpropagate, build, number)
            compare("x.grad", got_x, want_x)
            compare("w.grad", got_w, want_w)

    with Check("backpropagate twice on the same graph",
               hint="a leaf's .grad accumulates across backward calls, as in PyTorch "
                    "(optimizers call zero_grad() to clear it)."):
        (x, w), (x_ref, w_ref) = _leaves(7, (3, 4), (3, 4)), _leaves(7, (3, 4), (3, 4))
        for run, a, b in ((student.backpropagate, x, w), (backpropagate, x_ref, w_ref)):
            loss = _chain(a, b)
            run(loss, np.ones_like(loss.data))
            run(_chain(a, b), np.ones_like(loss.data))
        compare("x.grad", x.grad, x_ref.grad)

    with Check("a constant in the graph (a Tensor without requires_grad)",
               hint="only Tensors that require grad receive a gradient (and are walked)."):
        (x,) = _leaves(8, (3,))
        constant = Tensor(np.arange(3.0))
        loss = (x * constant).sum()
        student.backpropagate(loss, np.ones_like(loss.data))
        if constant.grad is not None:
            raise Mismatch("the constant got a .grad")
        compare("x.grad", x.grad, constant.data)

    with Check("a chain of 3000 operations"):
        (x,) = _leaves(10, (2,))
        v = x
        for _ in range(3000):
            v = v * 1.0001
        loss = v.sum()
        student.backpropagate(loss, np.ones_like(loss.data))
        compare("x.grad", x.grad, np.full(2, 1.0001 ** 3000), rtol=1e-9)
