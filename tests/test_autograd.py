"""The autograd engine: every op gets a float64 gradient check."""
import numpy as np
import pytest

import tinydagan as td
from tinydagan import ops


def t(shape, seed=0, positive=False, requires_grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return td.Tensor(a, requires_grad=requires_grad)


BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)), ((), (2, 3))]


@pytest.mark.parametrize("op", [ops.add, ops.sub, ops.mul])
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_binary_ops_with_broadcasting(op, shapes):
    a, b = t(shapes[0], 1), t(shapes[1], 2)
    assert td.gradcheck(op, [a, b])


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_div_with_broadcasting(shapes):
    a, b = t(shapes[0], 1), t(shapes[1], 2, positive=True)
    assert td.gradcheck(ops.div, [a, b])


@pytest.mark.parametrize("fn, positive", [
    (ops.exp, False), (ops.log, True), (ops.tanh, False), (ops.sigmoid, False), (ops.neg, False),
    (ops.relu, False), (lambda x: ops.leaky_relu(x, 0.2), False), (lambda x: ops.leaky_relu(x, 1.5), False),
    (lambda x: x ** 3, False),
    (lambda x: x ** 0.5, True), (lambda x: x ** -2.0, True),
])
def test_unary_ops(fn, positive):
    assert td.gradcheck(fn, [t((3, 5), 3, positive)])


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "logsumexp"])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reductions(reduce, axis, keepdims):
    x = t((2, 3, 4), 4)
    fn = {"sum": ops.sum, "mean": ops.mean, "max": ops.max, "logsumexp": ops.logsumexp}[reduce]
    assert td.gradcheck(lambda a: fn(a, axis=axis, keepdims=keepdims), [x])


def test_max_splits_gradient_between_ties():
    x = td.Tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    ops.max(x).backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.5, 0.5])


def test_logsumexp_is_stable_for_huge_inputs():
    x = td.Tensor(np.array([[1000.0, 1000.0], [-1000.0, 0.0]]), requires_grad=True)
    out = ops.logsumexp(x, axis=1)
    np.testing.assert_allclose(out.data, [1000 + np.log(2), 0.0], atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [[0.5, 0.5], [0.0, 1.0]], atol=1e-12)


@pytest.mark.parametrize("fn", [ops.log_softmax, ops.softmax])
def test_softmax_family(fn):
    assert td.gradcheck(lambda a: fn(a, axis=1), [t((4, 6), 5)])


def test_softmax_rows_sum_to_one():
    s = ops.softmax(t((5, 7), 6), axis=1).data
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-12)


def test_matmul_and_batched_matmul():
    assert td.gradcheck(ops.matmul, [t((3, 4), 1), t((4, 2), 2)])
    assert td.gradcheck(ops.matmul, [t((2, 3, 4), 1), t((4, 5), 2)])


def test_shape_ops():
    x = t((2, 3, 4), 7)
    assert td.gradcheck(lambda a: a.reshape(4, 6), [x])
    assert td.gradcheck(lambda a: a.transpose(2, 0, 1), [x])
    assert td.gradcheck(lambda a: a.T, [x])
    y = t((2, 1, 4), 8)
    assert td.gradcheck(lambda a, b: ops.concatenate([a, b, a], axis=1), [x, y])


def test_indexing_and_gather_accumulate_repeated_picks():
    x = t((4, 3), 9)
    assert td.gradcheck(lambda a: a[1:3, ::2], [x])
    rows, cols = np.array([0, 1, 1, 3]), np.array([2, 0, 0, 1])
    assert td.gradcheck(lambda a: a[rows, cols], [x])
    z = td.Tensor(np.zeros((2, 2)), requires_grad=True)
    z[np.array([0, 0, 1]), np.array([1, 1, 0])].sum().backward()
    np.testing.assert_array_equal(z.grad, [[0, 2], [1, 0]])


def test_node_used_twice_gets_both_contributions():
    x = td.Tensor(np.array([2.0, -1.0]), requires_grad=True)
    y = x * 3.0
    z = (y * y + y).sum()  # dz/dx = (2y + 1) * 3
    z.backward()
    np.testing.assert_allclose(x.grad, (2 * np.array([6.0, -3.0]) + 1) * 3)
    assert td.gradcheck(lambda a: (a * a + a).sum() * a, [t((3,), 10)])


def test_backward_twice_accumulates_like_pytorch():
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.array([1.0, 2.0]) + 3)


def test_diamond_graph_and_deep_chain():
    x = td.Tensor(np.array(0.5), requires_grad=True)
    a, b = x * 2.0, x * 3.0
    (a * b).backward()  # d(6x^2)/dx = 12 x
    np.testing.assert_allclose(x.grad, 6.0)
    y = td.Tensor(np.array(1.0), requires_grad=True)
    z = y
    for _ in range(5000):  # deeper than Python's recursion limit
        z = z * 1.0
    z.backward()
    assert y.grad == 1.0


def test_no_grad_builds_no_graph_and_detach_cuts():
    x = t((3,), 11)
    with td.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    d = (x * 2).detach()
    assert not d.requires_grad
    with td.no_grad():
        with td.enable_grad():
            assert (x * 2).requires_grad


def test_dtypes_are_kept():
    x32 = td.Tensor([1, 2, 3])
    assert x32.dtype == np.float32
    assert td.Tensor([1.0, 2.5]).dtype == np.float32  # Python floats do not make float64
    assert td.Tensor(2.5).dtype == np.float32
    assert (x32 * 2.5 + 1).dtype == np.float32
    assert td.Tensor(np.zeros(2)).dtype == np.float64


def test_backward_errors_are_clear():
    x = t((2, 2), 12)
    with pytest.raises(RuntimeError, match="single-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="expected"):
        (x * 2).backward(np.ones(3))


def test_gradcheck_reports_input_and_element():
    class WrongSquare(td.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            grad = 2 * a * g
            grad.reshape(-1)[4] += 1.0  # a deliberate bug at element (1, 1)
            return grad

    x = t((3, 3), 13)
    with pytest.raises(td.GradcheckError, match=r"input 0 .* element \(1, 1\): numeric .* analytic"):
        td.gradcheck(WrongSquare.apply, [x])
    assert td.gradcheck(WrongSquare.apply, [x], raise_exception=False) is False
    with pytest.raises(TypeError, match="float64"):
        td.gradcheck(lambda a: a * 2, [td.Tensor(np.ones(2, np.float32), requires_grad=True)])
