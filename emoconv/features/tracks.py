"""``logmel_tracks``: log-mel frames with the 32 IS09 prosody and cepstral tracks beside them.

A linear SVM on utterance statistics gains 4-8 points of UA on real acted corpora when the IS09 frame
descriptors (F0, voicing probability, energy, zero-crossing rate, MFCC 1-12 and their deltas,
:mod:`emoconv.features.lld`) join the log-mel ones (``benchmarks/input_ceiling.py --lld``). A log-mel
spectrogram at 40 bands hardly resolves F0, so this kind hands a network both: each utterance gives one
``(1, T, n_mels + 32)`` tensor whose first ``n_mels`` columns are the log-mel bands (as ``kind: logmel``
with the same settings) and whose last 32 are the LLD tracks, linearly interpolated from their own 10 ms
grid (25 ms frames) onto the log-mel frames' centres (:func:`align`). ECNet reads them with ``tracks: 32``
(:mod:`emoconv.models.ecnet`), which routes those columns through a 1-D branch of their own.

>>> cfg = LogmelTracksConfig(hop_ms=20)
>>> cfg.n_tracks, cfg.frames().hop_ms
(32, 20)
>>> align(torch.arange(10.0)[:, None], n_frames=4, hop_ms=25).squeeze(1).tolist()
[0.0, 1.25, 3.75, 6.25]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..config import check
from .config import FeatureConfig
from .kinds import FEATURE_KINDS, FeatureKind
from .lld import LLDConfig

__all__ = ["LogmelTracksConfig", "align", "extract_tracks"]

#: The LLD extractor's frame (openSMILE IS09): 25 ms windows every 10 ms.
_LLD_WIN_MS, _LLD_HOP_MS = 25.0, 10.0


@dataclass(frozen=True)
class LogmelTracksConfig:
    """Log-mel settings (as :class:`FeatureConfig`) plus the LLD tracks; the LLDs' own settings are IS09's.

    Args:
        sample_rate, win_ms, hop_ms, n_mels, window, fmin, fmax, mel_scale: the log-mel frames.
        lld_deltas: keep the 16 LLD deltas (32 tracks) or only the 16 static LLDs.
        min_duration_s: shorter files are rejected.
    """

    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 20.0
    n_mels: int = 40
    window: str = "hamming"
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: str = "slaney"
    lld_deltas: bool = True
    min_duration_s: float = 0.05

    def __post_init__(self) -> None:
        self.frames()  # validates the log-mel settings with FeatureConfig's own messages (the LLDs run at 16 kHz)
        check(isinstance(self.lld_deltas, bool), f"features.lld_deltas: {self.lld_deltas!r} must be true or false")

    @property
    def n_tracks(self) -> int:
        return 32 if self.lld_deltas else 16

    def frames(self) -> FeatureConfig:
        """The log-mel part as a :class:`FeatureConfig` (its cache entries are shared with ``kind: logmel``)."""
        return FeatureConfig(kind="logmel", sample_rate=self.sample_rate, win_ms=self.win_ms, hop_ms=self.hop_ms,
                             n_mels=self.n_mels, window=self.window, fmin=self.fmin, fmax=self.fmax,
                             mel_scale=self.mel_scale, min_duration_s=max(self.min_duration_s, 0.05))

    def tracks(self) -> LLDConfig:
        return LLDConfig(sample_rate=16000, deltas=self.lld_deltas, min_duration_s=max(self.min_duration_s, 0.05))


def align(tracks: Tensor, n_frames: int, hop_ms: float) -> Tensor:
    """LLD tracks ``(T_lld, K)`` on their 10 ms grid -> ``(n_frames, K)`` at the log-mel frames' centres.

    Log-mel frame ``t`` is centred at ``t * hop_ms`` (emoconv's frames are centred, docs/features.md);
    openSMILE's LLD frame ``j`` starts at ``j * 10`` ms and is centred at ``j * 10 + 12.5`` ms. Values are
    interpolated linearly and held at the ends.
    """
    src = np.arange(tracks.shape[0]) * _LLD_HOP_MS + _LLD_WIN_MS / 2
    dst = np.arange(n_frames) * float(hop_ms)
    x = tracks.numpy().astype(np.float64)
    out = np.stack([np.interp(dst, src, x[:, k]) for k in range(x.shape[1])], axis=1)
    return torch.from_numpy(out.astype(np.float32))


def extract_tracks(cfg: LogmelTracksConfig, utterances: Sequence[Any], cache: Any = None,
                   progress: bool = False) -> list[Tensor]:
    """One ``(1, T, n_mels + n_tracks)`` float32 tensor per utterance (``path`` attribute), through ``cache``."""
    from .extract import extract_features
    from .lld import extract_lld

    paths = [u.path for u in utterances]
    mels = extract_features(cfg.frames(), paths, cache=cache, progress=progress)
    llds = extract_lld(cfg.tracks(), paths, cache=cache, progress=progress)
    out = []
    for mel, lld in zip(mels, llds):
        tr = align(lld, mel.shape[1], cfg.hop_ms)
        out.append(torch.cat([mel[0], tr], dim=1).unsqueeze(0))
    return out


LogmelTracksConfig.KIND = "logmel_tracks"  # type: ignore[attr-defined]
FEATURE_KINDS.register("logmel_tracks")(FeatureKind(LogmelTracksConfig, extract_tracks,
                                                    requires=("opensmile", "opensmile")))
