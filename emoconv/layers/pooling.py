"""Max pooling that runs at the CPU's speed: ``nn.MaxPool2d``'s values and gradients, a faster forward.

On the CPU wheels of PyTorch measured here (torch 2.13), ``max_pool2d`` on a contiguous ``(B, C, H, W)``
tensor runs several times slower than on the same tensor in channels-last memory: 0.48 ms against 0.06 ms
for one ``(1, 16, 150, 81)`` map on 2 threads, 8.9 ms against 3.9 ms for a ``(32, 10, 291, 36)`` batch
including the conversion (``benchmarks/pool_speed.py`` measures both side by side). Its backward, by contrast,
is fast in contiguous memory and slow in channels-last. :func:`max_pool2d` therefore pools in channels-last
memory, returns a contiguous result, and routes the gradient through the contiguous backward kernel with the
forward's winner indices (the two memory formats pick the same winners, ties included, which a test checks).

Used where the models pool: the MTS CNNs (A3, A4, ResNet18), ECNet, the
convolution-type blocks. Off the CPU, on channels-last input, or while ``torch.export``/``torch.compile``
trace the model (the ONNX export), it is plain :func:`torch.nn.functional.max_pool2d`.

>>> import torch
>>> x = torch.randn(2, 3, 9, 8)
>>> bool(torch.equal(max_pool2d(x, 2, ceil_mode=True), torch.nn.functional.max_pool2d(x, 2, ceil_mode=True)))
True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.modules.utils import _pair

__all__ = ["MaxPool2d", "max_pool2d"]


class _ChannelsLastMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, keep_index):  # noqa: D102
        y, index = torch.ops.aten.max_pool2d_with_indices(x.contiguous(memory_format=torch.channels_last), kernel,
                                                          stride, padding, dilation, ceil_mode)
        ctx.args = (kernel, stride, padding, dilation, ceil_mode)
        ctx.save_for_backward(x, index.contiguous() if keep_index else None)
        return y.contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, g):  # noqa: D102
        x, index = ctx.saved_tensors
        gx = torch.ops.aten.max_pool2d_with_indices_backward(g.contiguous(), x, *ctx.args, index)
        return gx, None, None, None, None, None, None


def tracing() -> bool:
    """Whether ``torch.compile``/``torch.export``/``torch.jit.trace`` is tracing (CPU-only fast paths step aside)."""
    return torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing()


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False) -> torch.Tensor:
    """``F.max_pool2d(x, ...)`` (same values, same gradient), pooled in channels-last memory on the CPU.

    ``x (B, C, H, W)`` -> ``(B, C, H', W')`` contiguous, ``H', W'`` as ``F.max_pool2d`` gives them.
    """
    if x.device.type != "cpu" or x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last) or tracing():
        return F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    kernel = list(_pair(kernel_size))
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else list(_pair(stride))
    keep = torch.is_grad_enabled() and x.requires_grad
    return _ChannelsLastMaxPool.apply(x, kernel, stride, list(_pair(padding)), list(_pair(dilation)), ceil_mode,
                                      keep)


class MaxPool2d(nn.MaxPool2d):
    """Drop-in for ``nn.MaxPool2d`` (same arguments and state) whose forward is :func:`max_pool2d`.

    ``return_indices=True`` is not supported (use ``nn.MaxPool2d``). Input ``(B, C, H, W)`` -> ``(B, C, H', W')``.

    >>> MaxPool2d(2, ceil_mode=True)(torch.zeros(1, 4, 5, 5)).shape
    torch.Size([1, 4, 3, 3])
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.return_indices:
            raise ValueError("emoconv.layers.MaxPool2d: return_indices is not supported; use torch.nn.MaxPool2d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
