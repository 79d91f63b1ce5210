"""Spatial pyramid pooling over variable-length feature maps, and the global max pooling baseline.

Reference: He, Zhang, Ren & Sun, "Spatial Pyramid Pooling in Deep Convolutional Networks for Visual
Recognition" (TPAMI 2015); used on utterance-level spectrograms by the multi-dilated CNN SER system
(Scientific Reports 15:8254, 2025), whose best pyramid is global + 5 + 10 partitions.

Axes. A level ``n`` cuts the ``(T, F)`` map into an ``n x n`` grid of time-frequency regions (``axes="both"``,
the default) and max-pools each region to one ``C``-vector. The paper describes an SPP ``(k, j)`` as a
``k x j`` grid of the map and argues both about the frequency side (partitions should divide its 20 bins)
and about the time side (two partitions of a variable-length utterance hurt), so both axes are
partitioned. ``axes="freq"`` (``n`` bands, whole time span) and ``axes="time"`` are offered for studies.

Bins are adaptive (``torch.nn.functional.adaptive_max_pool2d``): bin ``i`` of ``n`` over a length ``L`` spans
``[floor(i L / n), ceil((i + 1) L / n))``, so every bin is non-empty even when ``L < n`` (bins then repeat
frames). With ``lengths`` the bins are computed over each utterance's valid frames only, so the output
does not depend on padding.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

AXES = ("both", "freq", "time")


def _grid(n: int, axes: str) -> tuple[int, int]:
    return {"both": (n, n), "freq": (1, n), "time": (n, 1)}[axes]


class SpatialPyramidPool(nn.Module):
    """Max-pool a ``(B, C, T, F)`` map at several grid levels into ``(B, N, C)`` region vectors.

    Args:
        levels: partitions per level, e.g. ``(1, 5, 10)``; ``1`` is global max pooling.
        axes: ``"both"`` (``n x n`` grid), ``"freq"`` or ``"time"`` (``n`` bins along that axis only).

    ``N = sum(n * n)`` for ``axes="both"`` (126 for ``(1, 5, 10)``), else ``sum(n)``; the region order is
    level by level, time-major within a level. ``lengths (B,)`` gives valid frames per utterance.

    >>> spp = SpatialPyramidPool((1, 5, 10))
    >>> spp(torch.randn(2, 8, 3, 20), torch.tensor([3, 1])).shape
    torch.Size([2, 126, 8])
    """

    def __init__(self, levels: Sequence[int] = (1, 5, 10), axes: str = "both") -> None:
        super().__init__()
        levels = tuple(int(n) for n in levels)
        if not levels or any(n < 1 for n in levels):
            raise ConfigError(f"spp_levels must be a non-empty list of positive integers, got {levels}")
        if axes not in AXES:
            raise ConfigError(f"spp axes must be one of {', '.join(AXES)}, got {axes!r}")
        self.levels = levels
        self.axes = axes
        self.n_bins = sum(a * b for a, b in (_grid(n, axes) for n in levels))

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, C, L, F)`` of equal valid length -> ``(b, N, C)``."""
        outs = [F.adaptive_max_pool2d(x, _grid(n, self.axes)).flatten(2) for n in self.levels]
        return torch.cat(outs, dim=2).transpose(1, 2)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4:
            raise ConfigError(f"SpatialPyramidPool expects (B, C, T, F), got shape {tuple(x.shape)}")
        if lengths is None or bool((lengths == x.shape[2]).all()):
            return self._pool(x)
        out = x.new_empty(x.shape[0], self.n_bins, x.shape[1])
        for length in torch.unique(lengths).tolist():
            idx = (lengths == length).nonzero().flatten()
            out[idx] = self._pool(x[idx, :, : int(length)])
        return out

    def extra_repr(self) -> str:
        return f"levels={self.levels}, axes={self.axes!r}, n_bins={self.n_bins}"


class GlobalMaxPool(nn.Module):
    """Max over valid frames and all bins: ``(B, C, T, F) -> (B, 1, C)`` (the ablation's GMP baseline)."""

    n_bins = 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is not None:
            valid = (torch.arange(x.shape[2], device=x.device)[None, :] < lengths[:, None])[:, None, :, None]
            x = x.masked_fill(~valid, float("-inf"))
        return x.amax(dim=(2, 3))[:, None, :]
