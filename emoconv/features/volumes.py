"""Spectro-temporal volumes (and raw 2 s segments) for the 3D CNN system.

Input of Kim et al., "Learning spectro-temporal features with 3D CNNs for speech emotion
recognition" (ACII 2017), Sec. 4:

1. waveform gains min-max normalised per speaker (:func:`speaker_gains`, :func:`normalize_gain`);
2. one 2 s segment per utterance: shorter ones zero-padded at the end, longer ones trimmed
   to their first 2 s (``long_utterances="trim"``, the paper's choice). ``"split"`` instead
   cuts a long utterance into consecutive 2 s segments (the last zero-padded), giving
   several segments for one utterance;
3. a log magnitude spectrogram every 20 ms with 256 bins: a 512-point FFT of a 32 ms
   Hamming window, keeping bins 0..255 (the Nyquist bin is dropped), ``log(|X| + 1e-6)``,
   computed with :func:`emoconv.features.compute_features` (torch.stft, centred frames
   with reflect padding). That gives 101 frames for 2 s; the last is dropped -> 100;
4. the 100 x 256 map cut into L = 10 long-term windows of T = 10 frames: a volume
   ``(1, L, T, S) = (1, 10, 10, 256)`` (channel axis first, as ``nn.Conv3d`` expects).

The paper does not give the window length; 512 points (32 ms) with the Nyquist bin dropped
is our reading of "256 points" (``n_fft=510`` gives 256 bins without dropping; both are settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from ..audio.io import load_audio
from ..config import check
from ..errors import AudioError
from .cache import FeatureCache
from .kinds import FEATURE_KINDS, FeatureKind
from .config import FeatureConfig
from .spectral import compute_features

GAIN_MODES = ("minmax", "peak", "none")
LONG_MODES = ("trim", "split")
KINDS = ("volume", "waveform")

#: Bump when the computation changes in a way that invalidates cached volumes.
VOLUMES_VERSION = 1


@dataclass(frozen=True)
class VolumeConfig:
    """Settings of the 3D CNN input (defaults: the paper's 10 x 10 x 256 volumes of 2 s).

    Args:
        sample_rate: audio rate in Hz.
        segment_s: segment length in seconds (2 s).
        hop_ms: frame hop (20 ms -> 100 frames per 2 s).
        win_ms: analysis window (32 ms = 512 samples at 16 kHz).
        n_fft: FFT size (>= the window length).
        n_bins: spectral bins kept, from 0 Hz up (256 of the 257 a 512-point FFT gives).
        window: ``"hamming"`` or ``"hann"``.
        long_term, short_term: L windows of T frames; ``L * T`` must equal the frames per segment.
        gain_norm: ``"minmax"`` maps each speaker's sample range [min, max] to [-1, 1];
            ``"peak"`` divides by the speaker's largest absolute sample; ``"none"``.
        long_utterances: ``"trim"`` (first segment only) or ``"split"`` (all segments).
        log_offset: floor inside the log.
        min_duration_s: shorter files are rejected when loading.
    """

    sample_rate: int = 16000
    segment_s: float = 2.0
    hop_ms: float = 20.0
    win_ms: float = 32.0
    n_fft: int = 512
    n_bins: int = 256
    window: str = "hamming"
    long_term: int = 10
    short_term: int = 10
    gain_norm: str = "minmax"
    long_utterances: str = "trim"
    log_offset: float = 1e-6
    min_duration_s: float = 0.05

    def __post_init__(self) -> None:
        w = "volumes"
        check(isinstance(self.sample_rate, int) and self.sample_rate > 0,
              f"{w}.sample_rate: {self.sample_rate!r} must be a positive integer (Hz)")
        check(self.segment_s > 0, f"{w}.segment_s: {self.segment_s!r} must be positive")
        check(self.gain_norm in GAIN_MODES, f"{w}.gain_norm: {self.gain_norm!r} is not one of {', '.join(GAIN_MODES)}")
        check(self.long_utterances in LONG_MODES,
              f"{w}.long_utterances: {self.long_utterances!r} is not one of {', '.join(LONG_MODES)}")
        check(1 <= self.n_bins <= self.n_fft // 2 + 1,
              f"{w}.n_bins: {self.n_bins!r} must be in [1, n_fft // 2 + 1 = {self.n_fft // 2 + 1}]")
        check(self.long_term >= 1 and self.short_term >= 1, f"{w}.long_term/short_term: must be at least 1")
        check(self.long_term * self.short_term == self.frames,
              f"{w}.long_term x short_term: {self.long_term} x {self.short_term} != the {self.frames} frames of a "
              f"{self.segment_s} s segment at {self.hop_ms} ms; change one of them")
        _ = self.spectrogram  # validates window, hop and n_fft through FeatureConfig

    @property
    def segment_samples(self) -> int:
        return int(round(self.segment_s * self.sample_rate))

    @property
    def frames(self) -> int:
        """Frames per segment (``segment_s / hop``)."""
        return int(round(self.segment_s * 1000 / self.hop_ms))

    @property
    def spectrogram(self) -> FeatureConfig:
        """The frame-level :class:`FeatureConfig` behind the volumes."""
        return FeatureConfig(kind="stft", sample_rate=self.sample_rate, win_ms=self.win_ms, hop_ms=self.hop_ms,
                             n_fft=self.n_fft, window=self.window, compression="log", log_offset=self.log_offset,
                             min_duration_s=self.min_duration_s)

    @property
    def volume_shape(self) -> tuple[int, int, int, int]:
        """``(1, L, T, S)`` of one segment."""
        return (1, self.long_term, self.short_term, self.n_bins)


def speaker_gains(waveforms: Sequence[np.ndarray], speakers: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``{speaker: (min, max)}`` of the samples of all that speaker's waveforms."""
    check(len(waveforms) == len(speakers), "volumes: waveforms and speakers must have the same length")
    out: dict[str, tuple[float, float]] = {}
    for wav, spk in zip(waveforms, speakers):
        lo, hi = float(np.min(wav)), float(np.max(wav))
        if spk in out:
            lo, hi = min(lo, out[spk][0]), max(hi, out[spk][1])
        out[spk] = (lo, hi)
    return out


def normalize_gain(wav: np.ndarray, gain: tuple[float, float], mode: str = "minmax") -> np.ndarray:
    """Scale ``wav`` with its speaker's ``(min, max)``: ``minmax`` -> [-1, 1], ``peak`` -> max |x| = 1."""
    lo, hi = gain
    wav = np.asarray(wav, dtype=np.float32)
    if mode == "none":
        return wav
    if mode == "peak":
        peak = max(abs(lo), abs(hi))
        return wav / peak if peak > 0 else wav
    span = hi - lo
    if span <= 0:
        return np.zeros_like(wav)
    return (2.0 * (wav - lo) / span - 1.0).astype(np.float32)


def segment_waveform(wav: np.ndarray, cfg: VolumeConfig) -> np.ndarray:
    """``(n_seg, segment_samples)``: zero-padded / trimmed (``n_seg = 1``) or split (``"split"``)."""
    n = cfg.segment_samples
    wav = np.asarray(wav, dtype=np.float32)
    n_seg = 1 if cfg.long_utterances == "trim" else max(1, -(-len(wav) // n))
    out = np.zeros((n_seg, n), dtype=np.float32)
    flat = out.reshape(-1)
    take = min(len(wav), flat.size)
    flat[:take] = wav[:take]
    return out


def volumes_of_segments(cfg: VolumeConfig, segments: np.ndarray | Tensor, device: str = "cpu") -> Tensor:
    """Volumes ``(n, 1, L, T, S)`` of 2 s segments ``(n, segment_samples)``, computed in one torch batch."""
    segs = [np.asarray(s, dtype=np.float32) for s in np.asarray(segments, dtype=np.float32)]
    if not segs:
        return torch.zeros((0, *cfg.volume_shape))
    specs = compute_features(cfg.spectrogram, segs, device=device)  # (1, frames + 1, n_fft//2 + 1) each
    x = torch.stack([s[0, : cfg.frames, : cfg.n_bins] for s in specs])  # (n, 100, 256)
    return x.reshape(len(segs), 1, cfg.long_term, cfg.short_term, cfg.n_bins).contiguous()


def compute_volumes(cfg: VolumeConfig, waveforms: Sequence[np.ndarray], speakers: Sequence[str],
                    kind: str = "volume", device: str = "cpu") -> list[Tensor]:
    """Per-utterance segments of in-memory waveforms (gains normalised over these waveforms' speakers).

    Returns one tensor per waveform: ``(n_seg, 1, L, T, S)`` volumes (``kind="volume"``) or
    ``(n_seg, 1, segment_samples)`` gain-normalised raw segments (``kind="waveform"``, the
    1D-CNN-LSTM input). ``n_seg`` is 1 with ``long_utterances="trim"``.
    """
    check(kind in KINDS, f"volumes.kind: {kind!r} is not one of {', '.join(KINDS)}")
    gains = speaker_gains(waveforms, speakers)
    segs = [segment_waveform(normalize_gain(w, gains[s], cfg.gain_norm), cfg) for w, s in zip(waveforms, speakers)]
    return _finish(cfg, segs, kind, device)


def _finish(cfg: VolumeConfig, segs: list[np.ndarray], kind: str, device: str) -> list[Tensor]:
    if kind == "waveform":
        return [torch.from_numpy(s[:, None, :].copy()) for s in segs]
    counts = [len(s) for s in segs]
    vols = volumes_of_segments(cfg, np.concatenate(segs), device=device) if segs else torch.zeros(0)
    return list(torch.split(vols, counts)) if segs else []


@dataclass(frozen=True)
class _GainKey:
    sample_rate: int
    min_duration_s: float
    version: int = VOLUMES_VERSION


@dataclass(frozen=True)
class _SegmentKey:
    cfg: VolumeConfig
    kind: str
    gain: tuple[float, float]
    version: int = VOLUMES_VERSION


def extract_segments(cfg: VolumeConfig, paths: Sequence[str | os.PathLike[str]], speakers: Sequence[str],
                     cache: FeatureCache | None = None, kind: str = "volume", progress: bool = False,
                     batch_files: int = 64, device: str = "cpu") -> list[Tensor]:
    """Volumes (or raw segments) of audio files, per-speaker gain normalised, through ``cache``.

    ``speakers[i]`` is the speaker of ``paths[i]`` (namespace them per corpus, e.g.
    ``"emodb/03"``); a speaker's gain range is taken over all of that speaker's files in
    ``paths``. Two cached passes: per-file sample ranges (tiny entries), then the segments,
    keyed by the config, ``kind``, the speaker's range and the file identity, so a new file
    of a speaker that widens the range recomputes that speaker's entries.

    Returns one tensor per file, as :func:`compute_volumes`. Raises AudioError naming a bad file.
    """
    check(kind in KINDS, f"volumes.kind: {kind!r} is not one of {', '.join(KINDS)}")
    check(len(paths) == len(speakers), "volumes: paths and speakers must have the same length")
    paths = [Path(p) for p in paths]
    gkey = _GainKey(cfg.sample_rate, cfg.min_duration_s)
    ranges: list[tuple[float, float]] = []
    loaded: dict[int, np.ndarray] = {}
    for i, p in enumerate(tqdm(paths, desc="gains", unit="file", disable=not progress)):
        hit = cache.get(gkey, p) if cache is not None else None
        if hit is None:
            wav = load_audio(p, cfg.sample_rate, cfg.min_duration_s)
            hit = torch.tensor([float(wav.min()), float(wav.max())])
            if cache is not None:
                cache.put(gkey, p, hit)
            if len(loaded) < batch_files:  # keep a few for pass two
                loaded[i] = wav
        ranges.append((float(hit[0]), float(hit[1])))
    gains: dict[str, tuple[float, float]] = {}
    for (lo, hi), spk in zip(ranges, speakers):
        old = gains.get(spk, (lo, hi))
        gains[spk] = (min(lo, old[0]), max(hi, old[1]))

    out: list[Tensor | None] = [None] * len(paths)
    keys: list[_SegmentKey] = [_SegmentKey(cfg, kind, gains[s]) for s in speakers]
    todo = []
    for i, p in enumerate(paths):
        if cache is not None:
            out[i] = cache.get(keys[i], p)
        if out[i] is None:
            todo.append(i)
    for start in tqdm(range(0, len(todo), batch_files), desc=kind, unit="batch", disable=not progress):
        chunk = todo[start:start + batch_files]
        segs = []
        for i in chunk:
            wav = loaded.pop(i, None)
            if wav is None:
                wav = load_audio(paths[i], cfg.sample_rate, cfg.min_duration_s)
            segs.append(segment_waveform(normalize_gain(wav, gains[speakers[i]], cfg.gain_norm), cfg))
        for i, t in zip(chunk, _finish(cfg, segs, kind, device)):
            if not torch.isfinite(t).all():
                raise AudioError(f"{paths[i]}: non-finite {kind} values; check the file")
            if cache is not None:
                cache.put(keys[i], paths[i], t)
            out[i] = t
    return out  # type: ignore[return-value]


def stack_segments(items: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Flatten per-utterance segments: ``x (M, *shape)`` and ``owner (M,)`` (utterance index of each row).

    Segment posteriors go back to utterances with ``emoconv.features.aggregate_segments``
    on ``probs[owner == i]``.
    """
    x = torch.cat(list(items)) if items else torch.zeros(0)
    owner = torch.repeat_interleave(torch.arange(len(items)), torch.tensor([len(t) for t in items], dtype=torch.long))
    return x, owner


@dataclass(frozen=True)
class WaveformConfig(VolumeConfig):
    """Raw gain-normalised 2 s waveform segments ``(n_seg, 1, samples)`` (the 1D-CNN-LSTM input)."""

    KIND = "waveform"


VolumeConfig.KIND = "volume"  # type: ignore[attr-defined]


def _extract_kind(cfg: VolumeConfig, utterances: Sequence[Any], cache: FeatureCache | None,
                  progress: bool) -> list[Tensor]:
    return extract_segments(cfg, [u.path for u in utterances], [u.speaker for u in utterances], cache,
                            kind=type(cfg).KIND, progress=progress)  # type: ignore[attr-defined]


FEATURE_KINDS.register("volume")(FeatureKind(VolumeConfig, _extract_kind, segmented=True))
FEATURE_KINDS.register("waveform")(FeatureKind(WaveformConfig, _extract_kind, segmented=True))
