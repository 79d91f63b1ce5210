"""The one input pipeline: normalised per-utterance features -> model examples -> utterance scores.

Shared by the runner (training and test partitions), the final model of ``emoconv train``, noise and
waveform augmentation (one utterance at a time) and bundles (``emoconv predict``), so that a model is always
fed the way it was trained. Its state is the :class:`~emoconv.features.inputs.InputConfig` plus the
resolved fixed length ``frames``, both saved in bundles.

>>> import torch
>>> from emoconv.features.inputs import InputConfig
>>> feats = [torch.zeros(1, n, 4) for n in (5, 9)]
>>> pipe = InputPipeline.fit(InputConfig(length="pad"), feats)
>>> xs, groups = pipe.shape(feats)
>>> pipe.frames, [tuple(x.shape) for x in xs], groups.tolist()
(9, [(1, 9, 4), (1, 9, 4)], [0, 1])
>>> seg = InputPipeline.fit(InputConfig(length="segment", segment_frames=4, segment_hop=4), feats)
>>> seg.shape(feats)[1].tolist(), tuple(seg.batch_of(feats[1]).shape)
([0, 0, 1, 1, 1], (3, 1, 4, 4))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .inputs import InputConfig
from .shaping import aggregate_segments, pad_or_crop, segment

__all__ = ["InputPipeline"]


@dataclass(frozen=True)
class InputPipeline:
    """How features ``(C, T, F)`` (or ``(n_segments, ...)`` for a segmented kind) become examples.

    ``frames``: the fixed example length (``pad``: ``cfg.frames`` or the longest utterance capped at
    ``cfg.max_frames``; ``segment``: ``cfg.segment_frames``; ``variable``: None). ``segmented``: the feature
    kind already cuts each utterance into segments (3D-CNN volumes): every segment is one example.
    """

    cfg: InputConfig
    frames: int | None = None
    segmented: bool = False

    @classmethod
    def fit(cls, cfg: InputConfig, feats: Sequence[torch.Tensor], segmented: bool = False) -> "InputPipeline":
        """Resolve the fixed length from the features of the whole corpus (lengths only: no labels are read)."""
        if segmented or cfg.length == "variable":
            return cls(cfg, None, segmented)
        if cfg.length == "pad":
            longest = max(int(f.shape[1]) for f in feats) if feats else 1
            return cls(cfg, cfg.frames or min(longest, cfg.max_frames), False)
        return cls(cfg, cfg.segment_frames, False)

    @property
    def aggregates(self) -> bool:
        """Whether an utterance gives several examples whose scores are aggregated (``cfg.aggregate``)."""
        return self.segmented or self.cfg.length == "segment"

    def shape(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], np.ndarray]:
        """``(examples, groups)``: ``groups[i]`` is the utterance index of example ``i``."""
        if not self.aggregates:
            return [self.shape_one(f) for f in feats], np.arange(len(feats))
        xs: list[torch.Tensor] = []
        groups: list[int] = []
        for i, f in enumerate(feats):
            rows = self.batch_of(f).unbind(0)
            xs.extend(rows)
            groups.extend([i] * len(rows))
        return xs, np.asarray(groups, dtype=np.int64)

    def shape_one(self, feat: torch.Tensor) -> torch.Tensor:
        """The one example of an utterance (``pad`` and ``variable`` inputs; augmentation copies use it)."""
        if self.cfg.length == "pad" and not self.segmented:
            assert self.frames is not None
            return pad_or_crop(feat, self.frames, self.cfg.pad_mode)
        return feat

    def batch_of(self, feat: torch.Tensor) -> torch.Tensor:
        """All examples of one utterance as a batch ``(B, *example_shape)``."""
        if self.segmented:
            return feat
        if self.cfg.length == "segment":
            return segment(feat, self.cfg.segment_frames, self.cfg.segment_hop)
        return self.shape_one(feat).unsqueeze(0)

    def aggregate(self, probs: np.ndarray, groups: np.ndarray, n_utterances: int) -> np.ndarray:
        """Example posteriors ``(N, K)`` -> utterance posteriors ``(n_utterances, K)`` (``groups`` as in
        :meth:`shape`, numbered ``0 .. n_utterances - 1``)."""
        out = np.zeros((n_utterances, probs.shape[1]), dtype=np.float32)
        order = np.argsort(groups, kind="stable")  # one pass over the examples instead of a scan per utterance
        starts = np.searchsorted(groups[order], np.arange(n_utterances + 1))
        for u in range(n_utterances):
            rows = order[starts[u]:starts[u + 1]]
            out[u] = np.asarray(aggregate_segments(torch.from_numpy(probs[rows]), self.cfg.aggregate))
        return out
