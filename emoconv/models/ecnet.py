"""``ecnet``: emoconv's own compact CNN for speech emotion recognition on whole utterances.

Not a paper's system: a model sized for the corpora SER is trained on (hundreds to a few thousand
utterances), built from the toolkit's layers. Input ``(B, C, T, F)`` log-mel (any ``T``; padded batches
carry ``lengths``), logits ``(B, n_classes)``:

* ``len(channels)`` stages of two 3 x 3 convolutions with batch norm and ReLU, then 2 x 2 max-pooling;
  with ``conv: mts`` the *first* convolution of every stage is a multi-time-scale convolution
  (:class:`emoconv.layers.MTSConv2d`, scales ``scales`` along time, no extra weights), so each stage
  matches its patterns at several speaking rates;
* frequency averaged out, then attentive statistics pooling over the valid frames (weighted mean and
  standard deviation, K. Okabe et al., Interspeech 2018), so utterances of any length give one vector and
  padding never enters it;
* dropout, a ``hidden``-unit layer, dropout, the classifier: about 0.3 M weights at the defaults,
  instead of the millions of an FC layer over a flattened spectrogram.

With ``tracks: K`` the last ``K`` input columns are frame tracks, not spectral bands (``features.kind:
logmel_tracks`` puts the 32 IS09 pitch, voicing, energy and MFCC tracks there): they skip the 2-D stages
and go through a branch of their own, two 1-D convolutions over time (kernel 5, ``track_channels`` wide,
batch norm, ReLU) and attentive statistics pooling over the valid frames; the two pooled vectors are
concatenated before the head.

>>> net = build(n_classes=4, input_shape=(1, 120, 40))
>>> net(torch.randn(2, 1, 120, 40), lengths=torch.tensor([120, 80])).shape
torch.Size([2, 4])
>>> build(n_classes=4, input_shape=(1, 120, 72), tracks=32)(torch.randn(2, 1, 120, 72)).shape
torch.Size([2, 4])
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..layers.pooling import MaxPool2d
from ..errors import ConfigError
from ..layers.attention import AttentiveStatsPool
from . import MODELS
from .mts import make_conv

__all__ = ["ECNet", "build"]


def _valid(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """``(B,)`` valid frame counts -> ``(B, n)`` mask, True on real frames (at least one per utterance)."""
    return torch.arange(n, device=lengths.device)[None, :] < lengths.clamp_min(1)[:, None]


class _Stage(nn.Module):
    """Two 3 x 3 conv + BN + ReLU, then 2 x 2 max-pool: ``(B, Ci, T, F) -> (B, Co, T/2, F/2)``."""

    def __init__(self, cin: int, cout: int, first: nn.Module, depth: int = 2) -> None:
        super().__init__()
        layers = [first, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers, MaxPool2d(2, ceil_mode=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ECNet(nn.Module):
    """See the module docstring. ``embed`` returns the pooled utterance vector ``(B, 2 * channels[-1])``."""

    variable_length = True

    def __init__(self, n_classes: int, input_shape: Sequence[int], channels: Sequence[int] = (16, 32, 64, 128),
                 conv: str = "standard", scales: Sequence[float] = (0.5, 1.0, 2.0), strategy: str = "kernel",
                 mode: str = "shared", dropout: float = 0.3, hidden: int = 128, depth: int = 1,
                 tracks: int = 0, track_channels: int = 64) -> None:
        super().__init__()
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ConfigError(f"ecnet: input_shape must be (channels, time, freq), got {tuple(input_shape)}")
        if n_classes < 2:
            raise ConfigError(f"ecnet: n_classes must be >= 2, got {n_classes}")
        if not channels or min(int(c) for c in channels) < 1:
            raise ConfigError(f"ecnet.channels: give one positive width per stage, got {list(channels)}")
        if not (isinstance(depth, int) and depth >= 1):
            raise ConfigError(f"ecnet.depth must be an integer >= 1 (convolutions per stage), got {depth!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"ecnet.dropout must be in [0, 1), got {dropout}")
        if not (isinstance(tracks, int) and 0 <= tracks < shape[2]):
            raise ConfigError(f"ecnet.tracks must be an integer in [0, {shape[2]}) (input columns that are frame "
                              f"tracks), got {tracks!r}")
        if not (isinstance(track_channels, int) and track_channels >= 1):
            raise ConfigError(f"ecnet.track_channels must be a positive integer, got {track_channels!r}")
        self.input_shape = shape
        self.tracks = tracks
        stages, cin = [], shape[0]
        for cout in (int(c) for c in channels):
            first = make_conv(conv, cin, cout, 3, scales=scales, strategy=strategy, mode=mode, padding=1, bias=False)
            stages.append(_Stage(cin, cout, first, depth))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.n_pool = len(stages)
        self.pool = AttentiveStatsPool(cin)
        width = 2 * cin
        if tracks:
            k = shape[0] * tracks
            self.track_net = nn.Sequential(
                nn.Conv1d(k, track_channels, 5, padding=2, bias=False), nn.BatchNorm1d(track_channels),
                nn.ReLU(inplace=True), nn.Conv1d(track_channels, track_channels, 5, padding=2, bias=False),
                nn.BatchNorm1d(track_channels), nn.ReLU(inplace=True))
            self.track_pool = AttentiveStatsPool(track_channels)
            width += 2 * track_channels
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T, F)`` -> the pooled vector ``(B, 2 * channels[-1] [+ 2 * track_channels])``."""
        if x.dim() != 4 or x.shape[1] != self.input_shape[0] or (self.tracks and x.shape[3] != self.input_shape[2]):
            raise ConfigError(f"ecnet: expected input (batch, {self.input_shape[0]}, time, {self.input_shape[2]}), "
                              f"got {tuple(x.shape)}")
        if self.tracks:
            x, tr = x[..., : -self.tracks], x[..., -self.tracks :]
            g = self.track_net(tr.permute(0, 1, 3, 2).flatten(1, 2))  # (B, C * K, T) -> (B, track_channels, T)
            pooled = self.track_pool(g, None if lengths is None else _valid(lengths.to(g.device), g.shape[-1]))
        h = self.stages(x).mean(dim=3)  # (B, C, T')
        mask = None
        if lengths is not None:
            t = lengths.to(h.device)
            for _ in range(self.n_pool):
                t = torch.div(t + 1, 2, rounding_mode="floor")  # ceil-mode pooling
            mask = _valid(t, h.shape[-1])
        out = self.pool(h, mask)
        return torch.cat([out, pooled], dim=1) if self.tracks else out

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T, F)`` (``lengths (B,)`` valid frames when padded) -> logits ``(B, n_classes)``."""
        return self.head(self.embed(x, lengths))


@MODELS.register("ecnet")
def build(n_classes: int, input_shape: Sequence[int] = (1, 300, 40), **params: Any) -> ECNet:
    """Build ``ecnet``; ``params``: channels, conv (standard|mts), scales, strategy, mode, dropout, hidden, depth,
    tracks, track_channels."""
    known = {"channels", "conv", "scales", "strategy", "mode", "dropout", "hidden", "depth", "tracks", "track_channels"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"ecnet: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return ECNet(n_classes, input_shape, **params)
