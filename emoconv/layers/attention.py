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


class AttentiveStatsPool(nn.Module):
    """Attention-weighted mean and standard deviation over time: ``(B, C, T) -> (B, 2C)``.

    K. Okabe, T. Koshinaka and K. Shinoda, "Attentive statistics pooling for deep speaker embedding",
    Interspeech 2018: a small 1 x 1 convolutional scorer gives each frame a weight (softmax over time);
    the output is the weighted mean and standard deviation of every channel. ``mask (B, T)`` (True = a real
    frame) keeps padded frames out of the weights, so a padded batch pools each utterance alone.

    >>> pool = AttentiveStatsPool(8)
    >>> pool(torch.randn(2, 8, 30), mask=torch.arange(30)[None, :] < torch.tensor([[30], [12]])).shape
    torch.Size([2, 16])
    """

    def __init__(self, channels: int, attention_dim: int = 64) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Conv1d(channels, attention_dim, 1), nn.Tanh(), nn.Conv1d(attention_dim, 1, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        e = self.score(x).squeeze(1)  # (B, T)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))
        w = torch.softmax(e, dim=1).unsqueeze(1)  # (B, 1, T)
        mean = (x * w).sum(-1)
        var = ((x - mean.unsqueeze(-1)) ** 2 * w).sum(-1)
        return torch.cat([mean, var.clamp_min(1e-6).sqrt()], dim=1)
