"""Fused forward/backward of the MTS merge (Guizzo et al., ICASSP 2020), used by ``MTSConv2d``.

The straightforward MTS graph (one conv per branch, bilinear resampling of each branch output to the
unscaled shape, ``torch.stack(maps).max(0)``) spends most of its time outside the convolutions on CPU:
the stack copies every map, ``max(0)`` over the outer axis is a slow strided reduction, and its
backward scatters into a zero-filled ``(S, B, C, T, F)`` buffer. :class:`MTSMerge` computes the same
values with

* **optional grouped branch convolutions** (off by default, ``GROUP_WASTE = 0``: slower on the CPU
  measured, see docs/mts.md): kernels of several branches (same frequency size, ``groups == 1``) are
  zero-padded at their end along time to the longest one and stacked along the output channels, so one
  ``conv2d`` call serves the group; the input gets ``dilation * (K - k_min)`` extra zeros at the end of
  time so every branch's valid outputs exist, and each branch reads its own crop. The padded taps
  multiply zeros or are cropped away, so values equal the separate convs up to float rounding. A group
  grows only while its padded arithmetic stays within ``GROUP_WASTE`` times the branches' own;
* **a running max** over the branch maps (unscaled first, then the others; strict ``>`` so the first
  maximal branch wins, as ``torch.max`` does) that keeps a ``uint8`` winner index instead of a stack;
* **a hand-written backward**: the output gradient scattered to the winning branch (one zero-filled
  ``(S, B, C, T, F)`` buffer and one ``scatter_``: faster on CPU than S masked products), the bilinear
  resampling's adjoint (``aten.upsample_bilinear2d_backward``), and one ``aten.convolution_backward``
  per group, whose padded weight gradient is cropped back to each kernel.

Shapes: ``x (B, C_in, T, F)``; kernels ``(C_out, C_in/groups, k_j, kf_j)``, the unscaled one first;
``extra`` maps ``(B, C_out, T', F')`` already at the output shape (branches computed elsewhere, e.g.
the input-compression strategy) -> ``out (B, C_out, T', F')`` and ``index (B, C_out, T', F')`` uint8
(the winning item's merge rank, 0 = unscaled; see :class:`MTSMerge`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .pooling import tracing

__all__ = ["GROUP_WASTE", "ConvSpec", "plan_groups", "resize_bilinear", "MTSMerge"]

#: Largest ratio of padded to own multiply-adds accepted when grouping branch convolutions. 0 (default)
#: turns grouping off: on a 2-core CPU it measured slower at every setting (the crops need copies).
GROUP_WASTE = 0.0


@dataclass(frozen=True)
class ConvSpec:
    """The ``F.conv2d`` settings shared by all branches (numeric padding only)."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int


def plan_groups(lengths: list[int], widths: list[int], groups: int, waste: float | None = None) -> list[list[int]]:
    """Partition kernel positions into conv groups: ``[[i, ...], ...]`` (each group shares one conv call).

    Kernels join a group only with equal frequency width and ``groups == 1``; kernels are taken from
    longest to shortest and a group grows while ``len(group) * max_len <= waste * sum(lens)``
    (``waste`` defaults to the module's ``GROUP_WASTE``; 1.0 never groups kernels of different lengths).
    """
    waste = GROUP_WASTE if waste is None else waste
    if groups != 1:
        return [[i] for i in range(len(lengths))]
    plan: list[list[int]] = []
    for width in sorted(set(widths)):
        idx = sorted((i for i in range(len(lengths)) if widths[i] == width), key=lambda i: -lengths[i])
        current: list[int] = []
        for i in idx:
            trial = current + [i]
            if not current or len(trial) * lengths[trial[0]] <= waste * sum(lengths[j] for j in trial):
                current = trial
            else:
                plan.append(current)
                current = [i]
        plan.append(current)
    return plan


class _TimeResize(torch.autograd.Function):
    """Bilinear resampling along time only (frequency size kept), forward in channels-last memory."""

    @staticmethod
    def forward(ctx, y, t_out):  # noqa: D102
        b, c, t, f = y.shape
        # contiguous (B, C, T, F) memory is a channels-last (B*C, F, T, 1) tensor: the vectorised kernel, no copy
        view = y.contiguous().view(b * c, t, 1, f).permute(0, 3, 1, 2)
        out = F.interpolate(view, size=(t_out, 1), mode="bilinear", align_corners=False)
        ctx.in_size = [b, c, t, f]
        return out.permute(0, 2, 3, 1).reshape(b, c, t_out, f)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):  # noqa: D102
        g = g.contiguous()
        return torch.ops.aten.upsample_bilinear2d_backward(g, list(g.shape[-2:]), ctx.in_size, False, None,
                                                           None), None


def resize_bilinear(y: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """``F.interpolate(y, size=out_hw, mode="bilinear", align_corners=False)``, faster for a time-only resize.

    ``y (B, C, T, F)`` -> ``(B, C, T', F')`` contiguous. When ``F' == F`` on the CPU (the MTS branches), the
    resize runs as a channels-last ``(B*C, F, T, 1)`` view of the same memory, which PyTorch's CPU kernel
    vectorises over ``F``: several times faster than the contiguous kernel at MTS map sizes
    (``benchmarks/resize_speed.py``). Values agree with ``F.interpolate`` to float rounding (a few ulp); the gradient is
    ``F.interpolate``'s own backward kernel. Other cases, and tracing for export, use ``F.interpolate``.
    """
    if y.dim() != 4 or y.shape[-1] != out_hw[1] or y.device.type != "cpu" or tracing():
        return F.interpolate(y, size=out_hw, mode="bilinear", align_corners=False)
    return _TimeResize.apply(y, int(out_hw[0]))


def _out_len(n: int, k: int, spec: ConvSpec, d: int) -> int:
    return (n + 2 * spec.padding[d] - spec.dilation[d] * (k - 1) - 1) // spec.stride[d] + 1


def _group_input(x: torch.Tensor, kernels: list[torch.Tensor], group: list[int], spec: ConvSpec):
    """The group's stacked kernel ``(n*C_out, C_in, K, kf)`` and its input with ``d*(K - k_min)`` zeros
    appended along time (``x`` and the kernel itself for a lone kernel)."""
    lens = [kernels[i].shape[2] for i in group]
    k_max = max(lens)
    if len(group) == 1:
        return kernels[group[0]], x
    extra = spec.dilation[0] * (k_max - min(lens))
    weight = torch.cat([F.pad(kernels[i], (0, 0, 0, k_max - kernels[i].shape[2])) for i in group])
    return weight, F.pad(x, (0, 0, 0, extra))


def _convs(x: torch.Tensor, kernels: list[torch.Tensor], plan: list[list[int]], spec: ConvSpec) -> list[torch.Tensor]:
    """Every kernel's conv output ``(B, C_out, T_j, F_j)`` (views into a group's output)."""
    ys: list[torch.Tensor] = [None] * len(kernels)  # type: ignore[list-item]
    c = kernels[0].shape[0]
    for group in plan:
        weight, xg = _group_input(x, kernels, group, spec)
        y = F.conv2d(xg, weight, None, spec.stride, spec.padding, spec.dilation, spec.groups)
        for n, i in enumerate(group):  # a lone kernel's output is used as is: no copy
            t_i = _out_len(x.shape[2], kernels[i].shape[2], spec, 0)
            ys[i] = y if len(group) == 1 else y[:, n * c:(n + 1) * c, :t_i]
    return ys


class MTSMerge(torch.autograd.Function):
    """``(x, bias, plan, spec, ranks, need_index, n_kernels, *kernels, *extra) -> (out, index)``.

    ``ranks[i]`` is item ``i``'s place in the merge order (items: kernels, then extra maps; the
    unscaled kernel first with rank 0); ties go to the lowest rank and ``index`` holds ranks. With
    ``need_index=False`` (inference) no index is kept and an empty one is returned.
    """

    @staticmethod
    def forward(ctx, x, bias, plan, spec, ranks, need_index, n_kernels, *tensors):  # noqa: D102
        kernels, extra = list(tensors[:n_kernels]), list(tensors[n_kernels:])
        ys = _convs(x, kernels, plan, spec)
        ctx.in_shapes = [tuple(y.shape) for y in ys]
        items = [*ys, *extra]
        out = ys[0].contiguous()  # fresh (or a copy of a group's crop): safe to update in place
        out_hw = tuple(out.shape[-2:])
        index = torch.zeros(out.shape, dtype=torch.uint8, device=out.device) if need_index else None
        for i in sorted(range(1, len(items)), key=lambda i: ranks[i]):
            m = items[i]
            if tuple(m.shape[-2:]) != out_hw:
                m = resize_bilinear(m, out_hw)
            if index is not None:  # ranks grow along the loop, so a new winner always has the largest rank
                won = torch.gt(m, out).view(torch.uint8)
                torch.maximum(index, won.mul_(ranks[i]), out=index)
            torch.maximum(out, m, out=out)
        if bias is not None:
            out += bias.view(1, -1, 1, 1)
        ctx.plan, ctx.spec, ctx.ranks, ctx.n_kernels = plan, spec, ranks, n_kernels
        ctx.has_bias, ctx.n_extra = bias is not None, len(extra)
        ctx.save_for_backward(x, index, *kernels)
        if index is None:
            index = torch.zeros(0, dtype=torch.uint8, device=out.device)
        ctx.mark_non_differentiable(index)
        return out, index

    @staticmethod
    @once_differentiable
    def backward(ctx, g, _g_index):  # noqa: D102
        x, index, *kernels = ctx.saved_tensors
        if index is None:
            raise RuntimeError("MTSMerge: backward needs the winner index; call with need_index=True")
        spec, n_k = ctx.spec, ctx.n_kernels
        g = g.contiguous()
        out_hw = list(g.shape[-2:])
        by_rank = g.new_zeros((n_k + ctx.n_extra, *g.shape))  # per-rank gradient: g at the winner, else 0
        by_rank.scatter_(0, index.unsqueeze(0).long(), g.unsqueeze(0))
        masked = []
        for i in range(n_k + ctx.n_extra):
            gi = by_rank[ctx.ranks[i]]
            if i < n_k and list(ctx.in_shapes[i][-2:]) != out_hw:
                gi = torch.ops.aten.upsample_bilinear2d_backward(gi, out_hw, list(ctx.in_shapes[i]), False, None, None)
            masked.append(gi)
        need_x = ctx.needs_input_grad[0]
        g_x = None
        g_kernels: list = [None] * n_k
        c = kernels[0].shape[0]
        for group in ctx.plan:
            weight, xg = _group_input(x, kernels, group, spec)
            if len(group) == 1:
                gy = masked[group[0]]
            else:
                t_max = max(ctx.in_shapes[i][2] for i in group)
                gy = g.new_empty(g.shape[0], c * len(group), t_max, ctx.in_shapes[group[0]][3])
                for n, i in enumerate(group):
                    t_i = ctx.in_shapes[i][2]
                    gy[:, n * c:(n + 1) * c, :t_i] = masked[i]
                    if t_i < t_max:
                        gy[:, n * c:(n + 1) * c, t_i:] = 0
            gx, gw, _ = torch.ops.aten.convolution_backward(
                gy, xg, weight, None, list(spec.stride), list(spec.padding), list(spec.dilation), False, [0, 0],
                spec.groups, [need_x, True, False])
            for n, i in enumerate(group):
                g_kernels[i] = gw[n * c:(n + 1) * c, :, :kernels[i].shape[2]]
            if need_x:
                gx = gx[:, :, :x.shape[2]]
                g_x = gx if g_x is None else g_x.add_(gx)
        g_bias = g.sum((0, 2, 3)) if ctx.has_bias and ctx.needs_input_grad[1] else None
        return (g_x, g_bias, None, None, None, None, None, *g_kernels, *masked[n_k:])

