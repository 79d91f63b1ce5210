"""Attention over pooled region vectors (the layer between SPP and the FC layer).

Reference: the multi-dilated CNN SER system (Scientific Reports 15:8254, 2025), Eqs. 9-11, which follow the
context-vector attention of Yang et al., "Hierarchical Attention Networks for Document Classification"
(NAACL 2016), with a sigmoid in place of tanh:

    v_n = sigmoid(W x_n + b),   alpha = softmax_n(v_n . u),   y_n = alpha_n * x_n

The softmax runs over the ``N`` pooled region vectors of one utterance (the SPP's time-frequency regions),
so the layer weighs regions against each other; every channel of a region is scaled by the same weight.
"""

from __future__ import annotations

import torch
from torch import nn


class RegionAttention(nn.Module):
    """Weigh ``N`` region vectors by a learned context vector.

    Args:
        in_features: ``C``, the size of one region vector.
        attention_dim: size of ``v`` (defaults to ``in_features``).

    Shapes: ``x (B, N, C) -> y (B, N, C)``; ``self.last_weights`` keeps ``alpha (B, N)`` of the last call
    (detached) for analysis.

    >>> att = RegionAttention(8)
    >>> att(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, in_features: int, attention_dim: int | None = None) -> None:
        super().__init__()
        dim = attention_dim or in_features
        self.proj = nn.Linear(in_features, dim)
        self.context = nn.Parameter(torch.empty(dim))
        nn.init.normal_(self.context, std=dim ** -0.5)
        self.last_weights: torch.Tensor | None = None

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """``alpha (B, N)``: softmax over regions of ``sigmoid(W x + b) . u``."""
        v = torch.sigmoid(self.proj(x))
        return torch.softmax(v @ self.context, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.weights(x)
        self.last_weights = alpha.detach()
        return x * alpha.unsqueeze(-1)
