"""Convolution and transposed convolution as autograd Functions.

The arithmetic lives in ``tinydagan.kernels`` (each kernel twice: a readable reference
and a Numba version; ``tinydagan.kernels.set_backend`` picks one). These Functions only
wire the kernels into the graph:

    conv2d:            y = x (*) w + b      dx = conv2d_backward_input(dy, w)
                                            dw = conv2d_backward_weight(dy, x)
                                            db = dy summed over (N, H, W)
    conv_transpose2d:  the adjoint of conv2d: its forward is conv2d's input gradient,
                       and its input gradient is a conv2d forward.

The backward asks for the three gradients in one call (``kernels.conv2d_backward``), so
that a backend can share work between them; the forward gets a dict (``kernel_saved``)
where a backend that keeps work (the Numba one) keeps its im2col matrix for the weight
gradient (see ``tinydagan/kernels/interface.py``).
"""
from .. import kernels
from ..tensor import Function, is_grad_enabled

__all__ = ["Conv2dFunction", "ConvTranspose2dFunction"]


class Conv2dFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        # where the kernels may keep their im2col matrix for the weight gradient
        ctx.kernel_saved = {} if is_grad_enabled() and ctx.needs_input_grad[1] else None
        return kernels.conv2d_forward(x, weight, bias, stride, padding, saved=ctx.kernel_saved)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        gx, gw, gb = kernels.conv2d_backward(g, x, weight, ctx.stride, ctx.padding,
                                             ctx.needs_input_grad[:3], saved=ctx.kernel_saved)
        return gx, gw, gb, None, None


class ConvTranspose2dFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return kernels.conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        gx, gw, gb = kernels.conv_transpose2d_backward(g, x, weight, ctx.stride, ctx.padding,
                                                       ctx.needs_input_grad[:3])
        return gx, gw, gb, None, None, None
