"""ArcFace head: additive angular margin on L2-normalised features and class weights.

Reference: Deng, Guo, Xue & Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition"
(CVPR 2019); used for SER with ``m = 0.5`` and a small scale ``s = 2`` by the multi-dilated CNN system
(Scientific Reports 15:8254, 2025), Eqs. 12-14.

With ``cos_j = <x / |x|, W_j / |W_j|>`` (no bias), training logits are ``s * cos(theta_y + m)`` for the target
class ``y`` and ``s * cos_j`` for the others; cross-entropy on them is the ArcFace loss. Inference logits
(``labels=None``) are ``s * cos_j`` without margin.

Numerical safety: ``cos`` is clamped to ``[-1, 1]``; ``cos(theta + m)`` is expanded as
``cos*cos(m) - sin*sin(m)`` with ``sin = sqrt(max(1 - cos^2, eps))`` (no ``acos``, finite gradients at
``cos = +-1``); where ``theta + m > pi`` (``cos < cos(pi - m)``) the target logit would stop being monotonic
in ``theta``, so the usual fallback ``cos - m * sin(m)`` is used instead.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class ArcFace(nn.Module):
    """ArcFace output layer.

    Args:
        in_features: embedding size ``D``.
        n_classes: ``K``.
        margin: additive angular margin ``m`` in radians (paper: 0.5).
        scale: logit scale ``s`` (paper: 2.0; the ArcFace paper uses 64).
        eps: floor of ``1 - cos^2`` under the square root.

    Shapes: ``x (B, D)``, ``labels (B,)`` or None -> logits ``(B, K)``.

    >>> head = ArcFace(4, 3)
    >>> head(torch.randn(2, 4)).shape, head(torch.randn(2, 4), torch.tensor([0, 2])).shape
    (torch.Size([2, 3]), torch.Size([2, 3]))
    """

    def __init__(self, in_features: int, n_classes: int, margin: float = 0.5, scale: float = 2.0,
                 eps: float = 1e-6) -> None:
        super().__init__()
        if not 0.0 <= margin < math.pi / 2:
            raise ConfigError(f"arcface margin must be in [0, pi/2) radians, got {margin}")
        if scale <= 0:
            raise ConfigError(f"arcface scale must be > 0, got {scale}")
        self.in_features, self.n_classes = in_features, n_classes
        self.margin, self.scale, self.eps = float(margin), float(scale), float(eps)
        self.weight = nn.Parameter(torch.empty(n_classes, in_features))
        nn.init.xavier_uniform_(self.weight)

    def cosine(self, x: torch.Tensor) -> torch.Tensor:
        """``cos(theta) (B, K)`` between normalised ``x`` and normalised class weights."""
        return F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1)).clamp(-1.0, 1.0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cos = self.cosine(x)
        if labels is None or self.margin == 0.0:
            return self.scale * cos
        m = self.margin
        sin = torch.sqrt((1.0 - cos * cos).clamp_min(self.eps))
        with_margin = cos * math.cos(m) - sin * math.sin(m)
        fallback = cos - m * math.sin(m)
        target_logit = torch.where(cos > math.cos(math.pi - m), with_margin, fallback)
        one_hot = F.one_hot(labels.long(), self.n_classes).bool()
        return self.scale * torch.where(one_hot, target_logit, cos)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, n_classes={self.n_classes}, margin={self.margin}, scale={self.scale}"
