"""Reusable layers from the four systems, each in its own file.

The public names below are importable from here (``from emoconv.layers import MTSConv2d``); each is loaded
from its module on first use, so importing one layer does not import the others (``emoconv predict``
starts faster).

>>> from emoconv.layers import MTSConv2d
>>> MTSConv2d(1, 4, (5, 3), scales=(0.5, 1, 2)).scales
(0.5, 1.0, 2.0)
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "MTSConv2d": "mts", "PAPER_SCALE_SETS": "mts_kernels", "resample_kernel": "mts_kernels",
    "probe_mts": "mts_stats", "mts_usage": "mts_stats", "track_mts_usage": "mts_stats",
    "ArcFace": "arcface", "RegionAttention": "attention", "AttentiveStatsPool": "attention", "SpatialPyramidPool": "spp", "GlobalMaxPool": "spp",
    "MDCB": "dilated", "ConvBody": "dilated", "FactorisedBranch": "dilated", "PlainBlock": "dilated",
    "ConvType": "convtypes", "CONV_KINDS": "convtypes", "conv_stack_on_sequence": "convseq", "ELMClassifier": "elm", "NetworkELM": "elm",
    "bidirectional_lstm": "rnn", "MaxPool2d": "pooling", "max_pool2d": "pooling",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
