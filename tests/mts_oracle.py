"""Independent oracles for the MTS layer tests (tests/layers/test_mts*.py), written apart from the layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from emoconv.layers.mts import MTSConv2d, resample_kernel


def smooth(shape, seed=0, coarse=8):
    """Random tensor smooth along its last two axes (bicubic upsampling of a coarse grid)."""
    g = torch.Generator().manual_seed(seed)
    *lead, t, f = shape
    small = torch.randn(*lead, max(2, t // coarse), max(2, f // 2), generator=g)
    return F.interpolate(small, size=(t, f), mode="bicubic", align_corners=False)


def oracle_kernel(layer: MTSConv2d, s: float) -> torch.Tensor:
    """The stretched kernel with the layer's amplitude rule, written out independently of the layer."""
    w0 = layer.weight
    w = resample_kernel(w0, s, s if layer.scale_freq else 1.0)
    if layer.kernel_norm == "sum":  # times the tap-count ratio
        w = w * (w0.shape[2] * w0.shape[3]) / (w.shape[2] * w.shape[3])
    elif layer.kernel_norm == "l2":  # each output kernel keeps its L2 norm
        w = w * (w0.flatten(1).norm(dim=1) / w.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)
    return w
