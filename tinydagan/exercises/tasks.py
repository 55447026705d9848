"""The exercises, in the order a student does them: one row per task.

A row says what the task is called (its file is ``WS/<name>.py``), about how many minutes
it takes, what it is about in one line, which grader checks it, and which other library
functions compute the same thing (hidden too while it is graded, so that they cannot
stand in for the answer). Which functions the student writes, and where the library has
them, is not written here: the ``# --- exercise: <name> ---`` markers in the library's
source say it (``markers.py``).
"""
from dataclasses import dataclass
from typing import Callable

from . import grade_autograd, grade_conv, grade_layers, grade_losses
from .markers import PACKAGE_DIR, blocks_by_task, function_names

__all__ = ["Task", "TASKS", "task_named"]


@dataclass(frozen=True)
class Task:
    name: str
    minutes: int
    summary: str
    grader: Callable
    alternatives: tuple = ()   # "module.function" names hidden as well while grading

    @property
    def filename(self):
        return f"{self.name}.py"

    @property
    def blocks(self):
        """The marked blocks of the library that hold this task's solution."""
        try:
            return blocks_by_task()[self.name]
        except KeyError:
            raise LookupError(f"no '# --- exercise: {self.name} ---' block in the library") from None

    @property
    def functions(self):
        """The names of the functions the student writes, in order."""
        return function_names(self.blocks)

    @property
    def location(self):
        """Where the library has the solution, e.g. "tinydagan/ops/elementwise.py"."""
        files = dict.fromkeys(block.path.relative_to(PACKAGE_DIR.parent).as_posix() for block in self.blocks)
        return ", ".join(files)


def _kernels(*names):
    """The dispatchers and Numba versions of these conv kernels (other ways to the answer)."""
    return tuple(f"tinydagan.kernels.{module}{name}" for name in names for module in ("", "numba_conv."))


TASKS = (
    Task("elementwise_backward", 15, "the backward of mul, div, exp, log, tanh and sigmoid: one step of the "
         "chain rule each", grade_autograd.grade_elementwise_backward),
    Task("unbroadcast", 10, "sum a gradient back down to the shape of an input that numpy broadcast",
         grade_autograd.grade_unbroadcast),
    Task("matmul_backward", 10, "dA = dC @ B^T and dB = A^T @ dC, also batched and broadcast",
         grade_autograd.grade_matmul_backward),
    Task("reductions", 20, "the backward of sum, mean and max: spread the gradient over the reduced axes",
         grade_autograd.grade_reductions),
    Task("logsumexp", 15, "log(sum(exp(a))) without overflow, and its gradient, the softmax",
         grade_autograd.grade_logsumexp),
    Task("log_softmax", 5, "log softmax(a) = a - logsumexp(a), from Tensor ops", grade_autograd.grade_log_softmax),
    Task("backward", 25, "Tensor.backward's graph walk: a topological order, then the chain rule node by "
         "node, accumulating", grade_autograd.grade_backward),
    Task("conv2d_forward", 25, "a convolution as a loop over the kernel offsets, one strided slice each",
         grade_conv.grade_conv2d_forward,
         _kernels("conv2d_forward", "conv_transpose2d_backward_input")   # (the adjoint's adjoint is a conv2d)
         + ("tinydagan.kernels.reference.conv2d_forward_im2col", "tinydagan.kernels.reference.im2col",
            "tinydagan.kernels.winograd.conv2d_forward")),
    Task("conv2d_backward", 25, "conv2d's input, weight and bias gradients: the same loop run backwards",
         grade_conv.grade_conv2d_backward,
         _kernels("conv2d_backward", "conv2d_backward_input", "conv2d_backward_weight", "bias_backward",
                  "conv_transpose2d_forward", "conv_transpose2d_backward", "conv_transpose2d_backward_weight")
         + ("tinydagan.kernels.reference.conv2d_backward_im2col", "tinydagan.kernels.reference.col2im",
            "tinydagan.kernels.winograd.conv2d_backward_input", "tinydagan.kernels.winograd.conv2d_backward_weight")),
    Task("conv_transpose2d", 15, "the transposed convolution as the adjoint of conv2d",
         grade_conv.grade_conv_transpose2d,
         _kernels("conv_transpose2d_forward", "conv_transpose2d_backward", "conv_transpose2d_backward_input",
                  "conv_transpose2d_backward_weight")),
    Task("global_avg_pool2d", 5, "NIN's head: the mean of each feature map", grade_layers.grade_global_avg_pool2d),
    Task("gaussian_noise", 5, "x + N(0, std^2) in training, the identity in evaluation",
         grade_layers.grade_gaussian_noise),
    Task("batch_norm", 25, "batch statistics in training (and the running ones updated), running ones in evaluation",
         grade_layers.grade_batch_norm),
    Task("dropout", 10, "inverted dropout: zero with probability p, scale the rest by 1/(1-p)",
         grade_layers.grade_dropout),
    Task("adam", 15, "one Adam step: two running moments, their bias corrections, the update",
         grade_layers.grade_adam),
    Task("log_prob", 10, "log p(i | x) = z_i - logsumexp(z), and log[p(a) + p(b)], both stable",
         grade_losses.grade_log_prob),
    Task("dagan_losses", 20, "the paper's L_D (eq. 3), L_c (eqs. 6-8), L_G (eqs. 4-5) and the merged "
         "prediction p(i) + p(i+K)", grade_losses.grade_dagan_losses),
)


def task_named(name):
    for task in TASKS:
        if task.name == name:
            return task
    raise KeyError(f"no task '{name}'; the tasks are: {', '.join(t.name for t in TASKS)}")
