"""The multi-dilated CNN + SPP + attention + ArcFace SER model and its ablation rows.

Reference: "A multi-dilated convolution network for speech emotion recognition" (Scientific Reports
15:8254, 2025), Fig. 2 and Table 1. Pipeline, ``x (B, 3, T, 40)`` (log-mel, delta, delta-delta):

1. stem: one 5x3 conv (``filters`` channels) + LeakyReLU, then 2x2 max pooling -> ``(B, 128, ceil(T/2), 20)``
   (the paper's "20 x t" map; the stem conv is layer 1 of its "8-layer" CNN);
2. body: 7 blocks -- ``plain`` 5x3 convs, ``ff`` factorised 5x1 + 1x3, ``dilated2`` factorised with dilation
   2, or ``multidilated`` MDCBs (:mod:`emoconv.layers.dilated`);
3. pooling: ``gmp`` (global max) or ``spp`` (:class:`~emoconv.layers.spp.SpatialPyramidPool`) -> ``(B, N, 128)``;
4. optional region attention (:class:`~emoconv.layers.attention.RegionAttention`);
5. flatten, FC ``fc_units`` (32) + LeakyReLU = the embedding (:meth:`MDCNN.embed`);
6. head: ``softmax`` (a linear layer) or ``arcface`` (:class:`~emoconv.layers.arcface.ArcFace`).

Variable length: ``lengths (B,)`` marks valid frames; padded frames are zeroed after every conv, set to -inf
before max pooling, and excluded from SPP bins, so an utterance's logits do not depend on its batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..config import check, from_dict
from ..errors import ConfigError
from ..layers.arcface import ArcFace
from ..layers.attention import RegionAttention
from ..layers.dilated import BODIES, ConvBody, apply_mask, time_mask
from ..layers.spp import AXES, GlobalMaxPool, SpatialPyramidPool
from . import MODELS


@dataclass(frozen=True)
class MDCNNConfig:
    """Settings of :class:`MDCNN`; the defaults are the paper's full model."""

    body: str = "multidilated"
    pool: str = "spp"
    spp_levels: tuple[int, ...] = (1, 5, 10)
    spp_axes: str = "both"
    attention: bool = True
    head: str = "arcface"
    margin: float = 0.5
    scale: float = 2.0
    filters: int = 128
    n_blocks: int = 7
    fc_units: int = 32
    merge: str = "sum"
    negative_slope: float = 0.3
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check(self.body in BODIES, f"mdcnn.body: unknown {self.body!r}; use one of {', '.join(BODIES)}")
        check(self.pool in ("gmp", "spp"), f"mdcnn.pool: unknown {self.pool!r}; use 'gmp' or 'spp'")
        check(len(self.spp_levels) > 0 and all(n >= 1 for n in self.spp_levels),
              f"mdcnn.spp_levels: need positive partition counts, got {list(self.spp_levels)}")
        check(self.spp_axes in AXES, f"mdcnn.spp_axes: unknown {self.spp_axes!r}; use one of {', '.join(AXES)}")
        check(self.head in ("softmax", "arcface"), f"mdcnn.head: unknown {self.head!r}; use 'softmax' or 'arcface'")
        check(0.0 <= self.margin < math.pi / 2, f"mdcnn.margin: must be in [0, pi/2) radians, got {self.margin}")
        check(self.scale > 0, f"mdcnn.scale: must be > 0, got {self.scale}")
        check(self.filters >= 1 and self.n_blocks >= 1 and self.fc_units >= 1,
              "mdcnn.filters, n_blocks and fc_units must be >= 1")
        check(self.merge in ("sum", "concat"), f"mdcnn.merge: unknown {self.merge!r}; use 'sum' or 'concat'")
        check(0.0 <= self.dropout < 1.0, f"mdcnn.dropout: must be in [0, 1), got {self.dropout}")


class MDCNN(nn.Module):
    """Multi-dilated CNN SER model (and every ablation row, by config).

    ``forward(x (B, C, T, F), lengths (B,) | None, labels (B,) | None) -> logits (B, n_classes)``.
    ``labels`` only matter for the ArcFace head in training mode (the margin); otherwise ignored.

    >>> m = MDCNN(4, MDCNNConfig(filters=4, n_blocks=2), in_channels=3, n_freq=40).eval()
    >>> m(torch.randn(2, 3, 50, 40), lengths=torch.tensor([50, 30])).shape
    torch.Size([2, 4])
    """

    variable_length = True

    def __init__(self, n_classes: int, cfg: MDCNNConfig | None = None, in_channels: int = 3,
                 n_freq: int = 40) -> None:
        super().__init__()
        cfg = cfg or MDCNNConfig()
        self.cfg, self.n_classes = cfg, n_classes
        self.needs_labels = cfg.head == "arcface"
        k, act = (5, 3), cfg.negative_slope
        self.stem = nn.Conv2d(in_channels, cfg.filters, k, padding=(2, 1))
        self.stem_act = nn.LeakyReLU(act)
        self.stem_pool = nn.MaxPool2d(2, ceil_mode=True)
        self.body = ConvBody(cfg.body, cfg.filters, cfg.filters, cfg.n_blocks, cfg.merge, k, act)
        self.pool = SpatialPyramidPool(cfg.spp_levels, cfg.spp_axes) if cfg.pool == "spp" else GlobalMaxPool()
        self.attention = RegionAttention(cfg.filters) if cfg.attention else None
        self.fc = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(self.pool.n_bins * cfg.filters, cfg.fc_units),
                                nn.LeakyReLU(act))
        self.head: nn.Module = (ArcFace(cfg.fc_units, n_classes, cfg.margin, cfg.scale)
                                if cfg.head == "arcface" else nn.Linear(cfg.fc_units, n_classes))
        if n_freq < 1:
            raise ConfigError(f"mdcnn: input needs >= 1 frequency bin, got {n_freq}")

    def feature_map(self, x: torch.Tensor, lengths: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Conv section: ``(B, C, T, F) -> ((B, filters, ceil(T/2), ceil(F/2)), pooled lengths)``."""
        if x.dim() != 4:
            raise ConfigError(f"mdcnn expects input (B, C, T, F), got shape {tuple(x.shape)}")
        if lengths is not None:
            lengths = lengths.to(x.device).long()
            if bool((lengths < 1).any()) or bool((lengths > x.shape[2]).any()):
                raise ConfigError(f"mdcnn: lengths must be in [1, {x.shape[2]}], got {lengths.tolist()}")
        mask = time_mask(lengths, x.shape[2])
        h = self.stem_act(self.stem(apply_mask(x, mask)))
        h = self.stem_pool(apply_mask(h, mask, float("-inf")))
        if lengths is not None:
            lengths = torch.div(lengths + 1, 2, rounding_mode="floor")
            h = apply_mask(h, time_mask(lengths, h.shape[2]))
        return self.body(h, lengths), lengths

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Top hidden representation: the FC layer's output ``(B, fc_units)``."""
        h, lengths = self.feature_map(x, lengths)
        v = self.pool(h, lengths)
        if self.attention is not None:
            v = self.attention(v)
        return self.fc(v.flatten(1))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        e = self.embed(x, lengths)
        if isinstance(self.head, ArcFace):
            return self.head(e, labels if self.training else None)
        return self.head(e)


#: The paper's Table 1 rows as MDCNN params (row name -> params).
ABLATION_ROWS: dict[str, dict[str, Any]] = {
    "cnn_gmp_softmax": dict(body="plain", pool="gmp", attention=False, head="softmax"),
    "ff_gmp_softmax": dict(body="ff", pool="gmp", attention=False, head="softmax"),
    "ff_spp_softmax": dict(body="ff", pool="spp", attention=False, head="softmax"),
    "dilated2_spp_softmax": dict(body="dilated2", pool="spp", attention=False, head="softmax"),
    "multidilated_spp_softmax": dict(body="multidilated", pool="spp", attention=False, head="softmax"),
    "multidilated_spp_att_softmax": dict(body="multidilated", pool="spp", attention=True, head="softmax"),
    "multidilated_spp_att_arcface": dict(body="multidilated", pool="spp", attention=True, head="arcface"),
    "multidilated_spp_arcface": dict(body="multidilated", pool="spp", attention=False, head="arcface"),
}


@MODELS.register("mdcnn")
def build(n_classes: int, input_shape: tuple[int, ...], **params: Any) -> MDCNN:
    """Registered builder: ``input_shape = (C, T, F)`` (``T`` is ignored; any length passes).

    ``params`` are :class:`MDCNNConfig` fields, e.g. ``body="ff", pool="gmp", head="softmax"``.
    """
    if len(input_shape) != 3:
        raise ConfigError(f"mdcnn: input_shape must be (C, T, F), got {tuple(input_shape)}")
    if "spp_levels" in params and isinstance(params["spp_levels"], list):
        params = {**params, "spp_levels": tuple(params["spp_levels"])}
    cfg = from_dict(MDCNNConfig, params, where="model.params")
    return MDCNN(n_classes, cfg, in_channels=int(input_shape[0]), n_freq=int(input_shape[2]))


def config_dict(model: MDCNN) -> dict[str, Any]:
    """The model's params as a plain dict (for bundles/reports)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(model.cfg).items()}
