"""Frame-level feature settings shared by extraction, caching and the models.

One frozen dataclass, :class:`FeatureConfig`, describes a magnitude STFT, a
log-mel spectrogram or MFCCs with optional delta channels. Its canonical JSON
(:func:`emoconv.config.to_dict`) is part of every cache key, so changing any
field gives new cache entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import check

#: Frame-level representations computed by :func:`emoconv.features.compute_features`.
KINDS = ("stft", "logmel", "mfcc")
WINDOWS = ("hann", "hamming")
COMPRESSIONS = ("log", "power", "none")


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of a frame-level feature extractor.

    Args:
        kind: ``"stft"`` (magnitude spectrogram, ``n_fft // 2 + 1`` bins), ``"logmel"``
            (mel filterbank on the power spectrogram, ``n_mels`` bins) or ``"mfcc"``
            (``n_mfcc`` coefficients).
        sample_rate: rate the audio is resampled to, in Hz.
        win_ms, hop_ms: analysis window and hop in milliseconds (rounded to samples).
        n_fft: FFT size; ``None`` means the window length in samples. A window shorter
            than ``n_fft`` is zero-padded on both sides (centred), as librosa does.
        window: ``"hann"`` or ``"hamming"`` (periodic, as ``scipy.signal.get_window``).
        n_mels: mel bands (``logmel`` and ``mfcc``).
        n_mfcc: cepstral coefficients kept (``mfcc``).
        fmin, fmax: mel filterbank range in Hz; ``fmax=None`` means ``sample_rate / 2``.
        compression: for ``stft``/``logmel``: ``"log"`` is ``log(x + log_offset)``,
            ``"power"`` is ``x ** power``, ``"none"`` keeps ``x``. MFCCs always use
            librosa's decibel scale (``10 log10``, floor 1e-10, 80 dB dynamic range).
        power: exponent of the ``"power"`` compression.
        log_offset: additive floor of the ``"log"`` compression.
        deltas: 0 (static only), 1 (+delta) or 2 (+delta, +delta-delta), stacked as channels.
        delta_width: odd Savitzky-Golay window in frames (librosa's ``width``); the first-order delta
            is the regression ``sum_k k (c[t+k] - c[t-k]) / (2 sum_k k^2)`` with ``N = width // 2``.
        delta_delta: ``"savgol"`` (librosa's second-order Savitzky-Golay derivative of the statics) or
            ``"delta_of_delta"`` (the same regression applied to the delta, HTK/Kaldi style and the
            multi-dilated CNN paper's Eq. 6).
        mel_scale: ``"slaney"`` (librosa's default) or ``"htk"`` (``2595 log10(1 + f/700)``).
        min_duration_s: shorter audio files are rejected when loading.

    >>> FeatureConfig(kind="stft", win_ms=20, compression="none").n_bins
    161
    >>> FeatureConfig(kind="mel")
    Traceback (most recent call last):
    ...
    emoconv.errors.ConfigError: features.kind: 'mel' is not one of stft, logmel, mfcc
    """

    kind: str = "logmel"
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int | None = None
    window: str = "hamming"
    n_mels: int = 40
    n_mfcc: int = 13
    fmin: float = 0.0
    fmax: float | None = None
    compression: str = "log"
    power: float = 0.3
    log_offset: float = 1e-6
    deltas: int = 0
    delta_width: int = 9
    min_duration_s: float = 0.05
    delta_delta: str = "savgol"
    mel_scale: str = "slaney"

    def __post_init__(self) -> None:
        w = "features"
        check(self.kind in KINDS, f"{w}.kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        check(
            isinstance(self.sample_rate, int) and self.sample_rate > 0,
            f"{w}.sample_rate: {self.sample_rate!r} must be a positive integer (Hz)",
        )
        check(_positive(self.win_ms), f"{w}.win_ms: {self.win_ms!r} must be a positive number")
        check(_positive(self.hop_ms), f"{w}.hop_ms: {self.hop_ms!r} must be a positive number")
        check(
            self.win_length >= 2,
            f"{w}.win_ms: {self.win_ms} ms is under 2 samples at {self.sample_rate} Hz; use a longer window",
        )
        check(
            self.hop_length >= 1,
            f"{w}.hop_ms: {self.hop_ms} ms is under 1 sample at {self.sample_rate} Hz; use a longer hop",
        )
        if self.n_fft is not None:
            check(
                isinstance(self.n_fft, int) and self.n_fft >= self.win_length,
                f"{w}.n_fft: {self.n_fft!r} must be an integer >= the window length "
                f"({self.win_length} samples) or null",
            )
        check(self.window in WINDOWS, f"{w}.window: {self.window!r} is not one of {', '.join(WINDOWS)}")
        check(_count(self.n_mels), f"{w}.n_mels: {self.n_mels!r} must be a positive integer")
        check(
            _count(self.n_mfcc) and self.n_mfcc <= self.n_mels,
            f"{w}.n_mfcc: {self.n_mfcc!r} must be a positive integer <= n_mels ({self.n_mels})",
        )
        nyquist = self.sample_rate / 2
        check(
            _finite(self.fmin) and 0 <= self.fmin < nyquist,
            f"{w}.fmin: {self.fmin!r} must be in [0, {nyquist:g}) Hz",
        )
        check(
            self.fmax is None or (_finite(self.fmax) and self.fmin < self.fmax <= nyquist),
            f"{w}.fmax: {self.fmax!r} must be in ({self.fmin:g}, {nyquist:g}] Hz or null",
        )
        check(
            self.compression in COMPRESSIONS,
            f"{w}.compression: {self.compression!r} is not one of {', '.join(COMPRESSIONS)}",
        )
        check(_positive(self.power), f"{w}.power: {self.power!r} must be a positive number")
        check(_positive(self.log_offset), f"{w}.log_offset: {self.log_offset!r} must be a positive number")
        check(
            isinstance(self.deltas, int) and self.deltas in (0, 1, 2),
            f"{w}.deltas: {self.deltas!r} must be 0, 1 or 2",
        )
        check(
            isinstance(self.delta_width, int) and self.delta_width >= 3 and self.delta_width % 2 == 1,
            f"{w}.delta_width: {self.delta_width!r} must be an odd integer >= 3",
        )
        check(self.delta_delta in ("savgol", "delta_of_delta"),
              f"{w}.delta_delta: {self.delta_delta!r} is not one of savgol, delta_of_delta")
        check(self.mel_scale in ("slaney", "htk"), f"{w}.mel_scale: {self.mel_scale!r} is not one of slaney, htk")
        check(
            _finite(self.min_duration_s) and self.min_duration_s >= 0,
            f"{w}.min_duration_s: {self.min_duration_s!r} must be a number >= 0",
        )

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return int(round(self.win_ms * self.sample_rate / 1000))

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return int(round(self.hop_ms * self.sample_rate / 1000))

    @property
    def fft_size(self) -> int:
        """``n_fft``, or the window length when ``n_fft`` is ``None``."""
        return self.n_fft if self.n_fft is not None else self.win_length

    @property
    def channels(self) -> int:
        """C of the ``(C, T, F)`` output: ``1 + deltas``."""
        return 1 + self.deltas

    @property
    def n_bins(self) -> int:
        """F of the ``(C, T, F)`` output."""
        if self.kind == "stft":
            return self.fft_size // 2 + 1
        return self.n_mels if self.kind == "logmel" else self.n_mfcc

    def n_frames(self, n_samples: int) -> int:
        """T for a waveform of ``n_samples`` (centred frames: ``1 + n_samples // hop``)."""
        return 1 + (n_samples + 2 * (self.fft_size // 2) - self.fft_size) // self.hop_length


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _positive(x: object) -> bool:
    return _finite(x) and x > 0  # type: ignore[operator]


def _count(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0
