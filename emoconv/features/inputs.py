"""How per-utterance features of different lengths become model inputs (recipes and bundles share it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import check


@dataclass(frozen=True)
class InputConfig:
    """How features of different lengths become model inputs.

    ``pad``: pad or crop every utterance to ``frames`` (None = the longest utterance,
    capped at ``max_frames``); ``segment``: cut into ``segment_frames`` windows with
    ``segment_hop`` hop, train on windows, score utterances by ``aggregate`` of window
    posteriors; ``variable``: keep each utterance's own length (models with
    ``variable_length``).
    """

    length: str = "pad"
    frames: int | None = None
    max_frames: int = 3000
    pad_mode: str = "end"
    segment_frames: int = 400
    segment_hop: int = 200
    aggregate: str = "mean"

    def __post_init__(self) -> None:
        check(self.length in ("pad", "segment", "variable"),
              f"input.length must be pad, segment or variable, got {self.length!r}")
        check(self.frames is None or self.frames >= 1, "input.frames must be >= 1")
        check(self.segment_frames >= 1 and self.segment_hop >= 1, "input.segment_frames/segment_hop must be >= 1")
        check(self.aggregate in ("mean", "max", "vote"), "input.aggregate must be mean, max or vote")
