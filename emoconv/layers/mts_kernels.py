"""Kernel resampling for multi-time-scale convolution, and the paper's scale sets.

Resampling uses PyTorch's ``F.interpolate`` with the scale factor itself setting the sample positions
(``recompute_scale_factor=False``), the behaviour of PyTorch >= 1.6. Older PyTorch (which the MTS
authors' code predates) derived the positions from the rounded output length instead, which gives
different taps wherever ``floor(k * s) / k != s``: for the ``[10, 5]`` kernels at s = 0.25, 0.95,
1.111, 1.25 and 1.428. When ``floor(k * s) == k`` PyTorch returns the kernel unchanged, so such a
branch is an exact copy of the unscaled one (:func:`kernel_unchanged`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["PAPER_SCALE_SETS", "kernel_unchanged", "resample_kernel"]

#: The eleven scale sets of the paper, in its order (3, 5 and 7 branches).
PAPER_SCALE_SETS: tuple[tuple[float, ...], ...] = (
    (0.25, 1.0, 4.0), (0.5, 1.0, 2.0), (0.7, 1.0, 1.428), (0.8, 1.0, 1.25), (0.9, 1.0, 1.111),
    (0.95, 1.0, 1.053), (0.25, 0.5, 1.0, 2.0, 4.0), (0.5, 0.7, 1.0, 1.428, 2.0),
    (0.8, 0.9, 1.0, 1.111, 1.25), (0.25, 0.5, 0.7, 1.0, 1.428, 2.0, 4.0),
    (0.7, 0.8, 0.9, 1.0, 1.111, 1.25, 1.428),
)

def resample_kernel(weight: torch.Tensor, scale_t: float, scale_f: float = 1.0) -> torch.Tensor:
    """Resample a kernel ``(O, I, kt, kf)`` by ``scale_t`` along time (and ``scale_f`` along frequency).

    Linear interpolation, half-pixel centres (``F.interpolate(..., align_corners=False)`` with the scale
    factor itself setting the sample positions), new size ``max(1, floor(k * s))``. Differentiable.
    """
    if scale_t == 1.0 and scale_f == 1.0:
        return weight
    kt, kf = weight.shape[-2:]
    size = (math.floor(kt * scale_t + 1e-9), math.floor(kf * scale_f + 1e-9))
    if min(size) < 1:  # a tiny kernel shrunk below one tap: fall back to size-based interpolation
        return F.interpolate(weight, size=(max(1, size[0]), max(1, size[1])), mode="bilinear",
                             align_corners=False)
    return F.interpolate(weight, scale_factor=(scale_t, scale_f), mode="bilinear", align_corners=False,
                         recompute_scale_factor=False)


def kernel_unchanged(k: int, s: float) -> bool:
    """Whether a ``k``-tap axis resampled by ``s`` keeps its length (and so its taps) exactly.

    >>> kernel_unchanged(10, 1.053), kernel_unchanged(3, 1.25), kernel_unchanged(10, 1.111)
    (True, True, False)
    """
    return max(1, math.floor(k * s + 1e-9)) == k
