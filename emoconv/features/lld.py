"""The 32 frame-level low-level descriptors of the DNN-ELM and LSTM-ELM baselines.

Han, Yu & Tashev (Interspeech 2014) and Lee & Tashev (Interspeech 2015), as used in
Kim et al.'s 3D CNN paper (ACII 2017, Sec. 5.2): F0, voicing probability, zero-crossing
rate, MFCC 1-12 and RMS energy, plus their first time derivatives: 16 x 2 = 32 values per
10 ms frame. That is exactly the low-level-descriptor part of the INTERSPEECH 2009 Emotion
Challenge set (Schuller, Steidl & Batliner, 2009), which the ``opensmile`` package ships
as ``FeatureSet.IS09``; this module calls openSMILE for it rather than reimplementing a
pitch tracker (its F0 comes from the cepstrum/ACF-based voicing of the IS09 config, 25 ms
frames every 10 ms, 3-frame moving-average smoothing, deltas by a 5-frame regression).

Columns (``LLD_NAMES``): ``[RMS energy, MFCC 1..12, ZCR, voicing probability, F0]`` then the
same 16 deltas. F0 is 0 in unvoiced frames. The DNN's 5-frame context window is applied
inside the network (:class:`emoconv.models.baselines3d.FrameDNN`), or here by
:func:`with_context`, so the cache stores ``(T, 32)`` per file.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from ..audio.io import load_audio
from ..config import check
from ..errors import AudioError, ConfigError
from .cache import FeatureCache
from .kinds import FEATURE_KINDS, FeatureKind
from .shaping import splice

#: Bump when the extraction changes in a way that invalidates cached LLDs.
LLD_VERSION = 1

_STATIC = ["rms_energy"] + [f"mfcc_{i}" for i in range(1, 13)] + ["zcr", "voicing_prob", "f0"]
#: Names of the 32 columns of :func:`lld_of_signal`.
LLD_NAMES: tuple[str, ...] = tuple(_STATIC + [f"{n}_delta" for n in _STATIC])


@dataclass(frozen=True)
class LLDConfig:
    """Settings of the LLD extractor (the descriptors themselves are fixed by IS09).

    Args:
        sample_rate: audio is resampled to this rate before openSMILE (16 kHz).
        deltas: keep the 16 deltas (32 columns) or only the 16 static LLDs.
        min_duration_s: shorter files are rejected (a file needs at least one 25 ms frame).
    """

    sample_rate: int = 16000
    deltas: bool = True
    min_duration_s: float = 0.05
    version: int = LLD_VERSION

    def __post_init__(self) -> None:
        check(isinstance(self.sample_rate, int) and self.sample_rate >= 8000,
              f"lld.sample_rate: {self.sample_rate!r} must be an integer >= 8000 (Hz)")
        check(self.min_duration_s >= 0.03, f"lld.min_duration_s: {self.min_duration_s!r} must be >= 0.03 s")

    @property
    def dims(self) -> int:
        return 32 if self.deltas else 16


_LOCAL = threading.local()


def _smiles() -> tuple[Any, Any]:
    """Per-thread openSMILE extractors for the IS09 LLDs and their deltas."""
    pair = getattr(_LOCAL, "lld_smiles", None)
    if pair is None:
        try:
            import opensmile
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigError("LLD features need the 'opensmile' package; pip install 'emoconv[opensmile]'") from None
        make = lambda level: opensmile.Smile(feature_set=opensmile.FeatureSet.IS09, feature_level=level)  # noqa: E731
        pair = _LOCAL.lld_smiles = (make(opensmile.FeatureLevel.LowLevelDescriptors),
                                    make(opensmile.FeatureLevel.LowLevelDescriptors_Deltas))
    return pair


def lld_of_signal(wav: np.ndarray, sample_rate: int = 16000, deltas: bool = True) -> np.ndarray:
    """The IS09 LLDs of a mono waveform: float32 ``(T, 32)`` (``(T, 16)`` without deltas).

    Frames are 25 ms every 10 ms; ``T = 1 + (N - 400) // 160`` at 16 kHz. The static and
    delta streams are aligned on their frame start times (openSMILE emits the delta
    stream with a slightly different length).
    """
    wav = np.ascontiguousarray(wav, dtype=np.float32)
    lld_smile, de_smile = _smiles()
    static = lld_smile.process_signal(wav, sample_rate)
    if len(static) == 0:
        raise AudioError(f"waveform of {len(wav)} samples is too short for one 25 ms LLD frame")
    parts = [static.to_numpy(dtype=np.float32)]
    if deltas:
        de = de_smile.process_signal(wav, sample_rate)
        starts = static.index.get_level_values("start")
        de = de[~de.index.get_level_values("start").duplicated()]
        de_by_start = de.droplevel("end").reindex(starts)
        parts.append(np.nan_to_num(de_by_start.to_numpy(dtype=np.float32)))
    return np.nan_to_num(np.concatenate(parts, axis=1), nan=0.0, posinf=0.0, neginf=0.0)


def with_context(x: Tensor, width: int = 5) -> Tensor:
    """Stack each frame with its neighbours: ``(T, F)`` -> ``(T, F * width)`` (edges repeat frames).

    Column ``f * width + j`` is feature ``f`` of frame ``t - width // 2 + j``.
    """
    check(width >= 1 and width % 2 == 1, f"lld.context: {width!r} must be a positive odd number of frames")
    half = width // 2
    return splice(x, half, half).reshape(x.shape[0], -1)


def extract_lld(cfg: LLDConfig, paths: Sequence[str | os.PathLike[str]], cache: FeatureCache | None = None,
                progress: bool = False) -> list[Tensor]:
    """LLDs of audio files, one float32 ``(T_i, cfg.dims)`` tensor each, through ``cache``.

    Audio is read with :func:`emoconv.audio.load_audio` (any format, resampled to
    ``cfg.sample_rate``); cache entries are keyed by ``cfg`` (with :data:`LLD_VERSION`)
    and the file identity. Raises AudioError naming a bad file.
    """
    out: list[Tensor] = []
    for p in tqdm([Path(p) for p in paths], desc="lld", unit="file", disable=not progress):
        hit = cache.get(cfg, p) if cache is not None else None
        if hit is None:
            wav = load_audio(p, cfg.sample_rate, cfg.min_duration_s)
            try:
                hit = torch.from_numpy(lld_of_signal(wav, cfg.sample_rate, cfg.deltas))
            except AudioError as exc:
                raise AudioError(f"{p}: {exc}; remove the file (LLDs need at least 25 ms)") from None
            if cache is not None:
                cache.put(cfg, p, hit)
        out.append(hit)
    return out


LLDConfig.KIND = "lld"  # type: ignore[attr-defined]
FEATURE_KINDS.register("lld")(FeatureKind(
    LLDConfig, lambda cfg, utts, cache, progress: extract_lld(cfg, [u.path for u in utts], cache, progress),
    requires=("opensmile", "opensmile")))
