"""Kaldi-compatible filterbank and MFCC features (``features: {kind: kaldi}``), an optional extra.

The convolution-type study (Huang & Narayanan, arXiv:1706.02901) extracts its log-mels and MFCCs
with Kaldi. This kind computes them with ``kaldi-native-fbank`` (k2-fsa), a port of Kaldi's
``compute-fbank-feats`` / ``compute-mfcc-feats`` and ``add-deltas`` arithmetic, installed with
``pip install 'emoconv[kaldi]'``. Kaldi's conventions hold: samples on the 16-bit scale (the waveform
is multiplied by 32768, as Kaldi reads WAV), DC removal, pre-emphasis 0.97, the Povey window, FFT
size rounded to a power of two, frames that fit entirely in the signal (``snip_edges``), the mel
scale ``1127 ln(1 + f/700)`` with unnormalised triangles from 20 Hz, natural-log energies floored at
machine epsilon, MFCCs from the log filterbank with cepstral liftering 22, and HTK regression deltas
(``delta_window`` frames each side, the delta-delta being the delta of the delta). One difference
from Kaldi's defaults, on purpose: ``dither`` is 0, so that cached features are deterministic
(Kaldi dithers with amplitude 1.0 on the 16-bit scale; set ``dither: 1.0`` for that).

Output: ``(1 + deltas, T, n_mels | n_ceps)`` float32 per utterance, like the other frame kinds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..audio.io import load_audio
from ..config import check

__all__ = ["KaldiConfig", "kaldi_features"]

KALDI_VERSION = 1


@dataclass(frozen=True)
class KaldiConfig:
    """Settings of the Kaldi-compatible front-end (Kaldi's option names in brackets).

    >>> KaldiConfig(type="mfcc").n_bins
    13
    """

    type: str = "fbank"           # "fbank" (log mel filterbank) or "mfcc"
    sample_rate: int = 16000      # [--sample-frequency]; audio is resampled to it
    win_ms: float = 25.0          # [--frame-length]
    hop_ms: float = 10.0          # [--frame-shift]
    n_mels: int = 40              # [--num-mel-bins] (Kaldi's default is 23)
    n_ceps: int = 13              # [--num-ceps], mfcc only
    low_freq: float = 20.0        # [--low-freq]
    high_freq: float = 0.0        # [--high-freq]; <= 0 is an offset from the Nyquist frequency
    preemph: float = 0.97         # [--preemphasis-coefficient]
    dither: float = 0.0           # [--dither], on the 16-bit scale; Kaldi's default is 1.0
    use_energy: bool | None = None  # [--use-energy]: log energy as C0 / an extra fbank bin; None = Kaldi's
                                    # default for the type (mfcc: true, fbank: false)
    deltas: int = 0               # [add-deltas --delta-order]: 0, 1 or 2
    delta_window: int = 2         # [add-deltas --delta-window]
    min_duration_s: float = 0.05

    def __post_init__(self) -> None:
        w = "features"
        check(self.type in ("fbank", "mfcc"), f"{w}.type: {self.type!r} is not one of fbank, mfcc")
        check(isinstance(self.sample_rate, int) and self.sample_rate >= 8000,
              f"{w}.sample_rate: {self.sample_rate!r} must be an integer >= 8000 (Hz)")
        check(self.win_ms > 0 and self.hop_ms > 0, f"{w}.win_ms, hop_ms: must be positive")
        check(isinstance(self.n_mels, int) and self.n_mels >= 3, f"{w}.n_mels: {self.n_mels!r} must be >= 3")
        check(isinstance(self.n_ceps, int) and 1 <= self.n_ceps <= self.n_mels,
              f"{w}.n_ceps: {self.n_ceps!r} must be in 1..n_mels ({self.n_mels})")
        check(0 <= self.preemph <= 1, f"{w}.preemph: {self.preemph!r} must be in [0, 1]")
        check(self.dither >= 0, f"{w}.dither: {self.dither!r} must be >= 0")
        check(self.deltas in (0, 1, 2) and not isinstance(self.deltas, bool), f"{w}.deltas: must be 0, 1 or 2")
        check(isinstance(self.delta_window, int) and self.delta_window >= 1,
              f"{w}.delta_window: {self.delta_window!r} must be an integer >= 1")

    @property
    def n_bins(self) -> int:
        """F of the output."""
        if self.type == "mfcc":
            return self.n_ceps
        return self.n_mels + int(self.energy)

    @property
    def energy(self) -> bool:
        return self.use_energy if self.use_energy is not None else self.type == "mfcc"

    @property
    def channels(self) -> int:
        return 1 + self.deltas


def _options(cfg: KaldiConfig) -> Any:
    import kaldi_native_fbank as knf

    opts = knf.MfccOptions() if cfg.type == "mfcc" else knf.FbankOptions()
    f = opts.frame_opts
    f.samp_freq, f.frame_length_ms, f.frame_shift_ms = float(cfg.sample_rate), cfg.win_ms, cfg.hop_ms
    f.dither, f.preemph_coeff = cfg.dither, cfg.preemph
    m = opts.mel_opts
    m.num_bins, m.low_freq, m.high_freq = cfg.n_mels, cfg.low_freq, cfg.high_freq
    m.use_slaney_mel_scale, m.norm = False, ""  # Kaldi: 1127 ln(1 + f/700), triangles of height 1
    opts.use_energy = cfg.energy
    if cfg.type == "mfcc":
        opts.num_ceps = cfg.n_ceps
    return opts


def kaldi_of_signal(cfg: KaldiConfig, wav: np.ndarray) -> torch.Tensor:
    """``(C, T, F)`` float32 features of a mono waveform at ``cfg.sample_rate`` (values in [-1, 1])."""
    import kaldi_native_fbank as knf

    opts = _options(cfg)
    comp = knf.OnlineMfcc(opts) if cfg.type == "mfcc" else knf.OnlineFbank(opts)
    comp.accept_waveform(float(cfg.sample_rate), (np.asarray(wav, dtype=np.float32) * 32768.0))
    comp.input_finished()
    n = comp.num_frames_ready
    if n == 0:
        return torch.zeros(cfg.channels, 0, cfg.n_bins)
    feats = np.stack([comp.get_frame(i) for i in range(n)]).astype(np.float32)  # (T, F)
    if cfg.deltas:
        full = knf.compute_deltas(knf.DeltaOptions(order=cfg.deltas, window=cfg.delta_window), feats)
        feats_c = full.reshape(n, cfg.deltas + 1, -1).transpose(1, 0, 2)  # blocks [x, d, dd]
    else:
        feats_c = feats[None]
    return torch.from_numpy(np.ascontiguousarray(feats_c, dtype=np.float32))


def kaldi_features(cfg: KaldiConfig, paths: Sequence[str | os.PathLike[str]], cache: Any = None,
                   progress: bool = False) -> list[torch.Tensor]:
    """Features of each file, through the feature cache (entries keyed by ``cfg`` and the file)."""
    from tqdm import tqdm

    out = []
    for p in tqdm(paths, desc="kaldi features", unit="file", disable=not progress):
        hit = cache.get(cfg, p) if cache is not None else None
        if hit is None:
            hit = kaldi_of_signal(cfg, load_audio(p, cfg.sample_rate, cfg.min_duration_s))
            if cache is not None:
                cache.put(cfg, p, hit)
        out.append(hit)
    return out


def _register_kind() -> None:
    from .kinds import FEATURE_KINDS, FeatureKind

    FEATURE_KINDS.register("kaldi")(FeatureKind(
        KaldiConfig, lambda cfg, utts, cache, progress: kaldi_features(cfg, [u.path for u in utts], cache, progress),
        requires=("kaldi_native_fbank", "kaldi")))


KaldiConfig.KIND = "kaldi"  # type: ignore[attr-defined]
_register_kind()
