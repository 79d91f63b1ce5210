"""Multi-dilation convolution blocks (MDCB) and the ablation's comparison bodies.

Reference: the multi-dilated CNN + SPP + ArcFace SER system (Scientific Reports 15:8254, 2025), section
"Multi-dilated CNN and SPP" and its Fig. 4. Dilated convolutions follow Yu & Koltun (ICLR 2016); filter
factorisation of a k x k kernel into k x 1 then 1 x k follows Szegedy et al. (Inception-v3, CVPR 2016).

Layout: every tensor is ``(B, C, T, F)`` (channels, time frames, frequency bins). A "5x3" kernel spans
5 frames and 3 frequency bins; its factorised form is a ``(5, 1)`` time conv then a ``(1, 3)`` frequency
conv. A branch with dilation ``d`` dilates both of its convs along their kernel's long axis, so a branch
adds ``4 d`` frames and ``2 d`` bins to the receptive field.

The dilation schedule is by 1-based block index ``k`` (the paper's ``3i+1``, ``3i+2``, ``3i+3``):

==========  ===============  =====================
``k % 3``   branches         why
==========  ===============  =====================
1           dilation 1 and 2 gcd(1, 2) = 1: no gridding
2           dilation 2       the fixed-rate-2 behaviour
0           dilation 3 and 2 sum 1+2+3 = 2+2+2 (same RF)
==========  ===============  =====================

Branch outputs are merged by **sum** (default; keeps 128 channels and adds no weights, so the MDCB and the
fixed-dilation block have the same output width). ``merge="concat"`` concatenates and mixes with a 1x1 conv.

Padding: "same" zero padding. When ``lengths`` is given, frames at or past each utterance's length are
zeroed after every conv, so the valid part of a padded batch sees exactly the zeros it would see alone
(padding never changes a result).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError

#: Body kinds of the paper's ablation (Table 1).
BODIES = ("plain", "ff", "dilated2", "multidilated")


def mdcb_dilations(index: int) -> tuple[int, ...]:
    """Branch dilations of the MDCB at 1-based ``index``: (1, 2), (2,), (3, 2), (1, 2), ...

    >>> [mdcb_dilations(k) for k in range(1, 8)]
    [(1, 2), (2,), (3, 2), (1, 2), (2,), (3, 2), (1, 2)]
    """
    if index < 1:
        raise ConfigError(f"MDCB index must be >= 1 (1-based, the paper's 3i+1...), got {index}")
    return {1: (1, 2), 2: (2,), 0: (3, 2)}[index % 3]


def receptive_field(kernel: int, dilations: Sequence[int]) -> int:
    """Receptive field of stacked stride-1 convs of size ``kernel``: ``(K - 1) * sum(d_l) + 1`` (paper Eq. 7).

    >>> receptive_field(3, [1, 2, 3]) == receptive_field(3, [2, 2, 2]) == 13
    True
    """
    return (kernel - 1) * int(sum(dilations)) + 1


def body_dilations(body: str, n_blocks: int = 7) -> list[tuple[int, ...]]:
    """Per-block branch dilations of an ablation body (``plain`` and ``ff`` are all 1)."""
    if body not in BODIES:
        raise ConfigError(f"unknown body {body!r}; use one of {', '.join(BODIES)}")
    if body == "multidilated":
        return [mdcb_dilations(k) for k in range(1, n_blocks + 1)]
    return [(2,) if body == "dilated2" else (1,)] * n_blocks


def body_receptive_field(body: str, n_blocks: int = 7, kernel: tuple[int, int] = (5, 3)) -> tuple[int, int]:
    """(time, frequency) receptive field of a body, in its own input's frames/bins.

    Each block contributes its widest branch; ``plain`` uses unfactorised 5x3 kernels with the same RF as
    ``ff``.
    """
    widest = [max(d) for d in body_dilations(body, n_blocks)]
    return receptive_field(kernel[0], widest), receptive_field(kernel[1], widest)


def time_mask(lengths: torch.Tensor | None, t: int) -> torch.Tensor | None:
    """Boolean ``(B, 1, T, 1)`` mask of valid frames, or None when ``lengths`` is None."""
    if lengths is None:
        return None
    return (torch.arange(t, device=lengths.device)[None, :] < lengths[:, None])[:, None, :, None]


def apply_mask(x: torch.Tensor, mask: torch.Tensor | None, fill: float = 0.0) -> torch.Tensor:
    """``x`` with masked-out frames set to ``fill`` (0 before convs, -inf before max pooling)."""
    if mask is None:
        return x
    return torch.where(mask, x, torch.full((), fill, dtype=x.dtype, device=x.device))


class _ConvAct(nn.Module):
    """Conv2d ("same" padding, stride 1) + LeakyReLU + padding mask."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], dilation: tuple[int, int],
                 negative_slope: float) -> None:
        super().__init__()
        pad = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
        self.conv = nn.Conv2d(cin, cout, kernel, padding=pad, dilation=dilation)
        self.act = nn.LeakyReLU(negative_slope)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return apply_mask(self.act(self.conv(x)), mask)


class FactorisedBranch(nn.Module):
    """A ``(k_t, 1)`` conv with dilation ``(d, 1)`` then a ``(1, k_f)`` conv with dilation ``(1, d)``; LeakyReLU after each.

    Input/output ``(B, C_in, T, F) -> (B, C_out, T, F)``.
    """

    def __init__(self, cin: int, cout: int, dilation: int, kernel: tuple[int, int] = (5, 3),
                 negative_slope: float = 0.3) -> None:
        super().__init__()
        self.dilation = dilation
        self.time = _ConvAct(cin, cout, (kernel[0], 1), (dilation, 1), negative_slope)
        self.freq = _ConvAct(cout, cout, (1, kernel[1]), (1, dilation), negative_slope)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.freq(self.time(x, mask), mask)


class MDCB(nn.Module):
    """Multi-dilation convolution block: factorised 5x3 branches with the given dilations, merged.

    Args:
        in_channels, out_channels: channel counts (the paper: 128 -> 128).
        dilations: one dilation per branch, e.g. ``mdcb_dilations(k)`` for block ``k``.
        merge: ``"sum"`` (default) or ``"concat"`` (concatenate, then 1x1 conv + LeakyReLU).
        kernel: the unfactorised kernel ``(time, freq)``, default ``(5, 3)``.

    Shapes: ``x (B, C_in, T, F)``, ``lengths (B,)`` optional -> ``(B, C_out, T, F)``.

    >>> blk = MDCB(4, 8, dilations=(1, 2))
    >>> blk(torch.zeros(2, 4, 11, 20)).shape
    torch.Size([2, 8, 11, 20])
    """

    def __init__(self, in_channels: int, out_channels: int, dilations: Sequence[int] = (1, 2),
                 merge: str = "sum", kernel: tuple[int, int] = (5, 3), negative_slope: float = 0.3) -> None:
        super().__init__()
        if merge not in ("sum", "concat"):
            raise ConfigError(f"MDCB merge must be 'sum' or 'concat', got {merge!r}")
        if not dilations or any(int(d) < 1 for d in dilations):
            raise ConfigError(f"MDCB dilations must be positive integers, got {tuple(dilations)}")
        self.dilations = tuple(int(d) for d in dilations)
        self.merge = merge
        self.branches = nn.ModuleList(
            FactorisedBranch(in_channels, out_channels, d, kernel, negative_slope) for d in self.dilations
        )
        self.mix = (
            _ConvAct(out_channels * len(self.dilations), out_channels, (1, 1), (1, 1), negative_slope)
            if merge == "concat" and len(self.dilations) > 1 else None
        )

    @classmethod
    def at_index(cls, index: int, in_channels: int, out_channels: int, **kwargs) -> "MDCB":
        """The block at 1-based position ``index`` of the paper's schedule."""
        return cls(in_channels, out_channels, mdcb_dilations(index), **kwargs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = time_mask(lengths, x.shape[2])
        outs = [b(x, mask) for b in self.branches]
        if len(outs) == 1:
            return outs[0]
        if self.mix is not None:
            return self.mix(torch.cat(outs, dim=1), mask)
        return torch.stack(outs).sum(0)


class PlainBlock(nn.Module):
    """Unfactorised ``5x3`` conv + LeakyReLU (the "traditional CNN" row). ``(B, C_in, T, F) -> (B, C_out, T, F)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int] = (5, 3),
                 negative_slope: float = 0.3) -> None:
        super().__init__()
        self.dilations = (1,)
        self.layer = _ConvAct(in_channels, out_channels, kernel, (1, 1), negative_slope)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.layer(x, time_mask(lengths, x.shape[2]))


class ConvBody(nn.Module):
    """``n_blocks`` blocks of one ablation kind, all ``channels`` wide.

    ``body``: ``"plain"`` (5x3 convs), ``"ff"`` (factorised, dilation 1), ``"dilated2"`` (factorised,
    dilation 2 everywhere), ``"multidilated"`` (the MDCB schedule). ``(B, C, T, F) -> (B, channels, T, F)``.
    """

    def __init__(self, body: str = "multidilated", in_channels: int = 128, channels: int = 128,
                 n_blocks: int = 7, merge: str = "sum", kernel: tuple[int, int] = (5, 3),
                 negative_slope: float = 0.3) -> None:
        super().__init__()
        self.body = body
        blocks: list[nn.Module] = []
        for k, dil in enumerate(body_dilations(body, n_blocks), start=1):
            cin = in_channels if k == 1 else channels
            if body == "plain":
                blocks.append(PlainBlock(cin, channels, kernel, negative_slope))
            else:
                blocks.append(MDCB(cin, channels, dil, merge, kernel, negative_slope))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x, lengths)
        return x
